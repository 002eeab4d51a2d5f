-- AnyFast generation: the dialect against AnyFast's documented create and query examples, and
-- over real HTTP against the twin: the request on the wire (`content[]`: the text item, then
-- images, videos, audios with their roles; Bearer auth), the "@image1" notation, model routing
-- (seedance / seedance-fast, raw ids as given), the poll envelope ({code:"success"}; any other
-- code is an error), percentage progress, every terminal state (success with a real MP4, and
-- `fail_reason` repeating `result_url` is no error; failed; moderation; expired), downloads
-- (resume, no credential to the result host, expired URLs) and secrecy.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local cjson = require "cjson"
local sample = require("seedance.emulator").SAMPLE_MP4
local dialect = require "seedance.providers.anyfast"
local helpers = require "helpers"

local KEY = "af-gen-secret-0123456789"
local PATH = "/v1/video/generations"
local TMP = helpers.scratch()
local fixture = helpers.fixtures("anyfast", ".json")
local read, keys = helpers.read, helpers.keys

describe("anyfast generation", function()
  local emulated = helpers.twin("anyfast", KEY, { processing = 0.1, api_key = KEY },
                                { generation = 0.4, processing = 0.1, api_key = KEY })
  local emu, client, hero, clip, voice

  local function new_client(extra) return emulated:client(extra) end
  local function dump() return emulated:dump() end
  -- the last create: polls of earlier tasks may come after it
  local function last() return dump().last_create end
  local function sent() return cjson.decode(last().body) end
  local function creates() return emu:stats().by_route["POST " .. PATH] or 0 end
  local function tasks()
    local t = dump().tasks
    return type(t) == "table" and t or {}
  end

  before_each(function()
    emu, client = emulated.emu, new_client()
    local g = assert(client:create_group({ name = "cast" }))
    hero = assert(client:upload({ url = "https://x/hero.png", name = "hero", group = g.id }))
    clip = assert(client:upload({ url = "https://x/walk.mp4", name = "walk", group = g.id }))
    voice = assert(client:upload({ url = "https://x/voice.mp3", name = "voice", group = g.id }))
    assert(seedance.wait_all({ hero, clip, voice }, { timeout = 5 }))
  end)
  after_each(function() client:close() end)

  describe("documented examples", function()
    it("parse: the create answer (empty status), and the query answer", function()
      local c = dialect.parse_created_task(fixture("create_task_response"))
      assert.same({ "cgt-20260312231129-7db6s", 0 }, { c.id, c.progress })
      assert.is_nil(c.raw_status)
      local ok = dialect.parse_task(fixture("task_success"))
      assert.same({ "SUCCESS", 100 }, { ok.raw_status, ok.progress })
      assert.equal(fixture("task_success").data.result_url, ok.video_url)
      assert.equal(1777288506, ok.created_at)
      assert.is_nil(ok.error)
    end)

    it("fail_reason repeating result_url on success (the legacy quirk) is not an error", function()
      local legacy = fixture("task_success_legacy")
      assert.equal(legacy.data.result_url, legacy.data.fail_reason)
      local f = dialect.parse_task(legacy)
      assert.equal("SUCCESS", f.raw_status)
      assert.equal(legacy.data.result_url, f.video_url)
      assert.is_nil(f.error)
    end)

    it("parse: a FAILURE carries fail_reason and the upstream code; progress strings become numbers", function()
      local f = dialect.parse_task(fixture("task_failure"))
      assert.same({ "FAILURE", 100 }, { f.raw_status, f.progress })
      assert.is_nil(f.video_url)
      assert.same({ code = "OutputVideoSensitiveContentDetected",
                    message = "The request failed because the output video may contain sensitive information." },
                  f.error)
      for text, n in pairs({ ["0%"] = 0, ["50%"] = 50, ["99%"] = 99, ["12.5%"] = 12.5, [" 7 % "] = 7 }) do
        local f2 = dialect.parse_task({ code = "success", data = { status = "IN_PROGRESS", progress = text } })
        assert.equal(n, f2.progress)
      end
      local up = dialect.parse_task({ code = "success", data = { status = "FAILURE", fail_reason = "too late",
                                                                 data = { status = "expired" } } })
      assert.same({ "expired", "too late" }, { up.raw_status, up.error.message })
    end)

    it("the poll envelope: code \"success\" passes, any other code is an error", function()
      local op = dialect.get_task("cgt-1")
      assert.same({ "GET", "cgt-1", true }, { op.method, op.params.id, op.idempotent })
      assert.is_nil(op.classify(200, fixture("task_success"), op))
      local kind, code, msg = op.classify(200, { code = "fail_to_fetch_task", message = "upstream timeout",
                                                 data = cjson.null }, op)
      assert.same({ "provider", "fail_to_fetch_task", "upstream timeout" }, { kind, code, msg })
      assert.equal("not_found", (op.classify(400, { code = "task_not_exist", message = "task_not_exist" }, op)))
      assert.equal("protocol", (op.classify(200, { hello = "world" }, op)))
      assert.equal("auth", (op.classify(401, { error = { code = "Unauthorized", message = "no" } }, op)))
    end)

    it("the twin takes the documented request and answers in the documented shapes", function()
      local body = assert(client:_call({ endpoint = "create_task", method = "POST",
                                         body = fixture("create_task_request") }))
      assert.same(keys(fixture("create_task_response")), keys(body))
      assert.equal("", body.status)
      assert.matches("^cgt%-%d+%-%w+$", body.id)
      local t = assert(client:task(body.id))
      assert.same(keys(fixture("task_success")), keys(t.raw))
      assert(t:wait({ timeout = 10 }))
      local want, got = fixture("task_success").data, t.raw.data
      for _, k in ipairs({ "task_id", "action", "status", "result_url", "fail_reason", "submit_time", "start_time",
                           "finish_time", "progress", "request_id" }) do
        assert.equal(type(want[k]), type(got[k]), k)
      end
      assert.matches("^asyntask_", got.task_id)
      assert.equal("doubao-seedance-2-0-fast-260128", got.data.model)
      assert.equal(got.result_url, got.data.content.video_url)
    end)
  end)

  it("sends content[]: text first, then images, videos, audios with their roles; Bearer auth", function()
    local t = assert(client:generate({
      prompt = "{{voice}} sings while {{hero}} dances like {{walk}} near {{cup}} at {{time}}",
      refs = { hero = hero, walk = clip, voice = voice, cup = "https://x/cup.jpg", time = "dawn" },
      resolution = "1080p", ratio = "21:9", duration = 6, audio = false, watermark = false }))
    local req = last()
    assert.equal("POST", req.method)
    assert.equal(PATH, req.path)
    assert.equal("Bearer " .. KEY, req.headers["authorization"])
    assert.matches("^application/json", req.headers["content-type"])
    local body = sent()
    assert.same({ "content", "duration", "generate_audio", "model", "ratio", "resolution", "watermark" }, keys(body))
    assert.same({ "seedance", "1080p", "21:9", 6, false, false },
                { body.model, body.resolution, body.ratio, body.duration, body.generate_audio, body.watermark })
    assert.same({
      { type = "text", text = "@audio1 sings while @image1 dances like @video1 near @image2 at dawn" },
      { type = "image_url", image_url = { url = hero.ref }, role = "reference_image" },
      { type = "image_url", image_url = { url = "https://x/cup.jpg" }, role = "reference_image" },
      { type = "video_url", video_url = { url = clip.ref }, role = "reference_video" },
      { type = "audio_url", audio_url = { url = voice.ref }, role = "reference_audio" },
    }, body.content)
    assert.equal(body.content[1].text, t.prompt)
    assert.same({ "seedance", "queued" }, { t.model, t.status })
    assert.matches("^cgt%-", t.id)
  end)

  it("numbers media per type in first-mention order; unset fields are not sent", function()
    local t = assert(client:generate({ prompt = "{{b}}, {{a}}, {{b}}",
                                       refs = { a = "https://x/a.png", b = "https://x/b.png" } }))
    assert.equal("@image1, @image2, @image1", t.prompt)
    local body = sent()
    assert.same({ "content", "model" }, keys(body))
    assert.same({ "https://x/b.png", "https://x/a.png" },
                { body.content[2].image_url.url, body.content[3].image_url.url })
  end)

  it("routes: seedance, seedance-fast (assets too), frames as first/last_frame items, raw ids as given", function()
    assert.equal("seedance", assert(client:generate({ prompt = "{{h}}", refs = { h = hero } })).model)
    local fast = assert(client:generate({ prompt = "{{h}}", refs = { h = hero }, model = "fast" }))
    assert.equal("seedance-fast", fast.model)
    assert.equal("seedance-fast", sent().model)
    assert(client:generate({ prompt = "turn", first_frame = hero, last_frame = "https://x/end.png" }))
    assert.same({
      { type = "text", text = "turn" },
      { type = "image_url", image_url = { url = hero.ref }, role = "first_frame" },
      { type = "image_url", image_url = { url = "https://x/end.png" }, role = "last_frame" },
    }, sent().content)
    local _, err = client:generate({ prompt = "x", model = "seedance-pro" })
    assert.same({ "validation", 400, "seedance-pro" }, { err.kind, err.status, sent().model })
  end)

  it("refuses before any request what AnyFast does not take", function()
    local before = creates()
    local _, e1 = client:generate({ prompt = "x", seed = 3 })
    assert.equal("validation", e1.kind)
    local _, e2 = client:generate({ prompt = "x", model = "fast", resolution = "1080p" })
    assert.equal("validation", e2.kind)
    local _, e3 = client:generate({ prompt = "{{s}}", refs = { s = voice } })
    assert.equal("validation", e3.kind)
    assert.equal(before, creates())
  end)

  it("the twin rejects what AnyFast rejects: order, text place, roles, others' or inactive assets", function()
    local function raw(body, c)
      local _, e = (c or client):_call({ endpoint = "create_task", method = "POST", body = body })
      return e
    end
    local text = { type = "text", text = "x" }
    local img = { type = "image_url", image_url = { url = "https://x/a.png" }, role = "reference_image" }
    local vid = { type = "video_url", video_url = { url = "https://x/a.mp4" }, role = "reference_video" }
    local aud = { type = "audio_url", audio_url = { url = "https://x/a.mp3" }, role = "reference_audio" }
    assert.equal(400, raw({ model = "seedance", content = { text, vid, img } }).status)
    assert.equal(400, raw({ model = "seedance", content = { img, text } }).status)
    assert.equal(400, raw({ model = "seedance", content = { text, aud } }).status)
    local misrole = { type = "image_url", image_url = { url = "https://x/a.png" }, role = "reference_video" }
    assert.equal(400, raw({ model = "seedance", content = { text, misrole } }).status)
    assert.equal(400, raw({ model = "seedance", content = { text }, seed = 1 }).status)
    assert.equal(400, raw({ model = "seedance", content = { text }, Ratio = "16:9" }).status)
    assert.equal(400, raw({ model = "seedance", content = { text, { type = "image_url", image_url = { url = clip.ref },
                                                                  role = "reference_image" } } }).status)
    local late = assert(client:upload({ url = "https://x/late.png", group = hero.group_id }))
    local e = raw({ model = "seedance", content = { text, { type = "image_url", image_url = { url = late.ref },
                                                          role = "reference_image" } } })
    assert.equal(400, e.status)
    assert.matches("Processing", e.message)
    emu:configure({ api_key = cjson.null }) -- any key: each sees only its own
    local other = new_client({ api_key = "another-key" })
    local _, oerr = other:generate({ prompt = "{{h}}", refs = { h = { url = hero.ref, type = "image" } } })
    assert.same({ "validation", "InvalidParameter.AssetNotFound" }, { oerr.kind, oerr.code })
    other:close()
    assert.equal(0, #tasks())
  end)

  it("succeeds: NOT_START -> IN_PROGRESS (NN%) -> SUCCESS, fail_reason = result_url is no error, real MP4", function()
    local t = assert(client:generate({ prompt = "{{hero}} waves", refs = { hero = hero } }))
    local raws, progress = {}, {}
    assert.equal(t, t:wait({ timeout = 10, on_update = function(x)
      raws[x.raw_status] = true
      progress[#progress + 1] = x.progress
    end }))
    assert.is_true(raws.IN_PROGRESS)
    for i = 2, #progress do assert.is_true(progress[i] >= progress[i - 1]) end
    assert.same({ "succeeded", "SUCCESS", 100 }, { t.status, t.raw_status, t.progress })
    assert.equal(t.raw.data.result_url, t.raw.data.fail_reason)
    assert.is_nil(t.error)
    assert.matches("^http://.*/__emulator/media/.*%.mp4$", t.video_url)
    assert.is_nil(t.video_url:find(KEY, 1, true))
    helpers.assert_downloads(emu, t, TMP, sample)
  end)

  it("fails: task_failed, moderation with the upstream code at 100%, expired on demand", function()
    local f = assert(client:generate({ prompt = "[[fail]] a shot" }))
    local _, ferr = f:wait({ timeout = 10 })
    assert.same({ "task_failed", "InternalServiceError", "failed", "FAILURE" },
                { ferr.kind, ferr.code, f.status, f.raw_status })
    local m = assert(client:generate({ prompt = "[[moderation]] {{h}}", refs = { h = hero } }))
    local _, merr = m:wait({ timeout = 10 })
    assert.same({ "moderation", "OutputVideoSensitiveContentDetected", 100 }, { merr.kind, merr.code, m.progress })
    assert.matches("sensitive information", merr.message)
    local e = assert(client:generate({ prompt = "a shot" }))
    emu:control({ op = "expire_task", id = e.id })
    local _, eerr = e:wait({ timeout = 10 })
    assert.same({ "task_failed", "TaskExpired", "expired" }, { eerr.kind, eerr.code, e.status })
    local x = assert(client:generate({ prompt = "[[expire]] a shot" }))
    local _, xerr = x:wait({ timeout = 10 })
    assert.same({ "TaskExpired", "expired" }, { xerr.code, x.status })
    local _, derr = m:download(TMP)
    assert.equal("task_failed", derr.kind)
    assert.is_nil(read(TMP))
  end)

  it("has no cancel, and says so", function()
    local t = assert(client:generate({ prompt = "x" }))
    assert.has_error(function() t:cancel() end, "seedance: anyfast cannot cancel tasks")
  end)

  it("polls by the cgt id; an unknown or another key's task is not_found; a bad envelope is an error", function()
    local t = assert(client:generate({ prompt = "a shot" }))
    local again = assert(client:task(t.id))
    assert.equal(t.id, again.id)
    assert.equal("GET", dump().last_request.method)
    assert.equal(PATH .. "/" .. t.id, dump().last_request.path)
    local _, err = client:task("cgt-20260101000000-nope1")
    assert.same({ "not_found", "task_not_exist" }, { err.kind, err.code })
    emu:configure({ api_key = cjson.null }) -- any key: each sees only its own
    local other = new_client({ api_key = "another-key" })
    local _, oerr = other:task(t.id)
    assert.equal("not_found", oerr.kind)
    other:close()
    emu:fault({ match = "GET " .. PATH .. "/", status = 200, count = 1,
                body = { code = "get_task_failed", message = "upstream busy", data = cjson.null } })
    local ok, berr = again:refresh()
    assert.is_nil(ok)
    assert.same({ "provider", "get_task_failed", "upstream busy" }, { berr.kind, berr.code, berr.message })
    assert(again:refresh())
  end)

  it("resumes an interrupted download with a range request", function()
    local t = assert(client:generate({ prompt = "a shot" }))
    assert(t:wait({ timeout = 10 }))
    local c = new_client({ retries = 0 })
    helpers.assert_download_resumes(emu, assert(c:task(t.id)), TMP, sample, 3000)
    c:close()
  end)

  it("says when the result URL expired, and resumes after a refresh", function()
    local t = assert(client:generate({ prompt = "a shot" }))
    assert(t:wait({ timeout = 10 }))
    emu:control({ op = "expire_media" })
    local _, err = t:download(TMP)
    assert.same({ "not_found", "url_expired", 403 }, { err.kind, err.code, err.status })
    emu:control({ op = "expire_media", expired = false })
    assert(t:refresh())
    assert.equal(TMP, t:download(TMP))
  end)

  it("never repeats a create whose answer was lost", function()
    emu:fault({ match = "POST " .. PATH, status = 502, process = true, count = 1 })
    local _, err = client:generate({ prompt = "x" })
    assert.equal("provider", err.kind)
    assert.equal(1, creates())
    assert.equal(1, #tasks())
  end)

  it("keeps the key out of errors and objects", function()
    local _, e1 = new_client({ api_key = "wrong-" .. KEY }):generate({ prompt = "x" })
    assert.equal("auth", e1.kind)
    local t = assert(client:generate({ prompt = "x" }))
    emu:fault({ match = "GET " .. PATH .. "/", status = 500, count = 10,
                body = { error = { code = "InternalServiceError", message = "bad key " .. KEY } } })
    local c = new_client({ retries = 0 })
    local _, e2 = c:task(t.id)
    assert.equal("bad key [REDACTED]", e2.message)
    helpers.assert_errors_hide(KEY, { e1, e2 })
    assert.is_nil(tostring(t):find(KEY, 1, true))
    c:close()
  end)

  it("generates under /anyfast on an emulator of every provider", function()
    local all = assert(emulator.start({ provider = "all", processing = 0.1 }))
    all:configure({ generation = 0.3 })
    local c = helpers.new_client("anyfast", KEY, all.urls.anyfast)
    local t = assert(c:generate({ prompt = "{{a}}", refs = { a = "https://x/a.png" } }))
    assert(t:wait({ timeout = 10 }))
    assert.equal(TMP, t:download(TMP))
    assert.equal(sample, read(TMP))
    c:close()
    all:stop()
  end)
end)
