-- OrcaRouter generation over real HTTP against the emulator twin, checked against the
-- examples in spec/fixtures/orcarouter/video_*: the request on the wire (top-level prompt in
-- [Image 1] notation, metadata.content[] with media only, in order, with the upstream's
-- roles, and the settings beside it), model routing, the poll by task_id, every terminal
-- state (succeeded with a real MP4, failed, moderation with the upstream's code, expired),
-- and downloads that resume and carry no credential.
local emulator = require "seedance.emulator"
local dialect = require "seedance.providers.orcarouter"
local cjson = require "cjson"
local SAMPLE = require("seedance.emulator").SAMPLE_MP4
local helpers = require "helpers"

local KEY = "or-gen-secret-0123456789"
local fixture = helpers.fixtures("orcarouter")
local same_shape, slurp = helpers.same_shape, helpers.read
local STANDARD = "byteplus/dreamina-seedance-2-0-260128"
local FAST = "byteplus/dreamina-seedance-2-0-fast-260128"

-- a generation as seedance.client.tasks hands it to the dialect
local function gen(t)
  local g = { images = {}, videos = {}, audios = {}, model = STANDARD }
  for k, v in pairs(t) do g[k] = v end
  return g
end

describe("orcarouter generation", function()
  local emulated = helpers.twin("orcarouter", KEY, { processing = 0.05, api_key = KEY },
                                { processing = 0.05, generation = 0.4, plan = "premium", faults = {} })
  local emu, client
  local TMP = helpers.scratch(".mp4")

  local function new_client(extra) return emulated:client(extra) end

  local function last() return emulated:last_request() end

  local function active_asset(u)
    local g = assert(client:create_group({ name = "cast" }))
    local a = assert(client:upload({ url = u or "https://example.com/faces/hero.png", group = g }))
    return assert(a:wait({ timeout = 5 }))
  end

  before_each(function()
    emu, client = emulated.emu, new_client()
  end)
  after_each(function() client:close() end)

  describe("the dialect, on the documented examples", function()
    it("builds the guide's own example of referencing an asset", function()
      local want = fixture("video_request_example.json")
      local op = assert(dialect.create_task(gen({ prompt = want.prompt,
        images = { { url = "asset://asset-20260318071009-xy98z" } } })))
      assert.same(want, op.body)
      assert.equal("POST", op.method)
      assert.equal("/video/generations", dialect.endpoints[op.endpoint])
      assert.is_falsy(op.idempotent)
    end)

    it("puts every medium and setting in metadata, media in order with their roles", function()
      local want = fixture("video_create_request.json")
      local op = assert(dialect.create_task(gen({ prompt = want.prompt,
        images = { { url = "asset://asset-20260318071009-xy98z" }, { url = "https://example.com/refs/cup.png" } },
        videos = { { url = "https://example.com/refs/man.mp4" } },
        audios = { { url = "https://example.com/refs/theme.mp3" } },
        ratio = "16:9", duration = 5, resolution = "720p", audio = true, seed = 42, watermark = false })))
      assert.same(want, op.body)
    end)

    it("sends first and last frames as image items with their roles", function()
      local want = fixture("video_frames_request.json")
      local op = assert(dialect.create_task(gen({ prompt = want.prompt, model = FAST,
        first_frame = { url = "https://example.com/frames/closed.png" },
        last_frame = { url = "https://example.com/frames/open.png" } })))
      assert.same(want, op.body)
    end)

    it("leaves metadata out when there is nothing to put in it", function()
      local op = assert(dialect.create_task(gen({ prompt = "a cat" })))
      assert.same({ model = STANDARD, prompt = "a cat" }, op.body)
    end)

    it("knows the task by task_id and reads the upstream-shaped poll", function()
      local c = dialect.parse_created_task(fixture("video_create_response.json"))
      assert.equal("cgt-20260318080000-a1b2c", c.id)
      assert.equal("vgen-20260318080000-q7w8e", c.generation_id)
      assert.equal("queued", c.raw_status)
      local op = dialect.get_task(c.id)
      assert.equal("GET", op.method)
      assert.is_true(op.idempotent)
      assert.equal("cgt-20260318080000-a1b2c", op.params.id)
      local running = dialect.parse_task(fixture("video_task_running.json"))
      assert.equal("running", running.raw_status)
      assert.is_nil(running.error)
      local ok = dialect.parse_task(fixture("video_task_succeeded.json"))
      assert.equal("succeeded", ok.raw_status)
      assert.matches("^https://ark%-content%.example%.com/", ok.video_url)
      assert.equal(100, ok.progress)
      assert.equal(1773820800, ok.created_at)
      local bad = dialect.parse_task(fixture("video_task_moderated.json"))
      assert.equal("failed", bad.raw_status)
      assert.equal("OutputVideoSensitiveContentDetected", bad.error.code)
      assert.equal("moderation", dialect.error_kind(400, nil, "x", "InputImageSensitiveContentDetected"))
    end)
  end)

  describe("on the wire", function()
    it("sends the documented request: top-level prompt, media only in metadata.content[]", function()
      local hero = active_asset()
      local t = assert(client:generate({
        prompt = "The girl in {{hero}} hands {{cup}} to the man in {{man}} while {{theme}} plays.",
        refs = { hero = hero, cup = "https://example.com/refs/cup.png", man = "https://example.com/refs/man.mp4",
                 theme = "https://example.com/refs/theme.mp3" },
        ratio = "16:9", duration = 5, resolution = "720p", audio = true, seed = 42, watermark = false,
      }))
      local r = last()
      assert.equal("POST", r.method)
      assert.equal("/v1/video/generations", r.path)
      assert.equal("Bearer " .. KEY, r.headers.authorization)
      assert.matches("^application/json", r.headers["content-type"])
      local want = fixture("video_create_request.json")
      want.metadata.content[1].image_url.url = hero.ref
      assert.same(want, cjson.decode(r.body))
      assert.equal(want.prompt, t.prompt)
      same_shape(fixture("video_create_response.json"), t.raw)
      assert.equal(t.raw.task_id, t.id)
      assert.are_not.equal(t.raw.id, t.id)
      assert.equal("queued", t.status)
      assert.equal(STANDARD, t.model)
    end)

    it("numbers references per type in first-mention order, images before videos before audios", function()
      assert(client:generate({
        prompt = "{{beat}} {{b}} meets {{a}} in {{clip}}; {{b}} waves.",
        refs = { a = "https://x/a.png", b = "https://x/b.jpg", clip = "https://x/c.mov",
                 beat = { url = "https://x/beat", type = "audio" } },
      }))
      local body = cjson.decode(last().body)
      assert.equal("[Audio 1] [Image 1] meets [Image 2] in [Video 1]; [Image 1] waves.", body.prompt)
      local urls, roles = {}, {}
      for i, it in ipairs(body.metadata.content) do
        urls[i] = it[it.type].url
        roles[i] = it.role
        assert.is_not.equal("text", it.type)
      end
      assert.same({ "https://x/b.jpg", "https://x/a.png", "https://x/c.mov", "https://x/beat" }, urls)
      assert.same({ "reference_image", "reference_image", "reference_video", "reference_audio" }, roles)
    end)

    it("sends first and last frames (an asset or a URL) with their roles", function()
      local first = active_asset()
      assert(client:generate({ prompt = "The door opens slowly.", model = "fast", first_frame = first,
                               last_frame = "https://example.com/frames/open.png" }))
      local want = fixture("video_frames_request.json")
      want.metadata.content[1].image_url.url = first.ref
      assert.same(want, cjson.decode(last().body))
    end)

    it("routes standard and fast to the upstream ids, assets or not, raw ids as given", function()
      local hero = active_asset()
      for _, c in ipairs({ { nil, false, STANDARD }, { "fast", false, FAST }, { "standard", true, STANDARD },
                           { "fast", true, FAST }, { FAST, true, FAST } }) do
        local ref = c[2] and hero or "https://example.com/refs/x.png"
        local t = assert(client:generate({ prompt = "{{x}} smiles", refs = { x = ref }, model = c[1] }))
        assert.equal(c[3], cjson.decode(last().body).model)
        assert.equal(c[3], t.model)
      end
      local before = emu:stats().creates
      local _, err = client:generate({ prompt = "a cat", model = "byteplus/unknown-model" })
      assert.equal("validation", err.kind)
      assert.equal("InvalidParameter", err.code)
      assert.equal(before, emu:stats().creates)
    end)

    it("polls by task_id, never by id", function()
      local t = assert(client:generate({ prompt = "a lighthouse at dawn" }))
      assert(t:wait({ timeout = 5 }))
      assert.equal("/v1/video/generations/" .. t.raw.id, last().path)
      assert.equal(t.id, t.raw.id)
      local _, err = client:task(emu:control({ op = "dump" }).orcarouter.generations[1].id)
      assert.equal("not_found", err.kind)
      assert.matches("task_id", err.message)
    end)

    it("lets OrcaRouter refuse an unknown or inactive asset; refuses an inactive asset object itself", function()
      local unknown = { url = "asset://asset-unknown", type = "image" }
      local _, e1 = client:generate({ prompt = "{{x}}", refs = { x = unknown } })
      assert.equal("validation", e1.kind)
      assert.equal("InvalidParameter", e1.code)
      emu:configure({ processing = 30 })
      local g = assert(client:create_group({ name = "slow" }))
      local slow = assert(client:upload({ url = "https://example.com/faces/slow.png", group = g }))
      local _, e2 = client:generate({ prompt = "{{x}}", refs = { x = { url = slow.ref, type = "image" } } })
      assert.equal("InvalidParameter", e2.code)
      assert.matches("Processing, not Active", e2.message)
      local requests = emu:stats().requests
      local _, e3 = client:generate({ prompt = "{{x}}", refs = { x = slow } })
      assert.equal("validation", e3.kind)
      assert.equal(requests, emu:stats().requests)
      assert.same({}, emu:control({ op = "dump" }).orcarouter.generations)
    end)

    it("the twin refuses a text item in content, an unknown field, media out of order", function()
      local function create(body)
        return client:_call({ endpoint = "create_task", method = "POST", body = body })
      end
      local img = { type = "image_url", role = "reference_image", image_url = { url = "https://x/a.png" } }
      local vid = { type = "video_url", role = "reference_video", video_url = { url = "https://x/v.mp4" } }
      local _, e1 = create({ model = STANDARD, prompt = "p", metadata = { content = {
        { type = "text", text = "p" }, img } } })
      assert.matches("media items only", e1.message)
      local _, e2 = create({ model = STANDARD, prompt = "p", metadata = { Ratio = "16:9" } })
      assert.matches("unknown parameter 'Ratio'", e2.message)
      local _, e3 = create({ model = STANDARD, prompt = "p", metadata = { content = { vid, img } } })
      assert.matches("images, then videos", e3.message)
      local _, e4 = create({ model = STANDARD, metadata = {} })
      assert.equal("MissingParameter", e4.code)
      local _, e5 = create({ model = STANDARD, prompt = "p", metadata = { content = {
        { type = "image_url", role = "first_frame", image_url = { url = "https://x/f.png" } }, img } } })
      assert.matches("cannot be mixed", e5.message)
      local _, e6 = create({ model = FAST, prompt = "p", metadata = { resolution = "1080p" } })
      assert.matches("1080p", e6.message)
      for _, e in ipairs({ e1, e2, e3, e4, e5, e6 }) do
        assert.equal("validation", e.kind)
        assert.equal(400, e.status)
      end
      assert.equal(0, emu:stats().creates)
    end)

    it("needs no Advanced Creation Rights to generate", function()
      emu:configure({ plan = "free" })
      local t = assert(client:generate({ prompt = "a lighthouse at dawn" }))
      assert(t:wait({ timeout = 5 }))
      local _, err = client:create_group({ name = "x" })
      assert.equal("auth", err.kind)
    end)
  end)

  describe("terminal states", function()
    it("succeeds, and downloads a real MP4 with no credential", function()
      local seen = {}
      local t = assert(client:generate({ prompt = "a lighthouse at dawn" }))
      assert.equal(t, t:wait({ timeout = 5, on_update = function(x) seen[#seen + 1] = x.status end }))
      assert.equal("succeeded", t.status)
      assert.equal("succeeded", seen[#seen])
      same_shape(fixture("video_task_succeeded.json"), t.raw)
      assert.is_nil(t.video_url:find(KEY, 1, true))
      helpers.assert_downloads(emu, t, TMP, SAMPLE)
    end)

    it("fails plainly: task_failed with the upstream's code", function()
      local t = assert(client:generate({ prompt = "a storm [[fail]]" }))
      local ok, err = t:wait({ timeout = 5 })
      assert.is_nil(ok)
      assert.equal("task_failed", err.kind)
      assert.equal("InternalServiceError", err.code)
      assert.equal("failed", t.status)
    end)

    it("reports the upstream's moderation code as moderation", function()
      local t = assert(client:generate({ prompt = "something [[moderation]]" }))
      local ok, err = t:wait({ timeout = 5 })
      assert.is_nil(ok)
      assert.equal("moderation", err.kind)
      assert.equal("OutputVideoSensitiveContentDetected", err.code)
      same_shape(fixture("video_task_moderated.json"), t.raw)
      assert.is_nil(tostring(err):find(KEY, 1, true))
    end)

    it("ends a wait on an expired task", function()
      emu:configure({ generation = 30 })
      local t = assert(client:generate({ prompt = "a long wait" }))
      assert.is_true(emu:control({ op = "expire_task", id = t.id }).ok)
      local ok, err = t:wait({ timeout = 5 })
      assert.is_nil(ok)
      assert.equal("expired", t.status)
      assert.equal("task_failed", err.kind)
      assert.equal("expired", err.code)
    end)

    it("cannot cancel: OrcaRouter documents no cancel", function()
      local t = assert(client:generate({ prompt = "a lighthouse at dawn" }))
      assert.has_error(function() t:cancel() end, "seedance: orcarouter cannot cancel tasks")
    end)
  end)

  it("resumes an interrupted download with a range request", function()
    local t = assert(client:generate({ prompt = "a lighthouse at dawn" }))
    assert(t:wait({ timeout = 5 }))
    local once = new_client({ retries = 0 })
    local t2 = assert(once:task(t.id))
    helpers.assert_download_resumes(emu, t2, TMP, SAMPLE, 3000)
    once:close()
  end)

  it("runs under /orcarouter/v1 in the emulator's 'all' mode", function()
    local all = assert(emulator.start({ provider = "all", processing = 0.05 }))
    all:configure({ generation = 0.2 })
    local c = helpers.new_client("orcarouter", KEY, all.urls.orcarouter)
    local t = assert(c:generate({ prompt = "a lighthouse at dawn" }))
    assert(t:wait({ timeout = 5 }))
    assert.equal(1, all:stats().by_route["POST /orcarouter/v1/video/generations"])
    assert(t:download(TMP))
    assert.equal(SAMPLE, slurp(TMP))
    c:close()
    all:stop()
  end)
end)
