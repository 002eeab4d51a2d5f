-- Several processes on one store (SQLite here; Redis in spec/store_redis_spec.lua): the
-- same workflow run twice at once pays for each shot once, and a worker killed mid-shot
-- leaves a lease that runs out, after which another resumes the task it created.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local helpers = require "helpers"
local core = require "seedance.core"

local KEY = "pk-fleet-secret-5150"
local ROOT = helpers.ROOT
local LUA = type(jit) == "table" and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

local function worker_cmd(env, out)
  local parts = {}
  for k, v in pairs(env) do parts[#parts + 1] = k .. "='" .. tostring(v) .. "'" end
  return ("cd %s && %s %s %s/spec/support/store_worker.lua > %s 2>&1"):format(ROOT, table.concat(parts, " "), LUA,
    ROOT, out)
end

local function lines(path)
  local t = {}
  for line in (helpers.read(path) or ""):gmatch("[^\n]+") do
    local k, id = line:match("^(%S+) (%S+)")
    if k then t[k] = id end
  end
  return t
end

--- Runs the shared-store checks against `store_spec` (a path or a redis:// URL).
local function fleet(describe_name, store_spec, cleanup)
  describe(describe_name, function()
    local emu
    setup(function()
      emu = assert(emulator.start({ provider = "piapi", processing = 0.1, api_key = KEY, latency = 0.02 }))
    end)
    teardown(function() emu:stop() end)
    before_each(function()
      emu:reset()
      emu:configure({ processing = 0.1, generation = 0.3 })
      cleanup()
    end)
    after_each(cleanup)

    it("two processes running one workflow at once create each shot and the cast once", function()
      local N = 20
      local o1, o2 = os.tmpname(), os.tmpname()
      local env = { KEY = KEY, URL = emu.url, STORE = store_spec(), N = N, MODE = "all" }
      assert(helpers.sh("(" .. worker_cmd(env, o1) .. ") & (" .. worker_cmd(env, o2) .. ") & wait"))
      local a, b = lines(o1), lines(o2)
      local text = (helpers.read(o1) or "") .. (helpers.read(o2) or "")
      os.remove(o1)
      os.remove(o2)
      assert.is_string(a.asset, text)
      assert.equal(a.asset, b.asset)
      for i = 1, N do
        assert.is_string(a["shot-" .. i], text)
        assert.equal(a["shot-" .. i], b["shot-" .. i])
      end
      local s = emu:stats()
      assert.equal(N, s.by_route["POST /api/v1/task"])
      assert.equal(1, s.by_route["POST /api/v1/asset/upload"])
      assert.equal(0, s.duplicate_creates)
    end)

    it("two processes keep the account's tasks in flight under one shared cap", function()
      local o1, o2 = os.tmpname(), os.tmpname()
      local env = { KEY = KEY, URL = emu.url, STORE = store_spec(), N = 5, MODE = "cap", CAP = 3 }
      env.WORKER = "a"
      local c1 = worker_cmd(env, o1)
      env.WORKER = "b"
      local c2 = worker_cmd(env, o2)
      assert(helpers.sh("(" .. c1 .. ") & (" .. c2 .. ") & wait"))
      local a, b = lines(o1), lines(o2)
      local text = (helpers.read(o1) or "") .. (helpers.read(o2) or "")
      os.remove(o1)
      os.remove(o2)
      for i = 1, 5 do
        assert.is_string(a["a-" .. i], text)
        assert.is_string(b["b-" .. i], text)
      end
      local s = emu:stats()
      assert.equal(10, s.by_route["POST /api/v1/task"])
      assert.is_true(s.max_in_flight.piapi <= 3, "at most 3 at once, saw " .. tostring(s.max_in_flight.piapi))
      assert.is_true(s.max_in_flight.piapi >= 2, "the cap was shared, not a queue of one")
    end)

    it("a worker killed mid-shot leaves a lease that runs out; another resumes its task", function()
      local out, pidf = os.tmpname(), os.tmpname()
      local env = { KEY = KEY, URL = emu.url, STORE = store_spec(), MODE = "hang", LEASE = 1.5 }
      assert(helpers.sh("(" .. worker_cmd(env, out) .. ") & echo $! > " .. pidf))
      local id
      for _ = 1, 100 do
        id = lines(out)["shot-1"]
        if id then break end
        core.sleep(0.05)
      end
      assert.is_string(id, helpers.read(out))
      -- the worker's shell and the interpreter under it: SIGKILL to both, no goodbye (pkill
      -- without make check-asan's preloaded libasan, under which it hangs)
      helpers.sh("env -u LD_PRELOAD pkill -KILL -P $(cat " .. pidf .. "); kill -KILL $(cat " .. pidf .. ") 2>/dev/null")
      os.remove(out)
      os.remove(pidf)
      local c = seedance.new({ provider = "piapi", api_key = KEY, base_url = emu.url, store = store_spec(),
                               poll = { interval = 0.05, max = 0.1 } })
      local got, holder = c.journal:claim("shot:shot-1", 30)
      assert.is_false(got)
      assert.is_string(holder)
      local t0 = core.now()
      while not c.journal:claim("shot:shot-1", 30) do core.sleep(0.1) end
      assert.is_true(core.now() - t0 < 3)
      local t = assert(c:generate({ prompt = "shot 1", key = "shot-1" }))
      assert.equal(id, t.id)
      assert.is_true(t.resumed)
      assert(t:wait({ timeout = 10 }))
      assert.equal("succeeded", t.status)
      assert.equal(1, emu:stats().by_route["POST /api/v1/task"])
      c:close()
    end)
  end)
end

local path = os.tmpname()
fleet("store shared by processes (SQLite)", function() return path end, function()
  for _, s in ipairs({ "", "-wal", "-shm" }) do os.remove(path .. s) end
end)


local redis_server = require "redis_server"
local store = require "seedance.store"

describe("store shared by processes (Redis)", function()
  if not redis_server.available() then
    it("needs redis-server", function()
      pending("redis-server is not installed: sh scripts/deps.sh --all (CI installs it)")
    end)
    return
  end
  local srv
  setup(function() srv = assert(redis_server.start()) end)
  teardown(function() if srv then srv:destroy() end end)
  local function flush()
    if srv then helpers.sh(("redis-cli -p %d flushall >/dev/null"):format(srv.port)) end
  end

  fleet("on redis-server", function() return srv.url end, flush)

  it("keeps every record, claim and slot through a restart, and a client carries on", function()
    flush()
    local s = store.open(srv.url, { secret = KEY })
    assert.equal("redis", s:backend())
    assert(s:put("task-key", { kind = "task", provider = "piapi", id = "t-42" }))
    assert.is_true(s:claim("shot:1", 60))
    assert.same({ true, 1 }, { s:slot("inflight", "t-42", 2, 60) })
    srv:restart()
    -- the same connection object: the next call reconnects
    assert.equal("t-42", s:get("task-key").id)
    assert.equal("t-42", s:list("task", "piapi")[1].entry.id)
    local other = store.open(srv.url, { secret = KEY })
    assert.is_false((other:claim("shot:1", 60)))
    assert.same({ true, 2 }, { other:slot("inflight", "t-43", 2, 60) })
    assert.same({ false, 2 }, { other:slot("inflight", "t-44", 2, 60) })
    assert(s:unslot("inflight", "t-42"))
    assert.same({ true, 2 }, { other:slot("inflight", "t-44", 2, 60) })
    assert(s:put("task-key", false))
    assert.is_false(s:get("task-key"))
    assert.same({}, s:list("task", "piapi"))
    -- another account on the same server sees none of it; no key is in Redis's files
    assert.is_false(store.open(srv.url, { secret = "another-key-0000" }):get("task-key"))
    s:close()
    other:close()
    helpers.sh(("redis-cli -p %d save >/dev/null"):format(srv.port))
    local files = helpers.capture("cat " .. srv.dir .. "/appendonlydir/* " .. srv.dir .. "/*.rdb 2>/dev/null")
    assert.truthy(files:find("t-42", 1, true))
    assert.is_nil(files:find(KEY, 1, true))
  end)

  it("reports a server that is not there as an error of the call, not a raise", function()
    local s = store.open("redis://127.0.0.1:1/0?timeout=0.2", { secret = KEY })
    local v, err = s:get("x")
    assert.is_nil(v)
    assert.matches("cannot reach redis at 127.0.0.1:1", err)
    assert.has_error(function() store.open("redis://user:pw@127.0.0.1:1/0") end)
    assert.has_error(function() store.open("redis://127.0.0.1:1/0?bogus=1") end)
  end)
end)
