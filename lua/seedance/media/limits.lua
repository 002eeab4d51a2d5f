--- Per-provider media limits, and the check that applies them to what `seedance.probe`
-- measured, so that a reference the provider would reject fails at once, with the reason,
-- instead of minutes later as a `Failed` asset.
--
-- The figures are those of `reference/providers.md` ("Media limits"), the same for the six
-- providers except crun's tighter video limit (480p/720p only: at most 927,408 pixels).
-- Bounds are inclusive unless the table says `max_exclusive` ("< 30 MB"); a measurement the
-- probe could not make (nil) is not checked: the provider decides.
--
-- **MB means 1024 * 1024 bytes.** The docs write "30 MB" without saying which; of the two
-- readings this is the more permissive (31,457,280 rather than 30,000,000 bytes), and a
-- preflight check must never refuse what the provider would accept: a false rejection blocks
-- a valid upload with no request made, while a false pass costs no more than no check did.
-- @module seedance.media.limits
local M = {}

local MB = 1024 * 1024
M.MB = MB

--- The providers that have limit tables, in the order of providers.md.
M.providers = require("seedance.providers").NAMES

-- Formats as seedance.probe names them; the aliases users write map onto them.
local ALIASES = { jpg = "jpeg", heic = "heif", tif = "tiff" }

local function base()
  return {
    image = {
      formats = { "jpeg", "png", "webp", "bmp", "tiff", "gif", "heif" },
      bytes = { max = 30 * MB, max_exclusive = true, text = "30 MB" },   -- "< 30 MB"
      side = { min = 300, max = 6000 },                                  -- "each side 300-6000 px"
      ratio = { min = { 2, 5 }, max = { 5, 2 } },                        -- "W/H in 0.4-2.5"
    },
    video = {
      formats = { "mp4", "mov" },
      bytes = { max = 50 * MB, text = "50 MB" },                         -- "<= 50 MB"
      duration = { min = 2, max = 15 },                                  -- "2-15 s"
      fps = { min = 24, max = 60 },                                      -- "24-60 fps"
      side = { min = 300, max = 6000 },
      ratio = { min = { 2, 5 }, max = { 5, 2 } },
      pixels = { min = 409600, max = 2086876 },                          -- "409,600-2,086,876"
    },
    audio = {
      formats = { "wav", "mp3" },
      bytes = { max = 15 * MB, text = "15 MB" },                         -- "<= 15 MB"
      duration = { min = 2, max = 15 },                                  -- "2-15 s"
    },
  }
end

--- Limit tables by provider, then by media type. Each is its own copy: patching one
-- provider's table (`limits.tables.piapi.image.side.max = 4096`) leaves the others alone.
M.tables = {}
for _, name in ipairs(M.providers) do M.tables[name] = base() end
M.tables.crun.video.pixels = { min = 409600, max = 927408, note = "crun accepts 480p/720p video only" }

local TYPES = { image = true, video = true, audio = true }
local ARTICLE = { image = "an image", video = "a video", audio = "audio" }

--- The limit table of a provider, or of one media type of it.
-- Raises for an unknown provider or type (misuse).
-- @tparam string provider
-- @tparam[opt] string media_type "image", "video" or "audio"
-- @treturn table
function M.get(provider, media_type)
  local t = M.tables[provider]
  if not t then error("seedance.media.limits: unknown provider " .. tostring(provider), 2) end
  if media_type == nil then return t end
  if not TYPES[media_type] then error("seedance.media.limits: unknown media type " .. tostring(media_type), 2) end
  return t[media_type]
end

-- ---- formatting -----------------------------------------------------------------------------

-- A number as people write it: integers without a fraction, others to 3 decimals, or as
-- many more as it takes not to print the bound itself for a value just past it.
local function num(x, bound)
  if x == math.floor(x) and math.abs(x) < 2 ^ 53 then return string.format("%.0f", x) end
  local s
  for digits = 3, 12 do
    s = string.format("%." .. digits .. "f", x):gsub("0+$", ""):gsub("%.$", "")
    if not bound or tonumber(s) ~= bound then break end
  end
  return s
end

local function group(n) -- 2086876 -> "2,086,876"
  local s = string.format("%.0f", n)
  local out = s:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return (out:gsub("^,", ""))
end

local function ratio_text(r) return num(r[1] / r[2]) end

-- ---- the checks ---------------------------------------------------------------------------

local function fail(provider, fmt, ...)
  return nil, string.format(fmt, ...) .. " (" .. provider .. ")"
end

-- value against {min=, max=, max_exclusive=}: nil when inside, else the failing side
local function outside(v, b)
  if b.min and v < b.min then return "min" end
  if b.max then
    if b.max_exclusive and v >= b.max then return "max" end
    if not b.max_exclusive and v > b.max then return "max" end
  end
  return nil
end

local function check_range(provider, what, v, b, unit)
  local side = outside(v, b)
  if side == "min" then
    return fail(provider, "%s %s%s is below the minimum %s%s", what, num(v, b.min), unit, num(b.min), unit)
  elseif side == "max" then
    if b.max_exclusive then
      return fail(provider, "%s %s%s is not below the maximum %s%s", what, num(v, b.max), unit, num(b.max), unit)
    end
    return fail(provider, "%s %s%s is above the maximum %s%s", what, num(v, b.max), unit, num(b.max), unit)
  end
  return true
end

local function is_number(x) return type(x) == "number" and x == x end

--- Check probed media against a provider's limits.
-- @tparam string provider one of `limits.providers` (raises otherwise)
-- @tparam table info what `seedance.probe` returned: `{type=, format=, width=, height=,
--   duration=, fps=, bytes=}`; absent fields are not checked
-- @tparam[opt] string declared_type the type the caller declared ("image", "video",
--   "audio"); when given it must agree with `info.type`
-- @treturn[1] boolean true when nothing measured breaks a limit
-- @treturn[2] nil
-- @treturn[2] string the first limit broken, with the measured value and the bound, e.g.
--   `"image width 200 px is below the minimum 300 px (piapi)"`
function M.check(provider, info, declared_type)
  local t = M.tables[provider]
  if not t then error("seedance.media.limits.check: unknown provider " .. tostring(provider), 2) end
  if type(info) ~= "table" then
    error("seedance.media.limits.check: info must be a table (what seedance.probe returns)", 2)
  end
  if declared_type ~= nil and not TYPES[declared_type] then
    error("seedance.media.limits.check: declared type must be image, video or audio, not "
      .. tostring(declared_type), 2)
  end
  local kind = declared_type or info.type
  local format = info.format and (ALIASES[info.format] or info.format)
  if declared_type and info.type and info.type ~= declared_type then
    return fail(provider, "declared %s but the file is %s%s", declared_type, ARTICLE[info.type] or tostring(info.type),
      format and (" (" .. format .. ")") or "")
  end
  if not TYPES[kind] then
    return fail(provider, "cannot tell whether the media is an image, a video or an audio")
  end
  local lim = t[kind]

  if format then
    local ok = false
    for _, f in ipairs(lim.formats) do if f == format then ok = true end end
    if not ok then
      return fail(provider, "%s format %s is not accepted (%s)", kind, format, table.concat(lim.formats, ", "))
    end
  end

  if is_number(info.bytes) and lim.bytes then
    local b = lim.bytes
    local side = outside(info.bytes, b)
    if side then
      if b.max_exclusive then
        return fail(provider, "%s size %s bytes is not below the limit of %s (< %s bytes)", kind,
          group(info.bytes), b.text or group(b.max), group(b.max))
      end
      return fail(provider, "%s size %s bytes is above the maximum %s (<= %s bytes)", kind,
        group(info.bytes), b.text or group(b.max), group(b.max))
    end
  end

  local w, h = info.width, info.height
  if lim.side then
    for _, d in ipairs({ { "width", w }, { "height", h } }) do
      if is_number(d[2]) then
        local ok, msg = check_range(provider, kind .. " " .. d[1], d[2], lim.side, " px")
        if not ok then return nil, msg end
      end
    end
  end

  if lim.ratio and is_number(w) and is_number(h) and w > 0 and h > 0 then
    -- exact: W/H >= a/b  <=>  W*b >= H*a (integers far below 2^53)
    local lo, hi = lim.ratio.min, lim.ratio.max
    if lo and w * lo[2] < h * lo[1] then
      return fail(provider, "%s aspect ratio %s (%sx%s) is below the minimum %s", kind,
        num(w / h, lo[1] / lo[2]), num(w), num(h), ratio_text(lo))
    end
    if hi and w * hi[2] > h * hi[1] then
      return fail(provider, "%s aspect ratio %s (%sx%s) is above the maximum %s", kind,
        num(w / h, hi[1] / hi[2]), num(w), num(h), ratio_text(hi))
    end
  end

  if lim.pixels and is_number(w) and is_number(h) then
    local px, b = w * h, lim.pixels
    local side = outside(px, b)
    if side then
      return fail(provider, "%s total pixels %s (%sx%s) is %s the %s %s%s", kind, group(px), num(w), num(h),
        side == "min" and "below" or "above", side == "min" and "minimum" or "maximum",
        group(side == "min" and b.min or b.max), b.note and ("; " .. b.note) or "")
    end
  end

  if lim.duration and is_number(info.duration) then
    local ok, msg = check_range(provider, kind .. " duration", info.duration, lim.duration, " s")
    if not ok then return nil, msg end
  end

  if lim.fps and is_number(info.fps) then
    local ok, msg = check_range(provider, kind .. " frame rate", info.fps, lim.fps, " fps")
    if not ok then return nil, msg end
  end

  return true
end

return M
