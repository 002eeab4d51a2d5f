-- The store (SQLite at a path): the old JSON journal migrates once with nothing lost, a
-- path that is not a regular file is refused, accounts never see each other's records,
-- claims and slots hold across connections, and a paid create whose bookkeeping fails
-- still hands over its id (and is never paid again).
local seedance = require "seedance"
local store = require "seedance.store"
local journal = require "seedance.store.journal"
local emulator = require "seedance.emulator"
local helpers = require "helpers"
local json = require "cjson"
local read, write, sh = helpers.read, helpers.write, helpers.sh

local KEY = "pk-store-secret-7777"

local function tmpname()
  local p = os.tmpname()
  os.remove(p)
  return p
end

local function remove_all(p)
  for _, s in ipairs({ "", "-wal", "-shm", ".json-backup", ".json-backup.1" }) do os.remove(p .. s) end
end

describe("store (SQLite)", function()
  local emu, path

  setup(function() emu = assert(emulator.start({ provider = "piapi", processing = 0.1, api_key = KEY })) end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    emu:configure({ processing = 0.1, generation = 0.3 })
    path = tmpname()
  end)
  after_each(function() remove_all(path) end)

  local function client(extra)
    local o = { provider = "piapi", api_key = KEY, base_url = emu.url, journal = path, retries = 0,
                poll = { interval = 0.05, max = 0.1 } }
    for k, v in pairs(extra or {}) do o[k] = v end
    if o.journal == false then o.journal = nil end
    return seedance.new(o)
  end

  local function creates()
    local s = emu:stats()
    return (s.by_route["POST /api/v1/asset/upload"] or 0) + (s.by_route["POST /api/v1/task"] or 0)
  end

  it("migrates an old JSON journal once, nothing lost, and keeps the old file as a backup", function()
    -- what the JSON journal of an earlier version recorded for one asset and one task
    local plain = client({ journal = false })
    local a = assert(plain:upload({ url = "https://x/old.png", name = "old" }))
    local t = assert(plain:generate({ prompt = "old shot", key = "shot-old" }))
    plain:close()
    local entries = {
      [journal.asset_key("piapi", { url = "https://x/old.png", name = "old" })] =
        { kind = "asset", provider = "piapi", id = a.id, url = "https://x/old.png", name = "old", at = 1 },
      [journal.task_key("piapi", { key = "shot-old" })] =
        { kind = "task", provider = "piapi", key = "shot-old", id = t.id, at = 2 },
    }
    local old = json.encode({ seedance_journal = 1, entries = entries })
    write(path, old)
    local before = creates()
    local c = client()
    assert.equal("SQLite format 3\0", read(path):sub(1, 16))
    assert.equal(old, read(path .. ".json-backup"))
    assert.equal(a.id, assert(c:upload({ url = "https://x/old.png", name = "old" })).id)
    local again = assert(c:generate({ prompt = "old shot", key = "shot-old" }))
    assert.equal(t.id, again.id)
    assert.is_true(again.resumed)
    assert.equal(before, creates())
    c:close()
    -- once: opening again reads the store, the backup stays as it was
    local c2 = client()
    assert.equal(t.id, assert(c2:generate({ prompt = "old shot", key = "shot-old" })).id)
    assert.is_nil(read(path .. ".json-backup.1"))
    c2:close()
  end)

  it("refuses a journal path that is not a regular file, naming the option", function()
    for _, p in ipairs({ "/dev/full", "/dev/zero", "/tmp" }) do
      local ok, err = pcall(client, { journal = p })
      assert.is_false(ok)
      assert.matches("seedance.new: journal: '" .. p .. "' is not a regular file", err, 1, true)
    end
    write(path, "precious notes")
    local ok, err = pcall(client)
    assert.is_false(ok)
    assert.matches("not a seedance journal", err)
    assert.equal("precious notes", read(path))
    assert.has_error(function() client({ journal = path, store = path }) end,
      "seedance.new: give 'journal' or 'store', not both")
  end)

  it("keeps accounts apart and never writes a key", function()
    local s1 = store.open(path, { secret = "key-one-1111" })
    local s2 = store.open(path, { secret = "key-two-2222" })
    assert(s1:put("k", { kind = "task", provider = "piapi", id = "t-1" }))
    assert.equal("t-1", s1:get("k").id)
    assert.is_false(s2:get("k"))
    assert.same({}, s2:list("task", "piapi"))
    assert.equal(1, #s1:list("task", "piapi"))
    s1:close()
    s2:close()
    local text = read(path) .. (read(path .. "-wal") or "")
    assert.is_nil(text:find("key-one-1111", 1, true))
    assert.is_nil(text:find("key-two-2222", 1, true))
  end)

  it("holds claims and slots across connections, and lets a lease run out", function()
    local a = store.open(path, { secret = KEY })
    local b = store.open(path, { secret = KEY })
    assert.is_true(a:claim("shot-1", 0.3))
    local got, holder = b:claim("shot-1", 10)
    assert.is_false(got)
    assert.equal(a.owner, holder)
    assert.is_true(a:claim("shot-1", 0.3)) -- renewed by its holder
    require("seedance.core").sleep(0.4)
    assert.is_true(b:claim("shot-1", 10))   -- a's lease ran out
    assert.is_false((a:claim("shot-1", 10)))
    assert(b:release("shot-1"))
    assert.is_true(a:claim("shot-1", 10))
    -- slots: at most 2 live across both, a token renews its own, a given-back slot is free
    assert.same({ true, 1 }, { a:slot("inflight", "t1", 2, 10) })
    assert.same({ true, 2 }, { b:slot("inflight", "t2", 2, 10) })
    assert.same({ false, 2 }, { b:slot("inflight", "t3", 2, 10) })
    assert.same({ true, 2 }, { a:slot("inflight", "t1", 2, 10) })
    assert(a:unslot("inflight", "t1"))
    assert.same({ true, 2 }, { b:slot("inflight", "t3", 2, 10) })
    assert.has_error(function() a:claim("x", 0) end)
    assert.has_error(function() a:slot("x", "t", 0, 1) end)
    a:close()
    b:close()
  end)

  it("keeps a polled task's in-flight slot however long its status stays the same, and gives it back at its end",
    function()
    -- a cap of one, slots that lapse after 1 s without renewal; the task stays queued for
    -- 2 s with no change (the scheduler keeps unchanged answers in C: no event reaches Lua)
    emu:configure({ processing = 0.1, generation = 10 })
    local c = client({ max_in_flight = 1, in_flight_lease = 1 })
    local t = assert(c:generate({ prompt = "a long queue", key = "long-1" }))
    c:track(t)
    local other = store.open(path, { secret = KEY })
    local core = require("seedance.core")
    local status, until_ = t.raw_status, core.now() + 1.8
    local looks = 0
    while core.now() < until_ do
      c:step()
      c.engine:wait(0.05)
      assert.equal(status, t.raw_status) -- nothing changed: only the timer can have renewed it
      local got = other:slot("in_flight:tasks", "probe", 1, 1)
      if got then other:unslot("in_flight:tasks", "probe") end
      assert.is_false(got, "the task's slot lapsed while it was polled")
      looks = looks + 1
    end
    assert.is_true(looks > 10)
    emu:configure({ processing = 0.1, generation = 0.3 })
    -- the task's end gives the slot back at once
    assert(t:wait({ timeout = 15 }))
    assert.same({ true, 1 }, { other:slot("in_flight:tasks", "probe", 1, 1) })
    assert.has_error(function() client({ in_flight_lease = 0 }) end)
    other:close()
    c:close()
  end)

  it("hands over a task whose record could not be written after the create, and never pays for it again", function()
    if not sh("command -v sqlite3 >/dev/null") then
      pending("needs the sqlite3 command (sh scripts/deps.sh)")
      return
    end
    -- the create's answer is held back 2 s; meanwhile another process takes the store's
    -- write lock as soon as the intent is there, and keeps it 4 s: the id cannot be written
    emu:fault({ match = "POST /api/v1/task", delay = 2, count = 1 })
    local done = path .. ".locker-done"
    assert(sh(("(for i in $(seq 250); do n=$(sqlite3 %s 'select count(*) from records' 2>/dev/null);"
      .. " [ \"${n:-0}\" -gt 0 ] && break; sleep 0.02; done;"
      .. " (echo '.timeout 3000'; echo 'BEGIN IMMEDIATE;'; sleep 4; echo 'COMMIT;') | sqlite3 %s; touch %s) &")
      :format(path, path, done)))
    local c = client({ journal = "sqlite:" .. path .. "?timeout=0.3" })
    local t, err = c:generate({ prompt = "paid", key = "paid-1" })
    assert.is_string(t and t.id)
    assert.equal("store", err.code)
    assert.equal(t.id, err.id)
    assert.equal(t, err.object)
    assert.matches("was created but the journal could not record it", err.message)
    assert.equal(1, creates())
    assert(t:wait({ timeout = 5 }))
    local waited = 0
    while not helpers.exists(done) and waited < 100 do
      require("seedance.core").sleep(0.1)
      waited = waited + 1
    end
    os.remove(done)
    c:close()
    -- a rerun finds the intent without an id: it refuses to create (and pay) again
    local c2 = client()
    local again, err2 = c2:generate({ prompt = "paid", key = "paid-1" })
    assert.is_nil(again)
    assert.equal("maybe_submitted", err2.code)
    assert.equal(1, creates())
    c2:close()
  end)
end)
