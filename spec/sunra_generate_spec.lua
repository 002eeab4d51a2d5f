-- Sunra generation: the queue over real HTTP against the emulator twin, checked against the
-- examples in spec/fixtures/sunra/queue_*: the request on the wire (the model in the path,
-- the reference lists, @Image1 notation, generate_audio), model routing (plain models
-- without assets, relay models with them, raw ids as given), the status-then-result poll,
-- every terminal state (succeeded with a real MP4, failed, unsafe_content as moderation,
-- expired, cancelled), and downloads that resume and carry no credential.
local emulator = require "seedance.emulator"
local dialect = require "seedance.providers.sunra"
local url = require "seedance.wire.url"
local cjson = require "cjson"
local SAMPLE = require("seedance.emulator").SAMPLE_MP4
local helpers = require "helpers"

local KEY = "sk-sunra-gen-0123456789"
local fixture = helpers.fixtures("sunra")
local same_shape, keys, slurp = helpers.same_shape, helpers.keys, helpers.read

describe("sunra generation", function()
  local emulated = helpers.twin("sunra", KEY, { processing = 0.05, api_key = KEY },
                                { processing = 0.05, generation = 0.4, faults = {} })
  local emu, client
  local TMP = helpers.scratch(".mp4")

  local function new_client(extra) return emulated:client(extra) end

  local function last() return emulated:last_request() end

  local function active_asset(u)
    local a = assert(client:upload({ url = u or "https://example.com/faces/hero.png" }))
    return assert(a:wait({ timeout = 5 }))
  end

  local function routes()
    return emu:stats().by_route
  end

  before_each(function()
    emu, client = emulated.emu, new_client()
  end)
  after_each(function() client:close() end)

  describe("the dialect, on the documented examples", function()
    local g = {
      prompt = "@Image1 walks to @Image2 in the rain, as in @Video1, to the beat of @Audio1.",
      images = { { url = "asset://asset-20260318071009-xy98z" }, { url = "https://example.com/refs/friend.png" } },
      videos = { { url = "https://example.com/refs/walk.mp4" } },
      audios = { { url = "https://example.com/refs/beat.mp3" } },
      model = "bytedance/seedance-2.0-relay", resolution = "720p", ratio = "16:9", duration = 5, audio = true,
    }

    it("builds the reference-to-video body, the model in the path with its '/' kept", function()
      local op = assert(dialect.create_task(g))
      assert.same(fixture("queue_create_request.json"), op.body)
      assert.equal("POST", op.method)
      assert.is_falsy(op.idempotent)
      assert.equal("/v1/queue/bytedance/seedance-2.0-relay/reference-to-video",
                   url.fill(dialect.endpoints[op.endpoint], op.params))
      -- other slots still escape a "/"
      assert.equal("/v1/queue/requests/a%2Fb/status", url.fill(dialect.endpoints.get_task, { id = "a/b" }))
    end)

    it("leaves out empty reference lists and refuses first/last frames", function()
      local op = assert(dialect.create_task({ prompt = "a cat", images = {}, videos = {}, audios = {},
                                              model = "bytedance/seedance-2.0" }))
      assert.same({ prompt = "a cat" }, op.body)
      local none, why = dialect.create_task({ prompt = "x", images = {}, videos = {}, audios = {},
                                              first_frame = { url = "https://x/f.png" }, model = "m" })
      assert.is_nil(none)
      assert.matches("first/last frame", why)
    end)

    it("reads the create answer, the three status words and both results", function()
      local c = dialect.parse_created_task(fixture("queue_create_response.json"))
      assert.equal("req-20260318080000-a1b2c", c.id)
      assert.equal("IN_QUEUE", c.raw_status)
      local q = dialect.parse_task(fixture("queue_status_in_queue.json"))
      assert.equal("IN_QUEUE", q.raw_status)
      assert.equal(0, q.progress)
      assert.is_nil(q.status)
      assert.equal("IN_PROGRESS", dialect.parse_task(fixture("queue_status_in_progress.json")).raw_status)
      -- COMPLETED alone is no outcome: still running until the result is read
      local done = dialect.parse_task(fixture("queue_status_completed.json"))
      assert.equal("COMPLETED", done.raw_status)
      assert.equal("running", done.status)
      local ok = dialect.parse_task(fixture("queue_result_video.json"))
      assert.equal("succeeded", ok.status)
      assert.equal("https://cdn.sunra.ai/outputs/req-20260318080000-a1b2c.mp4", ok.video_url)
      assert.equal(100, ok.progress)
      local bad = dialect.parse_task(fixture("queue_result_unsafe.json"))
      assert.equal("failed", bad.status)
      assert.equal("unsafe_content", bad.error.code)
      assert.is_nil(bad.video_url)
    end)

    it("polls the status, then the result once the status said COMPLETED", function()
      assert.equal("get_task", dialect.get_task("r1").endpoint)
      assert.equal("get_task", dialect.get_task("r1", { raw_status = "IN_PROGRESS" }).endpoint)
      local op = dialect.get_task("r1", { raw_status = "COMPLETED" })
      assert.equal("get_result", op.endpoint)
      assert.equal("GET", op.method)
      assert.is_true(op.idempotent)
      assert.equal("/v1/queue/requests/r1", url.fill(dialect.endpoints.get_result, op.params))
      local cancel = dialect.cancel_task("r1")
      assert.equal("PUT", cancel.method)
      assert.equal("/v1/queue/requests/r1/cancel", url.fill(dialect.endpoints.cancel_task, cancel.params))
    end)

    it("reads moderation and a late cancel from error bodies", function()
      assert.equal("moderation", dialect.error_kind(400, nil, "rejected", "unsafe_content"))
      assert.equal("conflict", dialect.error_kind(400, nil, "too late", "cannot_cancel"))
      assert.equal("rate_limited", dialect.error_kind(403, nil, nil, nil))
    end)
  end)

  describe("on the wire", function()
    it("sends the documented request to the relay model when an asset is referenced", function()
      local hero = active_asset()
      local creates = emu:stats().creates
      local t = assert(client:generate({
        prompt = "{{hero}} walks to {{friend}} in the {{weather}}, as in {{walk}}, to the beat of {{beat}}.",
        refs = { hero = hero, friend = "https://example.com/refs/friend.png", weather = "rain",
                 walk = "https://example.com/refs/walk.mp4", beat = "https://example.com/refs/beat.mp3" },
        resolution = "720p", ratio = "16:9", duration = 5, audio = true,
      }))
      local r = last()
      assert.equal("POST", r.method)
      assert.equal("/v1/queue/bytedance/seedance-2.0-relay/reference-to-video", r.path)
      assert.equal("Bearer " .. KEY, r.headers.authorization)
      assert.matches("^application/json", r.headers["content-type"])
      local body = cjson.decode(r.body)
      local want = fixture("queue_create_request.json")
      assert.same(keys(want), keys(body))
      assert.equal(want.prompt, body.prompt)
      assert.equal(want.prompt, t.prompt)
      assert.same({ hero.ref, "https://example.com/refs/friend.png" }, body.reference_images)
      assert.equal("asset://" .. hero.ark_asset_id, body.reference_images[1])
      assert.same(want.reference_videos, body.reference_videos)
      assert.same(want.reference_audios, body.reference_audios)
      assert.is_true(body.generate_audio)
      same_shape(fixture("queue_create_response.json"), t.raw)
      assert.equal(t.raw.request_id, t.id)
      assert.equal("queued", t.status)
      assert.equal("bytedance/seedance-2.0-relay", t.model)
      assert.equal(creates + 1, emu:stats().creates)
    end)

    it("numbers references per type in first-mention order, images before videos before audios", function()
      assert(client:generate({
        prompt = "{{beat}} {{b}} meets {{a}} in {{clip}}; {{b}} waves.",
        refs = { a = "https://x/a.png", b = "https://x/b.jpg", clip = "https://x/c.mov",
                 beat = { url = "https://x/beat", type = "audio" } },
      }))
      local body = cjson.decode(last().body)
      assert.equal("@Audio1 @Image1 meets @Image2 in @Video1; @Image1 waves.", body.prompt)
      assert.same({ "https://x/b.jpg", "https://x/a.png" }, body.reference_images)
      assert.same({ "https://x/c.mov" }, body.reference_videos)
      assert.same({ "https://x/beat" }, body.reference_audios)
    end)

    it("routes standard/fast to the plain models, to the relay ones with an asset, raw ids as given", function()
      local hero = active_asset()
      local cases = {
        { nil, false, "bytedance/seedance-2.0" },
        { "standard", false, "bytedance/seedance-2.0" },
        { "fast", false, "bytedance/seedance-2.0-fast" },
        { "standard", true, "bytedance/seedance-2.0-relay" },
        { "fast", true, "bytedance/seedance-2.0-fast-relay" },
        { "bytedance/seedance-2.0-relay", false, "bytedance/seedance-2.0-relay" },
        { "bytedance/seedance-2.0-fast-relay", true, "bytedance/seedance-2.0-fast-relay" },
      }
      for _, c in ipairs(cases) do
        local ref = c[2] and hero or "https://example.com/refs/x.png"
        local t = assert(client:generate({ prompt = "{{x}} smiles", refs = { x = ref }, model = c[1] }))
        assert.equal("/v1/queue/" .. c[3] .. "/reference-to-video", last().path)
        assert.equal(c[3], t.model)
      end
    end)

    it("lets Sunra refuse asset:// on a raw plain model id: InvalidParameter, nothing queued", function()
      local hero = active_asset()
      local before = emu:stats().creates
      local t, err = client:generate({ prompt = "{{x}}", refs = { x = hero }, model = "bytedance/seedance-2.0" })
      assert.is_nil(t)
      assert.equal("validation", err.kind)
      assert.equal(400, err.status)
      assert.equal("InvalidParameter", err.code)
      assert.equal("/v1/queue/bytedance/seedance-2.0/reference-to-video", last().path)
      assert.equal(before, emu:stats().creates)
      local _, e2 = client:generate({ prompt = "{{x}}", refs = { x = "https://x/a.png" }, model = "bytedance/nope" })
      assert.equal("not_found", e2.kind)
    end)

    it("lets Sunra refuse an unknown or inactive asset; refuses an inactive asset object itself", function()
      local unknown = { url = "asset://asset-unknown", type = "image" }
      local _, e1 = client:generate({ prompt = "{{x}}", refs = { x = unknown } })
      assert.equal("InvalidParameter", e1.code)
      assert.matches("does not exist", e1.message)
      emu:configure({ processing = 30 })
      local slow = assert(client:upload({ url = "https://example.com/faces/slow.png" }))
      local _, e2 = client:generate({ prompt = "{{x}}", refs = { x = { url = slow.ref, type = "image" } } })
      assert.equal("InvalidParameter", e2.code)
      assert.matches("processing, not active", e2.message)
      local requests = emu:stats().requests
      local _, e3 = client:generate({ prompt = "{{x}}", refs = { x = slow } })
      assert.equal("validation", e3.kind)
      assert.matches("not active", e3.message)
      assert.equal(requests, emu:stats().requests)
    end)

    it("refuses before any request what reference-to-video does not take", function()
      local requests = emu:stats().requests
      for _, extra in ipairs({ { seed = 7 }, { watermark = true }, { first_frame = "https://x/f.png" },
                               { model = "fast", resolution = "1080p" }, { duration = 3 } }) do
        local a = { prompt = "a quiet street" }
        for k, v in pairs(extra) do a[k] = v end
        local t, err = client:generate(a)
        assert.is_nil(t)
        assert.equal("validation", err.kind)
      end
      assert.equal(requests, emu:stats().requests)
    end)

    it("is retried on a 403 rate limit, the create included, queueing once", function()
      emu:fault({ match = "POST /v1/queue/", status = 403, count = 1 })
      emu:fault({ match = "GET /v1/queue/requests/", status = 403, count = 2 })
      local t = assert(client:generate({ prompt = "a quiet street" }))
      assert(t:wait({ timeout = 5 }))
      assert.equal(1, emu:stats().creates)
      assert.equal(0, emu:stats().duplicate_creates)
      assert.equal(3, emu:stats().by_status["403"])
    end)
  end)

  describe("terminal states", function()
    it("succeeds after status then result, and downloads a real MP4 with no credential", function()
      local seen = {}
      local t = assert(client:generate({ prompt = "a lighthouse at dawn" }))
      assert.equal(t, t:wait({ timeout = 5, on_update = function(x) seen[#seen + 1] = x.status end }))
      assert.equal("succeeded", t.status)
      assert.equal("succeeded", seen[#seen])
      assert.equal("COMPLETED", t.raw_status)
      assert.equal(100, t.progress)
      same_shape(fixture("queue_result_video.json"), t.raw)
      assert.matches("/__emulator/media/", t.video_url)
      assert.is_nil(t.video_url:find(KEY, 1, true))
      assert.is_true(routes()["GET /v1/queue/requests/{id}/status"] >= 2)
      assert.equal(1, routes()["GET /v1/queue/requests/{id}"])
      helpers.assert_downloads(emu, t, TMP, SAMPLE)
    end)

    it("fetches a finished task by id: status first, then the result", function()
      local t = assert(client:generate({ prompt = "a lighthouse at dawn" }))
      assert(t:wait({ timeout = 5 }))
      local again = assert(client:task(t.id))
      assert.equal("running", again.status)
      assert.equal("COMPLETED", again.raw_status)
      assert(again:wait({ timeout = 5 }))
      assert.equal("succeeded", again.status)
      assert.is_string(again.video_url)
    end)

    it("fails plainly: task_failed with Sunra's code", function()
      local t = assert(client:generate({ prompt = "a storm [[fail]]" }))
      local ok, err = t:wait({ timeout = 5 })
      assert.is_nil(ok)
      assert.equal("task_failed", err.kind)
      assert.equal("generation_failed", err.code)
      assert.equal("failed", t.status)
      assert.is_true(err.retryable)
      local _, derr = t:download(TMP)
      assert.equal("task_failed", derr.kind)
    end)

    it("reports unsafe_content as moderation", function()
      local t = assert(client:generate({ prompt = "something [[moderation]]" }))
      local ok, err = t:wait({ timeout = 5 })
      assert.is_nil(ok)
      assert.equal("moderation", err.kind)
      assert.equal("unsafe_content", err.code)
      assert.equal("failed", t.status)
      same_shape(fixture("queue_result_unsafe.json"), t.raw)
      assert.is_nil(tostring(err):find(KEY, 1, true))
    end)

    it("ends a wait on an expired request", function()
      emu:configure({ generation = 30 })
      local t = assert(client:generate({ prompt = "a long wait" }))
      assert.equal("ok", (emu:control({ op = "expire_task", id = t.id }).ok and "ok"))
      local ok, err = t:wait({ timeout = 5 })
      assert.is_nil(ok)
      assert.equal("expired", t.status)
      assert.equal("EXPIRED", t.raw_status)
      assert.equal("task_failed", err.kind)
      assert.equal("expired", err.code)
    end)

    it("cancels a queued request with PUT .../cancel; a finished one is a conflict", function()
      emu:configure({ generation = 30 })
      local t = assert(client:generate({ prompt = "never mind" }))
      assert.equal(t, t:cancel())
      local r = last()
      assert.equal("PUT", r.method)
      assert.equal("/v1/queue/requests/" .. t.id .. "/cancel", r.path)
      local ok, err = t:wait({ timeout = 5 })
      assert.is_nil(ok)
      assert.equal("cancelled", t.status)
      assert.equal("CANCELLED", t.raw_status)
      assert.equal("task_failed", err.kind)
      assert.equal("cancelled", err.code)
      assert.is_false(err.retryable)
      emu:configure({ generation = 0.2 })
      local done = assert(client:generate({ prompt = "too late" }))
      assert(done:wait({ timeout = 5 }))
      local _, cerr = done:cancel()
      assert.equal("conflict", cerr.kind)
      assert.equal("cannot_cancel", cerr.code)
    end)
  end)

  describe("downloads", function()
    it("resume with a range request after an interrupted transfer", function()
      local t = assert(client:generate({ prompt = "a lighthouse at dawn" }))
      assert(t:wait({ timeout = 5 }))
      -- the engine retries the cut transfer itself, from where it stopped
      emu:fault({ match = "GET /__emulator/media", truncate = 3000, count = 1 })
      local path = TMP
      assert.equal(path, t:download(path))
      assert.equal(SAMPLE, slurp(path))
      assert.equal(1, emu:stats().media_ranges)
      os.remove(path)
      -- with no retries the first call stops short and a second one resumes
      local once = new_client({ retries = 0 })
      local t2 = assert(once:task(t.id))
      assert(t2:wait({ timeout = 5 }))
      emu:fault({ match = "GET /__emulator/media", truncate = 3000, count = 1 })
      local ok, err = t2:download(path)
      assert.is_nil(ok)
      assert.equal("network", err.kind)
      assert.is_nil(slurp(path))
      assert.equal(3000, #(slurp(path .. ".part") or ""))
      assert.equal(path, t2:download(path))
      assert.equal(SAMPLE, slurp(path))
      assert.is_nil(slurp(path .. ".part"))
      local stats = emu:stats()
      assert.equal(2, stats.media_ranges)
      assert.equal(0, stats.media_credential_violations or 0)
      os.remove(path)
      once:close()
    end)

    it("say url_expired when the result host refuses the URL", function()
      local t = assert(client:generate({ prompt = "a lighthouse at dawn" }))
      assert(t:wait({ timeout = 5 }))
      emu:control({ op = "expire_media" })
      local path = TMP
      local ok, err = t:download(path)
      assert.is_nil(ok)
      assert.equal("url_expired", err.code)
      emu:control({ op = "expire_media", expired = false })
      assert(t:refresh())
      assert.equal(path, t:download(path))
      assert.equal(SAMPLE, slurp(path))
      os.remove(path)
    end)
  end)

  it("runs under /sunra in the emulator's 'all' mode, status URLs included", function()
    local all = assert(emulator.start({ provider = "all", processing = 0.05 }))
    all:configure({ generation = 0.2 })
    local c = helpers.new_client("sunra", KEY, all.urls.sunra)
    local t = assert(c:generate({ prompt = "a lighthouse at dawn" }))
    assert.equal(all.urls.sunra .. "/v1/queue/requests/" .. t.id .. "/status", t.raw.status_url)
    assert(t:wait({ timeout = 5 }))
    assert(t:download(TMP))
    assert.equal(SAMPLE, slurp(TMP))
    c:close()
    all:stop()
  end)
end)
