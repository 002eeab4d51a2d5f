-- RSS growth for N pending objects: register N assets (they stay Processing), track all of
-- them, list-poll them for SECS seconds, and report VmRSS growth in KiB.
local seedance = require "seedance"
local core = require "seedance.core"
local function rss()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmRSS:%s+(%d+)")
    if kb then return tonumber(kb) end
  end
end
local N = tonumber(os.getenv("BENCH_N") or "10000")
-- default poll settings: a list round about every second while nothing changes
local c = seedance.new({ provider = "piapi", api_key = "bench-key", base_url = assert(os.getenv("BENCH_URL")) })
collectgarbage()
local before = rss()
local all = {}
for first = 1, N, 50 do
  local chunk = {}
  for i = first, math.min(first + 49, N) do chunk[#chunk + 1] = { url = ("https://cdn.example.com/m%d.png"):format(i) } end
  for _, a in ipairs(assert(c:upload_many(chunk))) do all[#all + 1] = a end
end
-- tracking starts once all exist, so the figure below is the objects plus their tracking
for _, a in ipairs(all) do c:track(a) end
collectgarbage()
local tracked = rss() - before
local t0 = core.now()
local secs = tonumber(os.getenv("BENCH_SECS") or "10")
while core.now() - t0 < secs do
  c:step()
  c.engine:wait(0.05)
end
local pending = 0
for _, a in ipairs(all) do if a.status == "processing" then pending = pending + 1 end end
collectgarbage()
print(string.format("%d %d %d", tracked, rss() - before, pending))
