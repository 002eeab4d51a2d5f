-- seedance.media.limits: every limit boundary on every provider, exactly at the bound and one step
-- past it, from info tables and from media probed on the fly.
local limits = require "seedance.media.limits"
local core = require "seedance.core"
local media = require "media"

local MB = 1024 * 1024
local PROVIDERS = { "sunra", "orcarouter", "crun", "anyfast", "piapi", "ark" }

local function ok(provider, info, declared)
  local res, err = limits.check(provider, info, declared)
  assert.is_nil(err)
  assert.is_true(res)
end

local function rejects(provider, info, pattern, declared)
  local res, err = limits.check(provider, info, declared)
  assert.is_nil(res)
  assert.is_string(err)
  assert.matches(pattern, err, 1, true)
  assert.matches("(" .. provider .. ")", err, 1, true)
  return err
end

-- a valid base for each type, every measurement inside its limits on every provider
local function image(t)
  local i = { type = "image", format = "png", width = 1024, height = 768, bytes = 1000 }
  for k, v in pairs(t or {}) do i[k] = v end
  return i
end
local function video(t)
  local i = { type = "video", format = "mp4", width = 1280, height = 720, duration = 5, fps = 30, bytes = 1000 }
  for k, v in pairs(t or {}) do i[k] = v end
  return i
end
local function audio(t)
  local i = { type = "audio", format = "mp3", duration = 5, bytes = 1000 }
  for k, v in pairs(t or {}) do i[k] = v end
  return i
end

describe("limits tables", function()
  it("cover the six providers", function()
    assert.same(PROVIDERS, limits.providers)
    for _, p in ipairs(PROVIDERS) do
      assert.is_table(limits.get(p))
      assert.is_table(limits.get(p, "image"))
    end
  end)

  it("MB is 1024 * 1024 bytes", function()
    assert.equal(MB, limits.MB)
    assert.equal(30 * MB, limits.get("piapi", "image").bytes.max)
  end)

  it("are separate copies per provider", function()
    assert.are_not.equal(limits.get("sunra", "image"), limits.get("ark", "image"))
    assert.equal(927408, limits.get("crun", "video").pixels.max)
    assert.equal(2086876, limits.get("sunra", "video").pixels.max)
  end)

  it("raise for an unknown provider or type", function()
    assert.has_error(function() limits.get("nope") end)
    assert.has_error(function() limits.get("piapi", "text") end)
    assert.has_error(function() limits.check("nope", image()) end)
    assert.has_error(function() limits.check("piapi", "x") end)
    assert.has_error(function() limits.check("piapi", image(), "text") end)
  end)
end)

for _, p in ipairs(PROVIDERS) do
  describe("limits on " .. p, function()
    it("accepts valid media of each type", function()
      ok(p, image())
      ok(p, video())
      ok(p, audio())
      ok(p, audio { format = "wav" })
      ok(p, video { format = "mov" })
    end)

    it("formats: the listed ones, their aliases, nothing else", function()
      for _, f in ipairs({ "jpeg", "jpg", "png", "webp", "bmp", "tiff", "gif", "heic", "heif" }) do
        ok(p, image { format = f })
      end
      rejects(p, image { format = "avif" }, "image format avif is not accepted")
      rejects(p, video { format = "webm" }, "video format webm is not accepted (mp4, mov)")
      rejects(p, audio { format = "mp2" }, "audio format mp2 is not accepted (wav, mp3)")
      rejects(p, audio { format = "mp4" }, "audio format mp4 is not accepted")
    end)

    it("declared type must agree with the file", function()
      ok(p, image(), "image")
      rejects(p, image(), "declared video but the file is an image (png)", "video")
      rejects(p, audio(), "declared image but the file is audio (mp3)", "image")
      -- a declared type stands in for an unknown one
      ok(p, { width = 1000, height = 1000 }, "image")
      rejects(p, {}, "cannot tell whether the media is an image, a video or an audio")
    end)

    it("image bytes: < 30 MB", function()
      ok(p, image { bytes = 30 * MB - 1 })
      rejects(p, image { bytes = 30 * MB }, "image size 31,457,280 bytes is not below the limit of 30 MB")
    end)

    it("video bytes: <= 50 MB", function()
      ok(p, video { bytes = 50 * MB })
      rejects(p, video { bytes = 50 * MB + 1 }, "video size 52,428,801 bytes is above the maximum 50 MB")
    end)

    it("audio bytes: <= 15 MB", function()
      ok(p, audio { bytes = 15 * MB })
      rejects(p, audio { bytes = 15 * MB + 1 }, "audio size 15,728,641 bytes is above the maximum 15 MB")
    end)

    it("image sides: 300-6000 px", function()
      ok(p, image { width = 300, height = 300 })
      ok(p, image { width = 6000, height = 6000 })
      rejects(p, image { width = 299, height = 300 }, "image width 299 px is below the minimum 300 px")
      rejects(p, image { width = 300, height = 299 }, "image height 299 px is below the minimum 300 px")
      rejects(p, image { width = 6001, height = 6000 }, "image width 6001 px is above the maximum 6000 px")
      rejects(p, image { width = 6000, height = 6001 }, "image height 6001 px is above the maximum 6000 px")
      rejects(p, image { width = 200, height = 300 }, "image width 200 px is below the minimum 300 px (" .. p .. ")")
    end)

    it("image aspect ratio: W/H in 0.4-2.5, exactly", function()
      ok(p, image { width = 400, height = 1000 })
      ok(p, image { width = 2500, height = 1000 })
      ok(p, image { width = 6000, height = 2400 })
      rejects(p, image { width = 400, height = 1001 }, "image aspect ratio 0.3996 (400x1001) is below the minimum 0.4")
      rejects(p, image { width = 2501, height = 1000 }, "image aspect ratio 2.501 (2501x1000) is above the maximum 2.5")
      rejects(p, image { width = 6000, height = 2399 }, "is above the maximum 2.5")
    end)

    it("video sides: 300-6000 px", function()
      -- the pixel budget keeps sides near 300 or 6000 from passing on any provider; the side
      -- check comes first, so each side is judged on its own
      rejects(p, video { width = 299, height = 720 }, "video width 299 px is below the minimum 300 px")
      rejects(p, video { width = 720, height = 299 }, "video height 299 px is below the minimum 300 px")
      rejects(p, video { width = 6001, height = 3000 }, "video width 6001 px is above the maximum 6000 px")
      rejects(p, video { width = 3000, height = 6001 }, "video height 6001 px is above the maximum 6000 px")
      -- 300 and 6000 themselves pass the side check (and fail only later, on pixels or ratio)
      rejects(p, video { width = 300, height = 720 }, "video total pixels")
      rejects(p, video { width = 6000, height = 3000 }, "video total pixels")
    end)

    it("video aspect ratio: W/H in 0.4-2.5, exactly", function()
      ok(p, video { width = 600, height = 1500 })
      ok(p, video { width = 1500, height = 600 })
      rejects(p, video { width = 600, height = 1501 }, "video aspect ratio 0.3997 (600x1501) is below the minimum 0.4")
      rejects(p, video { width = 1501, height = 600 }, "video aspect ratio 2.502 (1501x600) is above the maximum 2.5")
    end)

    it("video total pixels: at least 409,600", function()
      ok(p, video { width = 640, height = 640 })
      ok(p, video { width = 512, height = 800 })
      rejects(p, video { width = 639, height = 641 },
        "video total pixels 409,599 (639x641) is below the minimum 409,600")
    end)

    if p == "crun" then
      it("video total pixels: at most 927,408 (480p/720p only)", function()
        ok(p, video { width = 1112, height = 834 })
        ok(p, video { width = 1280, height = 720 })
        ok(p, video { width = 864, height = 496 })
        rejects(p, video { width = 1206, height = 769 },
          "video total pixels 927,414 (1206x769) is above the maximum 927,408; crun accepts 480p/720p video only")
        rejects(p, video { width = 1920, height = 1080 }, "video total pixels 2,073,600 (1920x1080) is above")
      end)
    else
      it("video total pixels: at most 2,086,876", function()
        ok(p, video { width = 1103, height = 1892 })
        ok(p, video { width = 1920, height = 1080 })
        ok(p, video { width = 1112, height = 834 })
        rejects(p, video { width = 1017, height = 2052 },
          "video total pixels 2,086,884 (1017x2052) is above the maximum 2,086,876")
        rejects(p, video { width = 1920, height = 1088 }, "video total pixels 2,088,960 (1920x1088) is above")
      end)
    end

    it("video duration: 2-15 s", function()
      ok(p, video { duration = 2 })
      ok(p, video { duration = 15 })
      rejects(p, video { duration = 1.999 }, "video duration 1.999 s is below the minimum 2 s")
      rejects(p, video { duration = 15.001 }, "video duration 15.001 s is above the maximum 15 s")
      rejects(p, video { duration = 15.0000001 }, "video duration 15.0000001 s is above the maximum 15 s")
    end)

    it("video frame rate: 24-60 fps", function()
      ok(p, video { fps = 24 })
      ok(p, video { fps = 60 })
      rejects(p, video { fps = 23.976 }, "video frame rate 23.976 fps is below the minimum 24 fps")
      rejects(p, video { fps = 60.001 }, "video frame rate 60.001 fps is above the maximum 60 fps")
    end)

    it("audio duration: 2-15 s", function()
      ok(p, audio { duration = 2 })
      ok(p, audio { duration = 15 })
      rejects(p, audio { duration = 1.999 }, "audio duration 1.999 s is below the minimum 2 s")
      rejects(p, audio { duration = 15.001 }, "audio duration 15.001 s is above the maximum 15 s")
    end)

    it("what was not measured is not checked", function()
      ok(p, { type = "video", format = "mp4" })
      ok(p, { type = "image" })
      ok(p, { type = "audio", format = "wav" })
      ok(p, video { fps = nil, duration = nil, width = nil })
    end)

    it("probed media, exactly at the limits and one step past them", function()
      local function probed(bytes) return assert(core.probe(bytes, { data = true })) end
      ok(p, probed(media.png { width = 300, height = 300 }))
      ok(p, probed(media.jpeg { width = 6000, height = 2400 }))
      rejects(p, probed(media.webp { width = 299, height = 300 }), "image width 299 px")
      rejects(p, probed(media.gif { width = 6001, height = 2401 }), "image width 6001 px")
      rejects(p, probed(media.tiff { width = 1000, height = 2501 }), "image aspect ratio")
      rejects(p, probed(media.heif { width = 64, height = 64, brand = "avif" }), "image format avif")
      ok(p, probed((media.mp4 { width = 640, height = 640, duration = 2, fps = 24 })))
      ok(p, probed((media.mp4 { width = 640, height = 640, duration = 15, fps = 60, moov = "end" })))
      rejects(p, probed((media.mp4 { width = 640, height = 640, duration = 15.04, fps = 25 })),
        "video duration 15.04 s")
      rejects(p, probed((media.mp4 { width = 640, height = 640, duration = 5, fps = "24000/1001" })),
        "video frame rate 23.976 fps")
      rejects(p, probed((media.mp4 { width = 639, height = 641, duration = 5, fps = 30 })),
        "video total pixels 409,599")
      ok(p, probed(media.wav { duration = 2 }))
      ok(p, probed(media.wav { duration = 15, rate = 2000 }))
      rejects(p, probed(media.wav { duration = 1.999 }), "audio duration 1.999 s")
      rejects(p, probed(media.wav { duration = 15.001, rate = 2000 }), "audio duration 15.001 s")
      -- MP3: 44.1 kHz frames are 1152/44100 s; 77 frames are 2.0114 s, 76 are 1.9853 s
      ok(p, probed((media.mp3 { frames = 77, xing = true })))
      rejects(p, probed((media.mp3 { frames = 76, xing = true })), "audio duration 1.985 s")
    end)
  end)
end
