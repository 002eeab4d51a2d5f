--- Test media made on the fly: minimal, valid headers for every format seedance.probe
-- reads, at any size, so specs can stand exactly on a limit or one step past it.
--
-- Small images come out fully decodable (PNG, BMP, TIFF carry real pixels, GIF and WAV real
-- data); large ones carry their headers and only token pixel data, which is all a header
-- probe reads. Video and MP3 files carry real container structure with filler media data.
-- Runs on Lua 5.1 through 5.4 and LuaJIT.
-- @module media

local M = {}

local char, rep, concat, floor = string.char, string.rep, table.concat, math.floor

-- ---- byte helpers -------------------------------------------------------------------------

local function u8(n) return char(n % 256) end
local function be16(n) return char(floor(n / 256) % 256, n % 256) end
local function be24(n) return char(floor(n / 65536) % 256, floor(n / 256) % 256, n % 256) end
local function be32(n)
  return char(floor(n / 16777216) % 256, floor(n / 65536) % 256, floor(n / 256) % 256, n % 256)
end
local function be64(n) return be32(floor(n / 4294967296)) .. be32(n % 4294967296) end
local function le16(n) return char(n % 256, floor(n / 256) % 256) end
local function le24(n) return char(n % 256, floor(n / 256) % 256, floor(n / 65536) % 256) end
local function le32(n)
  return char(n % 256, floor(n / 256) % 256, floor(n / 65536) % 256, floor(n / 16777216) % 256)
end
local function le64(n) return le32(n % 4294967296) .. le32(floor(n / 4294967296)) end
M.be16, M.be32, M.be64, M.le16, M.le32, M.le64 = be16, be32, be64, le16, le32, le64

-- xor of two bytes-or-words, without bitwise operators (5.1) or with them where they exist
local bxor
-- luacheck: read globals bit32 loadstring
if bit32 then
  bxor = bit32.bxor
elseif jit and pcall(require, "bit") then
  local bit = require "bit"
  bxor = function(a, b) return bit.bxor(a, b) % 4294967296 end
else
  local ok, f = pcall(load or loadstring, "return function(a, b) return a ~ b end")
  if ok and f then bxor = f() end
  if not bxor then
    bxor = function(a, b)
      local r, p = 0, 1
      while a > 0 or b > 0 do
        local x, y = a % 2, b % 2
        if x ~= y then r = r + p end
        a, b, p = floor(a / 2), floor(b / 2), p * 2
      end
      return r
    end
  end
end

local crc_table
--- CRC-32 (PNG, zlib's polynomial) of a string.
function M.crc32(s)
  if not crc_table then
    crc_table = {}
    for i = 0, 255 do
      local c = i
      for _ = 1, 8 do
        if c % 2 == 1 then c = bxor(floor(c / 2), 0xEDB88320) else c = floor(c / 2) end
      end
      crc_table[i] = c
    end
  end
  local c = 0xFFFFFFFF
  for i = 1, #s do
    c = bxor(floor(c / 256), crc_table[bxor(c % 256, s:byte(i))])
  end
  return bxor(c, 0xFFFFFFFF)
end

local function adler32(s)
  local a, b = 1, 0
  for i = 1, #s do
    a = (a + s:byte(i)) % 65521
    b = (b + a) % 65521
  end
  return b * 65536 + a
end

-- zlib stream of stored (uncompressed) deflate blocks
local function zlib_stored(data)
  local out, pos = { "\120\1" }, 1
  repeat
    local chunk = data:sub(pos, pos + 65534)
    pos = pos + #chunk
    local final = pos > #data and 1 or 0
    out[#out + 1] = char(final) .. le16(#chunk) .. le16(65535 - #chunk) .. chunk
  until pos > #data
  out[#out + 1] = be32(adler32(data))
  return concat(out)
end

local REAL_PIXELS = 65536 -- up to this many pixels, images carry real pixel data

-- ---- images -------------------------------------------------------------------------------

local function png_chunk(kind, data)
  return be32(#data) .. kind .. data .. be32(M.crc32(kind .. data))
end

--- PNG: 8-bit greyscale; real IDAT up to 65536 pixels, else an empty stored block.
-- @param o {width=, height=}
function M.png(o)
  local w, h = o.width or 1, o.height or 1
  local raw
  if w * h <= REAL_PIXELS then
    raw = rep("\0" .. rep("\128", w), h)
  else
    raw = ""
  end
  return "\137PNG\r\n\26\n"
    .. png_chunk("IHDR", be32(w) .. be32(h) .. "\8\0\0\0\0")
    .. png_chunk("IDAT", zlib_stored(raw))
    .. png_chunk("IEND", "")
end

local function jpeg_seg(marker, data) return "\255" .. char(marker) .. be16(#data + 2) .. data end

-- an APP1 Exif segment whose IFD0 carries Orientation
local function exif(orientation)
  local tiff = "MM\0\42" .. be32(8) .. be16(1) .. be16(0x0112) .. be16(3) .. be32(1)
    .. be16(orientation) .. be16(0) .. be32(0)
  return jpeg_seg(0xE1, "Exif\0\0" .. tiff)
end

--- JPEG headers: SOI, APP0, optional Exif orientation and padding segments, DQT, SOFn, DHT,
-- SOS, a little entropy data, EOI.
-- @param o {width=, height=, sof=0xC0 (any SOF marker), orientation=6, pad=bytes of APP
--   segments before the frame header, fill=true (0xFF fill bytes before the SOF marker)}
function M.jpeg(o)
  local w, h = o.width or 1, o.height or 1
  local parts = { "\255\216", jpeg_seg(0xE0, "JFIF\0\1\1\0\0\1\0\1\0\0") }
  if o.orientation then parts[#parts + 1] = exif(o.orientation) end
  local pad = o.pad or 0
  while pad > 0 do
    local n = math.min(pad, 65533)
    parts[#parts + 1] = jpeg_seg(0xE2, rep("p", n))
    pad = pad - n - 4
  end
  parts[#parts + 1] = jpeg_seg(0xDB, "\0" .. rep("\1", 64))
  if o.fill then parts[#parts + 1] = "\255\255\255" end
  parts[#parts + 1] = jpeg_seg(o.sof or 0xC0, "\8" .. be16(h) .. be16(w) .. "\1\1\17\0")
  parts[#parts + 1] = jpeg_seg(0xC4, "\0" .. "\0\1" .. rep("\0", 14) .. "\0")
  parts[#parts + 1] = jpeg_seg(0xDA, "\1\1\0\0\63\0")
  parts[#parts + 1] = "\0\0\0\0\255\217"
  return concat(parts)
end

--- GIF89a with one frame (real LZW data for a 1x1 picture, a token block otherwise).
-- @param o {width=, height=, zero_screen=true (logical screen 0x0: size from the frame)}
function M.gif(o)
  local w, h = o.width or 1, o.height or 1
  local sw, sh = w, h
  if o.zero_screen then sw, sh = 0, 0 end
  return "GIF89a" .. le16(sw) .. le16(sh) .. "\128\0\0" .. "\0\0\0\255\255\255"
    .. "\33\249\4\0\0\0\0\0" -- graphic control extension
    .. "\44" .. le16(0) .. le16(0) .. le16(w) .. le16(h) .. "\0"
    .. "\2\2\68\1\0" .. "\59"
end

--- WebP in each of its three first chunks.
-- @param o {width=, height=, kind="VP8"|"VP8L"|"VP8X"}
function M.webp(o)
  local w, h, kind = o.width or 1, o.height or 1, o.kind or "VP8L"
  local chunk
  if kind == "VP8" then
    -- key frame tag (show_frame, partition size 0), start code, 14-bit sizes, token data
    chunk = "VP8 " .. le32(20) .. "\16\0\0" .. "\157\1\42" .. le16(w) .. le16(h) .. rep("\0", 10)
  elseif kind == "VP8L" then
    local bits = (w - 1) + (h - 1) * 16384 -- 14 + 14 bits, alpha 0, version 0
    chunk = "VP8L" .. le32(6) .. "\47" .. le32(bits) .. "\0"
  else
    local inner = "VP8L" .. le32(6) .. "\47" .. le32(0) .. "\0"
    chunk = "VP8X" .. le32(10) .. "\16\0\0\0" .. le24(w - 1) .. le24(h - 1) .. inner
  end
  return "RIFF" .. le32(4 + #chunk) .. "WEBP" .. chunk
end

--- BMP, 24-bit; real rows up to 65536 pixels.
-- @param o {width=, height=, top_down=true, core=true (12-byte OS/2 header)}
function M.bmp(o)
  local w, h = o.width or 1, o.height or 1
  local stride = floor((w * 3 + 3) / 4) * 4
  local pixels = w * h <= REAL_PIXELS and rep("\200", stride * h) or ""
  local dib
  if o.core then
    dib = le32(12) .. le16(w) .. le16(h) .. le16(1) .. le16(24)
  else
    local hh = o.top_down and 4294967296 - h or h
    dib = le32(40) .. le32(w) .. le32(hh) .. le16(1) .. le16(24) .. le32(0) .. le32(#pixels)
      .. le32(2835) .. le32(2835) .. le32(0) .. le32(0)
  end
  local off = 14 + #dib
  return "BM" .. le32(off + #pixels) .. le32(0) .. le32(off) .. dib .. pixels
end

--- TIFF, 8-bit greyscale, one strip; real pixels up to 65536 of them.
-- @param o {width=, height=, order="II"|"MM", big=true (BigTIFF), long=true (LONG sizes),
--   ifd_at_end=true (pixels first, IFD last, as many writers do), pad=bytes before the IFD}
function M.tiff(o)
  local w, h = o.width or 1, o.height or 1
  local mm = o.order == "MM"
  local s16 = mm and be16 or le16
  local s32 = mm and be32 or le32
  local s64 = mm and be64 or le64
  local pixels = w * h <= REAL_PIXELS and rep("\128", w * h) or "\128"
  local big = o.big
  local hdr_len = big and 16 or 8
  local entries_n = 8
  local ifd_len = big and (8 + entries_n * 20 + 8) or (2 + entries_n * 12 + 4)
  local pad = rep("\0", o.pad or 0)
  local ifd_off, pix_off
  if o.ifd_at_end then
    pix_off = hdr_len + #pad
    ifd_off = pix_off + #pixels + (#pixels % 2)
  else
    ifd_off = hdr_len + #pad
    pix_off = ifd_off + ifd_len
  end
  local function entry(tag, typ, val)
    if big then
      local v = typ == 3 and s16(val) .. "\0\0\0\0\0\0" or typ == 4 and s32(val) .. "\0\0\0\0" or s64(val)
      return s16(tag) .. s16(typ) .. s64(1) .. v
    end
    return s16(tag) .. s16(typ) .. s32(1) .. (typ == 3 and s16(val) .. "\0\0" or s32(val))
  end
  local size_type = (o.long or w > 65535 or h > 65535) and 4 or 3
  local ents = {
    entry(256, size_type, w), entry(257, size_type, h), entry(258, 3, 8), entry(259, 3, 1),
    entry(262, 3, 1), entry(273, 4, pix_off), entry(278, size_type, h),
    entry(279, 4, #pixels),
  }
  local ifd
  if big then
    ifd = s64(entries_n) .. concat(ents) .. s64(0)
  else
    ifd = s16(entries_n) .. concat(ents) .. s32(0)
  end
  local head
  if big then
    head = (mm and "MM" or "II") .. s16(43) .. s16(8) .. s16(0) .. s64(ifd_off)
  else
    head = (mm and "MM" or "II") .. s16(42) .. s32(ifd_off)
  end
  if o.ifd_at_end then
    return head .. pad .. pixels .. rep("\0", #pixels % 2) .. ifd
  end
  return head .. pad .. ifd .. pixels
end

-- ---- ISO-BMFF -----------------------------------------------------------------------------

local function box(kind, ...)
  local body = concat({ ... })
  return be32(8 + #body) .. kind .. body
end
local function fullbox(kind, version, flags, ...)
  return box(kind, u8(version) .. be24(flags), ...)
end
M.box, M.fullbox = box, fullbox

--- HEIF/HEIC (or AVIF): ftyp, meta (hdlr, pitm, iinf, iprp: ipco with ispe, ipma), mdat.
-- @param o {width=, height=, brand="heic"|"mif1"|"avif", tiles=n (the primary item is a
--   grid with n 512x512 tiles, each with its own ispe), no_pitm=true, meta_last=true
--   (meta after mdat), mdat=bytes of filler}
function M.heif(o)
  local w, h = o.width or 1, o.height or 1
  local brand = o.brand or "heic"
  local codec = brand == "avif" and "av01" or "hvc1"
  local tiles = o.tiles or 0
  local props, assoc, infes = {}, {}, {}
  -- property 1: the tile / coded image size, 2: the primary image size
  props[#props + 1] = fullbox("ispe", 0, 0, be32(tiles > 0 and 512 or w), be32(tiles > 0 and 512 or h))
  if tiles > 0 then props[#props + 1] = fullbox("ispe", 0, 0, be32(w), be32(h)) end
  if tiles > 0 then
    infes[#infes + 1] = fullbox("infe", 2, 0, be16(1), be16(0), "grid", "\0")
    assoc[#assoc + 1] = be16(1) .. u8(1) .. u8(0x80 + 2) -- item 1 (grid): ispe #2
    for i = 1, tiles do
      infes[#infes + 1] = fullbox("infe", 2, 1, be16(1 + i), be16(0), codec, "\0")
      assoc[#assoc + 1] = be16(1 + i) .. u8(1) .. u8(0x80 + 1)
    end
  else
    infes[#infes + 1] = fullbox("infe", 2, 0, be16(1), be16(0), codec, "\0")
    assoc[#assoc + 1] = be16(1) .. u8(1) .. u8(0x80 + 1)
  end
  -- in the tiled case list the tiles first, so "first ispe" would be the wrong answer
  local meta = fullbox("meta", 0, 0,
    fullbox("hdlr", 0, 0, be32(0), "pict", rep("\0", 12), "\0"),
    o.no_pitm and "" or fullbox("pitm", 0, 0, be16(1)),
    fullbox("iinf", 0, 0, be16(#infes), concat(infes)),
    box("iprp", box("ipco", concat(props)), fullbox("ipma", 0, 0, be32(#assoc), concat(assoc))))
  local compat = brand == "avif" and "avifmif1miaf" or "mif1heicmiaf"
  local ftyp = box("ftyp", brand, be32(0), compat)
  local mdat = box("mdat", rep("\0", o.mdat or 16))
  if o.meta_last then return ftyp .. mdat .. meta end
  return ftyp .. meta .. mdat
end

local function round(x) return floor(x + 0.5) end

-- timescale and per-frame delta for a frame rate given as a number or "num/den"
local function rate(fps)
  if type(fps) == "string" then
    local n, d = fps:match("^(%d+)/(%d+)$")
    return tonumber(n), tonumber(d)
  end
  if fps == floor(fps) then return fps * 512, 512 end
  return round(fps * 1000), 1000
end

local function video_trak(o, track_id, frames, ts, delta)
  local w, h = o.width, o.height
  local tkhd = fullbox("tkhd", 0, 3, be32(0), be32(0), be32(track_id), be32(0),
    be32(round(frames * delta / ts * 1000)), rep("\0", 8), be16(0), be16(0), be16(0), be16(0),
    be32(0x10000), be32(0), be32(0), be32(0), be32(0x10000), be32(0), be32(0), be32(0),
    be32(0x40000000), be32(w * 65536), be32(h * 65536))
  local mdhd
  if o.version == 1 then
    mdhd = fullbox("mdhd", 1, 0, be64(0), be64(0), be32(ts), be64(frames * delta), be16(0x55C4), be16(0))
  else
    mdhd = fullbox("mdhd", 0, 0, be32(0), be32(0), be32(ts), be32(frames * delta), be16(0x55C4), be16(0))
  end
  local entry = box("avc1", rep("\0", 6), be16(1), rep("\0", 16), be16(w), be16(h),
    be32(0x00480000), be32(0x00480000), be32(0), be16(1), rep("\0", 32), be16(24), be16(0xFFFF))
  local stts
  if o.fragmented then
    stts = fullbox("stts", 0, 0, be32(0))
  elseif o.vfr then -- two runs at different deltas, same total
    local a = floor(frames / 2)
    stts = fullbox("stts", 0, 0, be32(2), be32(a), be32(delta), be32(frames - a), be32(delta))
  else
    stts = fullbox("stts", 0, 0, be32(1), be32(frames), be32(delta))
  end
  local stbl = box("stbl", fullbox("stsd", 0, 0, be32(1), entry), stts,
    fullbox("stsc", 0, 0, be32(0)), fullbox("stsz", 0, 0, be32(0), be32(0)),
    fullbox("stco", 0, 0, be32(0)))
  local hdlr_type = o.qt and "mhlr" or "\0\0\0\0"
  return box("trak", tkhd, box("mdia", mdhd,
    fullbox("hdlr", 0, 0, hdlr_type, "vide", rep("\0", 12), "VideoHandler\0"),
    box("minf", fullbox("vmhd", 0, 1, rep("\0", 8)), stbl)))
end

local function audio_trak(track_id, seconds)
  local ts = 48000
  local tkhd = fullbox("tkhd", 0, 3, be32(0), be32(0), be32(track_id), be32(0),
    be32(round(seconds * 1000)), rep("\0", 8), be16(0), be16(1), be16(0x100), be16(0),
    be32(0x10000), be32(0), be32(0), be32(0), be32(0x10000), be32(0), be32(0), be32(0),
    be32(0x40000000), be32(0), be32(0))
  local frames = round(seconds * ts / 1024)
  return box("trak", tkhd, box("mdia",
    fullbox("mdhd", 0, 0, be32(0), be32(0), be32(ts), be32(frames * 1024), be16(0x55C4), be16(0)),
    fullbox("hdlr", 0, 0, be32(0), "soun", rep("\0", 12), "SoundHandler\0"),
    box("minf", fullbox("smhd", 0, 0, be32(0)), box("stbl",
      fullbox("stsd", 0, 0, be32(1), box("mp4a", rep("\0", 6), be16(1), rep("\0", 8),
        be16(2), be16(16), be32(0), be32(ts * 65536))),
      fullbox("stts", 0, 0, be32(1), be32(frames), be32(1024))))))
end

--- MP4 or MOV: ftyp, moov (mvhd, video trak, optional audio trak), mdat; moov before or
-- after mdat. Returns the bytes and a table of offsets {moov=, moov_size=, mdat=}.
-- @param o {width=, height=, duration=seconds, fps=number or "30000/1001", moov="start"|
--   "end", brand="isom"|"qt  ", qt=true (QuickTime hdlr and no ftyp when brand is false),
--   version=1 (64-bit mvhd/mdhd), largesize=true (mdat with a 64-bit size),
--   mdat_to_end=true (mdat size 0; only with moov="start"), mdat=bytes of filler,
--   fragmented=true (empty moov, moof/mdat fragments), vfr=true (two stts runs),
--   audio=true (an audio track too), audio_only=true, free=bytes (a free box after ftyp)}
function M.mp4(o)
  local w, h = o.width or 640, o.height or 360
  o.width, o.height = w, h
  local seconds = o.duration or 5
  local ts, delta = rate(o.fps or 24)
  local frames = round(seconds * ts / delta)
  local mts, mdur = 1000, round(seconds * 1000)
  local mvhd
  local mvdur = o.fragmented and 0 or mdur
  if o.version == 1 then
    mvhd = fullbox("mvhd", 1, 0, be64(0), be64(0), be32(mts), be64(mvdur), be32(0x10000),
      be16(0x100), rep("\0", 10), rep("\0", 36), rep("\0", 24), be32(3))
  else
    mvhd = fullbox("mvhd", 0, 0, be32(0), be32(0), be32(mts), be32(mvdur), be32(0x10000),
      be16(0x100), rep("\0", 10), rep("\0", 36), rep("\0", 24), be32(3))
  end
  local traks = {}
  if not o.audio_only then traks[#traks + 1] = video_trak(o, 1, frames, ts, delta) end
  if o.audio or o.audio_only then traks[#traks + 1] = audio_trak(2, seconds) end
  local mvex = ""
  if o.fragmented then
    mvex = box("mvex", fullbox("trex", 0, 0, be32(1), be32(1), be32(0), be32(0), be32(0)))
  end
  local moov = box("moov", mvhd, concat(traks), mvex)
  local ftyp = ""
  if o.brand ~= false then
    local brand = o.brand or (o.qt and "qt  " or "isom")
    ftyp = box("ftyp", brand, be32(0x200), brand == "qt  " and "qt  " or "isomiso2avc1mp41")
  end
  local free = o.free and box("free", rep("\0", o.free)) or ""
  local payload = rep("\0", o.mdat or 64)
  local mdat
  if o.largesize then
    mdat = be32(1) .. "mdat" .. be64(16 + #payload) .. payload
  elseif o.mdat_to_end then
    mdat = be32(0) .. "mdat" .. payload
  else
    mdat = box("mdat", payload)
  end
  local frags = ""
  if o.fragmented then
    -- two fragments, half the frames each, per-sample durations in the second
    local a = floor(frames / 2)
    local b = frames - a
    local traf1 = box("traf", fullbox("tfhd", 0, 0x08, be32(1), be32(delta)),
      fullbox("trun", 0, 0, be32(a)))
    local durs = {}
    for i = 1, b do durs[i] = be32(delta) end
    local traf2 = box("traf", fullbox("tfhd", 0, 0, be32(1)),
      fullbox("trun", 0, 0x100, be32(b), concat(durs)))
    frags = box("moof", fullbox("mfhd", 0, 0, be32(1)), traf1) .. box("mdat", "\0\0\0\0")
      .. box("moof", fullbox("mfhd", 0, 0, be32(2)), traf2) .. box("mdat", "\0\0\0\0")
  end
  local out, info
  if o.moov == "end" then
    out = ftyp .. free .. mdat .. frags .. moov
    info = { moov = #ftyp + #free + #mdat + #frags, mdat = #ftyp + #free }
  else
    out = ftyp .. free .. moov .. frags .. mdat
    info = { moov = #ftyp + #free, mdat = #ftyp + #free + #moov + #frags }
  end
  info.moov_size = #moov
  return out, info
end

-- ---- audio --------------------------------------------------------------------------------

--- WAV, PCM; data is real (silence) unless declared=true (header only, data size declared).
-- @param o {duration=seconds, rate=8000, channels=1, bits=8, rf64=true, list=true (a LIST
--   chunk before data), extensible=true, streaming=true (data size 0xFFFFFFFF)}
function M.wav(o)
  local rate_, ch, bits = o.rate or 8000, o.channels or 1, o.bits or 8
  local align = ch * bits / 8
  local bytes = round((o.duration or 2) * rate_) * align
  local fmt
  if o.extensible then
    fmt = "fmt " .. le32(40) .. le16(0xFFFE) .. le16(ch) .. le32(rate_) .. le32(rate_ * align)
      .. le16(align) .. le16(bits) .. le16(22) .. le16(bits) .. le32(0)
      .. le16(1) .. "\0\0\0\0\16\0\128\0\0\170\0\56\155\113"
  else
    fmt = "fmt " .. le32(16) .. le16(1) .. le16(ch) .. le32(rate_) .. le32(rate_ * align)
      .. le16(align) .. le16(bits)
  end
  local list = o.list and ("LIST" .. le32(10) .. "INFOabcdef") or ""
  local data = o.declared and "" or rep(bits == 8 and "\128" or "\0", bytes)
  local data_size = bytes
  if o.streaming then data_size = 0xFFFFFFFF end
  if o.rf64 then
    local ds64 = "ds64" .. le32(28) .. le64(36 + bytes) .. le64(bytes) .. le64(bytes / align) .. le32(0)
    local body = "WAVE" .. ds64 .. fmt .. list .. "data" .. le32(0xFFFFFFFF) .. data
    return "RF64" .. le32(0xFFFFFFFF) .. body
  end
  local body = "WAVE" .. fmt .. list .. "data" .. le32(data_size) .. data .. (bytes % 2 == 1 and "\0" or "")
  return "RIFF" .. le32(#body) .. body
end

-- MPEG audio frame header fields -> 4 bytes and the frame length
local MPA_RATES = { [44100] = { 3, 0 }, [48000] = { 3, 1 }, [32000] = { 3, 2 },
  [22050] = { 2, 0 }, [24000] = { 2, 1 }, [16000] = { 2, 2 },
  [11025] = { 0, 0 }, [12000] = { 0, 1 }, [8000] = { 0, 2 } }
local L3_KBPS = {
  [3] = { 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320 },
  [2] = { 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160 },
}
L3_KBPS[0] = L3_KBPS[2]

local function mpa_frame_header(sr, kbps, mono)
  local v = MPA_RATES[sr]
  assert(v, "unsupported sample rate")
  local ver, si = v[1], v[2]
  local bi
  for i, k in ipairs(L3_KBPS[ver]) do if k == kbps then bi = i end end
  assert(bi, "unsupported bitrate for this sample rate")
  local b1 = 0xE0 + ver * 8 + 1 * 2 + 1 -- layer III, no CRC
  local b2 = bi * 16 + si * 4
  local b3 = mono and 0xC0 or 0x00
  local spf = ver == 3 and 1152 or 576
  local len = floor(spf / 8 * kbps * 1000 / sr)
  return char(0xFF, b1, b2, b3), len, spf, ver == 3
end

--- MP3 (MPEG layer III) frames of silence, CBR or with a Xing/Info or VBRI header.
-- @param o {frames=n, rate=44100, kbps=128, mono=true, xing=true, info=true (LAME's CBR
--   "Info"), vbri=true, id3=bytes of ID3v2 tag, id3v1=true, junk=bytes before the first frame}
-- @return bytes, and {first=offset of the first frame, frame_len=, spf=}
function M.mp3(o)
  local sr, kbps = o.rate or 44100, o.kbps or 128
  local hdr, len, spf, m1 = mpa_frame_header(sr, kbps, o.mono)
  local n = o.frames or 100
  local frame = hdr .. rep("\0", len - 4)
  local parts = {}
  if o.id3 then
    local size = o.id3
    local ss = char(floor(size / 2097152) % 128, floor(size / 16384) % 128, floor(size / 128) % 128, size % 128)
    parts[#parts + 1] = "ID3\3\0\0" .. ss .. rep("\0", size)
  end
  if o.junk then parts[#parts + 1] = rep("\0", o.junk) end
  local first = #concat(parts)
  if o.xing or o.info or o.vbri then
    local side = m1 and (o.mono and 17 or 32) or (o.mono and 9 or 17)
    local body
    if o.vbri then
      body = rep("\0", 32) .. "VBRI" .. be16(1) .. be16(0) .. be16(75) .. be32(n * len) .. be32(n)
        .. be16(0) .. be16(1) .. be16(2) .. be16(1)
    else
      body = rep("\0", side) .. (o.info and "Info" or "Xing") .. be32(3) .. be32(n) .. be32(n * len)
    end
    parts[#parts + 1] = hdr .. body .. rep("\0", len - 4 - #body)
  end
  parts[#parts + 1] = rep(frame, n)
  if o.id3v1 then parts[#parts + 1] = "TAG" .. rep("\0", 125) end
  return concat(parts), { first = first, frame_len = len, spf = spf, rate = sr }
end

return M
