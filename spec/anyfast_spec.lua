-- AnyFast conformance: the dialect against AnyFast's documented examples, and groups,
-- assets (by URL, data URI, raw base64 and multipart file upload), listing and the
-- visual-validate session over real HTTP against the emulator twin: what goes on the wire
-- (path, Bearer auth, body field names, the per-type `model`, the multipart parts), what
-- Lua sees (normalized fields, errors), retries of the read-only POSTs, and secrecy.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local core = require "seedance.core"
local cjson = require "cjson"
local multipart = require "seedance.wire.multipart"
local dialect = require "seedance.providers.anyfast"
local twin = require "seedance.emulator.anyfast"
local helpers = require "helpers"

local KEY = "af-test-secret-0123456789"
local P = "/volc/asset/"
local fixture = helpers.fixtures("anyfast", ".json")
-- every field of the documented example is there, with a value of the same JSON type
local same_shape, keys = helpers.has_fields, helpers.keys
local PNG = "spec/fixtures/anyfast/portrait.png"
local MP4 = "spec/fixtures/anyfast/clip.mp4"
local WAV = "spec/fixtures/anyfast/voice.wav"
-- a 1x1 PNG
local PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

describe("anyfast", function()
  local emulated = helpers.twin("anyfast", KEY, { processing = 0.2, api_key = KEY },
                                { processing = 0.2, api_key = KEY })
  local emu, client, group
  local function new_client(extra) return emulated:client(extra) end
  local function dump() return emulated:dump() end
  local function last() return emulated:last_request() end
  local function sent() return cjson.decode(last().body) end

  before_each(function()
    emu, client = emulated.emu, new_client()
    group = assert(client:create_group({ name = "cast" }))
  end)
  after_each(function() client:close() end)

  describe("documented examples", function()
    it("parse: GetAsset, a ListAssets page, CreateAssetGroup, the session start", function()
      local a = dialect.parse_asset(fixture("get_asset_response"))
      assert.same({ "asset-20260528140922-d9646", "asset://asset-20260528140922-d9646", "Active", "video",
                    "character-reference", "group-20260528140601-tp9hw" },
                  { a.id, a.ref, a.raw_status, a.type, a.name, a.group_id })
      assert.equal(1779948562, a.created_at)
      assert.matches("^https://ark%-media%-asset", a.url)
      local items, more = dialect.parse_list(fixture("list_assets_response"), 1)
      assert.equal(1, #items)
      assert.equal("asset-20260320142452-2htjn", items[1].id)
      assert.equal(1774016692, items[1].created_at)
      assert.is_true(more)
      assert.equal("group-20260427160000-xxxxx", dialect.parse_group(fixture("create_group_response")).id)
      local up = dialect.parse_upload(fixture("create_asset_response"), { url = "https://example.com/character.jpg",
                                                                          group = "g" })
      assert.same({ "asset-20260320120147-pqwhc", "processing", "image", "character.jpg" },
                  { up.id, up.status, up.type, up.name })
      local s = dialect.parse_session(fixture("session_response"))
      assert.equal("2026070222152680501D985EA34A3BE3D8", s.id)
      assert.matches("^https://www%.byteplus%.com/", s.link)
      assert.equal("pending", s.raw_status)
    end)

    it("the client sends the documented request fields, the twin answers the documented shapes", function()
      local g = assert(client:create_group({ name = "your-custom-name" }))
      assert.same(fixture("create_group_request"), sent())
      same_shape(fixture("create_group_response"), g.raw)
      local a = assert(g:upload({ url = "https://example.com/character.jpg", name = "character-reference" }))
      local body = sent()
      assert.same(keys(fixture("create_asset_request")), keys(body))
      body.GroupId = "group-20260320120601-hsw4s"
      assert.same(fixture("create_asset_request"), body)
      same_shape(fixture("create_asset_response"), a.raw)
      assert(a:wait({ timeout = 5 }))
      assert.same(keys(fixture("get_asset_request")), keys(sent()))
      same_shape(fixture("get_asset_response"), a.raw)
      for x in client:assets() do same_shape(fixture("list_assets_response").Items[1], x.raw) end
      local s = assert(client:verify({ return_url = "https://example.com/callback" }))
      assert.same(fixture("session_request"), sent())
      same_shape(fixture("session_response"), s.raw)
    end)
  end)

  it("creates groups: POST CreateAssetGroup {model, Name}, Bearer auth, name without the token prefix", function()
    local req = last()
    assert.equal("POST", req.method)
    assert.equal(P .. "CreateAssetGroup", req.path)
    assert.equal("Bearer " .. KEY, req.headers["authorization"])
    assert.is_nil(req.headers["x-api-key"])
    assert.same({ model = "volc-asset", Name = "cast" }, sent())
    assert.matches("^group%-%d+%-%w+$", group.id)
    assert.equal("cast", group.name)
    assert.equal("aigc", group.type)
    local listed = {}
    for g in client:groups() do listed[#listed + 1] = g end
    assert.equal(1, #listed)
    assert.equal(group.id, listed[1].id)
    assert.equal("cast", listed[1].name)
    assert.matches("^%[u%-%d+%]%-%[t%-%d+%]%-cast$", listed[1].raw.Name)
    assert.same({ model = "volc-asset", Filter = {}, PageNumber = 1, PageSize = 100 }, sent())
  end)

  it("uploads by URL with the model of its type", function()
    for _, case in ipairs({
      { "https://x/face.png", "volc-asset", "Image", "image" },
      { "https://x/clip.mp4", "volc-asset-video", "Video", "video" },
      { "https://x/voice.mp3", "volc-asset-audio", "Audio", "audio" },
      { "https://x/noext", "volc-asset-audio", "Audio", "audio", "audio" },
    }) do
      local a = assert(group:upload({ url = case[1], type = case[5] }))
      local body = sent()
      assert.equal(P .. "CreateAsset", last().path)
      assert.same({ model = case[2], GroupId = group.id, Name = body.Name, AssetType = case[3], URL = case[1] }, body)
      assert.equal(case[4], a.type)
      assert.equal(group.id, a.group_id)
      assert.equal("processing", a.status)
    end
  end)

  it("uploads a data URI and raw base64 in URL", function()
    local a = assert(group:upload({ url = "data:image/png;base64," .. PNG_B64, name = "dot" }))
    assert.equal("data:image/png;base64," .. PNG_B64, sent().URL)
    assert.equal("volc-asset", sent().model)
    assert.equal("image", a.type)
    local b = assert(group:upload({ url = PNG_B64, name = "raw" }))
    assert.equal(PNG_B64, sent().URL)
    assert.equal("Image", sent().AssetType)
    local wav = assert(group:upload({ url = "data:audio/wav;base64,UklGRiQAAABXQVZF", name = "beep" }))
    assert.equal("volc-asset-audio", sent().model)
    assert.equal("Audio", sent().AssetType)
    assert.equal("audio", wav.type)
    assert(seedance.wait_all({ a, b, wav }, { timeout = 5 }))
    assert.matches("^https://ark%-media%-asset", a.url)
    -- bytes that are no image fail upstream
    local junk = assert(group:upload({ url = "data:image/png;base64,aGVsbG8gd29ybGQh", name = "junk" }))
    local _, err = junk:wait({ timeout = 5 })
    assert.equal("asset_failed", err.kind)
    assert.equal("InvalidParameter.UnsupportedFormat", err.code)
  end)

  it("uploads a local file as multipart/form-data: model, file, GroupId, Name", function()
    local a = assert(group:upload({ file = MP4, validate = false }))
    local req = last()
    assert.matches("^multipart/form%-data; boundary=", req.headers["content-type"])
    local names = {}
    for i, p in ipairs(req.parts) do names[i] = p.name end
    assert.same({ "model", "file", "GroupId", "Name" }, names)
    assert.equal("volc-asset-video", req.parts[1].value)
    assert.equal("clip.mp4", req.parts[2].filename)
    assert.equal("video/mp4", req.parts[2].content_type)
    assert.equal(group.id, req.parts[3].value)
    assert.equal("clip.mp4", req.parts[4].value)
    assert.equal("video", a.type)
    assert.equal("clip.mp4", a.name)
    -- the twin got every byte
    local bytes = assert(helpers.read(MP4))
    local stored = dump().assets
    stored = stored[#stored]
    assert.equal(#bytes, stored.file.bytes)
    assert.equal(twin.checksum(bytes), stored.file.checksum)
    assert(a:wait({ timeout = 5 }))
    assert.equal("active", a.status)
    local img = assert(group:upload({ file = PNG, name = "portrait", validate = false }))
    assert.equal("volc-asset", last().parts[1].value)
    assert.equal("portrait", last().parts[4].value)
    assert.equal("image", img.type)
    local voice = assert(group:upload({ file = WAV, validate = false }))
    assert.equal("volc-asset-audio", last().parts[1].value)
    assert.equal("audio", voice.type)
    assert(seedance.wait_all({ img, voice }, { timeout = 5 }))
  end)

  it("fails a file whose bytes are not what its name says; refuses an unreadable file before sending", function()
    local path = os.tmpname() .. ".png"
    local f = assert(io.open(path, "wb"))
    f:write("this is text, not a picture")
    f:close()
    local a = assert(group:upload({ file = path, validate = false }))
    local _, err = a:wait({ timeout = 5 })
    os.remove(path)
    assert.equal("InvalidParameter.UnsupportedFormat", err.code)
    local before = emu:stats().requests
    local _, rerr = group:upload({ file = "/nonexistent/face.png" })
    assert.equal("validation", rerr.kind)
    assert.matches("cannot open", rerr.message)
    local _, terr = group:upload({ file = "spec/fixtures/crun/README.md" })
    assert.equal("validation", terr.kind)
    local _, gerr = client:upload({ url = "https://x/a.png" })
    assert.equal("validation", gerr.kind)
    assert.matches("group=", gerr.message)
    assert.equal(before, emu:stats().requests)
  end)

  it("multipart: exact bytes for a fixed boundary, read back by the twin's parser", function()
    local body, ct = multipart.encode({
      { name = "model", value = "volc-asset" },
      { name = "file", filename = 'a"\r\nb.png', data = "\137PNG\r\n\0bin" },
      { name = "Name", value = 'say "hi"' },
    }, "XyZ")
    assert.equal("multipart/form-data; boundary=XyZ", ct)
    assert.equal("--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nvolc-asset\r\n" ..
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a%22b.png\"\r\n" ..
      "Content-Type: image/png\r\n\r\n\137PNG\r\n\0bin\r\n" ..
      "--XyZ\r\nContent-Disposition: form-data; name=\"Name\"\r\n\r\nsay \"hi\"\r\n--XyZ--\r\n", body)
    local parts = assert(twin.parse_multipart(body, ct))
    assert.equal(3, #parts)
    assert.equal("\137PNG\r\n\0bin", parts[2].data)
    assert.equal("a%22b.png", parts[2].filename)
    assert.equal('say "hi"', parts[3].data)
    -- what curl -F sends: a quoted boundary parameter
    local curl = "--b1\r\nContent-Disposition: form-data; name=\"GroupId\"\r\n\r\ng-1\r\n--b1--\r\n"
    assert.equal("g-1", assert(twin.parse_multipart(curl, 'multipart/form-data; boundary="b1"'))[1].data)
    assert.is_nil(twin.parse_multipart("--b1\r\nno blank line", "multipart/form-data; boundary=b1"))
    local _, b2 = multipart.encode({ { name = "x", value = "1" } })
    assert.matches("boundary=%-%-%-%-seedance%x+$", b2)
  end)

  it("waits until active; a failed asset is asset_failed with the provider's code", function()
    local a = assert(group:upload({ url = "https://x/v.mp4" }))
    assert.equal(a, a:wait({ timeout = 5 }))
    assert.equal("active", a.status)
    assert.same({ Id = a.id }, sent())
    assert.equal(P .. "GetAsset", last().path)
    local b = assert(client:asset(a.id))
    assert.equal("video", b.type)
    assert.equal(group.id, b.group_id)
    local m = assert(group:upload({ url = "https://cdn.example.com/crowd-multi-face.png" }))
    local ok, err = m:wait({ timeout = 5 })
    assert.is_nil(ok)
    assert.equal("asset_failed", err.kind)
    assert.equal("MultiFaceViolation", err.code)
    assert.equal("failed", m.status)
  end)

  it("lists every page, filtered by status and group upstream", function()
    local other = assert(client:create_group({ name = "props" }))
    local list = {}
    for i = 1, 5 do list[i] = assert(group:upload({ url = ("https://x/%d.png"):format(i) })) end
    list[6] = assert(group:upload({ url = "https://x/multi-face.png" }))
    local prop = assert(other:upload({ url = "https://x/cup.png" }))
    assert(seedance.wait_all({ prop }, { timeout = 5 }))
    core.sleep(0.3)
    local n = 0
    for _ in client:assets({ page_size = 2 }) do n = n + 1 end
    assert.equal(7, n)
    assert.equal(4, emu:stats().by_route["POST " .. P .. "ListAssets"])
    local failed = {}
    for a in client:assets({ status = "failed" }) do failed[#failed + 1] = a end
    assert.same({ model = "volc-asset", Filter = { Statuses = { "Failed" } }, PageNumber = 1, PageSize = 100 },
                sent())
    assert.equal(1, #failed)
    assert.equal(list[6].id, failed[1].id)
    local ids = {}
    for a in other:assets({ status = { "active", "processing" } }) do ids[#ids + 1] = a.id end
    assert.same({ prop.id }, ids)
    assert.same({ GroupIds = { other.id }, Statuses = { "Active", "Processing" } }, sent().Filter)
  end)

  it("lists groups by type and name", function()
    assert(client:create_group({ name = "props" }))
    local s = assert(client:verify({ return_url = "https://app.example/cb" }))
    local real = assert(s:wait({ timeout = 5 }))
    local function names(opts)
      local out = {}
      for g in client:groups(opts) do out[#out + 1] = g.type .. ":" .. g.name end
      table.sort(out)
      return out
    end
    assert.same({ "aigc:cast", "aigc:props" }, names({ type = "aigc" }))
    assert.same({ GroupType = "AIGC" }, sent().Filter)
    local humans = names({ type = "real_human" })
    assert.equal(1, #humans)
    assert.matches("^real_human:liveness%-", humans[1])
    assert.same({ GroupType = "LivenessFace" }, sent().Filter)
    assert.same({ "aigc:props" }, names({ name = "pro" }))
    assert.is_string(real.id)
  end)

  it("each key sees only its own assets and groups", function()
    emu:configure({ api_key = cjson.null })
    local a = assert(group:upload({ url = "https://x/a.png" }))
    local stranger = new_client({ api_key = "someone-else-key" })
    for _ in stranger:assets() do error("not theirs") end
    for _ in stranger:groups() do error("not theirs") end
    local _, err = stranger:asset(a.id)
    assert.equal("not_found", err.kind)
    local _, gerr = stranger:upload({ url = "https://x/b.png", group = group.id })
    assert.equal("not_found", gerr.kind)
    stranger:close()
  end)

  it("repeats the read-only POSTs on 5xx, never a create", function()
    local a = assert(group:upload({ url = "https://x/a.png" }))
    emu:fault({ match = "POST " .. P .. "GetAsset", status = 503, count = 2 })
    assert(client:asset(a.id))
    emu:fault({ match = "POST " .. P .. "ListAssets", status = 502, count = 1 })
    for _ in client:assets() do end
    assert.is_nil(client:last_error())
    emu:fault({ match = "POST " .. P .. "ListAssetGroups", status = 500, count = 1 })
    for _ in client:groups() do end
    assert.is_nil(client:last_error())
    emu:fault({ match = "POST " .. P .. "CreateAsset", status = 503, count = 1 })
    local _, err = group:upload({ url = "https://x/b.png" })
    assert.equal("provider", err.kind)
    assert.equal(503, err.status)
    assert.equal(2, emu:stats().by_route["POST " .. P .. "CreateAsset"])
    emu:fault({ match = "POST " .. P .. "CreateAssetGroup", status = 502, count = 1 })
    assert.is_nil(client:create_group({ name = "again" }))
    assert.equal(2, emu:stats().by_route["POST " .. P .. "CreateAssetGroup"])
  end)

  it("cannot delete or update groups, and says so", function()
    assert.is_false(dialect.capabilities.delete)
    assert.is_true(dialect.capabilities.file_upload)
    local a = assert(group:upload({ url = "https://x/a.png" }))
    assert.has_error(function() a:delete() end, "seedance: anyfast cannot delete assets")
    assert.has_error(function() group:update({ name = "x" }) end, "seedance: anyfast cannot update groups")
  end)

  it("runs a real-person session to a new LivenessFace group", function()
    local s = assert(client:verify({ return_url = "https://app.example/cb" }))
    assert.equal(P .. "CreateVisualValidateSession", last().path)
    assert.same({ CallbackURL = "https://app.example/cb" }, sent())
    assert.equal("pending", s.status)
    assert.matches("pl=" .. s.id, s.link, 1, true)
    local g = assert(s:wait({ timeout = 5 }))
    assert.equal("succeeded", s.status)
    assert.equal("real_human", g.type)
    assert.equal(P .. "GetVisualValidateResult", last().path)
    assert.same({ BytedToken = s.id }, sent())
    -- the token works once: asked again it ends the session rather than failing a request
    local again = assert(client:_call(dialect.get_session(s.id)))
    local f = dialect.parse_session(again)
    assert.equal("expired", f.raw_status)
    assert.equal("InvalidParameter.BytedToken", f.error.code)
    assert(s:refresh())
    assert.equal("succeeded", s.status)
    local mine = assert(g:upload({ url = "https://x/me.png" }))
    assert(mine:wait({ timeout = 5 }))
    local other = assert(g:upload({ url = "https://x/other-person.jpg" }))
    local _, err = other:wait({ timeout = 5 })
    assert.equal("asset_failed", err.kind)
    assert.equal("FaceMismatch", err.code)
    assert(client:verify())
    assert.same({}, sent())
  end)

  it("maps errors to kinds, and the twin rejects what AnyFast rejects", function()
    local bad = new_client({ api_key = "wrong-key-000" })
    local _, aerr = bad:asset("asset-1")
    assert.equal("auth", aerr.kind)
    assert.equal(401, aerr.status)
    bad:close()
    local _, nerr = client:asset("asset-20990101000000-nope0")
    assert.equal("not_found", nerr.kind)
    assert.equal("NotFound.Asset", nerr.code)
    local function call(endpoint, body)
      local _, err = client:_call({ endpoint = endpoint, method = "POST", body = body })
      return err
    end
    local base = { model = "volc-asset", GroupId = group.id, Name = "n", AssetType = "Image", URL = "https://x/a.png" }
    local function with(k, v)
      local t = {}
      for kk, vv in pairs(base) do t[kk] = vv end
      t[k] = v
      return t
    end
    for _, case in ipairs({
      { "upload_asset", with("model", "volc-asset-video"), "billed as model volc-asset" },
      { "upload_asset", with("AssetType", "Video"), "billed as model volc-asset-video" },
      { "upload_asset", with("AssetType", "image"), "AssetType must be" },
      { "upload_asset", with("group_id", group.id), "unknown field 'group_id'" },
      { "upload_asset", with("URL", "data:video/mp4;base64,AAAA"), "is not an Image" },
      { "upload_asset", with("URL", "not base64 at all!"), "neither a public URL" },
      { "upload_asset", with("GroupId", nil), "GroupId is required" },
      { "list_groups", { model = "volc-asset" }, "Filter is required" },
      { "list_assets", { Filter = { Statuses = { "active" } } }, "invalid value in Filter.Statuses" },
      { "list_assets", { Filter = { GroupId = "g" } }, "unknown field 'GroupId' in Filter" },
      { "create_group", { model = "volc-asset", Name = "x", Description = "d" }, "unknown field 'Description'" },
      { "create_group", { model = "seedance", Name = "x" }, "not an asset billing model" },
      { "get_session", {}, "BytedToken is required" },
    }) do
      local err = call(case[1], case[2])
      assert.equal("validation", err.kind, case[3])
      assert.equal(400, err.status)
      assert.matches(case[3], err.message, 1, true)
    end
    local _, merr = client:_call({ endpoint = "get_asset", method = "GET" })
    assert.equal(405, merr.status)
    -- a Filter list given as null is absent, as null is everywhere in the twins
    local all = assert(client:_call({ endpoint = "list_assets", method = "POST",
                                      body = { Filter = { GroupIds = cjson.null } } }))
    assert.is_number(all.TotalCount)
  end)

  it("sends the key only as a Bearer token and never shows it", function()
    emu:fault({ match = "POST " .. P .. "GetAsset", status = 500, count = 10,
                body = { error = { code = "InternalError", message = "bad key " .. KEY } } })
    local c = new_client({ retries = 0 })
    local _, e1 = c:asset("asset-1")
    assert.equal("bad key [REDACTED]", e1.message)
    emu:reset()
    local _, e2 = new_client({ api_key = "another-wrong-key" }):asset("a")
    helpers.assert_errors_hide(KEY, { e1, e2 })
    helpers.assert_shown_without(KEY, group, client)
    for k, v in pairs(last().headers) do
      if k ~= "authorization" then assert.is_nil(v:find(KEY, 1, true), k) end
    end
    c:close()
  end)

  it("writes prompt tokens as @image1", function()
    assert.equal("@image1", dialect.token("image", 1))
    assert.equal("@video2", dialect.token("video", 2))
    assert.equal("@audio1", dialect.token("audio", 1))
  end)

  it("is served under /anyfast by an emulator of every provider", function()
    local all = assert(emulator.start({ provider = "all", processing = 0.1 }))
    local c = helpers.new_client("anyfast", KEY, all.urls.anyfast)
    local g = assert(c:create_group({ name = "x" }))
    local a = assert(g:upload({ file = PNG, validate = false }))
    assert(a:wait({ timeout = 5 }))
    c:close()
    all:stop()
  end)
end)
