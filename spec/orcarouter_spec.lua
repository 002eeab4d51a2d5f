-- OrcaRouter conformance: groups, assets in groups, real-person verification sessions and
-- the asset quota over real HTTP against the emulator twin, checked against the documented
-- examples in spec/fixtures/orcarouter: what goes on the wire (paths under /v1/asset, Bearer
-- auth, Capitalized field names, group_type always sent) and what Lua sees (normalized
-- fields, FaceMismatch failures, quota and auth 403s told apart).
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local dialect = require "seedance.providers.orcarouter"
local cjson = require "cjson"
local helpers = require "helpers"

local KEY = "or-test-secret-0123456789"
local fixture = helpers.fixtures("orcarouter")
local same_shape, keys = helpers.same_shape, helpers.keys

describe("orcarouter", function()
  local emulated = helpers.twin("orcarouter", KEY, { processing = 0.2, api_key = KEY },
                            { processing = 0.2, plan = "premium", quota = cjson.null, faults = {} })
  local emu, client
  local function new_client(extra) return emulated:client(extra) end
  local function last() return emulated:last_request() end

  local function query(raw)
    local q = {}
    for k, v in raw:gmatch("([^&=]+)=([^&]*)") do
      q[k] = v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    end
    return q
  end

  before_each(function()
    emu, client = emulated.emu, new_client()
  end)
  after_each(function() client:close() end)

  describe("parsers, on the documented examples", function()
    it("reads assets: Capitalized fields, status words, Error", function()
      local a = dialect.parse_asset(fixture("asset_get_active.json"))
      assert.equal("asset-20260318071009-xy98z", a.id)
      assert.equal("asset://asset-20260318071009-xy98z", a.ref)
      assert.equal("Active", a.raw_status)
      assert.equal("image", a.type)
      assert.equal("group-20260318033332-ab12c", a.group_id)
      assert.equal("https://example.com/alice/front.png", a.url)
      assert.equal(1773817809, a.created_at)
      local f = dialect.parse_asset(fixture("asset_get_facemismatch.json"))
      assert.equal("Failed", f.raw_status)
      assert.same({ code = "FaceMismatch", message = "The face does not match the verified person of this group" },
                  f.error)
      local up = dialect.parse_upload(fixture("asset_create_response.json"))
      assert.equal("asset-20260318071009-xy98z", up.id)
      assert.equal("Processing", up.raw_status)
    end)

    it("reads the list envelope of assets and of groups", function()
      local items, more = dialect.parse_list(fixture("asset_list_response.json"), 1)
      assert.equal(1, #items)
      assert.is_false(more)
      assert.equal("Active", items[1].raw_status)
      local b = fixture("asset_list_response.json")
      b.TotalCount = 11
      assert.is_true(select(2, dialect.parse_list(b, 1)))
      local groups = dialect.parse_group_list(fixture("group_list_response.json"), 1)
      assert.same({ "group-20260318033332-ab12c", "alice-looks", "aigc" },
                  { groups[1].id, groups[1].name, groups[1].type })
      assert.equal("real_human", dialect.parse_group({ Id = "g", GroupType = "LivenessFace" }).type)
      assert.equal("group-20260318033332-ab12c", dialect.parse_group(fixture("group_create_response.json")).id)
    end)

    it("reads sessions: pending, success with a group, failed", function()
      local s = dialect.parse_session(fixture("session_create_response.json"))
      assert.equal("session-20260318075455-v3rfy", s.id)
      assert.matches("^https://h5%.orcarouter%.ai/", s.link)
      assert.equal("pending", s.raw_status)
      assert.is_nil(dialect.parse_session(fixture("session_pending.json")).group_id)
      assert.equal("group-20260318075500-rh1zz", dialect.parse_session(fixture("session_success.json")).group_id)
      assert.equal("failed", dialect.parse_session(fixture("session_failed.json")).raw_status)
    end)

    it("tells the quota 403 from a refused permission", function()
      local describe_body = require("seedance.wire.http").describe_body
      assert.equal("quota", dialect.error_kind(403, nil, describe_body(fixture("error_quota_403.json"))))
      assert.equal("auth", dialect.error_kind(403, nil, describe_body(fixture("error_access_denied_403.json"))))
      assert.equal("auth", dialect.error_kind(403, nil, nil, nil))
      assert.is_nil(dialect.error_kind(404, nil, "quota", nil))
    end)

    it("names references [Image 1] as in the guide's example", function()
      local ex = fixture("video_request_example.json")
      -- an Asset object (userdata from seedance.core), as a script would hold one
      local asset = require("seedance.model.asset").new(client, { raw_status = "Active", type = "image",
        id = "asset-20260318071009-xy98z", ref = "asset://asset-20260318071009-xy98z" })
      local out = assert(seedance.render("The girl in {{girl}} arranges items on the counter.",
                                         { girl = asset }, "orcarouter"))
      assert.equal(ex.prompt, out.prompt)
      assert.equal(ex.metadata.content[1].image_url.url, out.images[1].url)
      assert.equal("[Video 2]", dialect.token("video", 2))
      assert.equal("[Audio 1]", dialect.token("audio", 1))
    end)
  end)

  describe("groups", function()
    it("creates: POST /v1/asset/groups {Name, Description} -> {Id}", function()
      local g = assert(client:create_group({ name = "alice-looks", description = "Outfits and props for Alice" }))
      local r = last()
      assert.equal("POST", r.method)
      assert.equal("/v1/asset/groups", r.path)
      assert.equal("Bearer " .. KEY, r.headers.authorization)
      assert.matches("^application/json", r.headers["content-type"])
      assert.same(fixture("group_create_request.json"), cjson.decode(r.body))
      same_shape(fixture("group_create_response.json"), g.raw)
      assert.matches("^group%-%d+%-%w+$", g.id)
      assert.equal("alice-looks", g.name)
      assert.equal("aigc", g.type)
    end)

    it("refuses a Name over 64 or a Description over 300 characters", function()
      local _, e1 = client:create_group({ name = ("n"):rep(65) })
      assert.equal("validation", e1.kind)
      assert.equal(400, e1.status)
      assert(client:create_group({ name = ("é"):rep(64) }))
      local _, e2 = client:create_group({ name = "ok", description = ("d"):rep(301) })
      assert.equal("validation", e2.kind)
    end)

    it("lists with group_type always sent, aigc when no type is asked", function()
      local g = assert(client:create_group({ name = "alice-looks" }))
      local seen = {}
      for x in client:groups() do seen[#seen + 1] = x end
      assert.equal(1, #seen)
      assert.equal(g.id, seen[1].id)
      assert.equal("aigc", seen[1].type)
      same_shape(fixture("group_list_response.json").Items[1], seen[1].raw)
      local q = query(last().raw_query)
      assert.equal("aigc", q.group_type)
      assert.equal("1", q.page_number)
      local n = 0
      for _ in client:groups({ type = "real_human" }) do n = n + 1 end
      assert.equal(0, n)
      assert.equal("real_human", query(last().raw_query).group_type)
      local body = assert(client:_call(dialect.list_groups({ type = "aigc" }, 1)))
      same_shape(fixture("group_list_response.json"), body)
    end)

    it("pages through groups and filters by name", function()
      for i = 1, 5 do assert(client:create_group({ name = "cast-" .. i })) end
      assert(client:create_group({ name = "props" }))
      local n = 0
      for _ in client:groups({ page_size = 2 }) do n = n + 1 end
      assert.equal(6, n)
      assert.equal(3, emu:stats().by_route["GET /v1/asset/groups"])
      local names = {}
      for x in client:groups({ name = "props" }) do names[#names + 1] = x.name end
      assert.same({ "props" }, names)
    end)

    it("updates with PATCH /v1/asset/groups/{id} {Name?, Description?}", function()
      local g = assert(client:create_group({ name = "alice-looks" }))
      assert.equal(g, g:update({ name = "alice-2026", description = "Alice, spring collection" }))
      local r = last()
      assert.equal("PATCH", r.method)
      assert.equal("/v1/asset/groups/" .. g.id, r.path)
      assert.same(fixture("group_update_request.json"), cjson.decode(r.body))
      assert.equal("alice-2026", g.name)
      assert(g:update({ description = "only this" }))
      assert.same({ Description = "only this" }, cjson.decode(last().body))
      for x in client:groups() do assert.equal("alice-2026", x.name) end
      local _, err = client:_call(dialect.update_group("group-nope", { name = "x" }))
      assert.equal("not_found", err.kind)
    end)
  end)

  describe("assets", function()
    local group
    before_each(function()
      group = assert(client:create_group({ name = "alice-looks" }))
    end)

    it("uploads into a group: POST /v1/asset/files {GroupId, URL, AssetType, Name}", function()
      local a = assert(group:upload({ url = "https://example.com/alice/front.png", name = "front" }))
      local r = last()
      assert.equal("POST", r.method)
      assert.equal("/v1/asset/files", r.path)
      local sent = cjson.decode(r.body)
      assert.same(keys(fixture("asset_create_request.json")), keys(sent))
      assert.same({ GroupId = group.id, URL = "https://example.com/alice/front.png", AssetType = "Image",
                    Name = "front" }, sent)
      same_shape(fixture("asset_create_response.json"), a.raw)
      assert.matches("^asset%-%d+%-%w+$", a.id)
      assert.equal("asset://" .. a.id, a.ref)
      assert.equal("processing", a.status)
      assert.equal(group.id, a.group_id)
      assert.equal("image", a.type)
      assert.equal("front", a.name)
      -- the name given at upload stays, whether or not the record read back carries it
      assert(a:wait({ timeout = 5 }))
      assert(a:refresh())
      assert.equal("front", a.name)
      local v = assert(client:upload({ url = "https://example.com/clip.mov", group = group.id }))
      assert.equal("Video", cjson.decode(last().body).AssetType)
      assert.equal("video", v.type)
      assert(client:upload({ url = "https://example.com/voice.mp3", type = "audio", group = group }))
      assert.equal("Audio", cjson.decode(last().body).AssetType)
    end)

    it("waits until Active and fetches by id", function()
      local a = assert(group:upload({ url = "https://example.com/alice/front.png" }))
      assert.equal(a, a:wait({ timeout = 5 }))
      assert.equal("active", a.status)
      assert.equal("Active", a.raw_status)
      local r = last()
      assert.equal("GET", r.method)
      assert.equal("/v1/asset/files/" .. a.id, r.path)
      same_shape(fixture("asset_get_active.json"), a.raw)
      local b = assert(client:asset(a.id))
      assert.equal(group.id, b.group_id)
      assert.is_number(b.created_at)
    end)

    it("reports a failed asset as asset_failed with the provider's code", function()
      local a = assert(group:upload({ url = "https://example.com/crowd-multi-face.png" }))
      local ok, err = a:wait({ timeout = 5 })
      assert.is_nil(ok)
      assert.equal("asset_failed", err.kind)
      assert.equal("MultiFaceViolation", err.code)
      same_shape(fixture("asset_get_facemismatch.json"), a.raw)
      local t = assert(group:upload({ url = "https://example.com/clip.mp4", type = "image" }))
      local _, terr = t:wait({ timeout = 5 })
      assert.equal("InvalidFormat", terr.code)
    end)

    it("lists with statuses (comma list, documented words) and group_id", function()
      local other = assert(client:create_group({ name = "props" }))
      for i = 1, 3 do assert(group:upload({ url = ("https://example.com/%d.png"):format(i) })) end
      assert(other:upload({ url = "https://example.com/cup.png" }))
      assert(group:upload({ url = "https://example.com/multi-face.png" }))
      local n = 0
      for a in group:assets() do
        n = n + 1
        assert.equal(group.id, a.group_id)
      end
      assert.equal(4, n)
      assert.equal(group.id, query(last().raw_query).group_id)
      local all = 0
      for _ in client:assets({ page_size = 2 }) do all = all + 1 end
      assert.equal(5, all)
      emulator.sleep(0.3)
      local active = {}
      for a in client:assets({ status = { "active", "processing" } }) do active[#active + 1] = a end
      assert.equal(4, #active)
      assert.equal("Active,Processing", query(last().raw_query).statuses)
      same_shape(fixture("asset_list_response.json").Items[1], active[1].raw)
      local failed = {}
      for a in group:assets({ status = "failed" }) do failed[#failed + 1] = a end
      assert.equal(1, #failed)
      assert.equal("Failed", query(last().raw_query).statuses)
      local body = assert(client:_call(dialect.list_assets({ group = group.id, status = "active" }, 1)))
      same_shape(fixture("asset_list_response.json"), body)
    end)

    it("deletes with DELETE /v1/asset/files/{id}", function()
      local a = assert(group:upload({ url = "https://example.com/a.png" }))
      assert(a:wait({ timeout = 5 }))
      assert.is_true(a:delete())
      local r = last()
      assert.equal("DELETE", r.method)
      assert.equal("/v1/asset/files/" .. a.id, r.path)
      local _, err = client:asset(a.id)
      assert.equal("not_found", err.kind)
      assert.equal(404, err.status)
    end)

    it("answers the 100-asset quota with 403: kind quota", function()
      for i = 1, 100 do assert(group:upload({ url = ("https://example.com/%d.png"):format(i) })) end
      local _, err = group:upload({ url = "https://example.com/101.png" })
      assert.equal("quota", err.kind)
      assert.equal(403, err.status)
      assert.equal("QuotaExceeded", err.code)
      same_shape(fixture("error_quota_403.json"), err.raw)
      assert.equal(100, emu:stats().creates_by_provider.orcarouter - 1)
    end)

    it("frees a quota slot on delete, and takes a configured quota", function()
      emu:configure({ quota = 2 })
      local a = assert(group:upload({ url = "https://example.com/a.png" }))
      assert(group:upload({ url = "https://example.com/b.png" }))
      local _, err = group:upload({ url = "https://example.com/c.png" })
      assert.equal("quota", err.kind)
      assert(a:delete())
      assert(group:upload({ url = "https://example.com/c.png" }))
    end)

    it("tells a 403 without Advanced Creation Rights apart: auth", function()
      emu:configure({ plan = "free" })
      local _, err = group:upload({ url = "https://example.com/a.png" })
      assert.equal("auth", err.kind)
      assert.equal(403, err.status)
      assert.equal("AccessDenied", err.code)
      same_shape(fixture("error_access_denied_403.json"), err.raw)
    end)
  end)

  describe("real-person verification", function()
    it("starts a session, hands out the link, and waits for the new real_human group", function()
      local s = assert(client:verify({ return_url = "https://app.example.com/verified" }))
      local r = last()
      assert.equal("POST", r.method)
      assert.equal("/v1/asset/real-human/sessions", r.path)
      assert.same(fixture("session_create_request.json"), cjson.decode(r.body))
      same_shape(fixture("session_create_response.json"), s.raw)
      assert.matches("^https://", s.link)
      assert.equal("pending", s.status)
      local g = assert(s:wait({ timeout = 5 }))
      assert.equal("succeeded", s.status)
      assert.equal("success", s.raw_status)
      assert.equal("/v1/asset/real-human/sessions/" .. s.id, last().path)
      same_shape(fixture("session_success.json"), s.raw)
      assert.matches("^group%-", g.id)
      assert.equal("real_human", g.type)
      local listed = {}
      for x in client:groups({ type = "real_human" }) do listed[#listed + 1] = x end
      assert.equal(1, #listed)
      assert.equal(g.id, listed[1].id)
      assert.equal("real_human", listed[1].type)
    end)

    it("polls a pending session in the documented shape", function()
      emu:configure({ processing = 30 })
      local s = assert(client:verify())
      assert.same({}, cjson.decode(last().body))
      assert.equal(s, s:refresh())
      assert.equal("pending", s.status)
      same_shape(fixture("session_pending.json"), s.raw)
      local _, err = s:wait({ timeout = 0.2 })
      assert.equal("timeout", err.kind)
    end)

    it("reports a failed check", function()
      local s = assert(client:verify({ return_url = "https://app.example.com/verify-fail" }))
      local g, err = s:wait({ timeout = 5 })
      assert.is_nil(g)
      assert.equal("failed", s.status)
      assert.equal("failed", err.code)
      same_shape(fixture("session_failed.json"), s.raw)
    end)

    it("fails another person's face in a real_human group: FaceMismatch", function()
      local g = assert(assert(client:verify()):wait({ timeout = 5 }))
      local own = assert(g:upload({ url = "https://example.com/bob/front.png" }))
      local other = assert(g:upload({ url = "https://example.com/bob/other-person.png" }))
      local crowd = assert(g:upload({ url = "https://example.com/bob/multi-face.png" }))
      assert(own:wait({ timeout = 5 }))
      local _, err = other:wait({ timeout = 5 })
      assert.equal("asset_failed", err.kind)
      assert.equal("FaceMismatch", err.code)
      same_shape(fixture("asset_get_facemismatch.json"), other.raw)
      local _, cerr = crowd:wait({ timeout = 5 })
      assert.equal("FaceMismatch", cerr.code)
    end)
  end)

  describe("the twin refuses what OrcaRouter refuses", function()
    local function post(endpoint, body)
      return client:_call({ endpoint = endpoint, method = "POST", body = body })
    end

    it("assets: a missing GroupId, AssetType or URL, snake_case, lowercase types, data URIs", function()
      local g = assert(client:create_group({ name = "g" }))
      -- the client refuses an upload without a group before any request; the twin, as sent
      local before = emu:stats().requests
      local _, c0 = client:upload({ url = "https://example.com/a.png" })
      assert.same({ "validation", "group_required" }, { c0.kind, c0.code })
      assert.equal(before, emu:stats().requests)
      local _, e0 = post("upload_asset", { URL = "https://example.com/a.png", AssetType = "Image" })
      assert.equal("validation", e0.kind)
      assert.equal("MissingParameter", e0.code)
      local _, e1 = post("upload_asset", { group_id = g.id, URL = "https://example.com/a.png", AssetType = "Image" })
      assert.matches("unknown parameter 'group_id'", e1.message)
      local _, e2 = post("upload_asset", { GroupId = g.id, URL = "https://example.com/a.png" })
      assert.matches("AssetType", e2.message)
      local _, e3 = post("upload_asset", { GroupId = g.id, URL = "https://example.com/a.png", AssetType = "image" })
      assert.equal(400, e3.status)
      local _, e4 = post("upload_asset", { GroupId = g.id, url = "https://example.com/a.png", AssetType = "Image" })
      assert.matches("unknown parameter 'url'", e4.message)
      local _, e5 = post("upload_asset", { GroupId = g.id, URL = "data:image/png;base64,AAAA", AssetType = "Image" })
      assert.equal("validation", e5.kind)
      local _, e6 = post("upload_asset", { GroupId = "group-nope", URL = "https://example.com/a.png",
                                           AssetType = "Image" })
      assert.equal("not_found", e6.kind)
      assert.equal(0, emu:stats().creates_by_provider.orcarouter - 1)
    end)

    it("groups and sessions: missing Name, lowercase fields, unknown fields", function()
      local _, e1 = post("create_group", { Description = "x" })
      assert.equal("validation", e1.kind)
      local _, e2 = post("create_group", { name = "x" })
      assert.matches("unknown parameter 'name'", e2.message)
      local _, e3 = post("create_group", { Name = "x", GroupType = "AIGC" })
      assert.matches("GroupType", e3.message)
      local _, e4 = post("create_session", { returnUrl = "https://x" })
      assert.matches("returnUrl", e4.message)
      local _, e5 = client:_call({ endpoint = "list_groups", method = "GET", query = { group_type = "virtual" } })
      assert.equal(400, e5.status)
      local _, e6 = client:_call({ endpoint = "list_assets", method = "GET", query = { statuses = "active" } })
      assert.equal(400, e6.status)
    end)

    it("a wrong key or another scheme: 401, auth", function()
      local c = new_client({ api_key = "or-wrong-0000" })
      local _, err = c:asset("asset-1")
      assert.equal("auth", err.kind)
      assert.equal(401, err.status)
      c:close()
      local _, e2 = client:_call({ endpoint = "get_asset", method = "GET", params = { id = "x" },
                                   headers = { "Authorization: Key " .. KEY } })
      assert.equal(401, e2.status)
    end)
  end)

  it("never shows the key", function()
    local errs = {}
    emu:fault({ match = "GET /v1/asset/files", status = 500, count = 10,
                body = '{"error":{"code":"echo","message":"got Bearer ' .. KEY .. '"}}' })
    local c = new_client({ retries = 0 })
    local _, e1 = c:asset("asset-1")
    errs[#errs + 1] = e1
    assert.equal("got Bearer [REDACTED]", e1.message)
    emu:reset()
    local w = new_client({ api_key = "or-another-wrong-key" })
    local _, e2 = w:create_group({ name = "x" })
    errs[#errs + 1] = e2
    emu:configure({ quota = 0 })
    local g = assert(client:create_group({ name = "g" }))
    local _, e3 = g:upload({ url = "https://example.com/a.png" })
    errs[#errs + 1] = e3
    helpers.assert_errors_hide(KEY, errs)
    helpers.assert_shown_without(KEY, assert(client:verify()), g, client)
    c:close()
    w:close()
  end)

  it("follows a patched endpoint", function()
    local c = new_client({ endpoints = { get_session = "/asset/real-human/session/{id}" } })
    local s = assert(c:verify())
    local _, err = s:refresh()
    assert.equal("not_found", err.kind)
    assert.equal(1, emu:stats().by_route["GET /v1/asset/real-human/session/" .. s.id])
    c:close()
  end)

  it("runs the api.md workflow on the emulator's own URL, and under /orcarouter in 'all' mode", function()
    assert.matches("/v1$", emu.url)
    local all = assert(emulator.start({ provider = "all", processing = 0.05 }))
    assert.equal(all.url .. "/orcarouter/v1", all.urls.orcarouter)
    local c = helpers.new_client("orcarouter", KEY, all.urls.orcarouter)
    local g = assert(c:create_group({ name = "cast" }))
    local a = assert(g:upload({ url = "https://example.com/hero.png" }))
    assert(a:wait({ timeout = 5 }))
    local bad = assert(g:upload({ url = "https://example.com/multi-face.png" }))
    local _, err = bad:wait({ timeout = 5 })
    assert.equal("asset_failed", err.kind)
    local n = 0
    for _ in g:assets() do n = n + 1 end
    assert.equal(2, n)
    assert(a:delete())
    local s = assert(c:verify({ return_url = "https://app.example.com/back" }))
    assert.is_string(s.link)
    local person = assert(s:wait({ timeout = 5 }))
    assert.equal("real_human", person.type)
    assert.equal(1, all:stats().by_route["POST /orcarouter/v1/asset/groups"])
    c:close()
    all:stop()
  end)
end)
