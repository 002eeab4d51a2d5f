-- The smaller broken promises of issue 12: a 1 MB response header reported as "Out of
-- memory", a response-header overflow reported as a body limit, and a local file error
-- after a paid task reported as `network` with advice to rerun (which would pay again).
local hostile = require "hostile"
local seedance = require "seedance"

local KEY = "sk-small-0001"

describe("oversized answers say what was too large", function()
  local srv, c
  setup(function()
    srv = hostile.start([[
      return function(req)
        if req.path:find("bigheader") then
          return { status = 200, headers = { "X-Big: " .. string.rep("a", 1024 * 1024) }, body = "{}" }
        elseif req.path:find("manyheaders") then
          local h = {}
          for i = 1, 5000 do h[i] = "X-H" .. i .. ": " .. string.rep("b", 100) end
          return { status = 200, headers = h, body = "{}" }
        end
        return { status = 404, body = "{}" }
      end]])
    c = seedance.new({ provider = "piapi", api_key = KEY, base_url = srv.url, retries = 0 })
  end)
  teardown(function()
    c:close()
    srv:stop()
  end)

  it("a 1 MB header line is an oversized answer, not 'Out of memory'", function()
    local _, err = c:asset("bigheader")
    assert.equal("protocol", err.kind)
    assert.is_nil(err.message:lower():find("out of memory", 1, true), err.message)
    assert.matches("header", err.message)
  end)

  it("too many header bytes are a header limit, not a body limit", function()
    local _, err = c:asset("manyheaders")
    assert.equal("protocol", err.kind)
    assert.matches("header", err.message)
    assert.is_nil(err.message:find("body", 1, true), err.message)
  end)
end)

describe("a download that cannot be written after the task succeeded", function()
  local emu, c, t, dir
  setup(function()
    emu = require("seedance.emulator").start({ provider = "piapi", processing = 0.05, api_key = KEY })
    c = require("helpers").new_client("piapi", KEY, emu.url)
    t = assert(c:generate({ prompt = "a cat" }))
    assert(t:wait({ timeout = 10 }))
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
  end)
  teardown(function()
    c:close()
    emu:stop()
    os.execute("rm -rf " .. dir)
  end)

  local function says_local(err)
    assert.is_true(seedance.is_error(err))
    assert.is_not.equal("network", err.kind)
    assert.equal("local_file", err.code)
    assert.is_false(err.retryable)
    assert.is_nil(err.message:find("rerun", 1, true), err.message)
    assert.matches("local file", err.message)
    -- how to fetch the same task again, never a new one
    assert.is_truthy(err.message:find(t.id, 1, true), err.message)
    assert.is_truthy(err.message:find("client:task", 1, true), err.message)
  end

  it("says it is a local file problem when the directory is missing", function()
    local p, err = t:download(dir .. "/no/such/dir/v.mp4")
    assert.is_nil(p)
    says_local(err)
  end)

  it("says so when the file cannot be moved into place (async too)", function()
    -- the target is a directory: the bytes arrive, the rename fails
    os.execute("mkdir -p " .. dir .. "/taken")
    local p, err = t:download(dir .. "/taken")
    assert.is_nil(p)
    says_local(err)
    local d = assert(t:download_async(dir .. "/missing/v.mp4"))
    local p2, err2 = d:wait({ timeout = 10 })
    assert.is_nil(p2)
    says_local(err2)
  end)
end)
