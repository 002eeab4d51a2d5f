-- crun.ai conformance: the dialect against crun's documented examples, and every asset and
-- session operation over real HTTP against the emulator twin: what goes on the wire (path,
-- x-api-key, body fields), what Lua sees (normalized fields, both time forms), the
-- {code, message, data} envelope (an error inside an HTTP 200), crun's status-code table,
-- listing from the ids this client created, the visual-validate session, and secrecy.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local core = require "seedance.core"
local cjson = require "cjson"
local dialect = require "seedance.providers.crun"
local helpers = require "helpers"

local KEY = "crun-test-secret-0123456789"
local P = "/api/v1/client/job"
local fixture = helpers.fixtures("crun", ".json")
local keys = helpers.keys

-- every field of the documented example is there, with a value of the same JSON type (a
-- documented null says only that the field is there)
local function same_shape(want, got) return helpers.has_fields(want, got, { null_any = true }) end

describe("crun", function()
  local emulated = helpers.twin("crun", KEY, { processing = 0.2, api_key = KEY },
                                { processing = 0.2, quota = cjson.null })
  local emu, client
  local function new_client(extra) return emulated:client(extra) end
  local function last() return emulated:last_request() end

  before_each(function()
    emu, client = emulated.emu, new_client()
  end)
  after_each(function() client:close() end)

  describe("documented examples", function()
    it("parse: the upload answer, and asset-info with ISO and with unix times", function()
      local up = dialect.parse_upload(fixture("upload_response"),
        { url = "https://example.com/assets/fashion-model-front.jpg", type = "image" })
      assert.equal("asset-20260420153000-ab12c", up.id)
      assert.equal("asset://asset-20260420153000-ab12c", up.ref)
      assert.equal("processing", up.status)
      assert.equal("fashion-model-front.jpg", up.name)
      local iso = dialect.parse_asset(fixture("asset_info_iso"))
      assert.same({ "asset-20260420153000-ab12c", "Active", "image", "fashion-model-front" },
                  { iso.id, iso.raw_status, iso.type, iso.name })
      assert.equal(1776739303, iso.created_at)
      local unix = dialect.parse_asset(fixture("asset_info_unix"))
      assert.equal(1768900378, unix.created_at)
      assert.equal(1768900415, unix.updated_at)
    end)

    it("parse: the session start and its result", function()
      local s = dialect.parse_session(fixture("session_response"))
      assert.equal("202603311449168C23BA26**************", s.id)
      assert.matches("^https://visual%.volcengine%.com/validate", s.link)
      assert.equal("pending", s.raw_status)
      assert.is_true(math.abs(s.expires_at - (core.time() + 120)) < 5)
      local r = dialect.parse_session(fixture("result_response"))
      assert.equal("group-20260331145705-xxxxx", r.group_id)
      assert.equal("success", r.raw_status)
    end)

    it("classify: a non-200 code inside an HTTP 200 is an error, code 200 is not", function()
      local kind, code, msg = dialect.classify(200, fixture("insufficient_credits"), { endpoint = "upload_asset" })
      assert.equal("quota", kind)
      assert.equal("402", code)
      assert.matches("Insufficient Credits", msg)
      assert.is_nil(dialect.classify(200, fixture("upload_response"), { endpoint = "upload_asset" }))
      assert.equal("protocol", (dialect.classify(200, { AssetId = "x" }, { endpoint = "get_asset" })))
    end)

    it("the twin answers in the documented shapes", function()
      local a = assert(client:upload({ url = "https://example.com/assets/fashion-model-front.jpg",
                                       name = "fashion-model-front" }))
      same_shape(fixture("upload_response"), a.raw)
      assert(a:wait({ timeout = 5 }))
      same_shape(fixture("asset_info_iso"), a.raw)
      local s = assert(client:verify({ return_url = "https://example.com/callback/seedance-visual-validation" }))
      same_shape(fixture("session_response"), s.raw)
      assert(s:wait({ timeout = 5 }))
      same_shape(fixture("result_response"), s.raw)
    end)
  end)

  it("uploads: POST asset-upload with exactly the documented fields, key in x-api-key", function()
    local a = assert(client:upload({ url = "https://example.com/assets/fashion-model-front.jpg",
                                     name = "fashion-model-front" }))
    local req = last()
    assert.equal("POST", req.method)
    assert.equal(P .. "/asset-upload", req.path)
    assert.equal(KEY, req.headers["x-api-key"])
    assert.is_nil(req.headers["authorization"])
    assert.matches("^application/json", req.headers["content-type"])
    local body = cjson.decode(req.body)
    assert.same(fixture("upload_request"), body)
    assert.same(keys(fixture("upload_request")), keys(body))
    assert.matches("^asset%-%d+%-%w+$", a.id)
    assert.equal("asset://" .. a.id, a.ref)
    assert.equal("processing", a.status)
    assert.equal("image", a.type)
    assert.equal("fashion-model-front", a.name)
    assert.equal(1, emu:stats().by_route["POST " .. P .. "/asset-upload"])
  end)

  it("derives the required name from the URL, trimmed to 64 characters", function()
    local long = string.rep("n", 100)
    local a = assert(client:upload({ url = "https://x/" .. long .. ".png?sig=1" }))
    assert.equal(string.rep("n", 64), cjson.decode(last().body).name)
    assert.equal(string.rep("n", 64), a.name)
    local e = string.rep("\195\169", 70) -- "é" x 70: 64 characters, never half of one
    assert(client:upload({ url = "https://x/" .. e .. ".jpg" }))
    assert.equal(string.rep("\195\169", 64), cjson.decode(last().body).name)
    assert(client:upload({ url = "https://x/my%20face.png" }))
    assert.equal("my face.png", cjson.decode(last().body).name)
    local before = emu:stats().requests
    local _, err = client:upload({ url = "https://x/a.png", name = string.rep("x", 65) })
    assert.equal("validation", err.kind)
    local _, terr = client:upload({ url = "https://x/photo" })
    assert.equal("validation", terr.kind)
    assert.matches("type=", terr.message)
    assert.equal(before, emu:stats().requests)
    assert(client:upload({ url = "https://x/photo", type = "image" }))
    assert.equal("Image", cjson.decode(last().body).asset_type)
  end)

  it("waits until active; asset-info comes with both time forms, both read as unix seconds", function()
    local t0 = core.time()
    local a = assert(client:upload({ url = "https://x/one.png" }))
    local b = assert(client:upload({ url = "https://x/two.mp4" }))
    assert(seedance.wait_all({ a, b }, { timeout = 5 }))
    assert.equal("active", a.status)
    assert.equal("video", b.type)
    assert.equal("string", type(a.raw.data.CreateTime))
    assert.equal("number", type(b.raw.data.CreateTime))
    for _, x in ipairs({ a, b }) do
      assert.is_number(x.created_at)
      assert.is_true(math.abs(x.created_at - t0) < 3, "created_at " .. x.created_at)
    end
    local again = assert(client:asset(b.id))
    assert.equal("active", again.status)
    assert.equal("two.mp4", again.name)
    local req = last()
    assert.equal("GET", req.method)
    assert.equal(P .. "/asset-info", req.path)
    assert.equal("asset_id=" .. b.id, req.raw_query)
  end)

  it("reports a failed asset as asset_failed with the provider's code", function()
    local a = assert(client:upload({ url = "https://cdn.example.com/crowd-multi-face.png" }))
    local ok, err = a:wait({ timeout = 5 })
    assert.is_nil(ok)
    assert.equal("asset_failed", err.kind)
    assert.equal("MultiFaceViolation", err.code)
    assert.equal("failed", a.status)
    local h = assert(client:upload({ url = "https://cdn.example.com/x.heif" }))
    local _, herr = h:wait({ timeout = 5 })
    assert.equal("ImageFormatNotSupported", herr.code)
  end)

  it("lists the assets this client created (no list upstream), filtered here", function()
    local made = {}
    for i = 1, 3 do made[i] = assert(client:upload({ url = ("https://x/%d.png"):format(i) })) end
    made[4] = assert(client:upload({ url = "https://x/multi-face.png" }))
    assert.same({ made[1].id, made[2].id, made[3].id, made[4].id }, dialect.created_ids(client))
    core.sleep(0.3)
    local seen = {}
    for a in client:assets() do seen[#seen + 1] = a.id end
    assert.same(dialect.created_ids(client), seen)
    assert.equal(4, emu:stats().by_route["GET " .. P .. "/asset-info"])
    local failed = {}
    for a in client:assets({ status = "failed" }) do failed[#failed + 1] = a end
    assert.equal(1, #failed)
    assert.equal("MultiFaceViolation", failed[1].error.code)
    local n = 0
    for a in client:assets({ status = { "active" } }) do
      n = n + 1
      assert.equal("active", a.status)
    end
    assert.equal(3, n)
    local other = new_client()
    for _ in other:assets() do error("another client created nothing") end
    other:close()
  end)

  it("ends the listing on a failure (last_error), and drops ids crun no longer knows", function()
    local a = assert(client:upload({ url = "https://x/1.png" }))
    assert(client:upload({ url = "https://x/2.png" }))
    emu:fault({ match = "GET " .. P .. "/asset-info", status = 401, count = 1 })
    for _ in client:assets() do error("the first fetch failed") end
    assert.equal("auth", client:last_error().kind)
    emu:reset()
    dialect.remember(client, a.id)
    for _ in client:assets() do error("crun forgot them all") end
    assert.is_nil(client:last_error())
    assert.same({}, dialect.created_ids(client))
  end)

  it("lists by group from what was recorded at upload", function()
    local s = assert(client:verify({ return_url = "https://app.example/cb" }))
    local g = assert(s:wait({ timeout = 5 }))
    local inside = assert(g:upload({ url = "https://x/me.png" }))
    assert(client:upload({ url = "https://x/elsewhere.png" }))
    local ids = {}
    for a in g:assets() do ids[#ids + 1] = a.id end
    assert.same({ inside.id }, ids)
  end)

  it("cannot delete or make groups, and says so", function()
    assert.is_true(dialect.capabilities.list)
    assert.is_false(dialect.capabilities.delete)
    local a = assert(client:upload({ url = "https://x/a.png" }))
    assert.has_error(function() a:delete() end, "seedance: crun cannot delete assets")
    assert.has_error(function() client:delete_many({ a }) end, "seedance: crun cannot delete assets")
    assert.has_error(function() client:create_group({ name = "x" }) end, "seedance: crun cannot create groups")
    assert.has_error(function() client:upload({ file = "spec/fixtures/anyfast/portrait.png" }) end,
      "client:upload: crun takes URLs, not local files")
  end)

  describe("status codes (crun's table), as envelope codes in a 200 and as HTTP statuses", function()
    local TABLE = {
      { 401, "auth", false }, { 402, "quota", false }, { 404, "not_found", false },
      { 422, "validation", false }, { 429, "rate_limited", true }, { 455, "provider", true },
      { 500, "provider", true }, { 501, "task_failed", false }, { 505, "provider", false },
    }
    for _, row in ipairs(TABLE) do
      local code, kind, retryable = row[1], row[2], row[3]
      it(code .. " -> " .. kind, function()
        local c = new_client({ retries = 0 })
        for _, http_status in ipairs({ 200, code }) do
          emu:fault({ match = "GET " .. P .. "/asset-info", status = http_status, count = 1,
                      body = { code = code, message = "crun says " .. code, data = cjson.null } })
          local _, err = c:asset("asset-20260420153000-ab12c")
          assert.equal(kind, err.kind)
          assert.equal(tostring(code), err.code)
          assert.equal(http_status, err.status)
          assert.equal(retryable, err.retryable)
          assert.equal("crun says " .. code, err.message)
        end
        c:close()
      end)
    end

    it("the twin's own: bad key 401, unknown id 404, over the credits 402", function()
      local bad = new_client({ api_key = "wrong-key-000" })
      local _, aerr = bad:asset("asset-1")
      assert.equal("auth", aerr.kind)
      assert.equal(401, aerr.status)
      bad:close()
      local _, nerr = client:asset("asset-20990101000000-nope0")
      assert.equal("not_found", nerr.kind)
      assert.equal("404", nerr.code)
      emu:configure({ quota = 1 })
      assert(client:upload({ url = "https://x/a.png" }))
      local _, qerr = client:upload({ url = "https://x/b.png" })
      assert.equal("quota", qerr.kind)
      assert.equal(402, qerr.status)
      assert.matches("Insufficient credits", qerr.message)
    end)

    it("455 maintenance: the engine retries it, on reads and uploads alike", function()
      local a = assert(client:upload({ url = "https://x/a.png" }))
      emu:fault({ match = "GET " .. P .. "/asset-info", status = 455, count = 2 })
      assert(client:asset(a.id))
      emu:fault({ match = "POST " .. P .. "/asset-upload", status = 455, count = 1 })
      assert(client:upload({ url = "https://x/b.png" }))
      assert.equal(3, emu:stats().by_status["455"])
      assert.equal(3, emu:stats().by_route["POST " .. P .. "/asset-upload"])
      emu:fault({ match = "GET " .. P .. "/asset-info", status = 455, count = 10 })
      local c = new_client({ retries = 1 })
      local _, err = c:asset(a.id)
      assert.equal("provider", err.kind)
      assert.is_true(err.retryable)
      assert.equal(2, err.attempts)
      c:close()
    end)

    it("never repeats an upload answered with 502", function()
      emu:fault({ match = "POST " .. P .. "/asset-upload", status = 502, count = 1 })
      local _, err = client:upload({ url = "https://x/a.png" })
      assert.equal("provider", err.kind)
      assert.equal(1, emu:stats().by_route["POST " .. P .. "/asset-upload"])
      assert.same({}, dialect.created_ids(client))
    end)
  end)

  it("the twin rejects what crun rejects", function()
    local function post(body)
      local _, err = client:_call({ endpoint = "upload_asset", method = "POST", body = body })
      return err
    end
    local ok = { name = "n", asset_type = "Image", asset_url = "https://x/a.png" }
    local function with(k, v)
      local t = {}
      for kk, vv in pairs(ok) do t[kk] = vv end
      t[k] = v
      return t
    end
    for _, case in ipairs({
      { with("name", nil), "name is required" },
      { with("name", string.rep("x", 65)), "name is required" },
      { with("asset_type", "image"), "asset_type must be" },
      { with("asset_url", "data:image/png;base64,iVBORw0KGgo="), "Base64 is not supported" },
      { with("asset_url", "iVBORw0KGgoAAAANSUhEUg"), "Base64 is not supported" },
      { with("group", "group-1"), "unknown field 'group'" },
      { with("AssetType", "Image"), "unknown field 'AssetType'" },
    }) do
      local err = post(case[1])
      assert.equal("validation", err.kind)
      assert.equal(422, err.status)
      assert.matches(case[2], err.message, 1, true)
    end
    local gerr = post(with("group_id", "group-20990101000000-nope0"))
    assert.equal("not_found", gerr.kind)
    local _, qerr = client:_call({ endpoint = "get_asset", method = "GET", query = { assetId = "a" } })
    assert.equal("validation", qerr.kind)
    local _, serr = client:_call({ endpoint = "create_session", method = "POST", body = { CallbackURL = "https://x" } })
    assert.equal("validation", serr.kind)
  end)

  it("runs a real-person session to a new group, then uploads into it", function()
    local t0 = core.time()
    local s = assert(client:verify({ return_url = "https://app.example/cb" }))
    local req = last()
    assert.equal(P .. "/visual-validate-session", req.path)
    assert.same({ callback_url = "https://app.example/cb" }, cjson.decode(req.body))
    assert.equal("pending", s.status)
    assert.is_string(s.id)
    assert.matches("bytedToken=" .. s.id, s.link, 1, true)
    assert.is_true(s.expires_at >= t0 + 119 and s.expires_at <= core.time() + 121)
    local g = assert(s:wait({ timeout = 5 }))
    assert.equal("succeeded", s.status)
    assert.equal("real_human", g.type)
    assert.matches("^group%-%d+%-%w+$", g.id)
    req = last()
    assert.equal("GET", req.method)
    assert.equal(P .. "/visual-validate-result", req.path)
    assert.equal("byted_token=" .. s.id, req.raw_query)
    assert(s:refresh()) -- the token is spent now: that changes nothing
    assert.equal("succeeded", s.status)
    local mine = assert(g:upload({ url = "https://x/me.png" }))
    assert.equal(g.id, cjson.decode(last().body).group_id)
    assert.equal(g.id, mine.group_id)
    assert(mine:wait({ timeout = 5 }))
    local other = assert(g:upload({ url = "https://x/other-person.png" }))
    local _, err = other:wait({ timeout = 5 })
    assert.equal("asset_failed", err.kind)
    assert.equal("FaceMismatch", err.code)
  end)

  it("expires a session whose 120 s link ran out", function()
    emu:configure({ processing = 600 })
    local s = assert(client:verify({ return_url = "https://app.example/cb" }))
    assert(s:refresh())
    assert.equal("pending", s.status)
    emu:advance(121)
    local g, err = s:wait({ timeout = 5 })
    assert.is_nil(g)
    assert.equal("expired", s.status)
    assert.equal("422", err.code)
    -- and on our side alone, once the link's lifetime is over
    local t = assert(client:verify({ return_url = "https://app.example/cb" }))
    t.expires_at = core.time() - 1
    assert(t:refresh())
    assert.equal("expired", t.status)
    local _, verr = client:verify()
    assert.equal("validation", verr.kind)
  end)

  it("sends the key only in x-api-key and never shows it", function()
    emu:fault({ match = "GET " .. P .. "/asset-info", status = 500, count = 10,
                body = { code = 500, message = "bad key " .. KEY, data = cjson.null } })
    local c = new_client({ retries = 0 })
    local _, e1 = c:asset("asset-1")
    assert.equal("bad key [REDACTED]", e1.message)
    emu:reset()
    local _, e2 = new_client({ api_key = "another-wrong-key" }):asset("a")
    helpers.assert_errors_hide(KEY, { e1, e2 })
    local a = assert(client:upload({ url = "https://x/a.png" }))
    helpers.assert_shown_without(KEY, a, client)
    for k, v in pairs(last().headers) do
      if k ~= "x-api-key" then assert.is_nil(v:find(KEY, 1, true), k) end
    end
    c:close()
  end)

  it("writes prompt tokens as [Image1]", function()
    assert.equal("[Image1]", dialect.token("image", 1))
    assert.equal("[Video2]", dialect.token("video", 2))
    assert.equal("[Audio3]", dialect.token("audio", 3))
  end)

  it("is served under /crun by an emulator of every provider", function()
    local all = assert(emulator.start({ provider = "all", processing = 0.1 }))
    local c = helpers.new_client("crun", KEY, all.urls.crun)
    local a = assert(c:upload({ url = "https://x/a.png" }))
    assert(a:wait({ timeout = 5 }))
    c:close()
    all:stop()
  end)
end)
