-- Answers that never end (issue 12): a listing that always says more pages follow, a
-- download that trickles or floods, ids and keys of megabytes. Every loop is bounded by a
-- count and a deadline, every download has a default deadline and a size cap, and absurd
-- lengths are refused before anything is sent.
local hostile = require "hostile"
local seedance = require "seedance"
local core = require "seedance.core"
local download = require "seedance.media.download"
-- absent before issue 12: then this spec shows what a library without the bound does
local has_pager, pager = pcall(require, "seedance.wire.pager")
if not has_pager then pager = {} end

local KEY = "sk-endless-0001"

local function new_client(url, extra)
  local o = { provider = "piapi", api_key = KEY, base_url = url, retries = 0, timeout = 5 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return seedance.new(o)
end

describe("a listing that never ends", function()
  local srv
  setup(function()
    -- every page holds one asset and says a trillion more follow; creates are lost (502); a
    -- bound of its own (3000 requests) keeps a library without one from spinning for ever
    srv = hostile.start([[
      return function(req, n)
        if n > 3000 then return { status = 500, body = '{"error":"enough"}' } end
        if req.method == "POST" then return { status = 502, body = "lost" } end
        if req.path == "/slow" then return { status = 200, body = "{}" } end
        local delay = req.target:find("order=slow", 1, true) and 0.2 or nil
        return { status = 200, delay = delay, body = '{"items":[{"asset_id":"a-' .. n
                 .. '","status":"active","url":"https://x/other.png"}],"size":1,"total":1000000000000}' }
      end]])
  end)
  teardown(function() srv:stop() end)

  it("stops after max_pages pages, and says so", function()
    local c = new_client(srv.url)
    local before = #srv:requests()
    local n = 0
    for _ in c:assets({ max_pages = 25 }) do n = n + 1 end
    assert.equal(25, n)
    assert.equal(25, #srv:requests() - before)
    local err = c:last_error()
    assert.equal("protocol", err.kind)
    assert.equal("too_many_pages", err.code)
    c:close()
  end)

  it("stops at its deadline", function()
    local c = new_client(srv.url)
    local t0 = core.now()
    for _ in c:assets({ timeout = 0.5, order = "slow" }) do end -- luacheck: ignore 512
    assert.is_true(core.now() - t0 < 2, "the listing ran past its deadline")
    assert.equal("timeout", c:last_error().kind)
    c:close()
  end)

  it("bounds the lookup after a lost create by default", function()
    local saved = pager.MAX_PAGES
    pager.MAX_PAGES = 200 -- the default is 1000; the bound is the point, not its size
    local c = new_client(srv.url)
    local before = #srv:requests()
    local a, err = c:upload({ url = "https://x/mine.png", validate = false })
    pager.MAX_PAGES = saved
    assert.is_nil(a)
    assert.is_true(err.maybe_submitted)
    -- the create, then at most MAX_PAGES pages of looking
    assert.is_true(#srv:requests() - before <= 201, (#srv:requests() - before) .. " requests")
    c:close()
  end)
end)

describe("a download that never ends", function()
  local srv, dir
  setup(function()
    srv = hostile.start([[
      return function(req)
        if req.path == "/trickle" then
          -- 4 KB/s: above libcurl's low-speed floor, so only a deadline ends it
          return { status = 200, trickle = { bytes = 2048, every = 0.5, total = 200 * 1024 } }
        elseif req.path == "/flood" then
          return { status = 200, flood = 64 * 1024 * 1024 }
        end
        return { status = 200, body = '{"code":200,"data":{"task_id":"t-1","status":"completed",'
                 .. '"output":{"video":"http://' .. req.headers.host .. req.path:gsub("^/api/v1/task/", "/") .. '"}}}' }
      end]])
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
  end)
  teardown(function()
    srv:stop()
    os.execute("rm -rf " .. dir)
  end)

  local function finished_task(c, what)
    return assert(c:task(what))
  end

  it("ends at the default deadline when no timeout is given", function()
    local saved = download.TIMEOUT
    download.TIMEOUT = 1
    local c = new_client(srv.url)
    local t = finished_task(c, "trickle")
    local t0 = core.now()
    local p, err = t:download(dir .. "/slow.mp4")
    download.TIMEOUT = saved
    assert.is_nil(p)
    assert.equal("timeout", err.kind)
    assert.is_true(core.now() - t0 < 5, "took " .. (core.now() - t0) .. " s")
    c:close()
  end)

  it("stops at max_bytes, and at the default cap without one", function()
    local c = new_client(srv.url)
    local t = finished_task(c, "flood")
    local p, err = t:download(dir .. "/big.mp4", { max_bytes = 1024 * 1024 })
    assert.is_nil(p)
    assert.equal("protocol", err.kind)
    assert.equal("too_large", err.code)
    local f = io.open(dir .. "/big.mp4.part", "rb")
    local size = f and f:seek("end") or 0
    if f then f:close() end
    assert.is_true(size <= 1024 * 1024, size .. " bytes written")
    local saved = download.MAX_BYTES
    download.MAX_BYTES = 2 * 1024 * 1024
    os.remove(dir .. "/big.mp4.part")
    local d = t:download_async(dir .. "/big2.mp4")
    local p2, err2 = d:wait({ timeout = 30 })
    download.MAX_BYTES = saved
    assert.is_nil(p2)
    assert.equal("too_large", err2.code)
    c:close()
  end)
end)

describe("ids and keys of megabytes", function()
  local srv
  setup(function()
    srv = hostile.start([[ return function() return { status = 404, body = '{"error":"no"}' } end ]])
  end)
  teardown(function() srv:stop() end)

  it("are refused before anything is sent, naming the argument", function()
    local c = new_client(srv.url)
    local big = string.rep("x", 4 * 1024 * 1024)
    local t0 = core.now()
    assert.has_error(function() c:task(big) end)
    assert.has_error(function() c:asset(big) end)
    local ok, msg = pcall(c.task, c, big)
    assert.is_false(ok)
    assert.matches("'id'", msg)
    ok, msg = pcall(seedance.new, { provider = "piapi", api_key = big, base_url = srv.url })
    assert.is_false(ok)
    assert.matches("'api_key'", msg)
    assert.is_true(core.now() - t0 < 1)
    assert.equal(0, #srv:requests())
    c:close()
  end)
end)
