-- The object contract (issue 11, "Objects in C"): assets, groups, sessions and tasks are
-- userdata made by seedance.core, one metatable per kind, fields read like table fields,
-- __eq by identity, __tostring as before, close/__close/__gc one idempotent cleanup, raw
-- kept as the answer's text and decoded on first read, assignment of unknown fields refused.
-- Against the AnyFast twin, which has all four kinds.
local seedance = require "seedance"
local core = require "seedance.core"
local cjson = require "cjson"
local asset_mod = require "seedance.model.asset"
local task_mod = require "seedance.model.task"
local object = require "seedance.model.object"
local dialect = require "seedance.providers.anyfast"
local helpers = require "helpers"

local KEY = "af-test-secret-0123456789"

-- the raw answer as the object stores it, before any read of obj.raw decodes it
local function stored_raw(o)
  if _VERSION == "Lua 5.4" then return (debug.getuservalue(o, 2)) end -- luacheck: ignore 143
  local uv = debug.getuservalue and debug.getuservalue(o) or debug.getfenv(o) -- luacheck: ignore 143
  return uv[2]
end

describe("objects", function()
  local emulated = helpers.twin("anyfast", KEY, { processing = 30, api_key = KEY }, { processing = 30, api_key = KEY })
  local client, group, asset

  before_each(function()
    client = emulated:client()
    group = assert(client:create_group({ name = "cast" }))
    asset = assert(client:upload({ url = "https://cdn.example.com/hero.png", group = group }))
  end)
  after_each(function() client:close() end)

  it("are userdata of seedance.core, one metatable per kind", function()
    local session = assert(client:verify({ return_url = "https://app.example/cb" }))
    local task = assert(client:generate({ prompt = "a cat walks", duration = 5 }))
    local want = { [asset] = "seedance.Asset", [group] = "seedance.Group", [session] = "seedance.Session",
                   [task] = "seedance.Task" }
    local kinds = { [asset] = "asset", [group] = "group", [session] = "session", [task] = "task" }
    for o, name in pairs(want) do
      assert.equal("userdata", type(o))
      assert.equal(name, getmetatable(o).__name)
      assert.equal(debug.getregistry()[name], getmetatable(o))
      assert.equal(kinds[o], o._kind)
      assert.equal(kinds[o], object.kind(o))
      assert.equal(kinds[o], core.object_kind(o))
    end
    for _, v in ipairs({ {}, "asset", 1, cjson.null, io.stdout, client }) do assert.is_nil(object.kind(v)) end
  end)

  it("read their fields like table fields, as api.md names them", function()
    assert.matches("^asset%-", asset.id)
    assert.same({ "processing", "image", "https://cdn.example.com/hero.png", group.id },
                { asset.status, asset.type, asset.url, group.id })
    assert.equal("asset://" .. asset.id, asset.ref)
    assert.is_nil(asset.error)
    assert.is_nil(asset.no_such_field)
    assert.same({ "cast", "aigc" }, { group.name, group.type })
    local task = assert(client:generate({ prompt = "a cat walks", duration = 5 }))
    assert.same({ "queued", "a cat walks" }, { task.status, task.prompt })
    local session = assert(client:verify({ return_url = "https://app.example/cb" }))
    assert.same({ "pending", true }, { session.status, session.link:match("^https?://") ~= nil })
    -- methods come after the fields
    assert.is_function(asset.refresh)
    assert.is_function(task.download)
    assert.is_function(group.update)
  end)

  it("compare by identity and print as before", function()
    local again = assert(client:asset(asset.id))
    assert.equal(asset, asset)
    assert.are_not.equal(asset, again)
    assert.is_false(rawequal(asset, again))
    assert.equal(asset.id, again.id)
    assert.equal(("seedance.asset(anyfast %s processing)"):format(asset.id), tostring(asset))
    assert.equal(("seedance.group(anyfast %s cast)"):format(group.id), tostring(group))
    local task = assert(client:generate({ prompt = "a cat walks", duration = 5 }))
    assert.equal(("seedance.task(anyfast %s queued)"):format(task.id), tostring(task))
    helpers.assert_shown_without(KEY, asset, group, task)
  end)

  it("keep the answer's text as raw and decode it on first read, equal to the answer", function()
    local a = assert(client:asset(asset.id))
    assert.equal("string", type(stored_raw(a)))
    local answer = assert(client:_call(dialect.get_asset(asset.id)))
    local raw = a.raw
    assert.equal("table", type(raw))
    assert.same(answer, raw)
    assert.equal(raw, a.raw) -- decoded once, then the same table
    assert.equal(raw, stored_raw(a))
    -- text that is not JSON reads back as the text
    local odd = asset_mod.new(client, { id = "x" }, "not json")
    assert.equal("not json", odd.raw)
    -- a table given as raw is kept as it is
    local t = {}
    assert.equal(t, asset_mod.new(client, { id = "y" }, t).raw)
  end)

  it("keep the raw answer beside their extras, whichever comes first", function()
    local a = asset_mod.new(client, { id = "a-1", raw_status = "Processing" }, '{"id":"a-1"}')
    a._note = "first extra" -- the extras now hold the raw answer too
    a.deleted = true
    assert.same({ id = "a-1" }, a.raw)
    a.raw = '{"id":"a-1","again":true}'
    assert.same({ id = "a-1", again = true }, a.raw)
    assert.same({ "first extra", true }, { a._note, a.deleted })
    if _VERSION ~= "Lua 5.1" then
      for k in pairs(a) do assert.equal("string", type(k)) end -- the raw answer is no field
    end
    a.raw = nil
    assert.is_nil(a.raw)
    assert.equal("first extra", a._note)
  end)

  it("keep every number and string apart as fields come and go", function()
    local t = task_mod.new(client, { id = "t-2", raw_status = "running", created_at = 5 })
    for p = 0, 100, 10 do
      t.progress = p
      t.video_url = p % 20 == 0 and ("https://cdn.example.com/v" .. p .. ".mp4") or nil
    end
    t.updated_at = 7.25
    t.progress = nil
    assert.same({ "t-2", "running", 5, 7.25, "https://cdn.example.com/v100.mp4" },
      { t.id, t.status, t.created_at, t.updated_at, t.video_url })
    assert.is_nil(t.progress)
    t.progress = 99.5
    assert.equal(99.5, t.progress)
  end)

  it("refuse to set a field they do not have, naming it; internal names are kept", function()
    local ok, err = pcall(function() asset.nickname = "hero" end)
    assert.is_false(ok)
    assert.matches("seedance.Asset: no field named 'nickname'", err, 1, true)
    ok, err = pcall(function() group.colour = "red" end)
    assert.is_false(ok)
    assert.matches("seedance.Group: no field named 'colour'", err, 1, true)
    asset._mine = { 1 }
    assert.same({ 1 }, asset._mine)
    asset.name = "hero"
    assert.equal("hero", asset.name)
    asset.name = nil
    assert.is_nil(asset.name)
    -- what was written reads back, whatever its type
    asset.name = 5
    assert.equal(5, asset.name)
    asset.deleted = true
    assert.is_true(asset.deleted)
    -- a provider's own fields come in through _apply and read back
    asset:_apply({ ark_asset_id = "ark-1", raw_status = "Active" })
    assert.same({ "ark-1", "active" }, { asset.ark_asset_id, asset.status })
    assert.has_error(function() asset._kind = "task" end)
  end)

  it("iterate their public fields with pairs where the Lua honours __pairs (5.2+)", function()
    if _VERSION == "Lua 5.1" then return end -- LuaJIT and 5.1 ignore __pairs
    asset._mine = 1
    asset:_apply({ ark_asset_id = "ark-1" })
    local seen = {}
    for k, v in pairs(asset) do seen[k] = v end
    assert.same({ id = asset.id, status = "processing", type = "image", url = "https://cdn.example.com/hero.png",
                  ref = asset.ref, group_id = group.id, name = asset.name, ark_asset_id = "ark-1" }, seen)
  end)

  it("read back every string as written: status words, empty, long, with NUL bytes", function()
    local t = task_mod.new(client, { id = "t-3" })
    for _, v in ipairs({ "processing", "Processing", "SUCCEEDED", "in_progress", "weird_state", "", "x",
                         ("z"):rep(70000), ("y"):rep(254), ("w"):rep(255), ("v"):rep(256), "a\0b", "failed" }) do
      t.raw_status = v
      t.name = v
      t.status = v
      assert.equal(v, t.raw_status)
      assert.equal(v, t.name)
      assert.equal(v, t.status)
      assert.equal(v, core._object_view(t).raw_status)
      assert.equal("t-3", t.id)
    end
  end)

  it("keep numbers as the provider gave them", function()
    local t = task_mod.new(client, { id = "t-1", raw_status = "running", progress = 50, created_at = 1780846883.5 })
    assert.same({ 50, 1780846883.5, "running" }, { t.progress, t.created_at, t.status })
    local math_type = math.type -- luacheck: ignore 143 (5.3+)
    if math_type then
      assert.equal("integer", math_type(t.progress))
      assert.equal("float", math_type(t.created_at))
    end
    t.progress = nil
    assert.is_nil(t.progress)
  end)

  it("read back every number as written, whole or not, inside 32 bits or past them", function()
    local t = task_mod.new(client, { id = "t-4" })
    local math_type = math.type -- luacheck: ignore 143 (5.3+)
    for _, v in ipairs({ 0, 1, -1, 100, 2147483647, -2147483648, 2147483648, -2147483649, 2 ^ 53, 17806548834,
                         0.5, -3.25, 1e300, 1.0, 2147483647.0, 1 / 0, -1 / 0 }) do
      t.progress = v
      t.created_at = v
      assert.equal(v, t.progress)
      assert.equal(v, t.created_at)
      if math_type then assert.equal(math_type(v), math_type(t.progress)) end
    end
    t.progress = -0.0
    assert.equal(-1 / 0, 1 / t.progress)
    t.progress = 0 / 0
    assert.is_true(t.progress ~= t.progress)
  end)

  it("share one idempotent cleanup: close(), __close and __gc; a closed object says so", function()
    client:track(asset)
    assert.equal(1, client:_tracker():count())
    asset:close()
    asset:close()
    assert.equal(0, client:_tracker():count())
    assert.equal("seedance.asset(closed)", tostring(asset))
    assert.is_nil(asset.id)
    assert.equal("asset", asset._kind)
    assert.has_error(function() asset:refresh() end, "seedance.Asset: object is closed")
    assert.has_error(function() asset.name = "x" end)
    if _VERSION == "Lua 5.4" then
      local t = assert(client:generate({ prompt = "a cat walks", duration = 5 }))
      local run = assert(load("local t = ...; do local x <close> = t end; return t"))
      assert.equal("seedance.task(closed)", tostring(run(t)))
      t:close()
    end
    -- many objects made and dropped: __gc frees each (valgrind and ASan runs check the C)
    for i = 1, 200 do
      asset_mod.new(client, { id = "gc-" .. i, raw_status = "Processing", url = "https://x/y.png" }, "{}")
    end
    collectgarbage()
    collectgarbage()
  end)

  it("show the scheduler (object.h) the fields Lua sees, and take its writes", function()
    local t = task_mod.new(client, { id = "t-2", raw_status = "running", progress = 10 })
    assert.same({ kind = "task", closed = false, ok = true, id = "t-2", status = "running", raw_status = "running",
                  progress = 10 }, core._object_view(t))
    local v = core._object_view(t, "succeeded", "SUCCESS", 100)
    assert.same({ "succeeded", "SUCCESS", 100 }, { v.status, v.raw_status, v.progress })
    assert.same({ "succeeded", "SUCCESS", 100, "t-2" }, { t.status, t.raw_status, t.progress, t.id })
    assert.is_true(t:_terminal())
    v = core._object_view(t, false, false, false)
    assert.same({ kind = "task", closed = false, ok = true, id = "t-2" }, v)
    assert.is_nil(t.status)
    t:close()
    v = core._object_view(t, "running")
    assert.same({ kind = "task", closed = true, ok = false }, v)
    assert.has_error(function() core._object_view({}) end)
  end)

  it("raise, never crash, when their metamethods are called with something else", function()
    local mt = getmetatable(asset)
    for _, name in ipairs({ "__index", "__newindex", "__tostring", "__gc", "__close", "__pairs" }) do
      for _, v in ipairs({ {}, "x", 1, cjson.null, io.stdout }) do
        assert.has_error(function() mt[name](v, "id", "x") end, nil, name)
      end
    end
    -- an Asset's field access is an Asset's: a Group handed to it is refused
    assert.has_error(function() mt.__index(group, "id") end)
    assert.has_error(function() mt.__newindex(group, "name", "x") end)
    assert.has_error(function() mt.__methods._assign({}, {}) end)
    assert.has_error(function() asset:_assign("x") end)
    assert.equal(asset.id, mt.__index(asset, "id"))
  end)

  it("are what waits and tracking take; a group or a table is refused", function()
    assert.has_error(function() seedance.wait_all({ group }) end,
                     "seedance.wait_all: item 1 is not an asset, task or session")
    assert.has_error(function() seedance.wait_all({ { id = "x" } }) end)
    assert.has_error(function() client:track({}) end, "client:track: expected an asset, task or session")
  end)
end)
