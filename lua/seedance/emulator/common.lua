--- Shared helpers for the emulator's twins: JSON answers, ids, times, a
-- seeded random source, route patterns and asset lifecycles.
-- Runs on the emulator's own Lua state, on Lua 5.1 through 5.4.
-- @module seedance.emulator.common

local cjson = require "cjson"

local floor, format, find, gsub, lower = math.floor, string.format, string.find, string.gsub, string.lower
local date = os.date
local unpack = table.unpack or unpack  -- luacheck: ignore 113 143

local common = {}

-- A private cjson instance: its settings must not leak into the user's.
local json = cjson.new()
common.null = json.null

--- JSON

-- one JSON encoding for every twin: seedance.json's (its empty-array marker included)
common.array, common.encode = require("seedance.json").array, require("seedance.json").encode

--- Decodes JSON text.
-- @tparam string s
-- @return the value, or nil and a message
function common.decode(s)
  local ok, v = pcall(json.decode, s)
  if not ok then return nil, v end
  return v
end

--- True when `v` is a JSON array as decoded (a table with only 1..n keys).
function common.is_array(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  for i = 1, n do
    if v[i] == nil then return false end
  end
  return true
end

--- True when `v` is a JSON object as decoded; `{}` counts, as cjson cannot tell an empty
-- object from an empty array.
function common.is_object(v)
  return type(v) == "table" and (next(v) == nil or not common.is_array(v))
end

--- The request's body as a JSON object. Every service refuses another content type and a
-- body that is no object, each in its own words: so on refusal this gives nil and which
-- rule was broken, "content_type" or "object", and the twin words the answer.
-- @tparam table req the request (headers with lower-case names, body)
-- @treturn ?table the decoded body
-- @treturn ?string the broken rule
function common.json_object(req)
  local ct = (req.headers["content-type"] or ""):lower()
  if not ct:find("application/json", 1, true) then return nil, "content_type" end
  local body = common.decode(req.body)
  if not common.is_object(body) then return nil, "object" end
  return body
end

-- what a twin says when a body breaks a rule, unless it words it its own way
common.JSON_REFUSED = {content_type = "Content-Type must be application/json",
                       object = "request body must be a JSON object"}

--- The decoded JSON object of a request, or nil and the twin's refusal: `fail(status,
-- message)` with the twin's status and words (default common.JSON_REFUSED).
function common.json_body(req, fail, status, words)
  local body, broken = common.json_object(req)
  if not body then return nil, fail(status or 400, (words or common.JSON_REFUSED)[broken]) end
  return body
end

local JSON_HEADERS = {["Content-Type"] = "application/json"}

--- An answer for the C core: status, JSON content type, encoded body.
-- @tparam number status HTTP status
-- @param body a table to encode, or a string sent as is
-- @tparam[opt] table headers extra headers
-- @treturn table `{status=, headers=, body=}`
function common.json(status, body, headers)
  local h = JSON_HEADERS
  if headers then
    h = {["Content-Type"] = "application/json"}
    for k, v in pairs(headers) do h[k] = v end
  end
  if type(body) ~= "string" then body = common.encode(body) end
  return {status = status, headers = h, body = body}
end

--- Times

--- ISO-8601 UTC with seconds precision, like the services answer.
-- @tparam number t unix seconds
-- @treturn string e.g. "2026-06-07T15:41:23Z"
local iso_cache, iso_cached = {}, 0
function common.iso8601(t)
  -- Answers repeat the same few seconds (created, used, expires) thousands
  -- of times a second under load; os.date is the costly part.
  local sec = floor(t)
  local s = iso_cache[sec]
  if s == nil then
    if iso_cached >= 4096 then iso_cache, iso_cached = {}, 0 end
    s = date("!%Y-%m-%dT%H:%M:%SZ", sec)
    iso_cache[sec] = s
    iso_cached = iso_cached + 1
  end
  return s
end

--- Random numbers

-- Park-Miller "minimal standard" generator: exact in doubles and in 5.3+
-- integers alike, so a seed gives the same faults and ids on every Lua.
local Rng = {}
Rng.__index = Rng

--- A seeded random source.
-- @tparam number seed any number
-- @treturn table with :next() in (0, 1) and :int(n) in 0..n-1
function common.rng(seed)
  local s = floor(tonumber(seed) or 1) % 2147483646
  if s <= 0 then s = s + 2147483646 end
  return setmetatable({s = s}, Rng)
end

function Rng:next()
  self.s = (self.s * 16807) % 2147483647
  return self.s / 2147483647
end

function Rng:int(n)
  return floor(self:next() * n)
end

--- Ids

local ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

local ALPHABET_BYTES = {string.byte(ALPHABET, 1, #ALPHABET)}

--- A random lower-case alphanumeric string.
function common.random_string(rng, n)
  local out = {}
  for i = 1, n do out[i] = ALPHABET_BYTES[rng:int(36) + 1] end
  return string.char(unpack(out))
end

--- A fresh upstream-style id, `<prefix>-YYYYMMDDHHMMSS-xxxxx`, never issued
-- before by this emulator (`issued` is the set of ids already given out).
-- @tparam table rng from common.rng
-- @tparam table issued set of ids, updated
-- @tparam string prefix e.g. "asset"
-- @tparam number t unix seconds
local stamp_sec, stamp_str
function common.new_id(rng, issued, prefix, t)
  local sec = floor(t)
  if sec ~= stamp_sec then stamp_sec, stamp_str = sec, date("!%Y%m%d%H%M%S", sec) end
  local stamp = stamp_str
  while true do
    local id = prefix .. "-" .. stamp .. "-" .. common.random_string(rng, 5)
    if not issued[id] then
      issued[id] = true
      return id
    end
  end
end

--- Seconds an asset stays Processing: config `processing`, or a uniform draw between it
-- and `processing_max` when that is larger (benchmarks spread completions over 2-6 s).
function common.processing_time(env)
  local lo = tonumber(env.config.processing) or 0
  local hi = tonumber(env.config.processing_max)
  if hi and hi > lo and env.rng then return lo + (hi - lo) * env.rng:next() end
  return lo
end

--- Routes

--- Compiles a route: `{method, "/path/{param}/...", fn}` into a matcher.
-- A pattern without `{}` is matched by string equality.
-- @treturn table `{method=, pattern=, fn=, static=, lua_pattern=, names=}`
function common.compile_route(r)
  local method, pattern, fn = r[1] or r.method, r[2] or r.pattern, r[3] or r.fn
  local names = {}
  local lp = gsub(pattern, "[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")
  lp = gsub(lp, "{([%w_]+)}", function(name)
    names[#names + 1] = name
    return "([^/]+)"
  end)
  return {
    method = method, pattern = pattern, fn = fn,
    static = #names == 0,
    lua_pattern = "^" .. lp .. "$",
    names = names,
  }
end

--- Matches a compiled route against a path.
-- @return a table of params, or nil
function common.match_route(route, path)
  if route.static then
    if path == route.pattern then return {} end
    return nil
  end
  local caps = {path:match(route.lua_pattern)}
  if caps[1] == nil then return nil end
  local params = {}
  for i, name in ipairs(route.names) do params[name] = caps[i] end
  return params
end

--- Media

local EXTENSIONS = {
  jpeg = "Image", jpg = "Image", png = "Image", webp = "Image", bmp = "Image",
  tiff = "Image", gif = "Image", heic = "Image", heif = "Image",
  mp4 = "Video", mov = "Video",
  wav = "Audio", mp3 = "Audio",
}

--- The path of a URL without scheme, host, query or fragment.
function common.url_path(url)
  local rest = url:gsub("[?#].*$", "")
  local path = rest:match("^%a[%w+.-]*://[^/]*(/.*)$")
  return path or rest
end

--- The last path segment of a URL ("example1.png"), or "" when none.
function common.basename(url)
  return common.url_path(url):match("([^/]*)$") or ""
end

--- The lower-case extension of a URL's last path segment, or "".
function common.extension(url)
  return lower(common.basename(url):match("%.([^.]*)$") or "")
end

--- The media type ("Image", "Video", "Audio") an extension implies, or nil.
function common.media_type(ext)
  return EXTENSIONS[lower(ext or "")]
end

--- Lifecycle

--- Status of an asset at time `now`: processing until `ready_at`, then
-- failed when `failure` is set, active otherwise.
-- @treturn string "processing" | "active" | "failed"
function common.asset_status(asset, now)
  if now < asset.ready_at then return "processing" end
  if asset.failure then return "failed" end
  return "active"
end

--- The reason the upstream would reject a URL, by the markers the emulator
-- documents: `multi-face` in the URL, `fetch-fail` / `not-found` / a `404`
-- path segment, or a `.heif` image.
-- @treturn table|nil `{code=, message=}`
function common.url_failure(url)
  local l = lower(url)
  if find(l, "multi-face", 1, true) then
    return {code = "MultiFaceViolation",
            message = "The image contains multiple faces; exactly one face is allowed"}
  end
  if find(l, "fetch-fail", 1, true) or find(l, "not-found", 1, true)
     or (find(l, "/404", 1, true) and (find(common.url_path(l), "/404[/.]") or find(common.url_path(l), "/404$"))) then
    return {code = "FetchFailed", message = "Failed to fetch the asset from the given URL"}
  end
  if find(l, "heif", 1, true) and common.extension(l) == "heif" then
    return {code = "ImageFormatNotSupported",
            message = "Image format heif is not supported by current version"}
  end
  return nil
end

--- Field checks

--- Drop the JSON nulls of a decoded object: the upstream takes a null for an absent field.
function common.drop_nulls(t)
  for k, v in pairs(t) do
    if v == common.null then t[k] = nil end
  end
end

local function squash(k)
  return (lower(tostring(k)):gsub("_", ""))
end

--- The hint for an unknown field `k` that differs from one `spec` allows only in case or
-- underscores, as the upstream gives it: " (did you mean 'GroupId'?)"; "" when none does.
function common.field_hint(spec, k)
  local hint = ""
  for name in pairs(spec) do
    if squash(name) == squash(k) then hint = " (did you mean '" .. name .. "'?)" end
  end
  return hint
end

--- A query parameter as a positive integer: `default` when absent or empty, nil when it
-- is anything else.
function common.positive_int(s, default)
  if s == nil or s == "" then return default end
  local n = tonumber(s)
  if not n or n < 1 or n ~= floor(n) then return nil end
  return n
end

--- Generation settings

local RESOLUTIONS = {["480p"] = true, ["720p"] = true, ["1080p"] = true}
local RATIOS = {["21:9"] = true, ["16:9"] = true, ["4:3"] = true, ["1:1"] = true, ["3:4"] = true,
                ["9:16"] = true, adaptive = true}

local function present(v)
  return v ~= nil and v ~= common.null
end

--- What the upstream says of a generation's resolution, ratio and duration in `t` (null
-- counts as absent), for the twins that pass them on unchanged.
-- @tparam table t the settings
-- @tparam boolean fast whether the model is a fast one (no 1080p there)
-- @tparam string fast_name how the twin's 1080p refusal names the fast model(s)
-- @treturn string|nil the message for the first wrong setting
function common.settings_error(t, fast, fast_name)
  local r = t.resolution
  if present(r) and not RESOLUTIONS[r] then return "'resolution' must be 480p, 720p or 1080p" end
  if r == "1080p" and fast then return "1080p is not available on " .. fast_name end
  if present(t.ratio) and not RATIOS[t.ratio] then
    return "'ratio' must be one of 21:9 16:9 4:3 1:1 3:4 9:16 adaptive"
  end
  local d = t.duration
  if present(d) and not (type(d) == "number" and d == floor(d) and (d == -1 or (d >= 4 and d <= 15))) then
    return "'duration' must be an integer from 4 to 15, or -1"
  end
  return nil
end

--- Sorting

--- Sorts a list in place by key (a field name; "-" prefix for descending),
-- ties broken by `seq` ascending so pages never reorder.
function common.sort_by(list, key)
  local desc = key:sub(1, 1) == "-"
  local field = desc and key:sub(2) or key
  table.sort(list, function(a, b)
    local x, y = a[field], b[field]
    if x ~= y then
      if desc then return x > y end
      return x < y
    end
    return a.seq < b.seq
  end)
  return list
end

--- tostring that writes integral numbers without ".0" (cjson decodes every
-- JSON number as a float on Lua 5.3+, and headers must say "1", not "1.0").
local int_strings = {}
function common.tostring(v)
  if type(v) == "number" and v == floor(v) and v > -1e15 and v < 1e15 then
    local s = int_strings[v]
    if s == nil then
      s = format("%d", v)
      if v >= 0 and v < 1000 then int_strings[v] = s end
    end
    return s
  end
  return tostring(v)
end

--- Formats a message like string.format, for error bodies.
common.format = format

return common
