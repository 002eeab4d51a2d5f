--- Writes the generated probe fixtures (and fuzz seeds) into spec/fixtures/probe/<family>/.
-- Run from the repository root: lua5.4 spec/support/gen_fixtures.lua
-- The files are committed; the specs build the same media on the fly with spec/support/media.lua,
-- so rerunning this is only needed when media.lua changes.
package.path = "spec/support/?.lua;" .. package.path
local media = require "media"

local root = "spec/fixtures/probe/"
local function write(family, name, bytes)
  local f = assert(io.open(root .. family .. "/gen_" .. name, "wb"))
  f:write(bytes)
  f:close()
end
local function truncated(s, n) return s:sub(1, n) end
local function corrupt(s, at, byte) return s:sub(1, at - 1) .. string.char(byte) .. s:sub(at + 1) end

-- images: 1x1, every limit boundary side (299/300, 6000/6001), variants, truncated, corrupt
for _, wh in ipairs({ { 1, 1 }, { 300, 300 }, { 6000, 2400 } }) do
  local w, h = wh[1], wh[2]
  local tag = w .. "x" .. h
  write("image", tag .. ".png", media.png { width = w, height = h })
  write("image", tag .. ".jpg", media.jpeg { width = w, height = h })
  write("image", tag .. ".gif", media.gif { width = w, height = h })
  write("image", tag .. "_vp8.webp", media.webp { width = w, height = h, kind = "VP8" })
  write("image", tag .. "_vp8l.webp", media.webp { width = w, height = h, kind = "VP8L" })
  write("image", tag .. "_vp8x.webp", media.webp { width = w, height = h, kind = "VP8X" })
  write("image", tag .. ".bmp", media.bmp { width = w, height = h })
  write("image", tag .. "_mm.tiff", media.tiff { width = w, height = h, order = "MM" })
end
write("image", "299x300.png", media.png { width = 299, height = 300 })
write("image", "6001x2401.png", media.png { width = 6001, height = 2401 })
write("image", "300x300_sof2_exif6.jpg", media.jpeg { width = 300, height = 300, sof = 0xC2, orientation = 6 })
write("image", "300x200_sof15_fill.jpg", media.jpeg { width = 300, height = 200, sof = 0xCF, fill = true })
write("image", "zero_screen.gif", media.gif { width = 5, height = 7, zero_screen = true })
write("image", "top_down.bmp", media.bmp { width = 4, height = 3, top_down = true })
write("image", "core.bmp", media.bmp { width = 4, height = 3, core = true })
write("image", "ifd_end_ii.tiff", media.tiff { width = 4, height = 3, ifd_at_end = true })
write("image", "big_mm.tiff", media.tiff { width = 70000, height = 3, order = "MM", big = true })
write("image", "truncated.png", truncated(media.png { width = 300, height = 300 }, 20))
write("image", "corrupt_crc.png", corrupt(media.png { width = 300, height = 300 }, 30, 0))
write("image", "truncated.jpg", truncated(media.jpeg { width = 300, height = 300, orientation = 6 }, 60))
write("image", "corrupt_nosof.jpg", media.jpeg { width = 300, height = 300 }:gsub("\255\192", "\255\254"))

-- heif / avif
write("heif", "1x1.heic", media.heif { width = 1, height = 1 })
write("heif", "300x300_grid.heic", media.heif { width = 300, height = 300, tiles = 4 })
write("heif", "4000x3000_meta_last.heic", media.heif { width = 4000, height = 3000, meta_last = true })
write("heif", "640x480_nopitm_mif1.heif", media.heif { width = 640, height = 480, brand = "mif1", no_pitm = true })
write("heif", "64x64.avif", media.heif { width = 64, height = 64, brand = "avif" })
write("heif", "truncated.heic", truncated(media.heif { width = 300, height = 300 }, 50))

-- video
local function mp4(name, o) write("mp4", name, (media.mp4(o))) end
mp4("640x640_2s_24fps_start.mp4", { width = 640, height = 640, duration = 2, fps = 24 })
mp4("640x640_15s_60fps_end.mp4", { width = 640, height = 640, duration = 15, fps = 60, moov = "end" })
mp4("1112x834_5s_30fps_v1_large.mp4",
  { width = 1112, height = 834, duration = 5, fps = 30, version = 1, largesize = true, moov = "end" })
mp4("720x1280_5s_29.97_audio.mov",
  { width = 720, height = 1280, duration = 5, fps = "30000/1001", qt = true, audio = true })
mp4("1920x1080_3s_25fps_fragmented.mp4", { width = 1920, height = 1080, duration = 3, fps = 25, fragmented = true })
mp4("640x360_4s_vfr_to_end.mp4", { width = 640, height = 360, duration = 4, fps = 30, vfr = true, mdat_to_end = true })
mp4("audio_only.mp4", { audio_only = true, duration = 3 })
mp4("noftyp.mov", { width = 640, height = 480, brand = false, qt = true })
write("mp4", "truncated_moov_end.mp4", truncated((media.mp4 { moov = "end", mdat = 1000 }), 1100))
write("mp4", "corrupt_box_size.mp4", corrupt((media.mp4 { moov = "start" }), 36, 0xFF))

-- audio
write("audio", "2s_8k.wav", media.wav { duration = 2 })
write("audio", "15s_2k.wav", media.wav { duration = 15, rate = 2000 })
write("audio", "0.5s_16bit_stereo_list.wav",
  media.wav { duration = 0.5, rate = 4000, bits = 16, channels = 2, list = true })
write("audio", "2s_rf64.wav", media.wav { duration = 2, rf64 = true })
write("audio", "2s_extensible.wav", media.wav { duration = 2, extensible = true })
write("audio", "truncated.wav", truncated(media.wav { duration = 2 }, 30))
write("audio", "cbr_id3.mp3", (media.mp3 { frames = 20, id3 = 300, id3v1 = true }))
write("audio", "xing.mp3", (media.mp3 { frames = 80, xing = true, rate = 22050, kbps = 32 }))
write("audio", "info_mono.mp3", (media.mp3 { frames = 80, info = true, mono = true, kbps = 64 }))
write("audio", "vbri.mp3", (media.mp3 { frames = 80, vbri = true, rate = 48000, kbps = 64 }))
write("audio", "junk_mpeg25.mp3", (media.mp3 { frames = 40, rate = 8000, kbps = 16, id3 = 10, junk = 100 }))
write("audio", "corrupt.mp3", "ID3\3\0\0\0\0\0\10" .. string.rep("\0", 10) .. string.rep("x", 200))
print("ok")
