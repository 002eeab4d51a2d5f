-- Answers of the wrong shape (issue 12): whatever a server answers with a 200, every call of
-- every dialect gives nil and a `protocol` error, never a Lua error, never an object without
-- an id, never a result URL that is not http(s).
local hostile = require "hostile"
local seedance = require "seedance"

local KEY = "sk-hostile-shapes-0001"

-- bodies no service sends on success: not objects, or objects whose ids and words are of
-- the wrong type wherever the six dialects look for them
local POISON = [[{"id":{},"task_id":true,"asset_id":[],"request_id":false,"Id":{},"status":{},
  "data":{"task_id":{},"id":true,"status":5,"asset_id":{},"GroupId":[]},
  "Result":{"Id":{},"Status":{},"Items":[{"Id":{}}]},"items":[{"asset_id":{}}],"results":[{"asset_id":{}}],
  "content":{"video_url":{}},"output":{"video":[]}}]]
local BODIES = { "42", "true", "null", '"just text"', "[]", "[1,2,3]", "{}", '{"id":{}}', '{"id":true}',
                 '{"id":""}', '{"data":"x"}', '{"data":[]}', POISON }

local function client_for(provider, url)
  local o = { provider = provider, api_key = KEY, base_url = url, retries = 0, timeout = 5,
              poll = { interval = 0.01, max = 0.02 } }
  if provider == "ark" then
    o.control_url, o.access_key, o.secret_key = url, "AKhostile", "SKhostile"
  end
  return seedance.new(o)
end

local function can(c, cap) return (c.dialect.capabilities or {})[cap] end

-- every public call that reads an answer, as name -> function(client) -> result, err
local CALLS = {
  generate = function(c)
    if not can(c, "generate") then return end
    return c:generate({ prompt = "a cat" })
  end,
  task = function(c)
    if not can(c, "generate") then return end
    return c:task("t-1")
  end,
  asset = function(c) return c:asset("a-1") end,
  upload = function(c)
    if not can(c, "assets") then return end
    -- a group for the services that keep assets in groups (AnyFast)
    return c:upload({ url = "https://example.com/cat.png", validate = false, group = "g-1" })
  end,
  upload_many = function(c)
    if not can(c, "assets") then return end
    local list, err = c:upload_many({ { url = "https://example.com/a.png", validate = false, group = "g-1" },
                                       { url = "https://example.com/b.png", validate = false, group = "g-1" } })
    if list then
      -- a partial outcome: each place holds an asset or an error, and no asset lacks its id
      for _, x in ipairs(list) do
        if not seedance.is_error(x) then return x end
      end
      return nil, list[1]
    end
    return list, err
  end,
  assets = function(c)
    if not can(c, "list") then return end
    local n = 0
    for a in c:assets() do
      assert.is_string(a.id)
      n = n + 1
    end
    return n > 0 and n or nil, c:last_error()
  end,
  quota = function(c)
    if not can(c, "quota") then return end
    return c:quota()
  end,
  create_group = function(c)
    if not can(c, "groups") then return end
    return c:create_group({ name = "g" })
  end,
  groups = function(c)
    if not can(c, "groups") then return end
    local n = 0
    for g in c:groups() do
      assert.is_string(g.id)
      n = n + 1
    end
    return n > 0 and n or nil, c:last_error()
  end,
  verify = function(c)
    if not can(c, "sessions") then return end
    return c:verify()
  end,
  delete_many = function(c)
    if not can(c, "batch_delete") then return end
    return c:delete_many({ "a-1", "a-2" })
  end,
}

describe("answers of the wrong shape", function()
  local srv
  setup(function()
    -- the body to answer comes with each request's path: /<n>/... picks BODIES[n]
    srv = hostile.start(([[
      local bodies = %s
      local pick = 1
      return function(req)
        if req.path == "/pick" then pick = tonumber(req.body); return { status = 200, body = "{}" } end
        return { status = 200, headers = { "Content-Type: application/json" }, body = bodies[pick] }
      end]]):format((function()
        local parts = {}
        for i, b in ipairs(BODIES) do parts[i] = ("%q"):format(b) end
        return "{" .. table.concat(parts, ",") .. "}"
      end)()))
  end)
  teardown(function() srv:stop() end)

  local function pick(i)
    local core = require "seedance.core"
    local e = core.engine({ retries = 0 })
    e:submit({ method = "POST", url = srv.url .. "/pick", body = tostring(i) })
    while #e:collect() == 0 do
      e:step()
      e:wait(0.01)
    end
    e:close()
  end

  for _, provider in ipairs(seedance.providers) do
    it(provider .. ": every call gives nil and a protocol error, for every body", function()
      local c = client_for(provider, srv.url)
      for i, body in ipairs(BODIES) do
        pick(i)
        for name, call in pairs(CALLS) do
          local what = ("%s %s on %s"):format(provider, name, body:sub(1, 40))
          local ok, res, err = pcall(call, c)
          assert(ok, what .. " raised: " .. tostring(res))
          if res ~= nil or err ~= nil then
            -- an empty listing is a fair reading of an object without items
            assert.is_nil(res, what .. " gave a result")
            assert.is_true(seedance.is_error(err), what .. " gave no error")
            -- a batch answer without per-item results may read as each item refused (PiAPI)
            local also = (name == "upload_many" and err.kind == "validation")
                         or (name == "delete_many" and err.kind == "provider" and err.results ~= nil)
            assert.is_true(err.kind == "protocol" or also, what .. ": " .. tostring(err))
          end
        end
      end
      c:close()
    end)
  end
end)

describe("a result URL that is not http(s)", function()
  local srv
  setup(function()
    srv = hostile.start([[
      return function(req)
        if req.method == "POST" then
          return { status = 200, body = '{"code":200,"data":{"task_id":"t-1","status":"pending"}}' }
        end
        return { status = 200, body = '{"code":200,"data":{"task_id":"t-1","status":"completed",'
                 .. '"output":{"video":"file:///etc/passwd"}}}' }
      end]])
  end)
  teardown(function() srv:stop() end)

  it("is a protocol error from the refresh, the wait and the download", function()
    local c = client_for("piapi", srv.url)
    local _, err = c:task("t-1")
    assert.equal("protocol", err.kind)
    assert.matches("video_url", err.message)
    local t = assert(c:generate({ prompt = "a cat" }))
    local ok, werr = t:wait({ timeout = 5 })
    assert.is_nil(ok)
    assert.equal("protocol", werr.kind)
    -- a URL that reached a task some other way is refused before any request
    t.video_url = "file:///etc/passwd"
    local path = os.tmpname()
    local p, derr = t:download(path)
    assert.is_nil(p)
    assert.equal("protocol", derr.kind)
    os.remove(path)
    c:close()
  end)
end)
