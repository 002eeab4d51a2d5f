-- Ark generation (the data plane): the create body on the wire (content[] ordered text,
-- images, videos, audios with their roles, as in spec/fixtures/ark), the [Image 1]
-- notation, model routing per deployment (Volcengine doubao-*, BytePlus dreamina-*), a
-- body shaped like the official SDKs' (nulls for unset fields) accepted unchanged, what the
-- twin refuses, every terminal state (succeeded with a real MP4, failed, moderation at
-- create and after, expired, cancelled), downloads (resume, no credential to the result
-- host), the task list, the data plane's error codes, and a client without an api_key.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local sample = require("seedance.emulator").SAMPLE_MP4
local dialect = require "seedance.providers.ark"
local cjson = require "cjson"
local helpers = require "helpers"

local KEY = "ark-gen-api-key-5550123"
local AK = "AKLTgenAccessKey77"
local SK = "Z2VuLXNlY3JldC1rZXktbmV2ZXItc2hvd24"
local TMP = helpers.scratch()
local PATH = "/api/v3/contents/generations/tasks"

local read, keys = helpers.read, helpers.keys
local fixture = helpers.fixtures("ark")

-- a fixture as it is on disk, for a body that must go on the wire byte for byte
local function fixture_text(name)
  local s = read(helpers.ROOT .. "/spec/fixtures/ark/" .. name)
  assert.is_string(s, name)
  return s
end

-- The same keys with the same JSON types, recursively (lists by their first item); a
-- documented null is an optional field, and fields beyond the example are allowed.
local function same_shape(want, got)
  return helpers.same_shape(want, got, { extra_ok = true, null_optional = true })
end

describe("ark generation, dialect", function()
  it("picks the model ids of the client's deployment", function()
    local function ids(o) return dialect.models_for(o) end
    assert.same({ standard = "doubao-seedance-2-0-260128", fast = "doubao-seedance-2-0-fast-260128" },
                ids({ base_url = dialect.base_url, region = dialect.region }))
    assert.same({ standard = "dreamina-seedance-2-0-260128", fast = "dreamina-seedance-2-0-fast-260128" },
                ids({ base_url = dialect.byteplus.base_url, region = dialect.byteplus.region }))
    -- a proxy or the emulator: the region decides; a public host wins over the region
    assert.equal("byteplus", dialect.deployment({ base_url = "http://127.0.0.1:1/api/v3", region = "ap-southeast-1" }))
    assert.equal("volcengine", dialect.deployment({ base_url = "http://127.0.0.1:1/api/v3", region = "cn-shanghai" }))
    assert.equal("volcengine", dialect.deployment({ base_url = dialect.base_url, region = "ap-southeast-1" }))
    local o = { provider = "ark", api_key = KEY }
    for k, v in pairs(dialect.byteplus) do o[k] = v end
    local c = seedance.new(o)
    assert.equal("dreamina-seedance-2-0-fast-260128", dialect.models_for(c).fast)
    c:close()
  end)

  it("builds the documented create body: text first, then images, videos, audios", function()
    local want = fixture("task_create_request.json")
    local g = {
      prompt = want.content[1].text, model = want.model,
      images = { { url = "asset://asset-20260318071009-xy98z" }, { url = "https://cdn.example.com/cup.png" } },
      videos = { { url = "https://cdn.example.com/street.mp4" } },
      audios = { { url = "https://cdn.example.com/voice.wav" } },
      ratio = "16:9", duration = 6, resolution = "720p", audio = true, seed = 42, watermark = false,
    }
    local op = dialect.create_task(g)
    assert.equal("create_task", op.endpoint)
    assert.equal("POST", op.method)
    assert.is_not_true(op.idempotent)
    assert.same(want, op.body)
    -- frames instead of references; unset settings are not sent
    op = dialect.create_task({ prompt = "p", model = "m", images = {}, videos = {}, audios = {},
                               first_frame = { url = "https://x/a.png" }, last_frame = { url = "https://x/b.png" } })
    assert.same({ model = "m", content = {
      { type = "text", text = "p" },
      { type = "image_url", image_url = { url = "https://x/a.png" }, role = "first_frame" },
      { type = "image_url", image_url = { url = "https://x/b.png" }, role = "last_frame" },
    } }, op.body)
    assert.same({ endpoint = "get_task", method = "GET", params = { id = "cgt-1" }, idempotent = true },
                dialect.get_task("cgt-1"))
    local del = dialect.cancel_task("cgt-1")
    assert.equal("DELETE", del.method)
    assert.is_false(del.idempotent)
    assert.equal("[Image 1]", dialect.token("image", 1))
  end)

  it("reads the documented answers", function()
    assert.same({ id = "cgt-20260318071009-ab12c", raw_status = "queued", model = "m" },
                dialect.parse_created_task(fixture("task_create_response.json"), { model = "m" }))
    local ok = dialect.parse_task(fixture("task_get_succeeded.json"))
    assert.equal("succeeded", ok.raw_status)
    assert.equal(100, ok.progress)
    assert.matches("%.mp4%?", ok.video_url)
    assert.matches("%-last%.png%?", ok.last_frame_url)
    assert.is_nil(ok.error)
    assert.equal(1773817809, ok.created_at)
    assert.equal("doubao-seedance-2-0-260128", ok.model)
    local bad = dialect.parse_task(fixture("task_get_failed.json"))
    assert.equal("failed", bad.raw_status)
    assert.is_nil(bad.video_url)
    assert.same({ code = "OutputVideoSensitiveContentDetected",
                  message = "The request failed because the output video may contain sensitive information." },
                bad.error)
    local items, more = dialect.parse_task_list(fixture("task_list_response.json"), 1, 1)
    assert.equal(1, #items)
    assert.equal("queued", items[1].raw_status)
    assert.is_table(items[1].raw)
    assert.is_true(more)
    assert.is_false(select(2, dialect.parse_task_list(fixture("task_list_response.json"), 3, 1)))
  end)

  it("maps the data plane's errors; a failed task's own error in a 200 is not one", function()
    local kind, code, msg = dialect.classify(400, fixture("error_data_plane.json"), { endpoint = "create_task" })
    assert.equal("validation", kind)
    assert.equal("InvalidParameter", code)
    assert.matches("model", msg)
    assert.is_nil(dialect.classify(200, fixture("task_get_failed.json"), { endpoint = "get_task" }))
    local function k(status, c)
      return (dialect.classify(status, { error = { code = c, message = "m" } }, {}))
    end
    assert.equal("validation", k(400, "MissingParameter"))
    assert.equal("moderation", k(400, "InputImageSensitiveContentDetected.PrivacyInformation"))
    assert.equal("moderation", k(400, "SensitiveContentDetected"))
    assert.equal("auth", k(401, "AuthenticationError"))
    assert.equal("auth", k(403, "AccessDenied"))
    assert.equal("auth", k(403, "SubscriptionRequired"))
    assert.equal("quota", k(403, "AccountOverdueError"))
    assert.equal("not_found", k(404, "InvalidEndpoint.NotFound"))
    assert.equal("rate_limited", k(429, "RequestBurstTooFast"))
    assert.equal("rate_limited", (dialect.classify(429, nil, {})))
  end)
end)

describe("ark generation over HTTP", function()
  local emulated = helpers.twin("ark", KEY, { processing = 0.1, api_key = KEY, access_key = AK, secret_key = SK },
                                { generation = 0.4, processing = 0.1, region = cjson.null },
                                { access_key = AK, secret_key = SK })
  local emu, client, group, hero

  local function new_client(extra) return emulated:client(extra) end

  local function last() return emulated:last_request() end
  local function last_body() return cjson.decode(last().body) end
  local function creates() return emu:stats().by_route["POST " .. PATH] or 0 end

  -- a create exactly as given (a JSON string goes on the wire byte for byte)
  local function raw_create(body, c)
    return (c or client):_call({ endpoint = "create_task", method = "POST",
      body = type(body) == "string" and body or cjson.encode(body), content_type = "application/json" })
  end

  local function body_with(patch)
    local b = { model = "doubao-seedance-2-0-260128", content = { { type = "text", text = "a shot" } } }
    for k, v in pairs(patch) do b[k] = v end
    return b
  end

  before_each(function()
    emu, client = emulated.emu, new_client()
    group = assert(client:create_group({ name = "cast" }))
    hero = assert(group:upload({ url = "https://cdn.example.com/hero.png", name = "hero" }))
    assert(hero:wait({ timeout = 5 }))
  end)
  after_each(function() client:close() end)

  describe("on the wire", function()
    it("posts the documented body with Bearer auth and renders [Image 1]", function()
      local t = assert(client:generate({
        prompt = "{{hero}} hands {{cup}} to the girl in {{street}}, in the tone of {{voice}}",
        refs = { hero = hero, cup = "https://cdn.example.com/cup.png", street = "https://cdn.example.com/street.mp4",
                 voice = "https://cdn.example.com/voice.wav" },
        ratio = "16:9", duration = 6, resolution = "720p", audio = true, seed = 42, watermark = false }))
      local r = last()
      assert.equal("POST", r.method)
      assert.equal(PATH, r.path)
      assert.equal("Bearer " .. KEY, r.headers["authorization"])
      assert.is_nil(r.headers["x-date"])
      assert.equal("application/json", r.headers["content-type"])
      local want = fixture("task_create_request.json")
      want.content[2].image_url.url = hero.ref
      assert.same(want, last_body())
      assert.equal(want.content[1].text, t.prompt)
      assert.matches("^cgt%-%d+%-%w+$", t.id)
      assert.equal("queued", t.status)
      assert.equal("doubao-seedance-2-0-260128", t.model)
      local again = assert(client:task(t.id))
      assert.equal("GET", last().method)
      assert.equal(PATH .. "/" .. t.id, last().path)
      same_shape(fixture("task_list_response.json").items[1], again.raw)
    end)

    it("orders media images, videos, audios whatever the order of mention", function()
      local t = assert(client:generate({ prompt = "{{voice}} over {{street}} with {{hero}} and {{hero}} again",
        refs = { hero = hero, street = "https://x/s.mov", voice = { url = "https://x/v", type = "audio" } } }))
      assert.equal("[Audio 1] over [Video 1] with [Image 1] and [Image 1] again", t.prompt)
      local types = {}
      for i, item in ipairs(last_body().content) do types[i] = item.type .. ":" .. (item.role or "") end
      assert.same({ "text:", "image_url:reference_image", "video_url:reference_video",
                    "audio_url:reference_audio" }, types)
      assert.same({ "content", "model" }, keys(last_body()))
    end)

    it("sends first and last frames with their roles", function()
      local t = assert(client:generate({ prompt = "from dawn to dusk", first_frame = hero,
                                         last_frame = "https://x/dusk.png" }))
      assert.same({
        { type = "text", text = "from dawn to dusk" },
        { type = "image_url", image_url = { url = hero.ref }, role = "first_frame" },
        { type = "image_url", image_url = { url = "https://x/dusk.png" }, role = "last_frame" },
      }, last_body().content)
      assert(t:wait({ timeout = 10 }))
    end)
  end)

  describe("model routing", function()
    it("maps standard and fast, passes a raw id as given, refuses 1080p on fast before sending", function()
      assert.equal("doubao-seedance-2-0-260128", assert(client:generate({ prompt = "x" })).model)
      assert.equal("doubao-seedance-2-0-260128", last_body().model)
      assert.equal("doubao-seedance-2-0-fast-260128", assert(client:generate({ prompt = "x", model = "fast" })).model)
      assert.equal("doubao-seedance-2-0-fast-260128", last_body().model)
      assert.equal("doubao-seedance-2-0-fast-260128",
        assert(client:generate({ prompt = "{{h}}", refs = { h = hero }, model = "fast" })).model)
      local raw = assert(client:generate({ prompt = "x", model = "dreamina-seedance-2-0-260128" }))
      assert.equal("dreamina-seedance-2-0-260128", last_body().model)
      assert.equal("dreamina-seedance-2-0-260128", raw.model)
      local n = creates()
      local _, err = client:generate({ prompt = "x", model = "fast", resolution = "1080p" })
      assert.equal("validation", err.kind)
      assert.equal(n, creates())
      -- (1.0 pro and 1.5 pro are the twin's too, for flex, drafts and frames: upstream_fields_spec)
      _, err = client:generate({ prompt = "x", model = "doubao-seedance-0-9-lite-250101" })
      assert.equal("validation", err.kind)
      assert.equal("InvalidParameter", err.code)
      assert.equal(400, err.status)
      assert.is_string(err.request_id)
    end)

    it("uses BytePlus's dreamina ids on a BytePlus client; each deployment refuses the other's", function()
      emu:configure({ region = "ap-southeast-1" })
      local bp = new_client({ region = "ap-southeast-1" })
      local t = assert(bp:generate({ prompt = "x" }))
      assert.equal("dreamina-seedance-2-0-260128", t.model)
      assert.equal("dreamina-seedance-2-0-fast-260128", assert(bp:generate({ prompt = "x", model = "fast" })).model)
      assert(bp:create_group({ name = "signed for ap-southeast-1" }))
      local _, err = client:generate({ prompt = "x" })
      assert.equal("InvalidParameter", err.code)
      assert.matches("doubao%-seedance%-2%-0%-260128", err.message)
      bp:close()
    end)
  end)

  describe("the twin", function()
    it("accepts a create shaped as the official SDKs send it: every optional field, null when unset", function()
      local text = fixture_text("task_create_sdk_request.json")
      assert.matches('"seed": null', text)
      local body = assert(raw_create(text))
      assert.matches("^cgt%-", body.id)
      assert.same({ "id" }, keys(body))
      assert.equal(text, last().body)
      local t = assert(client:task(body.id))
      assert.equal("doubao-seedance-2-0-260128", t.model)
      assert(t:wait({ timeout = 10 }))
      assert.is_nil(t.last_frame_url)
      -- the same over LuaSocket, outside seedance altogether
      local ok_socket, http = pcall(require, "socket.http")
      if ok_socket then
        local ltn12 = require "ltn12"
        local out = {}
        local _, code = http.request({ url = emu.url .. "/contents/generations/tasks", method = "POST",
          headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. KEY,
                      ["Content-Length"] = tostring(#text) },
          source = ltn12.source.string(text), sink = ltn12.sink.table(out) })
        assert.equal(200, code)
        assert.matches('^{"id":"cgt%-', table.concat(out))
      end
    end)

    it("returns the last frame when asked", function()
      local body = assert(raw_create(body_with({ return_last_frame = true })))
      local t = assert(client:task(body.id))
      assert(t:wait({ timeout = 10 }))
      assert.matches("%-last%.png$", t.last_frame_url)
    end)

    it("refuses unknown fields, wrong casing, missing model or content, and bad settings", function()
      local function refused(b, code, pattern)
        local _, err = raw_create(b)
        assert.is_table(err, "accepted: " .. cjson.encode(b))
        assert.equal("validation", err.kind)
        assert.equal(400, err.status)
        assert.equal(code, err.code)
        if pattern then assert.matches(pattern, err.message) end
        return err
      end
      refused(body_with({ prompt = "x" }), "InvalidParameter", "unknown field 'prompt'")
      refused(body_with({ generateAudio = true }), "InvalidParameter", "did you mean 'generate_audio'")
      refused(body_with({ model = cjson.null }), "MissingParameter", "model")
      refused({ model = "doubao-seedance-2-0-260128" }, "MissingParameter", "content")
      refused(body_with({ duration = "5" }), "InvalidParameter", "duration")
      refused(body_with({ duration = 3 }), "InvalidParameter", "duration")
      refused(body_with({ seed = 1.5 }), "InvalidParameter", "seed")
      refused(body_with({ ratio = "2:1" }), "InvalidParameter", "ratio")
      refused(body_with({ frames = 121 }), "InvalidParameter", "frames")
      refused(body_with({ service_tier = "flex" }), "InvalidParameter", "service_tier")
      refused(body_with({ execution_expires_after = 60 }), "InvalidParameter", "execution_expires_after")
      refused(body_with({ tools = { { type = "calculator" } } }), "InvalidParameter", "web_search")
      refused(body_with({ model = "doubao-seedance-2-0-fast-260128", resolution = "1080p" }),
              "InvalidParameter", "1080p")
      refused(body_with({ content = { { type = "text", text = "x", extra = 1 } } }), "InvalidParameter", "extra")
      refused(body_with({ content = { { type = "draft_task", draft_task = { id = "cgt-1" } } } }),
              "InvalidParameter", "draft")
      assert(raw_create(body_with({ tools = { { type = "web_search" } }, service_tier = "default",
                                    execution_expires_after = 3600, camera_fixed = cjson.null })))
    end)

    it("refuses content in the wrong order, a missing role, mixed frames, audio alone", function()
      local function item(kind, role, u)
        local x = { type = kind .. "_url", role = role }
        x[kind .. "_url"] = { url = u or ("https://x/a." .. ({ image = "png", video = "mp4", audio = "mp3" })[kind]) }
        return x
      end
      local img, vid, aud = item("image", "reference_image"), item("video", "reference_video"),
                            item("audio", "reference_audio")
      local text = { type = "text", text = "x" }
      local function code_of(content)
        local _, err = raw_create(body_with({ content = content }))
        return err and err.code
      end
      assert.equal("InvalidParameter", code_of({ img, text }))
      assert.equal("InvalidParameter", code_of({ text, vid, img }))
      assert.equal("InvalidParameter", code_of({ text, text }))
      assert.equal("MissingParameter", code_of({ text, item("video") }))
      assert.equal("InvalidParameter", code_of({ text, item("image", "first_frame"), vid }))
      assert.equal("InvalidParameter", code_of({ text, item("image", "last_frame") }))
      assert.equal("InvalidParameter", code_of({ text, aud }))
      assert.equal("InvalidParameter", code_of({ text, item("video", "reference_image") }))
      assert.equal("InvalidParameter", code_of({ text, item("image", "reference_image", "ftp://x/a.png") }))
      assert.is_nil(code_of({ text, img, vid, aud }))
      assert.is_nil(code_of({ text, item("image") })) -- a lone image is a first frame
    end)

    it("takes asset:// only for an Active asset of this account, of the right type", function()
      local function code_of(u, kind)
        local media = { type = kind .. "_url", role = "reference_" .. kind }
        media[kind .. "_url"] = { url = u }
        local _, err = raw_create(body_with({ content = { { type = "text", text = "x" }, media } }))
        return err and err.code, err and err.message
      end
      assert.is_nil((code_of(hero.ref, "image")))
      local code, msg = code_of("asset://asset-20990101000000-nope0", "image")
      assert.equal("InvalidParameter", code)
      assert.matches("does not exist", msg)
      code, msg = code_of(hero.ref, "video")
      assert.equal("InvalidParameter", code)
      assert.matches("type Image", msg)
      local broken = assert(group:upload({ url = "https://cdn.example.com/multi-face.png" }))
      assert.is_nil((broken:wait({ timeout = 5 })))
      code, msg = code_of(broken.ref, "image")
      assert.equal("InvalidParameter", code)
      assert.matches("Failed", msg)
      emu:configure({ processing = 60 })
      local slow = assert(group:upload({ url = "https://cdn.example.com/late.png" }))
      code, msg = code_of(slow.ref, "image")
      assert.equal("InvalidParameter", code)
      assert.matches("Processing", msg)
      -- through generate, a not-yet-active asset is refused before any request
      local n = creates()
      local _, err = client:generate({ prompt = "{{a}}", refs = { a = slow } })
      assert.equal("validation", err.kind)
      assert.equal(n, creates())
    end)

    it("answers 401 AuthenticationError to a wrong key or a signature instead of Bearer", function()
      local bad = new_client({ api_key = "not-the-key-0000" })
      local _, err = bad:generate({ prompt = "x" })
      assert.equal("auth", err.kind)
      assert.equal(401, err.status)
      assert.equal("AuthenticationError", err.code)
      assert.is_nil(tostring(err):find("not-the-key-0000", 1, true))
      bad:close()
      local _, e2 = client:_call({ endpoint = "get_task", method = "GET", params = { id = "cgt-x" },
                                   plane = "control", base = emu.url })
      assert.equal("AuthenticationError", e2.code)
    end)
  end)

  describe("terminal states", function()
    it("succeeds, and downloads a real MP4 with no credential sent to the result host", function()
      local t = assert(client:generate({ prompt = "{{hero}} waves", refs = { hero = hero } }))
      local seen = {}
      assert(t:wait({ timeout = 10, on_update = function(x) seen[x.status] = true end }))
      assert.equal("succeeded", t.status)
      assert.equal("succeeded", t.raw_status)
      assert.is_true(seen.running)
      assert.equal(100, t.progress)
      assert.matches("^http://.*/__emulator/media/.*%.mp4$", t.video_url)
      assert.is_table(t.raw.usage)
      helpers.assert_downloads(emu, t, TMP, sample)
      assert.is_nil(tostring(t):find(KEY, 1, true))
    end)

    it("resumes an interrupted download with a range request", function()
      local t = assert(client:generate({ prompt = "a shot" }))
      assert(t:wait({ timeout = 10 }))
      local c = new_client({ retries = 0 })
      helpers.assert_download_resumes(emu, assert(c:task(t.id)), TMP, sample, 3000)
      c:close()
    end)

    it("fails with the output moderation code, or plainly", function()
      local m = assert(client:generate({ prompt = "[[moderation]] a shot" }))
      local _, merr = m:wait({ timeout = 10 })
      assert.equal("failed", m.status)
      assert.equal("moderation", merr.kind)
      assert.equal("OutputVideoSensitiveContentDetected", merr.code)
      local f = assert(client:generate({ prompt = "[[fail]] a shot" }))
      local _, ferr = f:wait({ timeout = 10 })
      assert.equal("task_failed", ferr.kind)
      assert.equal("InternalServiceError", ferr.code)
      local _, derr = f:download(TMP)
      assert.equal("task_failed", derr.kind)
    end)

    it("refuses sensitive input at create with the provider's moderation code", function()
      local n = emu:stats().creates
      local _, err = client:generate({ prompt = "{{p}} smiles",
                                       refs = { p = "https://cdn.example.com/privacy-id.png" } })
      assert.equal("moderation", err.kind)
      assert.equal("InputImageSensitiveContentDetected.PrivacyInformation", err.code)
      assert.equal(400, err.status)
      _, err = client:generate({ prompt = "[[sensitive]] text" })
      assert.equal("moderation", err.kind)
      assert.equal("SensitiveContentDetected", err.code)
      assert.equal(n, emu:stats().creates)
    end)

    it("expires on demand", function()
      local e = assert(client:generate({ prompt = "a shot" }))
      emu:control({ op = "expire_task", id = e.id })
      local _, err = e:wait({ timeout = 10 })
      assert.equal("expired", e.status)
      assert.equal("task_failed", err.kind)
      assert.equal("expired", err.code)
      local x = assert(client:generate({ prompt = "[[expire]] a shot" }))
      local _, xerr = x:wait({ timeout = 10 })
      assert.equal("expired", x.status)
      assert.equal("task_failed", xerr.kind)
    end)

    it("cancels a queued task; a running or cancelled one cannot be; a finished one is deleted", function()
      emu:configure({ generation = 20 }) -- queued for 4 s, then running
      local t = assert(client:generate({ prompt = "a shot" }))
      assert.equal(t, t:cancel())
      assert.equal("DELETE", last().method)
      assert.equal(PATH .. "/" .. t.id, last().path)
      assert.equal("cancelled", t.status)
      local _, err = t:wait({ timeout = 5 })
      assert.equal("task_failed", err.kind)
      assert.equal("cancelled", err.code)
      assert(t:refresh())
      assert.equal("cancelled", t.raw_status)
      local _, again = t:cancel()
      assert.equal("validation", again.kind)
      assert.equal("InvalidParameter", again.code)
      local r = assert(client:generate({ prompt = "a shot" }))
      emu:advance(5)
      local _, rerr = r:cancel()
      assert.equal("InvalidParameter", rerr.code)
      assert.matches("running", rerr.message)
      emu:advance(20)
      assert(r:wait({ timeout = 5 }))
      assert(r:cancel())
      assert.equal("succeeded", r.status)
      local _, gone = client:task(r.id)
      assert.equal("not_found", gone.kind)
      assert.equal("ResourceNotFound", gone.code)
    end)
  end)

  it("lists tasks by page and status", function()
    emu:configure({ generation = 20 })
    local ids = {}
    for i = 1, 3 do ids[i] = assert(client:generate({ prompt = "shot " .. i })).id end
    local body = assert(client:_call(dialect.list_tasks({ status = "queued", page_size = 2 }, 1)))
    assert.equal("GET", last().method)
    assert.equal(PATH, last().path)
    assert.equal("filter.status=queued&page_num=1&page_size=2", last().raw_query)
    local items, more = dialect.parse_task_list(body, 1, 2)
    assert.same({ ids[3], ids[2] }, { items[1].id, items[2].id })
    assert.equal("queued", items[1].raw_status)
    assert.is_true(more)
    same_shape(fixture("task_list_response.json"), body)
    body = assert(client:_call(dialect.list_tasks({ status = "queued", page_size = 2 }, 2)))
    items, more = dialect.parse_task_list(body, 2, 2)
    assert.same({ ids[1] }, { items[1].id })
    assert.is_false(more)
    items = dialect.parse_task_list(assert(client:_call(dialect.list_tasks({ status = "succeeded" }, 1))), 1)
    assert.equal(0, #items)
    assert.has_error(function() dialect.list_tasks({ status = "done" }, 1) end)
    local _, err = client:_call({ endpoint = "list_tasks", method = "GET", query = { page_size = 501 } })
    assert.equal("InvalidParameter", err.code)
  end)

  describe("errors of the data plane", function()
    local function data_error(code)
      return { error = { code = code, message = "emulated " .. code, param = "", type = "x" } }
    end

    it("maps 401, 403, 404 and 429 codes to kinds", function()
      local c = new_client({ retries = 0 })
      local n = emu:stats().creates
      local want = { { 401, "AuthenticationError", "auth" }, { 403, "AccessDenied", "auth" },
                     { 403, "SubscriptionRequired", "auth" }, { 403, "AccountOverdueError", "quota" },
                     { 404, "InvalidEndpoint.NotFound", "not_found" }, { 429, "RateLimitExceeded", "rate_limited" },
                     { 400, "MissingParameter", "validation" } }
      for _, w in ipairs(want) do
        emu:fault({ match = "POST " .. PATH, status = w[1], body = data_error(w[2]) })
        local _, err = c:generate({ prompt = "x" })
        assert.equal(w[3], err.kind, w[2])
        assert.equal(w[2], err.code)
        assert.equal(w[1], err.status)
        assert.equal("emulated " .. w[2], err.message)
      end
      assert.equal(n, emu:stats().creates)
      c:close()
    end)

    it("retries a throttled create (nothing was created), never a 5xx one", function()
      local n = emu:stats().creates
      emu:fault({ match = "POST " .. PATH, status = 429, count = 2, retry_after = "0",
                  body = data_error("RateLimitExceeded") })
      assert(client:generate({ prompt = "x" }))
      assert.equal(n + 1, emu:stats().creates)
      emu:fault({ match = "POST " .. PATH, status = 502, process = true })
      local _, err = client:generate({ prompt = "y" })
      assert.equal("provider", err.kind)
      assert.equal(1, err.attempts)
      assert.equal(n + 2, emu:stats().creates)
      assert.equal(0, emu:stats().duplicate_creates)
    end)
  end)

  describe("without an api_key", function()
    local saved_env = os.getenv("SEEDANCE_API_KEY")

    it("manages assets with the key pair alone; generation names the missing api_key", function()
      if saved_env then return pending("SEEDANCE_API_KEY is set in this environment") end
      local c = seedance.new({ provider = "ark", access_key = AK, secret_key = SK, base_url = emu.url,
                               control_url = emu.control_url, poll = { interval = 0.05, max = 0.1 } })
      local g = assert(c:create_group({ name = "assets only" }))
      assert(g:upload({ url = "https://x/a.png" }))
      local n = emu:stats().requests
      local ok, err = pcall(c.generate, c, { prompt = "x" })
      assert.is_false(ok)
      assert.matches("api_key", tostring(err))
      assert.is_nil(tostring(err):find(SK, 1, true))
      assert.equal(n, emu:stats().requests)
      ok, err = pcall(c.task, c, "cgt-1")
      assert.is_false(ok)
      assert.matches("api_key", tostring(err))
      -- the secret key is still redacted from errors when there is no api_key
      emu:fault({ match = "POST /", status = 400, body = { ResponseMetadata = { RequestId = "r",
        Error = { Code = "InvalidParameter", Message = "cannot use " .. SK } } } })
      local _, e = c:create_group({ name = "x" })
      assert.is_nil(e.message:find(SK, 1, true))
      c:close()
    end)

    it("still needs one credential or the other at seedance.new", function()
      if saved_env then return pending("SEEDANCE_API_KEY is set in this environment") end
      local ok, err = pcall(seedance.new, { provider = "ark" })
      assert.is_false(ok)
      assert.matches("api_key", err)
      assert.has_error(function() seedance.new({ provider = "ark", access_key = AK }) end)
      assert.has_error(function() seedance.new({ provider = "piapi", access_key = AK, secret_key = SK }) end)
    end)
  end)

  it("runs under --provider all at /ark", function()
    local all = assert(emulator.start({ provider = "all", processing = 0.1, api_key = KEY }))
    local ok, err = pcall(function()
      all:configure({ generation = 0.3 })
      local c = helpers.new_client("ark", KEY, all.urls.ark)
      local t = assert(c:generate({ prompt = "a shot" }))
      assert(t:wait({ timeout = 10 }))
      assert.equal(TMP, t:download(TMP))
      assert.equal(sample, read(TMP))
      c:close()
    end)
    all:stop()
    assert(ok, err)
  end)
end)
