-- The journal: nothing created twice across reruns, unknown outcomes looked up before any
-- second create, durable and secret-free on disk.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local helpers = require "helpers"
local read, write = helpers.read, helpers.write

local KEY = "pk-journal-secret-4242"

describe("journal", function()
  local emu, path

  setup(function() emu = assert(emulator.start({ provider = "piapi", processing = 0.1, api_key = KEY })) end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    emu:configure({ processing = 0.1, generation = 0.3 })
    path = os.tmpname()
    os.remove(path)
  end)
  after_each(function()
    for _, s in ipairs({ "", "-wal", "-shm" }) do os.remove(path .. s) end
  end)

  local function client(extra)
    local o = { provider = "piapi", api_key = KEY, base_url = emu.url, journal = path, retries = 0,
                poll = { interval = 0.05, max = 0.1 } }
    for k, v in pairs(extra or {}) do o[k] = v end
    return seedance.new(o)
  end

  local function creates()
    local s = emu:stats()
    return (s.by_route["POST /api/v1/asset/upload"] or 0), (s.by_route["POST /api/v1/task"] or 0),
           (s.by_route["POST /api/v1/asset/upload/batch"] or 0)
  end

  it("records every id durably and a rerun reuses them instead of paying again", function()
    local c1 = client()
    local hero = assert(c1:upload({ url = "https://x/hero.png", name = "hero" }))
    local cast = assert(c1:upload_many({ { url = "https://x/a.png" }, { url = "https://x/b.png" } }))
    assert(hero:wait({ timeout = 5 }))
    local t1 = assert(c1:generate({ prompt = "{{h}} waves", refs = { h = hero }, key = "shot-1" }))
    local t2 = assert(c1:generate({ prompt = "a derived key" }))
    c1:close()
    local text = read(path)
    assert.truthy(text:find(hero.id, 1, true))
    assert.truthy(text:find(t1.id, 1, true))
    assert.truthy(text:find(cast[2].id, 1, true))
    assert.is_nil(text:find(KEY, 1, true))
    local u0, t0, b0 = creates()
    -- the same workflow again, as after a crash
    local c2 = client()
    local hero2 = assert(c2:upload({ url = "https://x/hero.png", name = "hero" }))
    assert.equal(hero.id, hero2.id)
    local cast2 = assert(c2:upload_many({ { url = "https://x/a.png" }, { url = "https://x/b.png" } }))
    assert.equal(cast[1].id, cast2[1].id)
    assert.equal(cast[2].id, cast2[2].id)
    local r1 = assert(c2:generate({ prompt = "{{h}} waves", refs = { h = hero2 }, key = "shot-1" }))
    assert.equal(t1.id, r1.id)
    assert.is_true(r1.resumed)
    local r2 = assert(c2:generate({ prompt = "a derived key" }))
    assert.equal(t2.id, r2.id)
    assert(r1:wait({ timeout = 5 }))
    local u1, t1n, b1 = creates()
    assert.same({ u0, t0, b0 }, { u1, t1n, b1 })
    -- a different input is a different task
    assert.are_not.equal(t2.id, assert(c2:generate({ prompt = "another shot" })).id)
    c2:close()
  end)

  it("registers again an asset that failed or was deleted", function()
    local c = client()
    local a = assert(c:upload({ url = "https://x/gone.png" }))
    assert(a:wait({ timeout = 5 }))
    assert(a:delete())
    local b = assert(c:upload({ url = "https://x/gone.png" }))
    assert.are_not.equal(a.id, b.id)
    c:close()
  end)

  it("looks an asset up by URL when a create's answer was lost, instead of creating it again", function()
    local c = client()
    emu:fault({ match = "POST /api/v1/asset/upload", status = 502, process = true, count = 1 })
    local a = assert(c:upload({ url = "https://x/lost.png", name = "lost" }))
    assert.equal(1, (creates()))
    assert.equal(1, emu:stats().creates)
    -- and without a journal too
    local plain = seedance.new({ provider = "piapi", api_key = KEY, base_url = emu.url, retries = 0 })
    emu:fault({ match = "POST /api/v1/asset/upload", close = true, process = true, count = 1 })
    local b = assert(plain:upload({ url = "https://x/lost2.png" }))
    assert.is_string(b.id)
    assert.equal(0, emu:stats().duplicate_creates)
    assert.is_string(a.id)
    plain:close()
    c:close()
  end)

  it("never repeats a generation whose create may have happened", function()
    local c = client()
    emu:fault({ match = "POST /api/v1/task", close = true, process = true, count = 1 })
    local t, err = c:generate({ prompt = "maybe", key = "k1" })
    assert.is_nil(t)
    assert.is_true(err.maybe_submitted)
    local again, err2 = c:generate({ prompt = "maybe", key = "k1" })
    assert.is_nil(again)
    assert.equal("conflict", err2.kind)
    assert.equal("maybe_submitted", err2.code)
    local _, tasks = creates()
    assert.equal(1, tasks)
    assert(c:forget("k1"))
    assert(c:generate({ prompt = "maybe", key = "k1" }))
    c:close()
  end)

  it("forgets an intent whose create provably did nothing", function()
    local c = client()
    emu:fault({ match = "POST /api/v1/task", status = 400, count = 1 })
    local _, err = c:generate({ prompt = "refused", key = "k2" })
    assert.equal("validation", err.kind)
    assert(c:generate({ prompt = "refused", key = "k2" }))
    c:close()
  end)

  it("keeps every committed record when its writer is SIGKILLed mid-write, and its claim lapses", function()
    -- a child process runs keyed creates' bookkeeping on the store (spec/support/store_writer.lua)
    -- and is killed with SIGKILL at a random point, three times: each time the store opens
    -- (SQLite recovers its WAL), holds every intent and id the child reported committed,
    -- and takes new writes; the killed writer's last claim lapses after its lease
    local store = require "seedance.store"
    local core = require "seedance.core"
    local lua = type(jit) == "table" and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
    local out, from = path .. ".out", 1
    math.randomseed(os.time())
    for _ = 1, 3 do
      local pid = helpers.capture(("cd %s && KEY=%s STORE=%s FROM=%d LEASE=0.5 %s spec/support/store_writer.lua"
        .. " > %s 2>&1 & echo $!"):format(helpers.ROOT, KEY, path, from, lua, out)):match("%d+")
      local function count()
        local n = 0
        for _ in (read(out) or ""):gmatch("done %d+") do n = n + 1 end
        return n
      end
      local waited = 0
      while count() < 20 and waited < 200 do
        core.sleep(0.05)
        waited = waited + 1
      end
      core.sleep(math.random() * 0.3)
      assert(helpers.sh("kill -9 " .. pid))
      while helpers.sh("kill -0 " .. pid .. " 2>/dev/null") do core.sleep(0.02) end
      local text = read(out)
      local intents, done, last = {}, {}, from - 1
      for what, i in text:gmatch("(%a+) (%d+)") do
        i = tonumber(i)
        if what == "intent" then intents[i] = true else done[i] = true end
        if i > last then last = i end
      end
      assert.is_true(last >= from + 19, text:sub(-300))
      local s = store.open(path, { secret = KEY })
      for i = from, last do
        local e = s:get("k" .. i)
        if done[i] then assert.equal("task-" .. i, e and e.id, "k" .. i) end
        if intents[i] then assert.is_table(e, "k" .. i) end
      end
      -- the record being written when the kill came: its claim lapses, its intent stays
      local cut = "k" .. (last + (done[last] and 1 or 0))
      local e = s:get(cut)
      if e then
        core.sleep(0.6)
        local got, seen = s:claim_entry(cut, 10)
        assert.is_true(got)
        assert.equal(cut, seen.key)
        assert(s:release(cut))
      end
      assert(s:put("after-" .. from, { kind = "task", provider = "piapi", id = "t" }))
      s:close()
      from = last + 2
    end
    os.remove(out)
    if helpers.sh("command -v sqlite3 >/dev/null") then
      assert.equal("ok", helpers.capture("sqlite3 " .. path .. " 'PRAGMA integrity_check'"):match("^%s*(.-)%s*$"))
    end
  end)

  it("refuses a file that is not a journal and leaves it untouched", function()
    write(path, "precious notes")
    assert.has_error(function() client() end)
    assert.equal("precious notes", read(path))
  end)

  it("reports an unwritable journal before creating anything", function()
    local c = seedance.new({ provider = "piapi", api_key = KEY, base_url = emu.url,
                             journal = "/nonexistent-dir/j.json" })
    local _, err = c:upload({ url = "https://x/never.png" })
    assert.matches("cannot write the journal", err.message)
    assert.equal(0, emu:stats().creates)
    c:close()
  end)
end)
