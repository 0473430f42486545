-- wrk script for bench/orders.sh: POST /api/v1/orders for one SKU or a random SKU of a list.
-- Env: TOKEN (a buyer's bearer token), SKUS (comma-separated SKU ids).
local token = os.getenv("TOKEN")
local skus = {}
for s in string.gmatch(os.getenv("SKUS"), "[^,]+") do skus[#skus + 1] = s end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
request = function()
  local sku = skus[math.random(#skus)]
  return wrk.format(nil, "/api/v1/orders", nil, '{"items":[{"sku_id":' .. sku .. ',"quantity":1}]}')
end
