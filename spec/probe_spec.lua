-- seedance.core.probe: every format, from bytes and from files, the range-request contract
-- ("need more"), and unknown, corrupt and truncated media. Media come from
-- spec/support/media.lua (made on the fly, any size) and spec/fixtures/probe/ (real files
-- made once with ffmpeg and ImageMagick, plus the generated fuzz seeds).
local core = require "seedance.core"
local media = require "media"

local probe = core.probe
local FIX = "spec/fixtures/probe/"

local function tmpfile(bytes)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  return path
end

local function image(bytes, format, w, h)
  local info, err = probe(bytes, { data = true })
  assert.is_nil(err)
  assert.same({ type = "image", format = format, width = w, height = h, bytes = #bytes }, info)
end

-- replace the first occurrence of a plain string (5.1 patterns cannot hold "\0")
local function replace(s, old, new)
  local i, j = s:find(old, 1, true)
  assert(i, "replace: not found")
  return s:sub(1, i - 1) .. new .. s:sub(j + 1)
end

local function fails(pattern, bytes, opts)
  local info, err = probe(bytes, opts or { data = true })
  assert.is_nil(info)
  assert.is_string(err)
  assert.matches(pattern, err)
  return err
end

describe("probe: images", function()
  for _, wh in ipairs({ { 1, 1 }, { 300, 300 }, { 299, 6001 }, { 6000, 2400 }, { 70000, 3 } }) do
    local w, h = wh[1], wh[2]
    local tag = w .. "x" .. h
    it("PNG " .. tag, function() image(media.png { width = w, height = h }, "png", w, h) end)
    it("BMP " .. tag, function() image(media.bmp { width = w, height = h }, "bmp", w, h) end)
    it("TIFF little- and big-endian, classic and BigTIFF, " .. tag, function()
      image(media.tiff { width = w, height = h }, "tiff", w, h)
      image(media.tiff { width = w, height = h, order = "MM" }, "tiff", w, h)
      image(media.tiff { width = w, height = h, big = true }, "tiff", w, h)
      image(media.tiff { width = w, height = h, order = "MM", big = true, long = true }, "tiff", w, h)
    end)
    it("HEIF " .. tag, function() image(media.heif { width = w, height = h }, "heif", w, h) end)
    if w <= 16383 and h <= 16383 then
      it("WebP VP8, VP8L, VP8X " .. tag, function()
        image(media.webp { width = w, height = h, kind = "VP8" }, "webp", w, h)
        image(media.webp { width = w, height = h, kind = "VP8L" }, "webp", w, h)
        image(media.webp { width = w, height = h, kind = "VP8X" }, "webp", w, h)
      end)
    end
    if w <= 65535 and h <= 65535 then
      it("JPEG " .. tag, function() image(media.jpeg { width = w, height = h }, "jpeg", w, h) end)
      it("GIF " .. tag, function() image(media.gif { width = w, height = h }, "gif", w, h) end)
    end
  end

  it("JPEG: every SOF marker, and none of the look-alikes", function()
    for _, m in ipairs({ 0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF }) do
      image(media.jpeg { width = 640, height = 480, sof = m }, "jpeg", 640, 480)
    end
    -- DHT, JPG and DAC share the range; a "frame" with those markers is no frame
    for _, m in ipairs({ 0xC4, 0xC8, 0xCC }) do
      local bytes = media.jpeg { width = 640, height = 480, sof = m }
      fails("jpeg: marker 0xDA before any frame header", bytes)
    end
  end)

  it("JPEG: EXIF orientation is ignored for the size", function()
    image(media.jpeg { width = 640, height = 480, orientation = 6 }, "jpeg", 640, 480)
  end)

  it("JPEG: fill bytes before a marker", function()
    image(media.jpeg { width = 640, height = 480, fill = true }, "jpeg", 640, 480)
  end)

  it("JPEG: a frame header 200 KB in, behind big APP segments", function()
    image(media.jpeg { width = 640, height = 480, pad = 200000 }, "jpeg", 640, 480)
  end)

  it("GIF with a 0x0 logical screen takes the first frame's size", function()
    image(media.gif { width = 5, height = 7, zero_screen = true }, "gif", 5, 7)
  end)

  it("BMP: top-down rows and the OS/2 core header", function()
    image(media.bmp { width = 4, height = 3, top_down = true }, "bmp", 4, 3)
    image(media.bmp { width = 4, height = 3, core = true }, "bmp", 4, 3)
  end)

  it("TIFF with its IFD after the pixels", function()
    image(media.tiff { width = 40, height = 30, ifd_at_end = true }, "tiff", 40, 30)
    image(media.tiff { width = 40, height = 30, ifd_at_end = true, order = "MM", big = true }, "tiff", 40, 30)
  end)

  it("HEIF: the primary item's ispe, not the tiles'", function()
    image(media.heif { width = 300, height = 300, tiles = 4 }, "heif", 300, 300)
    image(media.heif { width = 4032, height = 3024, tiles = 48 }, "heif", 4032, 3024)
  end)

  it("HEIF: without pitm, the largest ispe; mif1 brand; meta after mdat", function()
    image(media.heif { width = 640, height = 480, no_pitm = true, tiles = 2 }, "heif", 640, 480)
    image(media.heif { width = 640, height = 480, brand = "mif1" }, "heif", 640, 480)
    image(media.heif { width = 640, height = 480, meta_last = true, mdat = 100000 }, "heif", 640, 480)
  end)

  it("AVIF is recognised (and named so limits can refuse it)", function()
    image(media.heif { width = 64, height = 64, brand = "avif" }, "avif", 64, 64)
  end)
end)

local function video(bytes, expect)
  local info, err = probe(bytes, { data = true })
  assert.is_nil(err)
  assert.is_table(info)
  expect.bytes = #bytes
  expect.type = expect.type or "video"
  for k, v in pairs(expect) do
    if type(v) == "number" and math.floor(v) ~= v then
      assert.is_true(math.abs(info[k] - v) < 1e-9, k .. ": " .. tostring(info[k]) .. " vs " .. v)
    else
      assert.equal(v, info[k], k)
    end
  end
  for k in pairs(info) do assert.is_not_nil(expect[k], "unexpected field " .. k) end
  return info
end

describe("probe: MP4 and MOV", function()
  it("moov at the start and at the end", function()
    for _, where in ipairs({ "start", "end" }) do
      video(media.mp4 { width = 1280, height = 720, duration = 5, fps = 30, moov = where },
        { format = "mp4", width = 1280, height = 720, duration = 5, fps = 30 })
    end
  end)

  it("limits' boundaries: 2 s at 24 fps, 15 s at 60 fps", function()
    video(media.mp4 { width = 640, height = 640, duration = 2, fps = 24 },
      { format = "mp4", width = 640, height = 640, duration = 2, fps = 24 })
    video(media.mp4 { width = 640, height = 640, duration = 15, fps = 60, moov = "end" },
      { format = "mp4", width = 640, height = 640, duration = 15, fps = 60 })
  end)

  it("NTSC rates, rounded to 1/1000 fps", function()
    video(media.mp4 { width = 1920, height = 1080, duration = 4, fps = "30000/1001" },
      { format = "mp4", width = 1920, height = 1080, duration = 4, fps = 29.97 })
    video(media.mp4 { width = 1920, height = 1080, duration = 4, fps = "24000/1001" },
      { format = "mp4", width = 1920, height = 1080, duration = 4, fps = 23.976 })
  end)

  it("version 1 (64-bit) headers, a 64-bit mdat size, and an mdat to the end of the file", function()
    video(media.mp4 { width = 640, height = 480, duration = 3, fps = 25, version = 1, largesize = true, moov = "end" },
      { format = "mp4", width = 640, height = 480, duration = 3, fps = 25 })
    video(media.mp4 { width = 640, height = 480, duration = 3, fps = 25, mdat_to_end = true },
      { format = "mp4", width = 640, height = 480, duration = 3, fps = 25 })
  end)

  it("a free box, two stts runs, an audio track beside the video", function()
    video(media.mp4 { width = 640, height = 480, duration = 6, fps = 50, free = 5000, vfr = true, audio = true },
      { format = "mp4", width = 640, height = 480, duration = 6, fps = 50 })
  end)

  it("fragmented: duration and frame rate from the fragments", function()
    video(media.mp4 { width = 1920, height = 1080, duration = 3, fps = 25, fragmented = true },
      { format = "mp4", width = 1920, height = 1080, duration = 3, fps = 25 })
  end)

  it("QuickTime: qt brand, and no ftyp at all", function()
    video(media.mp4 { width = 720, height = 1280, duration = 5, fps = 30, qt = true },
      { format = "mov", width = 720, height = 1280, duration = 5, fps = 30 })
    video(media.mp4 { width = 720, height = 1280, duration = 5, fps = 30, qt = true, brand = false },
      { format = "mov", width = 720, height = 1280, duration = 5, fps = 30 })
  end)

  it("an MP4 with only sound is audio", function()
    video(media.mp4 { audio_only = true, duration = 3 }, { type = "audio", format = "mp4", duration = 3 })
  end)
end)

describe("probe: audio", function()
  local function audio(bytes, format, duration, opts)
    local info, err = probe(bytes, opts or { data = true })
    assert.is_nil(err)
    assert.equal("audio", info.type)
    assert.equal(format, info.format)
    assert.is_true(math.abs(info.duration - duration) < 1e-9, tostring(info.duration) .. " vs " .. duration)
    assert.is_nil(info.width)
    assert.is_nil(info.fps)
    return info
  end

  it("WAV: PCM 8 and 16 bit, at the 2 s and 15 s boundaries", function()
    audio(media.wav { duration = 2 }, "wav", 2)
    audio(media.wav { duration = 15, rate = 2000 }, "wav", 15)
    audio(media.wav { duration = 1.5, bits = 16, channels = 2, rate = 4000 }, "wav", 1.5)
  end)

  it("WAV: LIST before data, WAVE_FORMAT_EXTENSIBLE, RF64", function()
    audio(media.wav { duration = 2, list = true }, "wav", 2)
    audio(media.wav { duration = 2, extensible = true }, "wav", 2)
    audio(media.wav { duration = 2, rf64 = true }, "wav", 2)
  end)

  it("WAV: a streaming writer's data size runs to the end of the file", function()
    audio(media.wav { duration = 2, streaming = true }, "wav", 2)
  end)

  it("WAV: a data size beyond the file counts only the bytes present", function()
    local full = media.wav { duration = 2 }
    audio(full:sub(1, 44 + 8000), "wav", 1)
    -- but the declared length when only the head is given with the file's size
    audio(full:sub(1, 100), "wav", 2, { size = #full })
  end)

  it("MP3 CBR: bytes over bitrate, ID3v2 skipped, ID3v1 excluded", function()
    local b, m = media.mp3 { frames = 100, id3 = 1000, id3v1 = true }
    local info = audio(b, "mp3", 100 * m.frame_len * 8 / 128000)
    assert.equal(#b, info.bytes)
  end)

  it("MP3 VBR: Xing, Info (LAME CBR) and VBRI frame counts", function()
    audio((media.mp3 { frames = 500, xing = true, rate = 22050, kbps = 32 }), "mp3", 500 * 576 / 22050)
    audio((media.mp3 { frames = 500, info = true, mono = true }), "mp3", 500 * 1152 / 44100)
    audio((media.mp3 { frames = 250, vbri = true, rate = 48000, kbps = 64 }), "mp3", 250 * 1152 / 48000)
  end)

  it("MP3: MPEG-2.5, junk between the tag and the first frame", function()
    audio((media.mp3 { frames = 40, rate = 8000, kbps = 16, id3 = 10, junk = 100 }), "mp3", 40 * 144 * 8 / 16000)
  end)

  it("MP3: a frame sync inside the junk is not taken for a frame", function()
    local b = media.mp3 { frames = 10, id3 = 10 }
    local tagged = b:sub(1, 20) .. "\255\251\144" .. string.rep("\0", 50) .. b:sub(21)
    local info = probe(tagged, { data = true })
    assert.equal("mp3", info.format)
  end)
end)

describe("probe: real files (ffmpeg, ImageMagick)", function()
  -- expected values cross-checked with ffprobe / identify when the files were made
  local cases = {
    { "image/real_1x1.png", { "image", "png", 1, 1 } },
    { "image/real_1x1.jpg", { "image", "jpeg", 1, 1 } },
    { "image/real_1x1.gif", { "image", "gif", 1, 1 } },
    { "image/real_320x240.png", { "image", "png", 320, 240 } },
    { "image/real_320x240.jpg", { "image", "jpeg", 320, 240 } },
    { "image/real_320x240_progressive.jpg", { "image", "jpeg", 320, 240 } },
    { "image/real_320x240.gif", { "image", "gif", 320, 240 } },
    { "image/real_320x240_lossy.webp", { "image", "webp", 320, 240 } },
    { "image/real_320x240_lossless.webp", { "image", "webp", 320, 240 } },
    { "image/real_320x240_alpha.webp", { "image", "webp", 320, 240 } },
    { "image/real_320x240.bmp", { "image", "bmp", 320, 240 } },
    { "image/real_320x240.tiff", { "image", "tiff", 320, 240 } },
    { "heif/real_640x480.heic", { "image", "heif", 640, 480 } },
    { "heif/real_64x48.avif", { "image", "avif", 64, 48 } },
    { "mp4/real_320x240_24fps_2s_faststart.mp4", { "video", "mp4", 320, 240, 2, 24 } },
    { "mp4/real_320x240_24fps_2s_moov_end.mp4", { "video", "mp4", 320, 240, 2, 24 } },
    { "mp4/real_320x240_29.97fps_audio.mov", { "video", "mov", 320, 240, 2.002, 29.97 } },
    { "mp4/real_320x240_60fps_fragmented.mp4", { "video", "mp4", 320, 240, 2, 60 } },
    { "audio/real_2s_8k.wav", { "audio", "wav", nil, nil, 2 } },
    { "audio/real_2s_cbr.mp3", { "audio", "mp3", nil, nil, 2.16 } },
    { "audio/real_2s_cbr_noxing.mp3", { "audio", "mp3", nil, nil, 2.16 } },
    { "audio/real_3s_vbr_xing.mp3", { "audio", "mp3", nil, nil, 3.056327 } },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      local path, e = FIX .. c[1], c[2]
      local info, err = probe(path)
      assert.is_nil(err)
      local f = assert(io.open(path, "rb"))
      local size = f:seek("end")
      f:close()
      assert.equal(e[1], info.type)
      assert.equal(e[2], info.format)
      assert.equal(e[3], info.width)
      assert.equal(e[4], info.height)
      if e[5] then assert.is_true(math.abs(info.duration - e[5]) < 1e-6, tostring(info.duration)) end
      if e[6] then assert.equal(e[6], info.fps) end
      assert.equal(size, info.bytes)
      -- the same answer from the bytes
      local g = assert(io.open(path, "rb"))
      local bytes = g:read("*a")
      g:close()
      assert.same(info, probe(bytes, { data = true }))
    end)
  end
end)

describe("probe: files", function()
  local paths = {}
  local function file(bytes)
    local p = tmpfile(bytes)
    paths[#paths + 1] = p
    return p
  end
  teardown(function() for _, p in ipairs(paths) do os.remove(p) end end)

  it("reads the head and the moov at the end, not the whole file", function()
    local bytes = media.mp4 { width = 1280, height = 720, duration = 10, fps = 30, moov = "end", mdat = 3000000 }
    local path = file(bytes)
    local info = assert(probe(path, { max_read = 200000 }))
    assert.equal(1280, info.width)
    assert.equal(10, info.duration)
    assert.equal(#bytes, info.bytes)
  end)

  it("gives up, with the reason, when the read cap is too small for the moov", function()
    local bytes = media.mp4 { moov = "end", mdat = 300000 }
    local info, err = probe(file(bytes), { max_read = 65536 })
    assert.is_nil(info)
    assert.matches("read cap", err)
  end)

  it("a JPEG whose frame header is 200 KB in", function()
    local info = assert(probe(file(media.jpeg { width = 640, height = 480, pad = 200000 })))
    assert.equal(640, info.width)
  end)

  it("headers scattered over many reads: a file within the cap is then read whole", function()
    local path = file(media.jpeg { width = 640, height = 480, pad = 1000000 })
    assert.equal(640, assert(probe(path)).width)
    local info, err = probe(path, { max_read = 600000 })
    assert.is_nil(info)
    assert.matches("read cap", err)
  end)

  it("a fragmented MP4 from a file", function()
    local bytes = media.mp4 { width = 1920, height = 1080, duration = 3, fps = 25, fragmented = true }
    local info = assert(probe(file(bytes)))
    assert.equal(3, info.duration)
    assert.equal(25, info.fps)
  end)

  it("a TIFF whose IFD is 1 MB in", function()
    local info = assert(probe(file(media.tiff { width = 640, height = 480, pad = 1000000 })))
    assert.equal(480, info.height)
  end)

  it("an empty file, a directory, a missing file", function()
    local _, err = probe(file(""))
    assert.matches("empty file", err)
    _, err = probe("spec")
    assert.matches("not a regular file", err)
    _, err = probe("no/such/file.png")
    assert.matches("cannot open 'no/such/file.png'", err)
  end)

  it("a missing file whose name starts like a signature is still a missing file", function()
    local _, err = probe("BM_missing.bmp")
    assert.matches("cannot open", err)
    _, err = probe("GIF89a.gif")
    assert.matches("cannot open", err)
  end)
end)

describe("probe: the range-request contract", function()
  local bytes, at = media.mp4 { width = 1280, height = 720, duration = 8, fps = 25, moov = "end", mdat = 200000 }
  local head = bytes:sub(1, 65536)

  it("with the head and the size, asks for the moov", function()
    local info, err, need = probe(head, { size = #bytes })
    assert.is_nil(info)
    assert.matches("need", err)
    assert.same({ offset = at.moov, size = 8, hint = #bytes - at.moov }, need)
    local piece = bytes:sub(need.offset + 1, need.offset + need.hint)
    info = assert(probe(head, { size = #bytes, pieces = { { offset = need.offset, data = piece } } }))
    assert.same(probe(bytes, { data = true }), info)
  end)

  it("fetching only the minimum each round still converges", function()
    local pieces, info, err = {}, nil, nil
    for _ = 1, 31 do
      local need
      info, err, need = probe(head, { size = #bytes, pieces = pieces })
      if not need then break end
      -- at least the minimum; 512 bytes keeps the rounds under the 31 pieces allowed
      local n = math.max(need.size, 512)
      pieces[#pieces + 1] = { offset = need.offset, data = bytes:sub(need.offset + 1, need.offset + n) }
    end
    assert.is_nil(err)
    assert.same(probe(bytes, { data = true }), info)
  end)

  it("once the moov header is seen, the hint is the rest of the moov", function()
    local first16 = { offset = at.moov, data = bytes:sub(at.moov + 1, at.moov + 16) }
    local _, _, need = probe(head, { size = #bytes, pieces = { first16 } })
    assert.equal(at.moov + 16, need.offset) -- moov's and mvhd's headers were given
    assert.equal(at.moov_size - 16, need.hint)
  end)

  it("with the size unknown (partial = true), asks all the same; bytes is absent", function()
    local info, _, need = probe(head, { partial = true })
    assert.is_nil(info)
    assert.equal(at.moov, need.offset)
    info = assert(probe(head, { partial = true, pieces = { { offset = at.moov, data = bytes:sub(at.moov + 1) } } }))
    assert.equal(1280, info.width)
    assert.is_nil(info.bytes)
  end)

  it("a TIFF whose IFD is past the head", function()
    local t = media.tiff { width = 640, height = 480, pad = 100000 }
    local _, _, need = probe(t:sub(1, 1000), { size = #t })
    assert.equal(100008, need.offset)
    assert.is_true(need.hint >= 2 + 8 * 12)
  end)

  it("a whole file never asks for more; a head that is the whole file is truncated", function()
    local info, err, need = probe(head, { data = true })
    assert.is_nil(info)
    assert.is_nil(need)
    assert.matches("truncated", err)
  end)
end)

describe("probe: unknown, corrupt and truncated media", function()
  it("unknown bytes", function()
    fails("unknown media format", "\0\1\2\3\4\5\6\7\8\9\10\11\12\13\14\15\16\17")
    fails("unknown media format", string.rep("x", 5000))
    fails("empty", "")
  end)

  it("truncated, every format", function()
    local cases = {
      media.png { width = 300, height = 300 }, media.jpeg { width = 300, height = 300 },
      media.gif { width = 5, height = 5, zero_screen = true }, media.webp { width = 300, height = 300, kind = "VP8" },
      media.bmp { width = 300, height = 300 }, media.tiff { width = 300, height = 300, ifd_at_end = true },
      media.heif { width = 300, height = 300 }, (media.mp4 { moov = "end" }), media.wav { duration = 2 },
    }
    for _, full in ipairs(cases) do
      for _, n in ipairs({ 20, 25 }) do fails("truncated", full:sub(1, n)) end
    end
  end)

  it("corrupt headers", function()
    local png = media.png { width = 300, height = 300 }
    fails("png: IHDR checksum mismatch", png:sub(1, 20) .. "\1" .. png:sub(22))
    fails("png: impossible size", media.png { width = 0, height = 5 })
    fails("jpeg: no marker", "\255\216\255\224\0\16" .. string.rep("J", 14) .. "xx" .. string.rep("\0", 40))
    fails("jpeg: .*DNL", media.jpeg { width = 300, height = 0 })
    fails("gif: no image descriptor", "GIF89a\0\0\0\0\0\0\0\59" .. string.rep("\0", 10))
    fails("webp: first chunk", "RIFF\30\0\0\0WEBPABCD\4\0\0\0" .. string.rep("\0", 18))
    fails("webp: VP8 key frame", (media.webp { width = 9, height = 9, kind = "VP8" }:gsub("\157\1\42", "xyz")))
    fails("bmp: impossible size", media.bmp { width = 0, height = 5 })
    fails("tiff: first IFD", "II\42\0\4\0\0\0" .. string.rep("\0", 20))
    fails("tiff: no ImageWidth", replace(media.tiff { width = 5, height = 5 }, "\0\1\3\0", "\9\9\3\0"))
    fails("heif: no ipco", (media.heif { width = 5, height = 5 }:gsub("ipco", "xxxx")))
    fails("mp4: no moov", ((media.mp4 {}):gsub("moov", "junk")))
    fails("mp4: .*has size 3", (media.mp4 {}):sub(1, 32) .. "\0\0\0\3moov" .. string.rep("\0", 40))
    fails("mp4: compressed", ((media.mp4 {}):gsub("mvhd", "cmov")))
    fails("mp4: no video or audio track", ((media.mp4 {}):gsub("vide", "text")))
    fails("wav: no fmt chunk", "RIFF\36\0\0\0WAVEdata\4\0\0\0\0\0\0\0" .. string.rep("\0", 8))
    fails("wav: byte rate 0", replace(media.wav { duration = 1 }, "\64\31\0\0\1\0\8\0", "\0\0\0\0\1\0\8\0"))
    fails("mp3: no MPEG audio frame", "ID3\3\0\0\0\0\0\10" .. string.rep("\0", 10) .. string.rep("x", 200))
  end)

  it("the generated edge-case fixtures fail as they should", function()
    for _, name in ipairs({ "image/gen_truncated.png", "image/gen_truncated.jpg", "image/gen_corrupt_crc.png",
      "image/gen_corrupt_nosof.jpg", "heif/gen_truncated.heic", "mp4/gen_truncated_moov_end.mp4",
      "mp4/gen_corrupt_box_size.mp4", "audio/gen_truncated.wav", "audio/gen_corrupt.mp3" }) do
      local info, err = probe(FIX .. name)
      assert.is_nil(info, name)
      assert.is_string(err, name)
    end
  end)
end)

describe("probe: arguments", function()
  it("raises for a non-string argument only", function()
    assert.has_error(function() probe(42) end)
    assert.has_error(function() probe(nil) end)
    assert.has_error(function() probe({}) end)
  end)

  it("raises for malformed options", function()
    local png = media.png { width = 1, height = 1 }
    assert.has_error(function() probe(png, { bogus = 1 }) end)
    assert.has_error(function() probe(png, "x") end)
    assert.has_error(function() probe(png, { size = -1 }) end)
    assert.has_error(function() probe(png, { size = 10 }) end) -- smaller than the bytes given
    assert.has_error(function() probe(png, { size = 100, partial = true }) end)
    assert.has_error(function() probe(png, { pieces = { "x" } }) end)
    assert.has_error(function() probe("spec/fixtures/probe/image/real_1x1.png", { size = 100 }) end)
  end)

  it("data = true takes a string as bytes even if a file has that name", function()
    local _, err = probe("spec", { data = true })
    assert.matches("unknown media format", err)
  end)
end)
