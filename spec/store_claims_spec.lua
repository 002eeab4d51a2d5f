-- A create's bookkeeping in two writes, on SQLite and on Redis: the claim carries the
-- intent (written once, never over an entry already there, never by a process that does
-- not hold the claim), and the completion (the id) ends the claim in the same write, so
-- another worker may take the key at once; a record written again keeps its place in its
-- list. A store made by the first version (rowid tables) keeps working.
local store = require "seedance.store"
local journal = require "seedance.store.journal"
local redis_server = require "redis_server"
local helpers = require "helpers"

local KEY = "pk-claims-secret-2468"

local function intent(n, id)
  return { kind = "task", provider = "piapi", key = "shot-" .. n, at = n, id = id }
end

local function checks(name, spec, cleanup)
  describe(name, function()
    local a, b
    before_each(function()
      cleanup()
      a = store.open(spec(), { secret = KEY })
      b = store.open(spec(), { secret = KEY })
    end)
    after_each(function()
      a:close()
      b:close()
      cleanup()
    end)

    it("claims a key and records its intent in one write, never over an entry or another's claim", function()
      assert.same({ true, false }, { a:claim_entry("k", 30, intent(1)) })
      assert.same(intent(1), b:get("k"))
      -- another worker: neither the claim nor its own intent
      assert.same({ false, a.owner }, { b:claim_entry("k", 30, intent(2)) })
      assert.same(intent(1), b:get("k"))
      -- the holder again (a renewal): the entry as it stands, not overwritten
      assert.same({ true, intent(1) }, { a:claim_entry("k", 30, intent(3)) })
      assert.same(intent(1), a:get("k"))
      -- without an intent: a claim and a read, nothing written
      assert.same({ true, false }, { b:claim_entry("other", 30) })
      assert.is_false(b:get("other"))
      assert.has_error(function() a:claim_entry("k", 0) end)
    end)

    it("ends the claim with the completion, so another worker may take the key at once", function()
      assert.is_true((a:claim_entry("k", 30, intent(1))))
      assert(a:put("k", intent(1, "task-1"), true))
      assert.equal("task-1", b:get("k").id)
      assert.same({ true, intent(1, "task-1") }, { b:claim_entry("k", 30, intent(2)) })
      -- a's claim ended with its completion: its release must not end b's
      assert(a:release("k"))
      assert.same({ false, b.owner }, { a:claim("k", 30) })
      -- a put that is not a completion leaves the writer's claim alone
      assert(b:put("k", intent(1, "task-1b")))
      assert.same({ false, b.owner }, { a:claim("k", 30) })
      assert(b:release("k"))
      assert.is_true((a:claim("k", 30)))
    end)

    it("keeps a record's place in its list when it is written again", function()
      assert(a:put("x", intent(1)))
      assert(a:put("y", intent(2)))
      assert(a:put("x", intent(3, "task-x"), true))
      local l = b:list("task", "piapi")
      assert.same({ "x", "y" }, { l[1].key, l[2].key })
      assert.equal("task-x", l[1].entry.id)
      -- moved to another list: it joins that one as new
      assert(a:put("x", { kind = "asset", provider = "piapi", at = 4 }))
      assert.same({ "y" }, { b:list("task", "piapi")[1].key, b:list("task", "piapi")[2] })
      assert.equal("x", b:list("asset", "piapi")[1].key)
    end)

    it("runs journal.once in the store's two writes: one create per key, its claim ended", function()
      local c = { journal = a, timeout = 30, _journal_error = function(_, m) error(m) end }
      local created = 0
      local function create(recorded)
        assert.is_true(recorded)
        assert.same(intent(7), b:get("k7"))
        created = created + 1
        assert(a:put("k7", intent(7, "task-7"), true))
        return "made"
      end
      local function resolve(e) return e.id end
      assert.equal("made", journal.once(c, "k7", resolve, create, intent(7)))
      assert.equal("task-7", journal.once(c, "k7", resolve, create, intent(7)))
      assert.equal(1, created)
      assert.is_true((b:claim("k7", 30)))
    end)
  end)
end

local path = os.tmpname()
local function remove_db()
  for _, s in ipairs({ "", "-wal", "-shm" }) do os.remove(path .. s) end
end
checks("store claims (SQLite)", function() return path end, remove_db)

describe("store claims (Redis)", function()
  if not redis_server.available() then
    it("needs redis-server", function()
      pending("redis-server is not installed: sh scripts/deps.sh --all (CI installs it)")
    end)
    return
  end
  local srv
  setup(function() srv = assert(redis_server.start()) end)
  teardown(function() if srv then srv:destroy() end end)
  checks("on redis-server", function() return srv.url end, function()
    if srv then helpers.sh(("redis-cli -p %d flushall >/dev/null"):format(srv.port)) end
  end)
end)

describe("a store made by the first version (rowid tables)", function()
  after_each(remove_db)

  it("opens with every record, claim and slot, and takes the new writes", function()
    if not helpers.sh("command -v sqlite3 >/dev/null") then
      pending("needs the sqlite3 command (sh scripts/deps.sh)")
      return
    end
    remove_db()
    local ns = "acct:" .. store.account(KEY) .. "\n"
    local function hex(s) return "X'" .. s:gsub(".", function(c) return ("%02x"):format(c:byte()) end) .. "'" end
    local grp = hex(ns .. "piapi\ntask")
    local sql = table.concat({
      "PRAGMA journal_mode=WAL;",
      -- the first version's schema, as it created it
      "CREATE TABLE records(key BLOB PRIMARY KEY, grp BLOB NOT NULL, val BLOB NOT NULL, at REAL NOT NULL);",
      "CREATE INDEX records_by_group ON records(grp, at);",
      "CREATE TABLE claims(key BLOB PRIMARY KEY, owner BLOB NOT NULL, expires REAL NOT NULL);",
      "CREATE TABLE slots(counter BLOB NOT NULL, token BLOB NOT NULL, expires REAL NOT NULL,"
        .. " PRIMARY KEY(counter, token));",
      "CREATE TABLE seedance_store(format INTEGER NOT NULL);",
      "INSERT INTO seedance_store VALUES (1);",
      ("INSERT INTO records VALUES (%s, %s, %s, 1);"):format(hex(ns .. "s1"), grp,
        hex('{"kind":"task","provider":"piapi","id":"task-v1"}')),
      ("INSERT INTO claims VALUES (%s, 'host:1:old', 9e12);"):format(hex(ns .. "s2")),
      ("INSERT INTO slots VALUES (%s, 't1', 9e12);"):format(hex(ns .. "in_flight")),
    }, "\n")
    local f = assert(io.popen("sqlite3 " .. path .. " >/dev/null", "w"))
    f:write(sql)
    f:close()
    local s = store.open(path, { secret = KEY })
    assert.equal("task-v1", s:get("s1").id)
    assert.same({ false, "host:1:old" }, { s:claim_entry("s2", 30, intent(2)) })
    assert.same({ false, 1 }, { s:slot("in_flight", "t2", 1, 30) })
    assert.same({ true, false }, { s:claim_entry("s3", 30, intent(3)) })
    assert(s:put("s3", intent(3, "task-3"), true))
    assert(s:put("s1", intent(1, "task-v1b")))
    local l = s:list("task", "piapi")
    assert.same({ "s1", "s3" }, { l[1].key, l[2].key })
    assert.equal("task-v1b", l[1].entry.id)
    s:close()
    assert.equal("task-3", store.open(path, { secret = KEY }):get("s3").id)
  end)
end)
