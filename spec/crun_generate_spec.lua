-- crun.ai generation: the dialect against crun's documented CreateTask/TaskInfo examples, and
-- over real HTTP against the twin: the request on the wire (CreateTask {model, input{...}},
-- x-api-key), the "[Image1]" notation and per-type ordering, model routing (r2v, fast r2v,
-- i2v for frames, raw ids as given, what crun does not document refused before sending),
-- every terminal state (success with a real MP4, failed, moderation, expired; no cancel),
-- the 501 "Generation Failed" answer read as the task's state, downloads (resume, no
-- credential to the result host, expired URLs) and secrecy.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local cjson = require "cjson"
local sample = require("seedance.emulator").SAMPLE_MP4
local dialect = require "seedance.providers.crun"
local helpers = require "helpers"

local KEY = "crun-gen-secret-0123456789"
local P = "/api/v1/client/job"
local R2V, FAST, I2V = "bytedance/seedance2-0-r2v", "bytedance/seedance2-0-fast-r2v", "bytedance/seedance2-0-i2v"
local TMP = helpers.scratch()
local fixture = helpers.fixtures("crun", ".json")
local read, keys = helpers.read, helpers.keys

describe("crun generation", function()
  local emulated = helpers.twin("crun", KEY, { processing = 0.1, api_key = KEY },
                                { generation = 0.4, processing = 0.1 })
  local emu, client, hero, clip, voice

  local function new_client(extra) return emulated:client(extra) end
  -- the last CreateTask: polls of earlier tasks may come after it
  local function last() return emulated:dump().last_create end
  local function sent() return cjson.decode(last().body) end
  local function creates() return emu:stats().by_route["POST " .. P .. "/CreateTask"] or 0 end
  local function tasks()
    local t = emulated:dump().tasks
    return type(t) == "table" and t or {}
  end

  before_each(function()
    emu, client = emulated.emu, new_client()
    hero = assert(client:upload({ url = "https://x/hero.png", name = "hero" }))
    clip = assert(client:upload({ url = "https://x/walk.mp4", name = "walk" }))
    voice = assert(client:upload({ url = "https://x/voice.mp3", name = "voice" }))
    assert(seedance.wait_all({ hero, clip, voice }, { timeout = 5 }))
  end)
  after_each(function() client:close() end)

  describe("documented examples", function()
    it("parse: the CreateTask answer and TaskInfo running, succeeded, failed (501)", function()
      local c = dialect.parse_created_task(fixture("create_task_response"), { model = R2V, model_kind = "standard",
                                                                             images = {}, videos = {}, audios = {} })
      assert.same({ "task_12345678", "pending", R2V }, { c.id, c.raw_status, c.model })
      local run = dialect.parse_task(fixture("task_info_running"))
      assert.equal("running", run.raw_status)
      assert.is_nil(run.video_url)
      assert.is_nil(run.error)
      assert.equal(1768900378, run.created_at)
      local ok = dialect.parse_task(fixture("task_info_success"))
      assert.equal("success", ok.raw_status)
      assert.equal("https://static.crunai.com/t/d6956973-2f17-43d4-8514-af6cc3a2f55d.mp4", ok.video_url)
      assert.equal(100, ok.progress)
      assert.is_nil(ok.error)
      local bad = dialect.parse_task(fixture("task_info_failed"))
      assert.equal("failed", bad.raw_status)
      assert.same({ code = "OutputVideoSensitiveContentDetected",
                    message = "The output video may contain sensitive content" }, bad.error)
    end)

    it("a 501 is the task's state on TaskInfo (HTTP or envelope), a failed request on CreateTask", function()
      local op = dialect.get_task("t-1")
      assert.equal("GET", op.method)
      assert.same({ task_id = "t-1" }, op.query)
      assert.is_true(op.idempotent)
      assert.is_nil(op.classify(501, fixture("task_info_failed"), op))
      assert.is_nil(op.classify(200, fixture("task_info_failed"), op))
      assert.is_nil(op.classify(200, fixture("task_info_success"), op))
      assert.equal("not_found", (op.classify(404, { code = 404, message = "task not found", data = cjson.null }, op)))
      assert.equal("task_failed", (dialect.classify(200, fixture("task_info_failed"), { endpoint = "create_task" })))
      -- a bare 501 envelope without data still reads as a failure, with crun's code
      local f = dialect.parse_task({ code = 501, message = "Generation failed", data = cjson.null })
      assert.same({ "failed", "501", "Generation failed" }, { f.raw_status, f.error.code, f.error.message })
    end)

    it("the twin takes the documented request examples and answers in the documented shapes", function()
      for _, name in ipairs({ "create_task_request", "create_task_i2v_request" }) do
        local body = assert(client:_call({ endpoint = "create_task", method = "POST", body = fixture(name) }))
        assert.same(keys(fixture("create_task_response").data), keys(body.data))
        assert.equal(200, body.code)
        local info = assert(client:_call(dialect.get_task(body.data.task_id)))
        assert.same(keys(fixture("task_info_running").data), keys(info.data))
        assert.same(keys(fixture("task_info_running").data.param), keys(info.data.param))
        assert.equal(fixture(name).model, info.data.param.model)
      end
    end)
  end)

  it("sends CreateTask {model, input{...}} with the documented fields, the key in x-api-key", function()
    local t = assert(client:generate({
      prompt = "{{hero}} walks like {{walk}} to {{voice}}, holding {{cup}} at {{time}}",
      refs = { hero = hero, walk = clip, voice = voice, cup = "https://x/cup.jpg", time = "dawn" },
      resolution = "1080p", ratio = "16:9", duration = 8, audio = true }))
    local req = last()
    assert.equal("POST", req.method)
    assert.equal(P .. "/CreateTask", req.path)
    assert.equal(KEY, req.headers["x-api-key"])
    assert.is_nil(req.headers["authorization"])
    assert.matches("^application/json", req.headers["content-type"])
    local body = sent()
    assert.same({ "input", "model" }, keys(body))
    assert.equal(R2V, body.model)
    assert.same({ "aspect_ratio", "audio", "duration", "prompt", "reference_audios", "reference_images",
                  "reference_videos", "resolution" }, keys(body.input))
    assert.equal("[Image1] walks like [Video1] to [Audio1], holding [Image2] at dawn", body.input.prompt)
    assert.same({ hero.ref, "https://x/cup.jpg" }, body.input.reference_images)
    assert.same({ clip.ref }, body.input.reference_videos)
    assert.same({ voice.ref }, body.input.reference_audios)
    assert.same({ "1080p", "16:9", 8, true }, { body.input.resolution, body.input.aspect_ratio,
                                                body.input.duration, body.input.audio })
    assert.equal(body.input.prompt, t.prompt)
    assert.equal(R2V, t.model)
    assert.equal("queued", t.status)
    assert.is_string(t.id)
  end)

  it("numbers media per type in first-mention order; empty lists and unset fields are not sent", function()
    local t = assert(client:generate({ prompt = "{{b}} and {{a}}, then {{b}} again, with {{s}}",
      refs = { a = "https://x/a.png", b = "https://x/b.webp", s = { url = "https://x/s?id=1", type = "audio" } } }))
    assert.equal("[Image1] and [Image2], then [Image1] again, with [Audio1]", t.prompt)
    local input = sent().input
    assert.same({ "https://x/b.webp", "https://x/a.png" }, input.reference_images)
    assert.same({ "https://x/s?id=1" }, input.reference_audios)
    assert.same({ "prompt", "reference_audios", "reference_images" }, keys(input))
    assert(client:generate({ prompt = "just text", ratio = "adaptive" }))
    assert.same({ aspect_ratio = "auto", prompt = "just text" }, sent().input)
  end)

  it("routes: r2v, fast r2v, i2v for frames, raw ids as given", function()
    assert.equal(R2V, assert(client:generate({ prompt = "{{h}}", refs = { h = hero } })).model)
    local fast = assert(client:generate({ prompt = "{{a}}", refs = { a = "https://x/a.png" }, model = "fast" }))
    assert.equal(FAST, fast.model)
    assert.equal(FAST, sent().model)
    local i = assert(client:generate({ prompt = "she turns", first_frame = hero, last_frame = "https://x/end.png" }))
    assert.equal(I2V, i.model)
    local body = sent()
    assert.equal(I2V, body.model)
    assert.same({ img_urls = { hero.ref }, last_frame_image = "https://x/end.png", prompt = "she turns" }, body.input)
    assert(client:generate({ prompt = "one frame", first_frame = { url = "https://x/f.png" } }))
    assert.same({ "https://x/f.png" }, sent().input.img_urls)
    local raw = assert(client:generate({ prompt = "x", model = R2V }))
    assert.equal(R2V, raw.model)
    -- a raw id keeps its body shape: frames on an r2v id go as img_urls, and crun refuses them
    local _, err = client:generate({ prompt = "x", model = R2V, first_frame = "https://x/f.png" })
    assert.same({ "validation", 422, R2V }, { err.kind, err.status, sent().model })
    assert.same({ "https://x/f.png" }, sent().input.img_urls)
  end)

  it("refuses what crun does not document before any request", function()
    local before = creates()
    local _, e1 = client:generate({ prompt = "{{h}}", refs = { h = hero }, model = "fast" })
    assert.equal("validation", e1.kind)
    assert.matches("asset://", e1.message)
    local _, e2 = client:generate({ prompt = "x", first_frame = "https://x/f.png", model = "fast" })
    assert.equal("validation", e2.kind)
    assert.matches("image%-to%-video", e2.message)
    for _, k in ipairs({ "seed", "watermark" }) do
      local _, e = client:generate({ prompt = "x", [k] = k == "seed" and 7 or true })
      assert.equal("validation", e.kind)
    end
    local _, e3 = client:generate({ prompt = "x", model = "fast", resolution = "1080p" })
    assert.equal("validation", e3.kind)
    assert.equal(before, creates())
  end)

  it("the twin rejects what crun rejects: assets on fast, unknown fields and models, inactive assets", function()
    -- a raw model id is passed as given: the service has the last word
    local _, e1 = client:generate({ prompt = "{{h}}", refs = { h = hero }, model = FAST })
    assert.same({ "validation", 422 }, { e1.kind, e1.status })
    assert.matches("not supported", e1.message)
    local _, e2 = client:generate({ prompt = "x", model = "bytedance/seedance9" })
    assert.same({ "validation", 422 }, { e2.kind, e2.status })
    local late = assert(client:upload({ url = "https://x/late.png" }))
    local _, e3 = client:generate({ prompt = "{{l}}", refs = { l = { url = late.ref, type = "image" } } })
    assert.same({ "validation", 422 }, { e3.kind, e3.status })
    assert.matches("Processing", e3.message)
    local _, e4 = client:generate({ prompt = "{{l}}", refs = { l = { url = "asset://asset-none", type = "image" } } })
    assert.same({ "validation", 422 }, { e4.kind, e4.status })
    local function raw(body)
      local _, e = client:_call({ endpoint = "create_task", method = "POST", body = body })
      return e
    end
    assert.equal(422, raw({ model = R2V, input = { prompt = "x", ratio = "16:9" } }).status)
    assert.equal(422, raw({ model = R2V, input = { prompt = "x" }, metadata = {} }).status)
    assert.equal(422, raw({ model = R2V, input = { reference_images = { "https://x/a.png" } } }).status)
    assert.equal(422, raw({ model = R2V, input = { prompt = "x", aspect_ratio = "adaptive" } }).status)
    assert.equal(422, raw({ model = I2V, input = { prompt = "x", reference_images = { "https://x/a.png" } } }).status)
    assert.equal(422, raw({ model = R2V, input = { prompt = "x", reference_audios = { "https://x/a.mp3" } } }).status)
    assert.equal(422, raw({ model = R2V, input = { prompt = "x", reference_images = { voice.ref } } }).status)
    assert.equal(0, #tasks())
  end)

  it("succeeds: progress to 100, a real MP4 downloaded without any credential", function()
    local t = assert(client:generate({ prompt = "{{hero}} waves", refs = { hero = hero } }))
    local seen = {}
    assert.equal(t, t:wait({ timeout = 10, on_update = function(x) seen[x.raw_status] = true end }))
    assert.is_true(seen.running)
    assert.same({ "succeeded", "success", 100 }, { t.status, t.raw_status, t.progress })
    assert.is_nil(t.error)
    assert.matches("^http://.*/__emulator/media/.*%.mp4$", t.video_url)
    assert.is_nil(t.video_url:find(KEY, 1, true))
    local st = helpers.assert_downloads(emu, t, TMP, sample)
    -- the twin would have refused (and counted) a key sent to the result host
    assert.equal(1, st.by_route["GET /__emulator/media/"])
  end)

  it("fails: task_failed with crun's reason, moderation with the upstream code, expired on demand", function()
    local f = assert(client:generate({ prompt = "[[fail]] a shot" }))
    local _, ferr = f:wait({ timeout = 10 })
    assert.same({ "task_failed", "InternalServiceError", "failed" }, { ferr.kind, ferr.code, f.status })
    assert.matches("refunded", ferr.message)
    local m = assert(client:generate({ prompt = "[[moderation]] {{h}}", refs = { h = hero } }))
    local _, merr = m:wait({ timeout = 10 })
    assert.same({ "moderation", "OutputVideoSensitiveContentDetected" }, { merr.kind, merr.code })
    assert.is_false(merr.retryable)
    local e = assert(client:generate({ prompt = "a shot" }))
    emu:control({ op = "expire_task", id = e.id })
    local _, eerr = e:wait({ timeout = 10 })
    assert.same({ "task_failed", "TaskExpired" }, { eerr.kind, eerr.code })
    local x = assert(client:generate({ prompt = "[[expire]] a shot" }))
    local _, xerr = x:wait({ timeout = 10 })
    assert.equal("TaskExpired", xerr.code)
    local _, derr = f:download(TMP)
    assert.equal("task_failed", derr.kind)
    assert.is_nil(read(TMP))
  end)

  it("has no cancel, and says so", function()
    local t = assert(client:generate({ prompt = "x" }))
    assert.has_error(function() t:cancel() end, "seedance: crun cannot cancel tasks")
  end)

  it("fetches a task by id; an unknown id is not_found", function()
    local t = assert(client:generate({ prompt = "a shot" }))
    local again = assert(client:task(t.id))
    assert.equal(t.id, again.id)
    assert.equal(R2V, again.raw.data.param.model)
    local _, err = client:task("no-such-task")
    assert.same({ "not_found", 404 }, { err.kind, err.status })
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
    assert.equal(sample, read(TMP))
  end)

  it("never repeats a CreateTask whose answer was lost", function()
    emu:fault({ match = "POST " .. P .. "/CreateTask", status = 502, process = true, count = 1 })
    local _, err = client:generate({ prompt = "x" })
    assert.equal("provider", err.kind)
    assert.equal(1, creates())
    assert.equal(1, #tasks())
  end)

  it("keeps the key out of errors and objects", function()
    local _, e1 = new_client({ api_key = "wrong-" .. KEY }):generate({ prompt = "x" })
    assert.equal("auth", e1.kind)
    emu:fault({ match = "GET " .. P .. "/TaskInfo", status = 500, count = 10,
                body = { code = 500, message = "bad key " .. KEY, data = cjson.null } })
    local t = assert(client:generate({ prompt = "x" }))
    local c = new_client({ retries = 0 })
    local _, e2 = c:task(t.id)
    assert.equal("bad key [REDACTED]", e2.message)
    helpers.assert_errors_hide(KEY, { e1, e2 })
    assert.is_nil(tostring(t):find(KEY, 1, true))
    c:close()
  end)

  it("generates under /crun on an emulator of every provider", function()
    local all = assert(emulator.start({ provider = "all", processing = 0.1 }))
    all:configure({ generation = 0.3 })
    local c = helpers.new_client("crun", KEY, all.urls.crun)
    local t = assert(c:generate({ prompt = "{{a}}", refs = { a = "https://x/a.png" } }))
    assert(t:wait({ timeout = 10 }))
    assert.equal(TMP, t:download(TMP))
    assert.equal(sample, read(TMP))
    c:close()
    all:stop()
  end)
end)
