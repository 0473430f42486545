-- wrk script for bench/orders.sh: POST /api/v1/orders for one SKU or a random SKU of a list.
-- Env: TOKENS (comma-separated buyers' bearer tokens: many buyers, as in a real sale, since
-- one buyer's orders are placed one at a time), SKUS (comma-separated SKU ids).
local tokens = {}
for t in string.gmatch(os.getenv("TOKENS"), "[^,]+") do tokens[#tokens + 1] = t end
local skus = {}
for s in string.gmatch(os.getenv("SKUS"), "[^,]+") do skus[#skus + 1] = s end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local sku = skus[math.random(#skus)]
  wrk.headers["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]
  return wrk.format(nil, "/api/v1/orders", nil, '{"items":[{"sku_id":' .. sku .. ',"quantity":1}]}')
end
