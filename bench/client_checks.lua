-- CPU per status check: T tasks that stay running, each looked at on its own every 20 ms
-- for SECS seconds. Prints the client CPU spent while polling and the requests it sent, so
-- bench/run.lua can set the cost of one check beside the raw engine's cost of one GET.
local seedance = require "seedance"
local core = require "seedance.core"
local T = tonumber(os.getenv("BENCH_TASKS") or "200")
local secs = tonumber(os.getenv("BENCH_SECS") or "5")
local c = seedance.new({ provider = "piapi", api_key = "bench-key", base_url = assert(os.getenv("BENCH_URL")),
                         poll = { task = { interval = 0.02, max = 0.02 }, jitter = 0 } })
local tasks = {}
for i = 1, T do tasks[i] = assert(c:generate({ prompt = "check " .. i })) end
for _, t in ipairs(tasks) do c:track(t) end
local a0, cpu0, t0 = c.engine.core:stats().attempts, os.clock(), core.now()
while core.now() - t0 < secs do
  c:step()
  c.engine:wait(0.05)
end
local cpu, n = os.clock() - cpu0, c.engine.core:stats().attempts - a0
print(string.format("%.4f %d", cpu, n))
