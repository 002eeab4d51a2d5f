-- Ark conformance: the signed control plane (Volcengine signature V4 checked against
-- vectors computed outside seedance), every asset, group and visual-validate action over
-- real HTTP against the emulator twin, which verifies each signature with a known key
-- pair; what goes on the wire (POST /?Action=...&Version=2024-01-01, the four signed
-- headers, PascalCase bodies as in spec/fixtures/ark) and what Lua sees (normalized fields,
-- errors with kind, provider code and request id); and that the secret key shows nowhere.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local core = require "seedance.core"
local time = require "seedance.model.time"
local dialect = require "seedance.providers.ark"
local cjson = require "cjson"
local helpers = require "helpers"

local API_KEY = "ark-api-key-0123456789"
local AK = "AKLTspecAccessKey42"
local SK = "c3BlYy1zZWNyZXQta2V5LW5ldmVyLXNob3du"
local fixture = helpers.fixtures("ark")
local same_shape, assert_nowhere = helpers.same_shape, helpers.assert_nowhere

describe("ark signature", function()
  local v = fixture("signature.json")

  it("matches a signature computed independently (fixed date and body)", function()
    local s = core.sign_v4({
      method = "POST", path = "/", query = v.query, body = v.body,
      headers = { ["Content-Type"] = v.content_type, Host = v.host, ["X-Date"] = v.x_date,
                  ["X-Content-Sha256"] = v.body_hash },
      access_key = v.access_key, secret_key = v.secret_key, region = v.region, service = v.service,
    })
    assert.equal(v.body_hash, s.body_hash)
    assert.equal(v.canonical_request, s.canonical_request)
    assert.equal(v.scope, s.scope)
    assert.equal(v.string_to_sign, s.string_to_sign)
    assert.equal("content-type;host;x-content-sha256;x-date", s.signed_headers)
    assert.equal(v.signature, s.signature)
    assert.equal(v.authorization, s.authorization)
  end)

  it("is what the dialect puts on a request, with the clock pinned", function()
    local req = {
      method = "POST", url = "https://" .. v.host .. "/?" .. v.query, body = v.body,
      headers = { "Content-Type: application/json", "Accept: application/json" },
    }
    local now = time.parse("2026-03-18T07:10:09Z")
    local h = dialect.sign(req, { access_key = v.access_key, secret_key = v.secret_key }, v.region, now)
    assert.same({
      "Host: " .. v.host, "X-Date: " .. v.x_date, "X-Content-Sha256: " .. v.body_hash,
      "Authorization: " .. v.authorization,
    }, h)
    local saved = dialect.clock
    dialect.clock = function() return now end
    local ok, auth = pcall(dialect.auth, "k", { plane = "control" }, { access_key = v.access_key,
      secret_key = v.secret_key }, req, { region = v.region })
    dialect.clock = saved
    assert.is_true(ok, auth)
    assert.equal("Authorization: " .. v.authorization, auth[#auth])
  end)

  it("builds the canonical request of AWS SigV4's documented example byte for byte", function()
    local a = fixture("aws_sigv4_listusers.json")
    local s = core.sign_v4({ method = a.method, path = a.path, query = a.query, body = a.body,
      headers = a.headers, date = a.date, access_key = "AK", secret_key = "SK",
      region = "us-east-1", service = "iam" })
    assert.equal(a.canonical_request, s.canonical_request)
    assert.equal(a.canonical_request_sha256, core.sha256_hex(s.canonical_request))
  end)

  it("canonicalizes query and path the SigV4 way", function()
    local function canon(path, query)
      local s = core.sign_v4({ method = "GET", path = path, query = query, headers = { Host = "h" },
        date = "20150830T123600Z", access_key = "AK", secret_key = "SK", region = "r", service = "s" })
      local lines = {}
      for line in (s.canonical_request .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = line end
      return lines[2], lines[3]
    end
    -- key order is byte order (upper case first), then values; empty pieces vanish
    assert.equal("Param1=value1&Param2=value2", select(2, canon("/", "Param2=value2&Param1=value1")))
    assert.equal("A=b&a=b", select(2, canon("/", "a=b&A=b")))
    assert.equal("k=1&k=2", select(2, canon("/", "k=2&&k=1")))
    -- unreserved characters stay, everything else is %XX upper case, "+" and "%20" alike
    assert.equal("-._~0-9A-Za-z=-._~0-9A-Za-z", select(2, canon("/", "-._~0-9A-Za-z=-._~0-9A-Za-z")))
    assert.equal("q=a%20b%2Fc%3D", select(2, canon("/", "q=a+b%2fc%3D")))
    assert.equal("flag=", select(2, canon("/", "flag")))
    assert.equal("/example%20space/%E1%88%B4", (canon("/example space/\225\136\180", "")))
    assert.equal("/", (canon("", "")))
  end)

  it("hashes with SHA-256 and HMAC-SHA256 (published test vectors)", function()
    assert.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", core.sha256_hex(""))
    assert.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", core.sha256_hex("abc"))
    -- RFC 4231 test case 2
    assert.equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                 core.hmac_sha256("Jefe", "what do ya want for nothing?", true))
    assert.equal(32, #core.hmac_sha256("Jefe", "what do ya want for nothing?"))
  end)

  it("refuses misuse without naming the secret", function()
    local base = { method = "POST", path = "/", query = "", body = "", access_key = "AK",
                   secret_key = SK, region = "cn-beijing", service = "ark",
                   headers = { Host = "h", ["X-Date"] = "20260318T071009Z" } }
    local function try(patch)
      local t = {}
      for k, x in pairs(base) do t[k] = x end
      for k, x in pairs(patch) do t[k] = x end
      local ok, err = pcall(core.sign_v4, t)
      assert.is_false(ok)
      assert.is_nil(tostring(err):find(SK, 1, true))
      return tostring(err)
    end
    assert.matches("X%-Date", try({ headers = { Host = "h" } }))
    assert.matches("YYYYMMDDTHHMMSSZ", try({ headers = { Host = "h", ["X-Date"] = "2026-03-18" } }))
    assert.matches("access_key", try({ access_key = "A K" }))
    assert.matches("one line", try({ headers = { Host = "h\r\nX: y", ["X-Date"] = "20260318T071009Z" } }))
    assert.matches("twice", try({ headers = { Host = "h", host = "h", ["X-Date"] = "20260318T071009Z" } }))
    assert.matches("secret_key", try({ secret_key = 42 }))
  end)
end)

describe("ark dialect", function()
  it("defaults to Volcengine and knows BytePlus", function()
    local c = seedance.new({ provider = "ark", api_key = API_KEY })
    assert.equal("https://ark.cn-beijing.volces.com/api/v3", c.base_url)
    assert.equal("https://open.volcengineapi.com", c.control_url)
    assert.equal("cn-beijing", c.region)
    c:close()
    local o = { provider = "ark", api_key = API_KEY, access_key = AK, secret_key = SK }
    for k, x in pairs(dialect.byteplus) do o[k] = x end
    c = seedance.new(o)
    assert.equal("https://ark.ap-southeast.bytepluses.com/api/v3", c.base_url)
    assert.equal("https://open.byteplusapi.com", c.control_url)
    assert.equal("ap-southeast-1", c.region)
    c:close()
  end)

  it("uses Bearer on the data plane, the signature only on the control plane", function()
    assert.same({ "Authorization: Bearer " .. API_KEY }, dialect.auth(API_KEY, { endpoint = "x" }, {}, {}))
    local ok, err = pcall(dialect.auth, API_KEY, { plane = "control" }, {}, { url = "https://h/" })
    assert.is_false(ok)
    assert.matches("access_key and secret_key", err)
  end)

  it("refuses half a key pair and a malformed region at seedance.new", function()
    assert.has_error(function() seedance.new({ provider = "ark", api_key = API_KEY, access_key = AK }) end)
    assert.has_error(function()
      seedance.new({ provider = "ark", api_key = API_KEY, access_key = AK, secret_key = SK, region = "cn/x" })
    end)
  end)

  it("names references [Image 1], [Video 2], [Audio 3]", function()
    assert.equal("[Image 1]", dialect.token("image", 1))
    assert.equal("[Video 2]", dialect.token("video", 2))
    assert.equal("[Audio 3]", dialect.token("audio", 3))
  end)

  it("parses the documented answers", function()
    local g = dialect.parse_group(fixture("group_get_response.json"))
    assert.same({ id = "group-20260318033332-ab12c", name = "heroes", description = "main cast",
                  type = "aigc", created_at = time.parse("2026-03-18T03:33:32Z") }, g)
    assert.equal("group-20260318033332-ab12c", dialect.parse_group(fixture("group_create_response.json")).id)
    local a = dialect.parse_asset(fixture("asset_get_active.json"))
    assert.equal("asset-20260318071009-xy98z", a.id)
    assert.equal("asset://asset-20260318071009-xy98z", a.ref)
    assert.equal("Active", a.raw_status)
    assert.equal("image", a.type)
    assert.equal("group-20260318033332-ab12c", a.group_id)
    assert.equal(time.parse("2026-03-18T07:10:09Z"), a.created_at)
    local f = dialect.parse_asset(fixture("asset_get_failed.json"))
    assert.equal("Failed", f.raw_status)
    assert.equal("FaceMismatch", f.error.code)
    local up = dialect.parse_upload(fixture("asset_create_response.json"))
    assert.equal("Processing", up.raw_status)
    local items, more = dialect.parse_list(fixture("asset_list_response.json"), 1)
    assert.equal(1, #items)
    assert.is_false(more)
    local groups = dialect.parse_group_list(fixture("group_list_response.json"), 1)
    assert.equal("aigc", groups[1].type)
    local s = dialect.parse_session(fixture("session_create_response.json"))
    assert.equal("bt-8f3kq2m9x7c1v5b0n4z6l2p8r3t9w1ya", s.id)
    assert.matches("^https://", s.link)
    assert.equal("pending", s.raw_status)
    local done = dialect.parse_session(fixture("session_result_response.json"))
    assert.equal("group-20260318090000-rh001", done.group_id)
    assert.equal("success", done.raw_status)
  end)

  it("maps the documented error codes to kinds, in a 200 as in a 4xx", function()
    local function kind(status, name, op)
      return (dialect.classify(status, fixture(name), op or { endpoint = "create_group" }))
    end
    assert.equal("validation", kind(400, "error_missing_parameter.json"))
    assert.equal("validation", kind(200, "error_missing_parameter.json"))
    assert.equal("auth", kind(401, "error_signature.json"))
    assert.equal("moderation", kind(400, "error_sensitive.json"))
    assert.is_nil(kind(200, "group_create_response.json"))
    local k, code, msg = dialect.classify(400, fixture("error_missing_parameter.json"), {})
    assert.equal("validation", k)
    assert.equal("MissingParameter", code)
    assert.equal("'GroupType' is required", msg)
    local want = {
      InvalidParameter = "validation", ["InvalidParameter.Name"] = "validation",
      AuthenticationError = "auth", AccessDenied = "auth", SubscriptionRequired = "auth",
      AccountOverdueError = "quota", ["InvalidEndpoint.NotFound"] = "not_found",
      SensitiveContentDetected = "moderation", OutputVideoSensitiveContentDetected = "moderation",
      ["InputImageSensitiveContentDetected.PrivacyInformation"] = "moderation",
      FlowLimitExceeded = "rate_limited", InternalError = "provider",
    }
    for code_, k_ in pairs(want) do assert.equal(k_, dialect.code_kind(code_), code_) end
    -- no envelope at all: the status decides
    assert.equal("rate_limited", (dialect.classify(429, nil, {})))
    assert.equal("provider", (dialect.classify(502, nil, {})))
  end)
end)

describe("ark over HTTP", function()
  local emulated = helpers.twin("ark", API_KEY, { processing = 0.2, access_key = AK, secret_key = SK },
                                { processing = 0.2 },
                                { access_key = AK, secret_key = SK })
  local emu, client
  local keys = helpers.keys

  local function new_client(extra) return emulated:client(extra) end

  local function dump() return emulated:dump() end
  local function last() return emulated:last_request() end
  local function last_body() return cjson.decode(last().body) end

  before_each(function()
    emu = emulated.emu
    client = new_client()
  end)
  after_each(function() client:close() end)

  it("serves the control plane at emu.control_url and the data plane under /api/v3", function()
    assert.equal(emu.control_url .. "/api/v3", emu.url)
  end)

  it("signs CreateAssetGroup: POST /?Action=...&Version=2024-01-01 with the documented body", function()
    local g = assert(client:create_group({ name = "heroes", description = "main cast" }))
    assert.matches("^group%-%d+%-%w+$", g.id)
    assert.equal("heroes", g.name)
    assert.equal("aigc", g.type)
    local r = last()
    assert.equal("POST", r.method)
    assert.equal("/", r.path)
    assert.equal("Action=CreateAssetGroup&Version=2024-01-01", r.raw_query)
    assert.equal("application/json", r.headers["content-type"])
    assert.equal(emu.control_url:match("^http://(.*)$"), r.headers["host"])
    assert.matches("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$", r.headers["x-date"])
    assert.equal(core.sha256_hex(r.body), r.headers["x-content-sha256"])
    assert.matches("^HMAC%-SHA256 Credential=" .. AK .. "/%d+/cn%-beijing/ark/request, "
      .. "SignedHeaders=content%-type;host;x%-content%-sha256;x%-date, Signature=%x+$", r.headers["authorization"])
    assert.same(keys(fixture("group_create_request.json")), keys(last_body()))
    assert.same({ Name = "heroes", Description = "main cast", GroupType = "AIGC" }, last_body())
  end)

  it("gets, updates, lists and deletes groups", function()
    local g = assert(client:create_group({ name = "heroes" }))
    local body = assert(client:_call(dialect.get_group(g.id)))
    same_shape(fixture("group_get_response.json").Result, body.Result)
    assert.equal(g, g:update({ name = "cast", description = "all of them" }))
    assert.equal("cast", g.name)
    assert.same({ Id = g.id, Name = "cast", Description = "all of them" }, last_body())
    assert.equal("Action=UpdateAssetGroup&Version=2024-01-01", last().raw_query)
    for i = 1, 4 do assert(client:create_group({ name = "g" .. i })) end
    local names = {}
    for x in client:groups({ type = "aigc", page_size = 2 }) do names[#names + 1] = x.name end
    assert.same({ "cast", "g1", "g2", "g3", "g4" }, names)
    assert.equal(3, dump().actions.ListAssetGroups)
    local lb = last_body()
    assert.same(keys(fixture("group_list_request.json")), keys(lb))
    assert.same({ "AIGC" }, lb.Filter.GroupTypes)
    local n = 0
    for _ in client:groups({ name = "g" }) do n = n + 1 end
    assert.equal(4, n)
    assert(client:_call(dialect.delete_group(g.id)))
    assert.same({ Id = g.id }, last_body())
    local _, err = client:_call(dialect.get_group(g.id))
    assert.equal("not_found", err.kind)
    assert.equal("ResourceNotFound", err.code)
  end)

  it("creates, gets, lists, updates and deletes assets with the documented fields", function()
    local g = assert(client:create_group({ name = "heroes" }))
    local a = assert(g:upload({ url = "https://cdn.example.com/hero.png", name = "hero" }))
    assert.matches("^asset%-%d+%-%w+$", a.id)
    assert.equal("asset://" .. a.id, a.ref)
    assert.equal("processing", a.status)
    assert.equal(g.id, a.group_id)
    assert.same({ GroupId = g.id, URL = "https://cdn.example.com/hero.png", Name = "hero", AssetType = "Image" },
                last_body())
    assert.same(keys(fixture("asset_create_request.json")), keys(last_body()))
    assert.equal(a, a:wait({ timeout = 5 }))
    assert.equal("active", a.status)
    local b = assert(client:asset(a.id))
    assert.equal("image", b.type)
    assert.equal("hero", b.name)
    assert.equal(g.id, b.group_id)
    assert.is_number(b.created_at)
    same_shape(fixture("asset_get_active.json"), b.raw)
    assert.same({ Id = a.id }, last_body())
    local v = assert(g:upload({ url = "https://cdn.example.com/clip.mp4" }))
    assert.equal("Video", last_body().AssetType)
    local seen = {}
    for x in g:assets({ status = "active" }) do seen[#seen + 1] = x.id end
    assert.same({ a.id }, seen)
    local lb = last_body()
    assert.same({ GroupIds = { g.id }, Statuses = { "Active" } }, lb.Filter)
    assert.same(keys(fixture("asset_list_request.json")), keys(lb))
    same_shape(fixture("asset_list_response.json").Result.Items[1], dump().assets[1])
    assert(client:_call(dialect.update_asset(a.id, { name = "hero-2" })))
    assert.equal("hero-2", assert(client:asset(a.id)).name)
    assert.is_true(a:delete())
    assert.same({ Id = a.id }, last_body())
    local _, err = client:asset(a.id)
    assert.equal("not_found", err.kind)
    assert.is_true(v:delete())
  end)

  it("reports failed assets as asset_failed with the provider's code", function()
    local g = assert(client:create_group({ name = "heroes" }))
    local a = assert(g:upload({ url = "https://cdn.example.com/crowd-multi-face.png" }))
    local ok, err = a:wait({ timeout = 5 })
    assert.is_nil(ok)
    assert.equal("asset_failed", err.kind)
    assert.equal("MultiFaceViolation", err.code)
    assert.equal("failed", a.status)
    same_shape(fixture("asset_get_failed.json"), a.raw)
  end)

  it("refuses what Ark refuses: missing GroupType or GroupId, wrong casing, unknown fields", function()
    local function call(endpoint, body)
      return client:_call({ endpoint = endpoint, method = "POST", body = body, plane = "control" })
    end
    local _, err = call("create_group", { Name = "x" })
    assert.equal("validation", err.kind)
    assert.equal("MissingParameter", err.code)
    assert.matches("GroupType", err.message)
    assert.equal(400, err.status)
    assert.is_string(err.request_id)
    _, err = call("create_group", { Name = "x", GroupType = "RealHuman" })
    assert.equal("InvalidParameter", err.code)
    local g = assert(client:create_group({ name = "heroes" }))
    _, err = call("upload_asset", { group_id = g.id, URL = "https://x/a.png", AssetType = "Image" })
    assert.equal("InvalidParameter", err.code)
    assert.matches("did you mean 'GroupId'", err.message)
    _, err = call("upload_asset", { GroupId = g.id, URL = "https://x/a.png", AssetType = "image" })
    assert.equal("InvalidParameter", err.code)
    _, err = call("upload_asset", { GroupId = g.id, URL = "https://x/a.png", AssetType = "Image", Extra = 1 })
    assert.matches("unknown field 'Extra'", err.message)
    _, err = client:upload({ url = "https://x/a.png" })
    assert.same({ "validation", "group_required" }, { err.kind, err.code })
    _, err = call("upload_asset", { URL = "https://x/a.png", AssetType = "Image" })
    assert.equal("validation", err.kind)
    assert.equal("MissingParameter", err.code)
    assert.matches("GroupId", err.message)
    -- JSON null is absent, as the official SDKs send unset fields
    assert(call("create_group", { Name = "y", GroupType = "AIGC", Description = cjson.null }))
    -- a wrong Version or Action
    local c = new_client({ endpoints = { get_asset = "/?Action=GetAsset&Version=2023-01-01" } })
    _, err = c:asset("asset-1")
    assert.equal("not_found", err.kind)
    assert.equal("InvalidActionOrVersion", err.code)
    c:close()
  end)

  it("verifies every signature with the configured key pair", function()
    local bad = new_client({ secret_key = "not-the-secret-key" })
    local _, err = bad:create_group({ name = "x" })
    assert.equal("auth", err.kind)
    assert.equal(401, err.status)
    assert.equal("SignatureDoesNotMatch", err.code)
    bad:close()
    local other = new_client({ access_key = "AKLTsomeoneElse" })
    _, err = other:create_group({ name = "x" })
    assert.equal("InvalidAccessKey", err.code)
    other:close()
    local region = new_client({ region = "ap-southeast-1" })
    emu:configure({ region = "cn-beijing" })
    _, err = region:create_group({ name = "x" })
    assert.equal("InvalidCredential", err.code)
    emu:configure({ region = cjson.null })
    assert(region:create_group({ name = "x" }))
    assert.matches("/ap%-southeast%-1/ark/request", last().headers["authorization"])
    region:close()
    -- a body other than the one signed
    local saved = dialect.auth
    dialect.auth = function(_, _, s, req, c)
      return dialect.sign({ method = req.method, url = req.url, headers = req.headers, body = req.body .. " " },
                          s, c.region)
    end
    _, err = client:create_group({ name = "x" })
    dialect.auth = saved
    assert.equal("SignatureDoesNotMatch", err.code)
    assert.matches("X%-Content%-Sha256", err.message)
    -- no Authorization at all
    dialect.auth = function() return {} end
    _, err = client:create_group({ name = "x" })
    dialect.auth = saved
    assert.equal("auth", err.kind)
    assert.equal("MissingAuthenticationToken", err.code)
    assert.equal(1, #dump().groups) -- the one signed for ap-southeast-1
  end)

  it("refuses an X-Date more than 15 minutes off the server's clock", function()
    emu:advance(14 * 60)
    assert(client:create_group({ name = "close enough" }))
    emu:advance(2 * 60)
    local _, err = client:create_group({ name = "too late" })
    assert.equal("auth", err.kind)
    assert.equal("InvalidTimestamp", err.code)
    assert.matches("15 minutes", err.message)
    emu:reset()
    local saved = dialect.clock
    dialect.clock = function() return core.time() + 16 * 60 end
    _, err = client:create_group({ name = "from the future" })
    dialect.clock = saved
    assert.equal("InvalidTimestamp", err.code)
  end)

  it("reads an error inside a 200 and the request id of the envelope", function()
    emu:fault({ match = "POST /", status = 200, body = { ResponseMetadata = { RequestId = "rid-in-200",
      Action = "GetAsset", Version = "2024-01-01", Error = { Code = "AccessDenied", Message = "denied" } } } })
    local _, err = client:asset("asset-1")
    assert.equal("auth", err.kind)
    assert.equal("AccessDenied", err.code)
    assert.equal("rid-in-200", err.request_id)
    assert.equal("denied", err.message)
    local _, nf = client:asset("asset-2")
    assert.equal("not_found", nf.kind)
    assert.matches("^%d+%x+$", nf.request_id)
  end)

  it("retries throttling and 5xx on reads, and re-signs nothing it should not", function()
    emu:fault({ match = "POST /", status = 429, count = 2, retry_after = "0" })
    local g = assert(client:create_group({ name = "after throttling" }))
    emu:fault({ match = "POST /", status = 503, count = 2 })
    assert(client:_call(dialect.get_group(g.id)))
    emu:fault({ match = "POST /", status = 500, count = 1 })
    local _, err = client:upload({ url = "https://x/a.png", group = g })
    assert.equal("provider", err.kind)
    assert.equal("InternalError", err.code)
    assert.equal(1, err.attempts)
    assert.equal(0, #dump().assets)
  end)

  it("runs a real-person session to a new group; the token then is spent", function()
    local s = assert(client:verify({ return_url = "https://app.example.com/verified" }))
    assert.same({ CallbackURL = "https://app.example.com/verified" }, last_body())
    assert.equal("Action=CreateVisualValidateSession&Version=2024-01-01", last().raw_query)
    assert.matches("^bt%-", s.id)
    assert.matches("^https://", s.link)
    assert.equal("pending", s.status)
    local g = assert(s:wait({ timeout = 5 }))
    assert.equal("succeeded", s.status)
    assert.equal("real_human", g.type)
    assert.matches("^group%-", g.id)
    assert.same({ BytedToken = s.id }, last_body())
    same_shape(fixture("session_result_request.json"), last_body())
    -- the group exists, and its assets must show the verified face
    local types = {}
    for x in client:groups({ type = "real_human" }) do types[#types + 1] = x.id end
    assert.same({ g.id }, types)
    local ok_face = assert(g:upload({ url = "https://cdn.example.com/same-person.jpg" }))
    local other = assert(g:upload({ url = "https://cdn.example.com/other-person.jpg" }))
    assert(ok_face:wait({ timeout = 5 }))
    local _, err = other:wait({ timeout = 5 })
    assert.equal("asset_failed", err.kind)
    assert.equal("FaceMismatch", err.code)
    -- a second read of the token is an error; the finished session stays finished
    local spent = assert(client:_call(dialect.get_session(s.id)))
    assert.equal("InvalidBytedToken", spent.ResponseMetadata.Error.Code)
    assert.equal("expired", dialect.parse_session(spent).raw_status)
    assert.equal(s, s:refresh())
    assert.equal("succeeded", s.status)
    assert.equal(g.id, s.group_id)
  end)

  it("ends a session whose link expired, or whose check failed", function()
    emu:configure({ processing = 300 })
    local s = assert(client:verify({ return_url = "https://app.example.com/back" }))
    emu:advance(121)
    local ok, err = s:wait({ timeout = 5 })
    assert.is_nil(ok)
    assert.equal("expired", s.status)
    assert.equal("BytedTokenExpired", err.code)
    emu:configure({ processing = 0.1 })
    local f = assert(client:verify({ return_url = "https://app.example.com/verify-fail" }))
    ok, err = f:wait({ timeout = 5 })
    assert.is_nil(ok)
    assert.equal("failed", f.status)
    assert.equal("VisualValidateFailed", err.code)
  end)

  it("never shows the secret key: errors, tostring, objects, the wire", function()
    local g = assert(client:create_group({ name = "heroes" }))
    local a = assert(g:upload({ url = "https://x/a.png" }))
    local s = assert(client:verify({}))
    local bad = new_client({ secret_key = SK .. "x" })
    local _, e1 = bad:create_group({ name = "x" })
    -- a service that echoes the secret back: the generic layer redacts message and raw body
    emu:fault({ match = "POST /", status = 400, body = { ResponseMetadata = { RequestId = "r",
      Error = { Code = "InvalidParameter", Message = "cannot use key " .. SK } } } })
    local _, e2 = client:asset(a.id)
    assert.equal("InvalidParameter", e2.code)
    assert.matches("REDACTED", e2.message)
    for _, x in ipairs({ e1, e2, client, bad, g, a, s }) do
      assert.is_nil(tostring(x):find(SK, 1, true))
      assert_nowhere(SK, x)
    end
    for _, r in ipairs({ last() }) do
      assert.is_nil(r.body:find(SK, 1, true))
      for k, x in pairs(r.headers) do assert.is_nil(x:find(SK, 1, true), k) end
    end
    local broken = new_client({ access_key = "bad key" })
    local ok, raised = pcall(broken.asset, broken, "a")
    assert.is_false(ok)
    assert.is_nil(tostring(raised):find(SK, 1, true))
    broken:close()
    bad:close()
  end)

  it("does the Done-when script against api.md only", function()
    local group = assert(client:create_group({ name = "cast", description = "main characters" }))
    local asset = assert(group:upload({ url = "https://cdn.example.com/hero.png", name = "hero" }))
    assert(asset:wait({ timeout = 10 }))
    assert.equal("active", asset.status)
    local bad = assert(group:upload({ url = "https://cdn.example.com/multi-face.jpg" }))
    local ok, err = bad:wait({ timeout = 10 })
    assert.is_nil(ok)
    assert.equal("asset_failed", err.kind)
    assert.equal("MultiFaceViolation", err.code)
    local n = 0
    for x in client:assets({ group = group }) do
      n = n + 1
      assert.equal(group.id, x.group_id)
    end
    assert.equal(2, n)
    assert.is_nil(client:last_error())
    assert.is_true(asset:delete())
    local session = assert(client:verify({ return_url = "https://app.example.com/done" }))
    assert.is_string(session.link)
    local person = assert(session:wait({ timeout = 10 }))
    assert.equal("real_human", person.type)
    local face = assert(person:upload({ url = "https://cdn.example.com/me.jpg" }))
    assert(face:wait({ timeout = 10 }))
  end)
end)

describe("ark under --provider all", function()
  it("mounts the control plane under /ark", function()
    local emu = assert(emulator.start({ provider = "all", processing = 0.1, access_key = AK, secret_key = SK }))
    local ok, err = pcall(function()
      assert.equal(emu.urls.ark, emu.control_url .. "/api/v3")
      assert.matches("/ark$", emu.control_url)
      local c = seedance.new({ provider = "ark", api_key = API_KEY, access_key = AK, secret_key = SK,
        base_url = emu.urls.ark, control_url = emu.control_url, poll = { interval = 0.05, max = 0.1 } })
      local g = assert(c:create_group({ name = "all" }))
      local a = assert(g:upload({ url = "https://x/a.png" }))
      assert(a:wait({ timeout = 5 }))
      local bad = seedance.new({ provider = "ark", api_key = API_KEY, access_key = AK, secret_key = "nope",
        control_url = emu.control_url })
      local _, e = bad:create_group({ name = "x" })
      assert.equal("SignatureDoesNotMatch", e.code)
      c:close()
      bad:close()
    end)
    emu:stop()
    assert(ok, err)
  end)
end)
