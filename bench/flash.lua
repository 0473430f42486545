-- wrk script of bench/flash.sh: each request a POST of REQ_BODY to REQ_PATH (a flash order
-- of one unit, or the ordinary order as the baseline), as one of the buyers whose tokens are
-- in TOKENS (one per line), with an idempotency key of its own; counts the answers by status.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
local counter = 0
local thread_id = 0
statuses = {}


function init(args)
  wrk.method = "POST"
  wrk.path = os.getenv("REQ_PATH")
  wrk.body = os.getenv("REQ_BODY")
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local tok = tokens[(counter % #tokens) + 1]
  wrk.headers["Authorization"] = "Bearer " .. tok
  wrk.headers["Idempotency-Key"] = "b" .. tid .. "-" .. counter
  return wrk.format()
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end


local threads = {}
function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for k, v in pairs(s) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("status %s: %d\n", k, v)) end
  io.write(string.format("p50 %.2f ms p99 %.2f ms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
