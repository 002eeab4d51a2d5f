-- Store bookkeeping cost (issue 13): what a keyed create costs in the store, without any
-- HTTP: journal.once itself (the look-up, then the claim with the intent in one write),
-- then the id with the end of the claim in one write, as tasks.lua records it. CPU is this
-- process's (os.clock): SQLite runs in it; Redis's own CPU is the server's and not counted
-- (its wall time is printed too).
--   lua bench/store.lua [sqlite|redis] [N]        (make bench runs both, N = 10000)
local store = require "seedance.store"
local journal = require "seedance.store.journal"
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

-- what journal.once needs of a client (no engine: nothing here ever waits for a claim)
local function client_of(s)
  return { journal = s, timeout = 30, _journal_error = function(_, msg) error(msg) end }
end

-- one keyed create's bookkeeping, as the client does it (journal.once + tasks.lua)
local function keyed_create(c, key)
  local s = c.journal
  local function entry(id) return { kind = "task", provider = "piapi", key = key, at = core.time(), id = id } end
  local t = journal.once(c, key, function() error("a new key has no entry") end, function(recorded)
    if not recorded then assert(s:put(key, entry())) end
    assert(s:put(key, entry("task-" .. key), true))
    return key
  end, entry())
  assert(t == key)
end

local function run(s, prefix, n)
  local c = client_of(s)
  -- the garbage of filling the store is not what is measured: collected before, not during
  collectgarbage("collect")
  local c0, w0 = os.clock(), core.now()
  for i = 1, n do keyed_create(c, prefix .. i) end
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

local out = {}
local function say(line)
  print(line)
  out[#out + 1] = line
end

-- the machine is shared: its load when the run began goes with the figures
local function load_average()
  local f = io.open("/proc/loadavg", "rb")
  local l = f and f:read("*l")
  if f then f:close() end
  return l and l:match("^(%S+)") or "?"
end
local load = load_average()

local s, cleanup = open()
if not s then
  print(("store %-6s skipped: redis-server is not installed"):format(backend))
  os.exit(0)
end
local cpu, wall = run(s, "key-", N)
say(("store %-6s %d keyed creates: bookkeeping %.2f s CPU (%.1f us each), %.2f s wall"):format(
  backend, N, cpu, cpu / N * 1e6, wall))
s:close()
cleanup()
-- per-record cost as the store grows: keyed creates into a store of 1,000 records and into
-- one of 100,000, 100 at a time in turn (2,000 each), so both see the same load on a shared
-- machine
local stores, cleanups, per = {}, {}, {}
for i, size in ipairs({ 1000, 100000 }) do
  stores[i], cleanups[i] = open()
  fill(stores[i], 0, size)
  per[i] = 0
end
for round = 1, 20 do
  for i = 1, 2 do per[i] = per[i] + run(stores[i], "key-" .. round .. "-", 100) / 2000 end
end
for i = 1, 2 do
  stores[i]:close()
  cleanups[i]()
end
say(("store %-6s per-record CPU: %.1f us in a store of 1,000 records, %.1f us at 100,000 (ratio %.2f)"):format(
  backend, per[1] * 1e6, per[2] * 1e6, per[2] / per[1]))

-- the figures of a full run (make bench) go into the README and bench/RESULTS.md
if N == 10000 then
  package.path = "bench/?.lua;" .. package.path
  local text = "```\n" .. table.concat(out, "\n") .. ("\n```\n%s, %s, load average %s when it began (2 cores)\n")
    :format(_VERSION, os.date("!%Y-%m-%d"), load)
  local readme = require "readme"
  readme.update("store-" .. backend, text)
  readme.update("store-" .. backend, text, "bench/RESULTS.md", true)
end
