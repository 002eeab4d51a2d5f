-- Raw engine throughput: keep-alive small JSON GETs through seedance's C engine, CONC in
-- flight, for SECS seconds. Prints requests per second.
local core = require "seedance.core"
local url = assert(os.getenv("BENCH_URL")) .. "/api/v1/asset/asset-none"
local conc = tonumber(os.getenv("BENCH_CONC") or "32")
local secs = tonumber(os.getenv("BENCH_SECS") or "5")
local e = core.engine({ max_per_host = conc })
local headers = { "X-API-Key: bench-key" }
local n, t0, cpu0 = 0, core.now(), os.clock()
for _ = 1, conc do e:submit({ url = url, headers = headers, retries = 0 }) end
while core.now() - t0 < secs do
  e:step()
  local done = e:collect()
  for _ = 1, #done do
    n = n + 1
    e:submit({ url = url, headers = headers, retries = 0 })
  end
  if #done == 0 then e:wait(0.01) end
end
-- requests per second, and the client CPU per request in microseconds
print(string.format("%.0f %.2f", n / (core.now() - t0), (os.clock() - cpu0) / n * 1e6))
