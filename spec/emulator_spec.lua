-- The emulator over real HTTP (LuaSocket, not seedance's own client): the C
-- core (seedance.emucore), the Lua face (seedance.emulator), the PiAPI twin,
-- faults, control, "all" mounting and the bin/seedance-emulator command.
local emucore = require "seedance.emucore"
local emulator = require "seedance.emulator"
local cjson = require "cjson"
local http = require "socket.http"
local ltn12 = require "ltn12"
local socket = require "socket"

http.TIMEOUT = 5

local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/spec/[^/]*$")) or "."
local FIXTURES = ROOT .. "/spec/fixtures/emulator/?.lua;"
local KEY = "test-key"

-- One HTTP request. Returns {status=, headers=, body=, json=} or nil, err.
local function request(method, url, body, headers)
  local chunks = {}
  local h = {}
  for k, v in pairs(headers or {}) do h[k:lower()] = v end
  if body then h["content-length"] = tostring(#body) end
  local ok, status, rh = http.request{
    url = url, method = method, headers = h,
    source = body and ltn12.source.string(body) or nil,
    sink = ltn12.sink.table(chunks),
  }
  if not ok then return nil, status end
  local text = table.concat(chunks)
  local decoded_ok, decoded = pcall(cjson.decode, text)
  return {status = status, headers = rh, body = text, json = decoded_ok and decoded or nil}
end

local function piapi(method, base, path, tbl, extra)
  local headers = {["X-API-Key"] = KEY}
  local body
  if tbl ~= nil then
    body = type(tbl) == "string" and tbl or cjson.encode(tbl)
    headers["Content-Type"] = "application/json"
  end
  for k, v in pairs(extra or {}) do headers[k] = v end
  return request(method, base .. path, body, headers)
end

-- Sends a raw GET on its own connection and returns the socket, unread.
local function send_raw(port, path)
  local c = assert(socket.connect("127.0.0.1", port))
  c:settimeout(5)
  assert(c:send("GET " .. path .. " HTTP/1.1\r\nHost: x\r\nX-API-Key: " .. KEY .. "\r\n\r\n"))
  return c
end

local function read_status(c)
  local line = c:receive("*l")
  c:close()
  return line and tonumber(line:match("^HTTP/1%.%d (%d+)"))
end

local function wait_until(pred, timeout)
  local deadline = emucore.now() + (timeout or 3)
  while emucore.now() < deadline do
    if pred() then return true end
    emucore.sleep(0.05)
  end
  return pred()
end

describe("seedance.emucore", function()
  local function start(extra)
    local o = {port = 0, app = "echo_app", config = "cfg", path = FIXTURES .. package.path}
    for k, v in pairs(extra or {}) do o[k] = v end
    return emucore.start(o)
  end

  it("starts on a free port, answers, and stops idempotently", function()
    local srv = assert(start())
    local port = srv:port()
    assert.is_true(port > 0)
    local r = assert(request("POST", "http://127.0.0.1:" .. port .. "/a%20b/c?x=1%202&y=+z&flag",
                             "hello", {["X-Foo"] = "bar"}))
    assert.equal(200, r.status)
    assert.equal("1", r.headers["x-handled"])
    assert.equal("POST", r.json.method)
    assert.equal("/a b/c", r.json.path)
    assert.equal("x=1%202&y=+z&flag", r.json.raw_query)
    assert.same({x = "1 2", y = " z", flag = ""}, r.json.query)
    assert.equal("bar", r.json.headers["x-foo"])
    assert.equal("hello", r.json.body)
    assert.equal("cfg", r.json.config)
    srv:stop()
    srv:stop()
    assert.is_nil(request("GET", "http://127.0.0.1:" .. port .. "/"))
    assert.matches("closed", tostring(srv))
    assert.same({nil, "closed"}, {srv:control("x")})
  end)

  it("runs control() on the server's state, synchronously", function()
    local srv = assert(start())
    request("GET", "http://127.0.0.1:" .. srv:port() .. "/")
    assert.equal("handled=1 got=ping", srv:control("ping"))
    local out, err = srv:control("boom")
    assert.is_nil(out)
    assert.matches("control failed", err)
    srv:stop()
  end)

  it("turns a Lua error in handle into a 500 and carries on", function()
    local srv = assert(start({quiet = true}))   -- quiet: no traceback on stderr in the run
    local base = "http://127.0.0.1:" .. srv:port()
    local r = assert(request("GET", base .. "/?error=1"))
    assert.equal(500, r.status)
    assert.matches("^emulator: .*asked to fail", r.json.error)
    r = assert(request("GET", base .. "/?bad=1"))
    assert.equal(500, r.status)
    assert.matches("expected a table", r.json.error)
    assert.equal(200, assert(request("GET", base .. "/")).status)
    srv:stop()
  end)

  it("returns nil and a message when the port is taken or the app fails", function()
    local srv = assert(start())
    local other, err = start({port = srv:port()})
    assert.is_nil(other)
    assert.matches("in use", err)
    other, err = start({app = "no.such.app"})
    assert.is_nil(other)
    assert.matches("no.such.app", err)
    srv:stop()
  end)

  it("raises on bad arguments, naming the option", function()
    assert.has_error(function() emucore.start() end)
    assert.error_matches(function() emucore.start({bogus = 1}) end,
      "bad argument #1 to '[%w.]*start' %(unknown option 'bogus'%)")
    assert.has_error(function() emucore.start({port = "x"}) end)
    assert.has_error(function() emucore.start({port = 70000}) end)
    assert.has_error(function() emucore.start({host = 1}) end)
  end)

  it("drops the connection on close, and cuts a truncated body", function()
    local srv = assert(start())
    local base = "http://127.0.0.1:" .. srv:port()
    local r, err = request("GET", base .. "/?close=1")
    assert.is_nil(r)
    assert.equal("closed", err)
    local c = send_raw(srv:port(), "/?truncate=5")
    local head = {}
    repeat
      local line = c:receive("*l")
      head[#head + 1] = line
    until line == "" or line == nil
    local len = tonumber(table.concat(head, "\n"):match("[Cc]ontent%-[Ll]ength: (%d+)"))
    local got, rerr, partial = c:receive(len)
    c:close()
    assert.is_nil(got)
    assert.equal("closed", rerr)
    assert.equal(5, #partial)
    srv:stop()
  end)

  it("answers a delayed request without holding up another connection", function()
    local srv = assert(start())
    local slow = send_raw(srv:port(), "/?delay=1")
    local t0 = emucore.now()
    local fast = send_raw(srv:port(), "/")
    assert.equal(200, read_status(fast))
    assert.is_true(emucore.now() - t0 < 0.5)
    assert.equal(200, read_status(slow))
    assert.is_true(emucore.now() - t0 >= 0.9)
    srv:stop()
  end)

  it("stops with delayed answers still parked", function()
    local srv = assert(start())
    local parked = {}
    for i = 1, 5 do parked[i] = send_raw(srv:port(), "/?delay=30") end
    emucore.sleep(0.1)
    local t0 = emucore.now()
    srv:stop()
    assert.is_true(emucore.now() - t0 < 1)
    for _, c in ipairs(parked) do assert.is_nil(read_status(c)) end
  end)

  it("tells the time and sleeps", function()
    local t0 = emucore.now()
    assert.is_true(math.abs(t0 - os.time()) < 2)
    assert.is_true(emucore.sleep(0.05))
    assert.is_true(emucore.now() - t0 >= 0.05)
  end)
end)

describe("seedance.emulator", function()
  it("starts, reports its URL and port, and stops", function()
    local emu = assert(emulator.start({port = 0}))
    assert.equal("http://127.0.0.1:" .. emu.port, emu.url)
    assert.equal(emu.url, emu.urls.piapi)
    emu:stop()
    emu:stop()
  end)

  it("raises on unknown options, providers, plans and fault fields", function()
    assert.has_error(function() emulator.start({colour = "red"}) end,
      "seedance.emulator.start: unknown option 'colour'")
    assert.has_error(function() emulator.start({provider = "nope"}) end,
      "seedance.emulator.start: unknown provider 'nope'")
    assert.has_error(function() emulator.start({plan = "gold"}) end)
    assert.has_error(function() emulator.start({processing = "2"}) end)
    assert.has_error(function() emulator.start({faults = {meteor = 0.1}}) end)
    local emu = assert(emulator.start())
    assert.has_error(function() emu:fault({match = "GET", sometimes = true}) end)
    assert.has_error(function() emu:control({op = "nope"}) end)
    emu:stop()
  end)

  it("returns nil, message when the port is in use", function()
    local emu = assert(emulator.start())
    local other, err = emulator.start({port = emu.port})
    assert.is_nil(other)
    assert.matches("in use", err)
    emu:stop()
  end)
end)

describe("piapi twin", function()
  local emu, base

  setup(function()
    emu = assert(emulator.start({provider = "piapi", processing = 0.2, plan = "premium"}))
    base = emu.url
  end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    emu:configure({plan = "premium", processing = 0.2, quota = cjson.null})
  end)

  local function upload(t)
    return assert(piapi("POST", base, "/api/v1/asset/upload", t))
  end

  local function error_body(r, status, message)
    assert.equal(status, r.status)
    assert.same({code = status, message = message, data = cjson.null}, r.json)
  end

  it("requires X-API-Key", function()
    local r = assert(request("GET", base .. "/api/v1/asset"))
    error_body(r, 401, "invalid api key")
    r = assert(request("GET", base .. "/api/v1/asset", nil, {["X-API-Key"] = ""}))
    assert.equal(401, r.status)
  end)

  it("accepts only the configured key when one is set", function()
    local strict = assert(emulator.start({api_key = "only-this"}))
    local r = assert(request("GET", strict.url .. "/api/v1/asset", nil, {["X-API-Key"] = "other"}))
    error_body(r, 401, "invalid api key")
    r = assert(request("GET", strict.url .. "/api/v1/asset", nil, {["X-API-Key"] = "only-this"}))
    assert.equal(200, r.status)
    strict:stop()
  end)

  it("refuses asset endpoints on the free plan", function()
    emu:configure({plan = "free"})
    error_body(assert(piapi("GET", base, "/api/v1/asset")), 403,
      "asset endpoints require plan >= hobbyist")
  end)

  it("uploads: POST /api/v1/asset/upload", function()
    local r = upload({url = "https://cdn.example.com/chars/example1.png"})
    assert.equal(200, r.status)
    assert.equal("application/json", r.headers["content-type"])
    assert.matches("^asset%-%d%d%d%d%d%d%d%d%d%d%d%d%d%d%-[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]$",
      r.json.asset_id)
    assert.equal("Processing", r.json.status)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", r.json.upload_at)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", r.json.expires_at)
    local got = assert(piapi("GET", base, "/api/v1/asset/" .. r.json.asset_id)).json
    assert.equal("example1.png", got.name)
    assert.equal("Image", got.asset_type)
    assert.equal("https://cdn.example.com/chars/example1.png", got.url)
    assert.is_nil(r.body:find("\\/", 1, true))
  end)

  it("takes asset_type in any case, infers it from the extension, and names", function()
    local id = upload({url = "https://x/clip?sig=1", asset_type = "video", name = "intro"}).json.asset_id
    local got = piapi("GET", base, "/api/v1/asset/" .. id).json
    assert.equal("Video", got.asset_type)
    assert.equal("intro", got.name)
    id = upload({url = "https://x/voice.MP3?x=1"}).json.asset_id
    assert.equal("Audio", piapi("GET", base, "/api/v1/asset/" .. id).json.asset_type)
  end)

  it("rejects bad uploads with the documented messages", function()
    error_body(upload({name = "x"}), 400, "invalid request: 'url' is required")
    error_body(upload({url = "https://x/notes.txt"}), 400, "unsupported asset_type: txt")
    error_body(upload({url = "https://x/a.png", asset_type = "Picture"}), 400, "unsupported asset_type: Picture")
    error_body(upload({url = "https://x/a.png", colour = "red"}), 400, "invalid request: unknown field 'colour'")
    error_body(upload("not json"), 400, "invalid request: body must be a JSON object")
    local r = assert(piapi("POST", base, "/api/v1/asset/upload", nil, {}))
    assert.equal(400, r.status)
    assert.equal(0, emu:stats().creates)
  end)

  it("moves Processing -> Active after `processing` seconds", function()
    local id = upload({url = "https://x/hero.png"}).json.asset_id
    assert.equal("Processing", piapi("GET", base, "/api/v1/asset/" .. id).json.status)
    emucore.sleep(0.25)
    local got = piapi("GET", base, "/api/v1/asset/" .. id).json
    assert.equal("Active", got.status)
    assert.is_nil(got.error)
  end)

  it("fails assets for the documented reasons", function()
    local ids = {
      MultiFaceViolation = upload({url = "https://x/multi-face.png"}).json.asset_id,
      FetchFailed = upload({url = "https://x/fetch-fail/a.png"}).json.asset_id,
      ImageFormatNotSupported = upload({url = "https://x/a.heif"}).json.asset_id,
    }
    emucore.sleep(0.25)
    for code, id in pairs(ids) do
      local got = piapi("GET", base, "/api/v1/asset/" .. id).json
      assert.equal("Failed", got.status)
      assert.equal(code, got.error.code)
    end
    assert.equal("Image format heif is not supported by current version",
      piapi("GET", base, "/api/v1/asset/" .. ids.ImageFormatNotSupported).json.error.message)
  end)

  it("gets one asset, refreshing last_used_at; 404 when missing", function()
    local id = upload({url = "https://x/a.png"}).json.asset_id
    local first = piapi("GET", base, "/api/v1/asset/" .. id).json
    for _, k in ipairs({"asset_id", "name", "asset_type", "status", "url", "last_used_at",
                        "expires_at", "created_at"}) do
      assert.is_not_nil(first[k], k)
    end
    emu:advance(3600)
    local later = piapi("GET", base, "/api/v1/asset/" .. id).json
    assert.is_true(later.last_used_at > first.last_used_at)
    assert.is_true(later.expires_at > first.expires_at)
    assert.equal(first.created_at, later.created_at)
    error_body(piapi("GET", base, "/api/v1/asset/asset-20260101000000-zzzzz"), 404, "asset not found")
  end)

  it("lists with paging, status filter, order and quota", function()
    local r = piapi("GET", base, "/api/v1/asset")
    assert.equal(200, r.status)
    assert.matches('"items":%[%]', r.body)
    assert.same({used = 0, limit = 500, ttl_days = 15}, r.json.quota)
    local ids = {}
    for i = 1, 5 do
      ids[i] = upload({url = "https://x/a" .. i .. ".png", name = "n" .. i}).json.asset_id
    end
    upload({url = "https://x/multi-face.png"})
    emucore.sleep(0.25)
    r = piapi("GET", base, "/api/v1/asset?page=1&size=2&status=ACTIVE,processing&order=created_at").json
    assert.equal(5, r.total)
    assert.equal(1, r.page)
    assert.equal(2, r.size)
    assert.same({ids[1], ids[2]}, {r.items[1].asset_id, r.items[2].asset_id})
    r = piapi("GET", base, "/api/v1/asset?page=3&size=2&status=active&order=created_at").json
    assert.same({ids[5]}, {r.items[1].asset_id})
    r = piapi("GET", base, "/api/v1/asset?status=failed").json
    assert.equal(1, r.total)
    assert.equal("MultiFaceViolation", r.items[1].error.code)
    r = piapi("GET", base, "/api/v1/asset?order=-name&status=active").json
    assert.equal("n5", r.items[1].name)
    assert.same({used = 5, limit = 500, ttl_days = 15}, r.quota)
    error_body(piapi("GET", base, "/api/v1/asset?size=101"), 400, "invalid request: 'size' must be between 1 and 100")
    assert.equal(400, piapi("GET", base, "/api/v1/asset?status=gone").status)
    assert.equal(400, piapi("GET", base, "/api/v1/asset?page=0").status)
    assert.equal(400, piapi("GET", base, "/api/v1/asset?order=colour").status)
  end)

  it("enforces the plan's quota; failed assets do not count", function()
    emu:configure({plan = "hobbyist"})
    upload({url = "https://x/multi-face.png"})
    local items = {}
    for i = 1, 50 do items[i] = {url = "https://x/q" .. i .. ".png"} end
    emucore.sleep(0.25)
    local r = piapi("POST", base, "/api/v1/asset/upload/batch", {items = items})
    assert.equal(50, r.json.success)
    error_body(upload({url = "https://x/one-more.png"}), 400,
      "quota exceeded: plan hobbyist allows 50 assets, currently 50")
    assert.same({used = 50, limit = 50, ttl_days = 3}, piapi("GET", base, "/api/v1/asset").json.quota)
  end)

  it("batch-uploads, item by item, at most 50", function()
    local r = piapi("POST", base, "/api/v1/asset/upload/batch", {items = {
      {url = "https://x/a.png"}, {url = "https://x/b.txt"}, {name = "no url"}, {url = "https://x/c.mp4"},
    }})
    assert.equal(200, r.status)
    assert.equal(4, r.json.total)
    assert.equal(2, r.json.success)
    assert.equal(2, r.json.failed)
    assert.equal("Processing", r.json.results[1].status)
    assert.same({url = "https://x/b.txt", error = "unsupported asset_type: txt"}, r.json.results[2])
    assert.equal("invalid request: 'url' is required", r.json.results[3].error)
    local many = {}
    for i = 1, 51 do many[i] = {url = "https://x/" .. i .. ".png"} end
    assert.equal(400, piapi("POST", base, "/api/v1/asset/upload/batch", {items = many}).status)
    assert.equal(400, piapi("POST", base, "/api/v1/asset/upload/batch", {items = {}}).status)
    assert.equal(2, emu:stats().creates)
  end)

  it("deletes: 409 while processing, then 200, then 404", function()
    local id = upload({url = "https://x/a.png"}).json.asset_id
    error_body(piapi("DELETE", base, "/api/v1/asset/" .. id), 409, "asset still processing")
    emucore.sleep(0.25)
    local r = piapi("DELETE", base, "/api/v1/asset/" .. id)
    assert.equal(200, r.status)
    assert.same({asset_id = id, status = "deleted"}, r.json)
    error_body(piapi("DELETE", base, "/api/v1/asset/" .. id), 404, "asset not found")
    error_body(piapi("GET", base, "/api/v1/asset/" .. id), 404, "asset not found")
  end)

  it("batch-deletes with a result per id", function()
    local a = upload({url = "https://x/a.png"}).json.asset_id
    emucore.sleep(0.25)
    local b = upload({url = "https://x/b.png"}).json.asset_id
    local r = piapi("POST", base, "/api/v1/asset/delete", {asset_ids = {a, b, "asset-missing"}})
    assert.equal(200, r.status)
    assert.equal(1, r.json.deleted)
    assert.equal(2, r.json.failed)
    assert.same({asset_id = a, status = "deleted"}, r.json.results[1])
    assert.same({asset_id = b, error = "asset still processing"}, r.json.results[2])
    assert.same({asset_id = "asset-missing", error = "asset not found"}, r.json.results[3])
    assert.equal(400, piapi("POST", base, "/api/v1/asset/delete", {asset_ids = {}}).status)
  end)

  it("purges assets idle longer than the plan's TTL", function()
    local id = upload({url = "https://x/a.png"}).json.asset_id
    emu:advance(14 * 86400)
    assert.equal(200, piapi("GET", base, "/api/v1/asset/" .. id).status)   -- refreshed
    emu:advance(14 * 86400)
    assert.equal(200, piapi("GET", base, "/api/v1/asset/" .. id).status)
    emu:advance(16 * 86400)
    assert.equal(404, piapi("GET", base, "/api/v1/asset/" .. id).status)
  end)

  it("answers unknown routes and methods in PiAPI's error shape", function()
    error_body(piapi("GET", base, "/api/v1/nothing"), 404, "route not found: GET /api/v1/nothing")
    assert.equal(405, piapi("PUT", base, "/api/v1/asset/asset-1", {}).status)
  end)

  it("counts requests by route, creates and duplicate creates", function()
    upload({url = "https://x/a.png"})
    upload({url = "https://x/a.png"})
    piapi("GET", base, "/api/v1/asset/whatever")
    local s = emu:stats()
    assert.equal(3, s.requests)
    assert.equal(2, s.by_route["POST /api/v1/asset/upload"])
    assert.equal(1, s.by_route["GET /api/v1/asset/{asset_id}"])
    assert.equal(2, s.creates)
    assert.equal(1, s.duplicate_creates)
    assert.equal(2, s.by_status["200"])
    assert.equal(1, s.by_status["404"])
    emu:reset()
    assert.equal(0, emu:stats().requests)
  end)
end)

describe("emulator faults", function()
  local emu, base

  setup(function()
    emu = assert(emulator.start({processing = 0}))
    base = emu.url
  end)
  teardown(function() emu:stop() end)
  before_each(function() emu:reset() end)

  it("answers 429 with Retry-After for `count` matching requests only", function()
    emu:fault({match = "GET /api/v1/asset", status = 429, retry_after = "1", count = 2})
    assert.equal(200, piapi("POST", base, "/api/v1/asset/upload", {url = "https://x/a.png"}).status)
    local r = piapi("GET", base, "/api/v1/asset")
    assert.equal(429, r.status)
    assert.equal("1", r.headers["retry-after"])
    assert.equal(429, r.json.code)
    assert.equal(429, piapi("GET", base, "/api/v1/asset/x").status)
    assert.equal(200, piapi("GET", base, "/api/v1/asset").status)
    assert.equal(2, emu:stats().faults)
  end)

  it("answers 503 and a custom body", function()
    emu:fault({status = 503, body = "<html>down</html>"})
    local r = piapi("GET", base, "/api/v1/asset")
    assert.equal(503, r.status)
    assert.equal("<html>down</html>", r.body)
  end)

  it("delays an answer", function()
    emu:fault({match = "GET", delay = 0.4})
    local t0 = emucore.now()
    assert.equal(200, piapi("GET", base, "/api/v1/asset").status)
    assert.is_true(emucore.now() - t0 >= 0.35)
  end)

  it("drops the connection, before or after the request takes effect", function()
    emu:fault({match = "POST /api/v1/asset/upload", close = true})
    local r, err = piapi("POST", base, "/api/v1/asset/upload", {url = "https://x/a.png"})
    assert.is_nil(r)
    assert.equal("closed", err)
    assert.equal(0, emu:stats().creates)
    emu:fault({match = "POST /api/v1/asset/upload", close = true, process = true})
    assert.is_nil(piapi("POST", base, "/api/v1/asset/upload", {url = "https://x/a.png"}))
    assert.equal(1, emu:stats().creates)
    assert.equal(1, piapi("GET", base, "/api/v1/asset").json.total)
  end)

  it("injects seeded random faults from the start options", function()
    local function statuses(seed)
      local e = assert(emulator.start({faults = {rate_limit = 0.5}, seed = seed}))
      local out = {}
      for i = 1, 12 do out[i] = piapi("GET", e.url, "/api/v1/asset").status end
      e:stop()
      return table.concat(out, ",")
    end
    local a = statuses(7)
    assert.equal(a, statuses(7))
    assert.matches("429", a)
    assert.matches("200", a)
  end)

  it("adds latency to every answer", function()
    emu:configure({latency = 0.2})
    local t0 = emucore.now()
    piapi("GET", base, "/api/v1/asset")
    assert.is_true(emucore.now() - t0 >= 0.19)
    emu:configure({latency = 0})
  end)

  it("is controlled over HTTP at /__emulator/control", function()
    local ctl = base .. "/__emulator/control"
    local r = request("POST", ctl, cjson.encode({op = "fault", match = "GET /api/v1/asset", status = 503}))
    assert.equal(200, r.status)
    assert.is_true(r.json.ok)
    assert.equal(503, piapi("GET", base, "/api/v1/asset").status)
    r = request("POST", ctl, cjson.encode({op = "stats"}))
    assert.equal(1, r.json.requests)
    r = request("POST", ctl, cjson.encode({op = "nope"}))
    assert.equal(400, r.status)
    assert.matches("unknown op", r.json.error)
    assert.equal(405, request("GET", ctl).status)
  end)
end)

describe("emulator for all providers", function()
  it("mounts each twin under /<provider>", function()
    local emu = assert(emulator.start({provider = "all"}))
    assert.equal(emu.url .. "/piapi", emu.urls.piapi)
    local r = piapi("POST", emu.urls.piapi, "/api/v1/asset/upload", {url = "https://x/a.png"})
    assert.equal(200, r.status)
    assert.equal(1, piapi("GET", emu.urls.piapi, "/api/v1/asset").json.total)
    assert.equal(404, piapi("GET", emu.url, "/api/v1/asset").status)
    assert.equal(1, emu:stats().by_route["POST /piapi/api/v1/asset/upload"])
    emu:fault({match = "GET /piapi/", status = 429})
    assert.equal(429, piapi("GET", emu.urls.piapi, "/api/v1/asset").status)
    emu:stop()
  end)
end)

describe("bin/seedance-emulator", function()
  local function interpreter()
    if type(jit) == "table" then return "luajit" end
    return "lua" .. _VERSION:match("%d+%.%d+")
  end

  it("serves until interrupted", function()
    local out = os.tmpname()
    local pidfile = os.tmpname()
    os.execute(interpreter() .. " " .. ROOT .. "/bin/seedance-emulator --port 0 --provider all "
               .. "--processing 0.1 >" .. out .. " 2>&1 & echo $! >" .. pidfile)
    local url
    assert.is_true(wait_until(function()
      local f = io.open(out)
      url = f and f:read("*l")
      if f then f:close() end
      return url ~= nil and url:match("^http://") ~= nil
    end, 5))
    local f = io.open(pidfile)
    local pid = f:read("*l")
    f:close()
    local r = piapi("GET", url, "/piapi/api/v1/asset")
    assert.equal(200, r.status)
    os.execute("kill -INT " .. pid)
    assert.is_true(wait_until(function() return request("GET", url .. "/piapi/api/v1/asset") == nil end, 3))
    os.remove(out)
    os.remove(pidfile)
  end)

  it("prints usage on --help and refuses unknown options", function()
    local p = io.popen(interpreter() .. " " .. ROOT .. "/bin/seedance-emulator --help")
    local text = p:read("*a")
    p:close()
    assert.matches("usage: seedance%-emulator", text)
    local status = os.execute(interpreter() .. " " .. ROOT .. "/bin/seedance-emulator --bogus 1 2>/dev/null")
    assert.is_false(status == true or status == 0)   -- 5.1 returns a number, 5.2+ true/nil
  end)
end)
