-- PiAPI generation: request shape, notation, routing to -less-restriction, every terminal
-- state, downloads (resume, no credentials to the result host), the retry helper.
local seedance = require "seedance"
local sample = require("seedance.emulator").SAMPLE_MP4
local helpers = require "helpers"

local KEY = "pk-gen-secret-987654321"
local TMP = helpers.scratch()

describe("piapi generation", function()
  local emulated = helpers.twin("piapi", KEY, { processing = 0.1, api_key = KEY },
                                { generation = 0.4, processing = 0.1 })
  local emu, client, hero, friend

  before_each(function()
    emu, client = emulated.emu, emulated:client()
    hero = assert(client:upload({ url = "https://x/hero.png", name = "hero" }))
    friend = assert(client:upload({ url = "https://x/friend.png", name = "friend" }))
    assert(seedance.wait_all({ hero, friend }, { timeout = 5 }))
  end)
  after_each(function() client:close() end)

  it("sends the documented shape, routes assets to -less-restriction, renders Image N", function()
    local t = assert(client:generate({ prompt = "{{hero}} hands {{cup}} to {{friend}} at {{time}}, {{theme}}",
      refs = { hero = hero, friend = friend, cup = "https://x/cup.jpg", time = "dawn",
               theme = { url = "https://x/t.mp3", type = "audio" } },
      ratio = "16:9", duration = 5, resolution = "720p" }))
    assert.equal("Image 1 hands Image 2 to Image 3 at dawn, Audio 1", t.prompt)
    assert.equal("seedance-2-less-restriction", t.model)
    assert.equal("queued", t.status)
    local t2 = assert(client:task(t.id))
    assert.equal(t.id, t2.id)
    local input = t2.raw.data.input
    assert.same({ hero.ref, "https://x/cup.jpg", friend.ref }, input.image_urls)
    assert.same({ "https://x/t.mp3" }, input.audio_urls)
    assert.equal("16:9", input.aspect_ratio)
    assert.equal(5, input.duration)
    assert.is_table(emulated:dump())
  end)

  it("uses the plain task types without assets, fast on request, raw ids as given", function()
    assert.equal("seedance-2", assert(client:generate({ prompt = "{{a}}", refs = { a = "https://x/a.png" } })).model)
    assert.equal("seedance-2-fast", assert(client:generate({ prompt = "x", model = "fast" })).model)
    assert.equal("seedance-2-fast-less-restriction",
      assert(client:generate({ prompt = "{{h}}", refs = { h = hero }, model = "fast" })).model)
    local _, err = client:generate({ prompt = "{{h}}", refs = { h = hero }, model = "seedance-2" })
    assert.equal("validation", err.kind)
    assert.equal(422, err.status)
  end)

  it("succeeds, reports progress, downloads a real MP4 without credentials", function()
    local t = assert(client:generate({ prompt = "{{hero}} waves", refs = { hero = hero } }))
    local seen = {}
    assert(t:wait({ timeout = 10, on_update = function(x) seen[x.status] = true end }))
    assert.equal("succeeded", t.status)
    assert.is_true(seen.running)
    assert.equal(100, t.progress)
    assert.matches("^http://.*%.mp4$", t.video_url)
    helpers.assert_downloads(emu, t, TMP, sample)
  end)

  it("resumes an interrupted download with a range request", function()
    local t = assert(client:generate({ prompt = "a shot" }))
    assert(t:wait({ timeout = 10 }))
    local c = emulated:client({ retries = 0 })
    helpers.assert_download_resumes(emu, assert(c:task(t.id)), TMP, sample, 3000)
    c:close()
  end)

  it("says when the result URL expired, and resumes after a refresh", function()
    local t = assert(client:generate({ prompt = "a shot" }))
    assert(t:wait({ timeout = 10 }))
    emu:control({ op = "expire_media" })
    local _, err = t:download(TMP)
    assert.equal("not_found", err.kind)
    assert.equal("url_expired", err.code)
    assert.equal(403, err.status)
    emu:control({ op = "expire_media", expired = false })
    assert(t:refresh())
    assert.equal(TMP, t:download(TMP))
  end)

  it("fails with moderation, task_failed and expired as terminal states", function()
    local m = assert(client:generate({ prompt = "[[moderation]] a shot" }))
    local _, merr = m:wait({ timeout = 10 })
    assert.equal("moderation", merr.kind)
    assert.equal("SensitiveContentDetected", merr.code)
    local f = assert(client:generate({ prompt = "[[fail]] a shot" }))
    local _, ferr = f:wait({ timeout = 10 })
    assert.equal("task_failed", ferr.kind)
    local e = assert(client:generate({ prompt = "a shot" }))
    emu:control({ op = "expire_task", id = e.id })
    local _, eerr = e:wait({ timeout = 10 })
    assert.equal("task_failed", eerr.kind)
    assert.equal("TaskExpired", eerr.code)
    local _, derr = f:download(TMP)
    assert.equal("task_failed", derr.kind)
  end)

  it("waits for many tasks concurrently", function()
    local ts = {}
    for i = 1, 8 do ts[i] = assert(client:generate({ prompt = "shot " .. i })) end
    local t0 = require("seedance.core").now()
    assert(seedance.wait_all(ts, { timeout = 10 }))
    assert.is_true(require("seedance.core").now() - t0 < 2)
  end)

  it("retries whole generations: moderation with a varied prompt, never a maybe-created task", function()
    local prompts = {}
    local t, err, tried = client:generate_with_retry({ prompt = "[[moderation]] hero" }, {
      vary = function(_, e, n)
        prompts[#prompts + 1] = e.kind
        return { prompt = "hero, take " .. (n + 1) }
      end })
    assert.is_nil(err)
    assert.equal("succeeded", t.status)
    assert.equal(2, #tried)
    assert.same({ "moderation" }, prompts)
    local before = emu:stats().by_route["POST /api/v1/task"]
    emu:fault({ match = "POST /api/v1/task", status = 502, count = 1 })
    local _, err2, tried2 = client:generate_with_retry({ prompt = "x" })
    assert.equal("provider", err2.kind)
    assert.equal(0, #tried2)
    assert.equal(before + 1, emu:stats().by_route["POST /api/v1/task"])
  end)

  it("refuses what PiAPI does not take before any request", function()
    local _, err = client:generate({ prompt = "x", first_frame = "https://x/f.png" })
    assert.equal("validation", err.kind)
    assert.is_nil(emu:stats().by_route["POST /api/v1/task"])
  end)
end)
