-- Store bookkeeping cost (issue 13): what a keyed create costs in the store, without any
-- HTTP: the look-up, the claim, the re-check under it, the intent, the id and the release
-- (journal.once + tasks.lua, in that order). CPU is this process's (os.clock): SQLite runs
-- in it; Redis's own CPU is the server's and not counted (its wall time is printed too).
--   lua bench/store.lua [sqlite|redis] [N]        (make bench runs both, N = 10000)
local store = require "seedance.store"
local core = require "seedance.core"

local backend = arg[1] or "sqlite"
local N = tonumber(arg[2] or "10000")

local function open()
  if backend == "redis" then
    package.path = "spec/support/?.lua;" .. package.path
    local rs = require "redis_server"
    if not rs.available() then return nil end
    local srv = assert(rs.start())
    return store.open(srv.url, { secret = "bench-key" }), function() srv:destroy() end
  end
  local path = os.tmpname()
  os.remove(path)
  return store.open(path, { secret = "bench-key" }), function()
    for _, s in ipairs({ "", "-wal", "-shm" }) do os.remove(path .. s) end
  end
end

-- one keyed create's bookkeeping, as the client does it
local function keyed_create(s, key)
  local e = s:get(key)
  assert(e == false)
  assert(s:claim(key, 60))
  assert(s:get(key) == false)
  assert(s:put(key, { kind = "task", provider = "piapi", key = key, at = core.time() }))
  assert(s:put(key, { kind = "task", provider = "piapi", key = key, at = core.time(), id = "task-" .. key }))
  assert(s:release(key))
end

local function run(s, prefix, n)
  local c0, w0 = os.clock(), core.now()
  for i = 1, n do keyed_create(s, prefix .. i) end
  return os.clock() - c0, core.now() - w0
end

-- grows the store to `total` records in big transactions (not what is measured)
local function fill(s, from, total)
  local batch = {}
  for i = from + 1, total do
    batch["fill-" .. i] = { kind = "task", provider = "piapi", id = "task-fill-" .. i, at = i }
    if i % 2000 == 0 or i == total then
      assert(s:put_many(batch))
      batch = {}
    end
  end
end

local s, cleanup = open()
if not s then
  print(("store %-6s skipped: redis-server is not installed"):format(backend))
  os.exit(0)
end
local cpu, wall = run(s, "key-", N)
print(("store %-6s %d keyed creates: bookkeeping %.2f s CPU (%.1f us each), %.2f s wall"):format(
  backend, N, cpu, cpu / N * 1e6, wall))
s:close()
cleanup()
-- per-record cost as the store grows: 1,000 keyed creates into a store of 1,000 records,
-- then into one of 100,000
local per = {}
for _, size in ipairs({ 1000, 100000 }) do
  s, cleanup = open()
  fill(s, 0, size)
  per[size] = run(s, "key-", 1000) / 1000
  s:close()
  cleanup()
end
print(("store %-6s per-record CPU: %.1f us in a store of 1,000 records, %.1f us at 100,000 (ratio %.2f)"):format(
  backend, per[1000] * 1e6, per[100000] * 1e6, per[100000] / per[1000]))
