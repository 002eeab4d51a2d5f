-- seedance alone on a fleet: N assets (batches created concurrently in workflows) plus T
-- tasks, all waited on at once. Writes JSON: start time, end time, when each object was
-- seen to finish (wall clock, comparable with the emulator's), requests by the engine.
local seedance = require "seedance"
local core = require "seedance.core"
local cjson = require "cjson"

local N = tonumber(os.getenv("BENCH_N") or "1000")
local T = tonumber(os.getenv("BENCH_TASKS") or "100")
local c = seedance.new({ provider = "piapi", api_key = "bench-key", base_url = assert(os.getenv("BENCH_URL")),
                         poll = { list = { interval = 0.2, max = 0.4 }, task = { interval = 1, max = 2 } } })
local t_start = core.time()
local objs = {}
local flows = {}
for first = 1, N, 50 do
  flows[#flows + 1] = function()
    local chunk = {}
    for i = first, math.min(first + 49, N) do chunk[#chunk + 1] = { url = ("https://cdn.example.com/f%d.png"):format(i) } end
    for _, a in ipairs(assert(c:upload_many(chunk))) do objs[#objs + 1] = a end
  end
end
for i = 1, T do
  flows[#flows + 1] = function()
    -- take the task first: #objs must be read after generate yields, not before
    local t = assert(c:generate({ prompt = "fleet shot " .. i }))
    objs[#objs + 1] = t
  end
end
seedance.run(table.unpack(flows))
local seen = {}
assert(seedance.wait_all(objs, { timeout = 300, on_update = function(o)
  if o.status == "active" or o.status == "succeeded" then seen[o.id] = core.time() end
end }))
local t_end = core.time()
local st = c.engine.core:stats()
local f = assert(io.open(assert(os.getenv("BENCH_OUT")), "w"))
f:write(cjson.encode({ start = t_start, finish = t_end, seen = seen, attempts = st.attempts, n = #objs }))
f:close()
