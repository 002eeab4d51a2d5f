--- The twin framework: what every service twin is made of, so that a twin is its routes,
-- its schemas and its quirks. Runs on the emulator's own Lua state, on Lua 5.1 to 5.4.
--
-- A twin module returns a table:
--
--     name        the provider's name
--     routes      list of {method, "/path/{param}", fn, body=, create=, auth=, ...}:
--                 fn(state, req, params, env, now, key) -> answer (or T.refuse(answer) from
--                 any depth); `body`: a schema (see T.check) the JSON object body must fit,
--                 then given as `req.json`;
--                 `create`: the request is kept as `last_create` in the dump; `auth = false`:
--                 the route checks its own credential; other fields are the twin's own
--     words, json_refused, bad_status, refuse
--                 how the twin refuses a body: T.check's words, the words for another
--                 content type or no object ({content_type=, object=}), the status (400),
--                 refuse(status, message, rule, field) -> answer (default: error)
--     auth        {header = "x-api-key"} or {schemes = {bearer = true}} (Authorization), and
--                 `message`: the twin's 401 words; routes run only with a key it accepts
--                 (any non-empty one, or only config.api_key)
--     guard       optional fn(state, req, env, now, route) -> refusal answer or nil, after auth
--     error       fn(status, message) -> an answer in the service's error shape
--     new         optional fn(env) -> fresh state (default T.state())
--     show        optional list of {name, kind, fn(record, env, now)}: {op="dump"} shows each
--                 record of state[kind], in creation order, under `name`
--     dump        optional fn(state, env) -> what else {op="dump"} shows
--     capture     optional fn(req) -> how the last request is kept (default: as received)
--     tick        optional fn(state, env) -> true while it has timed work (such as noticing
--                 that a task with a callback changed), run a few times a second
--     rate_limit_status  the status of its rate limit (default 429); base_path: the path of
--                 its documented base URL ("/v1"); control_plane: true when a second API
--                 (Ark's signed one) answers at the mount's root (emu.control_url)
--
-- The kit: JSON answers, ids and times, body schemas with the service's own words, one
-- pager, and the asset / group / session lifecycles (tasks: seedance.emulator.tasks), with
-- the records and error codes of Volcengine's asset library that three twins share.
-- The library's pure helpers (seedance.wire.json, seedance.wire.url, seedance.model.time) do the rest.
-- @module seedance.emulator.twin

local json = require "seedance.wire.json"
local url = require "seedance.wire.url"
local media_types = require "seedance.media.types"
local time = require "seedance.model.time"

local floor, format, find, lower = math.floor, string.format, string.find, string.lower
local date = os.date

local T = {}

--- JSON

T.null, T.array, T.encode, T.decode = json.null, json.array, json.encode, json.decode
local null = json.null

--- True when `v` is a JSON array as decoded: cjson keys an array 1..n and an object by
-- strings only, so the first key tells (`{}` counts: cjson cannot tell `{}` from `[]`).
function T.is_array(v)
  return type(v) == "table" and (next(v) == nil or v[1] ~= nil)
end

--- True when `v` is a JSON object as decoded; `{}` counts (cjson cannot tell `{}` from `[]`).
function T.is_object(v)
  return type(v) == "table" and (next(v) == nil or not T.is_array(v))
end

--- A value that is there: neither nil nor JSON null (the services take null for absent).
function T.present(v)
  return v ~= nil and v ~= null
end

local JSON_HEADERS = {["Content-Type"] = "application/json"}

--- An answer for the C core: status, JSON content type, encoded body (a string as is).
-- @tparam number status
-- @param body
-- @tparam[opt] table headers extra headers: the answer's own (the content type is set in it)
function T.json(status, body, headers)
  if headers then headers["Content-Type"] = "application/json" end
  if type(body) ~= "string" then body = json.encode(body) end
  return {status = status, headers = headers or JSON_HEADERS, body = body}
end

--- The error code of each HTTP status as Volcengine's services say it (OrcaRouter's set).
T.CODES = {
  [400] = "InvalidParameter", [401] = "AuthenticationError", [403] = "AccessDenied",
  [404] = "NotFound", [405] = "MethodNotAllowed", [429] = "RateLimitExceeded",
  [500] = "InternalServiceError", [502] = "BadGateway", [503] = "ServiceUnavailable",
  [504] = "GatewayTimeout",
}

--- T.CODES with a twin's own codes over it (`own` becomes the table).
function T.codes(own)
  return setmetatable(own, {__index = T.CODES})
end

local JSON_REFUSED = {content_type = "Content-Type must be application/json",
                      object = "request body must be a JSON object"}

--- The request's body as a JSON object; for a body of another content type ("content_type")
-- or no object ("object"), refuses with `fail(status, words[rule])`.
function T.json_body(req, fail, status, words)
  local ct = lower(req.headers["content-type"] or "")
  local broken = "content_type"
  if find(ct, "application/json", 1, true) then
    local body = T.decode(req.body or "")
    if T.is_object(body) then return body end
    broken = "object"
  end
  T.refuse(fail(status or 400, (words or JSON_REFUSED)[broken]))
end

--- Refusals: a route, or any helper it calls, ends its request with an answer by raising it
-- (T.serve catches it), so a check deep inside a body needs no return plumbing.
local Refusal = {}
function T.refuse(answer)
  error(setmetatable({answer = answer}, Refusal), 0)
end

--- `v` when it is neither nil nor false; else refuses with `fail(...)`.
function T.need(v, fail, ...)
  if not v then T.refuse(fail(...)) end
  return v
end

--- Times, ids, numbers

local iso_cache, iso_cached = {}, 0
--- ISO-8601 UTC with seconds, like the services answer ("2026-06-07T15:41:23Z"); cached,
-- as answers repeat the same few seconds thousands of times a second under load.
function T.iso(t)
  local sec = floor(t)
  local s = iso_cache[sec]
  if s == nil then
    if iso_cached >= 4096 then iso_cache, iso_cached = {}, 0 end
    s = time.iso(sec)
    iso_cache[sec], iso_cached = s, iso_cached + 1
  end
  return s
end

local Rng = {}
Rng.__index = Rng

--- A seeded random source (Park-Miller: exact in doubles and integers alike, so a seed
-- gives the same faults and ids on every Lua): `:next()` in (0, 1), `:int(n)` in 0..n-1.
function T.rng(seed)
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

--- `n` random characters of `alphabet` (default lower-case alphanumerics).
function T.random_string(rng, n, alphabet)
  alphabet = alphabet or "abcdefghijklmnopqrstuvwxyz0123456789"
  local out = {}
  for i = 1, n do
    local k = rng:int(#alphabet) + 1
    out[i] = alphabet:sub(k, k)
  end
  return table.concat(out)
end

local stamp_sec, stamp_str
--- A fresh upstream-style id `<prefix>-YYYYMMDDHHMMSS-xxxxx`, never issued before (`issued`).
function T.new_id(rng, issued, prefix, t)
  local sec = floor(t)
  if sec ~= stamp_sec then stamp_sec, stamp_str = sec, date("!%Y%m%d%H%M%S", sec) end
  while true do
    local id = prefix .. "-" .. stamp_str .. "-" .. T.random_string(rng, 5)
    if not issued[id] then
      issued[id] = true
      return id
    end
  end
end

--- A single-use token as Volcengine's visual validation hands out: time stamp + 20 hex.
function T.byted_token(rng, now)
  return date("!%Y%m%d%H%M%S", floor(now)) .. T.random_string(rng, 20, "0123456789ABCDEF")
end

--- tostring writing integral numbers without ".0" (cjson decodes numbers as floats on 5.3+).
function T.tostring(v)
  return json.str(v) or tostring(v)
end

--- A query value as a positive integer: `default` when absent or empty, nil otherwise.
function T.positive_int(s, default)
  if s == nil or s == "" then return default end
  local n = tonumber(s)
  if not n or n < 1 or n ~= floor(n) then return nil end
  return n
end

T.format = format

--- URLs and media (seedance.wire.url's helpers, on the path alone: a host is no file name)

local function path_of(u)
  return (u:gsub("^%a[%w+.-]*://[^/?#]*", ""))
end

--- The last path segment of a URL ("example1.png"), or "".
function T.basename(u)
  return url.basename(path_of(u)) or ""
end

--- A query string's key or value decoded: "+" is a space, "%XX" a byte.
function T.unescape(s)
  return (s:gsub("%+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

--- The lower-case extension of a URL's last path segment, or "".
function T.extension(u)
  return url.extension(path_of(u)) or ""
end

T.TYPE = {image = "Image", video = "Video", audio = "Audio"}
T.STATUS = {processing = "Processing", active = "Active", failed = "Failed"}

--- The media type ("Image", "Video", "Audio") an extension implies, or nil.
function T.media_type(ext)
  return T.TYPE[media_types.BY_EXTENSION[lower(ext or "")]]
end

--- The reason the upstream would fail a URL, by the emulator's markers: `multi-face`,
-- `fetch-fail` / `not-found` / a `404` path segment, a `.heif` image. nil when none.
function T.url_failure(u)
  local l = lower(u)
  if find(l, "multi-face", 1, true) then
    return {code = "MultiFaceViolation", message = "The image contains multiple faces; exactly one face is allowed"}
  end
  local p = path_of(l):gsub("[?#].*$", "")
  if find(l, "fetch-fail", 1, true) or find(l, "not-found", 1, true) or find(p, "/404[/.]") or find(p, "/404$") then
    return {code = "FetchFailed", message = "Failed to fetch the asset from the given URL"}
  end
  if T.extension(l) == "heif" then
    return {code = "ImageFormatNotSupported", message = "Image format heif is not supported by current version"}
  end
end

--- Schemas

-- JSON types of a schema: "integer" is a number without a fraction
local function has_type(v, want)
  if want == "list" then return T.is_array(v) end
  if want == "object" or want == "table" then return T.is_object(v) end
  if want == "integer" then return type(v) == "number" and v == floor(v) end
  return type(v) == want
end

local function squash(k)
  return (lower(tostring(k)):gsub("_", ""))
end

--- The hint for an unknown field `k` that differs from an allowed one only in case or
-- underscores, as the upstream gives it: " (did you mean 'GroupId'?)"; "" when none does.
function T.field_hint(allowed, k)
  for name in pairs(allowed) do
    if squash(name) == squash(k) then return " (did you mean '" .. name .. "'?)" end
  end
  return ""
end

local function utf8_len(s)
  return #(s:gsub("[\128-\191]", ""))
end

--- Checks a decoded object against a schema, in the service's own words.
-- `schema` lists fields `{name, type, req = true, enum = set, min =, max = (string length in
-- characters, list length, or number bounds), msg = one message for every rule of this field
-- (or a function of the name and value)}`;
-- `schema.open`: unknown fields pass; `schema.nulls`: JSON nulls are dropped first (else a null
-- is absent for the rules but still a field). `words` formats each rule's message:
-- `unknown(k, hint)`, `required(k)`, `type(k, type)`, `enum(k, v)`, `range(k, field)` (each
-- a format string of those arguments, or a function).
-- @treturn ?string the message of the first broken rule
-- @treturn ?string the rule ("unknown", "required", "type", "enum", "range")
-- @treturn ?string the field
function T.check(t, schema, words)
  local fields = schema.by_name
  if not fields then
    fields = {}
    for _, f in ipairs(schema) do fields[f[1]] = f end
    schema.by_name = fields
  end
  local function say(rule, k, ...)
    local w = words[rule]
    local f = fields[k]
    if f and f.msg then return type(f.msg) == "function" and f.msg(k, t[k]) or f.msg, rule, k end
    if type(w) == "function" then return w(k, ...), rule, k end
    return format(w, k, ...), rule, k
  end
  if schema.nulls then
    for k, v in pairs(t) do if v == null then t[k] = nil end end
  end
  if not schema.open then
    for k in pairs(t) do
      if not fields[k] then return say("unknown", tostring(k), T.field_hint(fields, k)) end
    end
  end
  for _, f in ipairs(schema) do
    local k, v = f[1], t[f[1]]
    if v == nil or v == null or (v == "" and f.req) then
      if f.req then return say("required", k) end
    else
      if f[2] and not has_type(v, f[2]) then return say("type", k, f[2]) end
      if f.enum and not f.enum[v] then return say("enum", k, T.tostring(v)) end
      local n = type(v) == "string" and utf8_len(v) or type(v) == "table" and #v or v
      if (f.max and n > f.max) or (f.min and n < f.min) then return say("range", k, f) end
    end
  end
end

--- Generation settings

local RESOLUTIONS = {["480p"] = true, ["720p"] = true, ["1080p"] = true}
local RATIOS = {["21:9"] = true, ["16:9"] = true, ["4:3"] = true, ["1:1"] = true, ["3:4"] = true,
                ["9:16"] = true, adaptive = true}
T.RESOLUTIONS, T.RATIOS = RESOLUTIONS, RATIOS

--- What the upstream says of a generation's resolution, ratio, duration, seed and booleans
-- in `t` (null is absent), for the twins that pass them on unchanged: nil when fine.
-- @tparam table t the settings
-- @tparam boolean fast the model is a fast one (no 1080p there)
-- @tparam string fast_name how the 1080p refusal names the fast model(s)
-- @tparam[opt] table booleans names of boolean fields (default: generate_audio)
function T.settings_error(t, fast, fast_name, booleans)
  local r, d, seed = t.resolution, t.duration, t.seed
  if T.present(r) and not RESOLUTIONS[r] then return "'resolution' must be 480p, 720p or 1080p" end
  if r == "1080p" and fast then return "1080p is not available on " .. fast_name end
  if T.present(t.ratio) and not RATIOS[t.ratio] then
    return "'ratio' must be one of 21:9 16:9 4:3 1:1 3:4 9:16 adaptive"
  end
  if T.present(d) and not (type(d) == "number" and d == floor(d) and (d == -1 or (d >= 4 and d <= 15))) then
    return "'duration' must be an integer from 4 to 15, or -1"
  end
  if T.present(seed) and not (type(seed) == "number" and seed == floor(seed) and seed >= -1 and seed <= 4294967295) then
    return "'seed' must be an integer from -1 to 4294967295"
  end
  for _, k in ipairs(booleans or {"generate_audio"}) do
    if T.present(t[k]) and type(t[k]) ~= "boolean" then return "'" .. k .. "' must be a boolean" end
  end
end

--- Paging

local VOLC_PAGE = {"Items", "TotalCount", "PageNumber", "PageSize"}

--- One page of `list` as an envelope under the service's names `{items, total, page, size}`
-- (a name may be false: not in this service's envelope; default: Volcengine's List* names).
function T.page(list, page, size, render, names)
  names = names or VOLC_PAGE
  local items = {}
  for i = (page - 1) * size + 1, math.min(#list, page * size) do items[#items + 1] = render(list[i]) end
  local out = {[names[1]] = json.array(items), [names[2]] = #list}
  if names[3] then out[names[3]] = page end
  if names[4] then out[names[4]] = size end
  return out
end

--- The list fields of a List* call's Filter `f` (the "list" fields of its `schema`) as sets
-- of their strings; `bad(name, x)` refuses an item that is not a string, or not one of the
-- field's `values`. An empty list is a set that matches nothing (`empty_is_none`: no set).
function T.filter_sets(f, schema, bad, empty_is_none)
  local sets = {}
  for _, field in ipairs(schema) do
    local name, list = field[1], f[field[1]]
    if field[2] == "list" and T.present(list) and not (empty_is_none and #list == 0) then
      sets[name] = {}
      for _, x in ipairs(list) do
        if type(x) ~= "string" or (field.values and not field.values[x]) then bad(name, x) end
        sets[name][x] = true
      end
    end
  end
  return sets
end

--- The values of `t` matching `keep` (all when nil), sorted by creation (`desc`: newest first).
function T.sorted(t, keep, desc)
  local list = {}
  for _, x in pairs(t) do
    if not keep or keep(x) then list[#list + 1] = x end
  end
  return T.sort_by(list, desc and "-seq" or "seq")
end

--- Sorts a list in place by a field ("-" prefix: descending), ties by creation.
function T.sort_by(list, key)
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

--- Lifecycles

--- A fresh twin state: assets, groups, sessions and tasks by id, and the creation counter.
function T.state()
  return {assets = {}, groups = {}, sessions = {}, tasks = {}, seq = 0}
end

--- Files `rec` in `state[kind]` under `rec.id` (a new `prefix` id when it has none), with its
-- creation order and time.
function T.add(state, kind, rec, env, now, prefix)
  state.seq = state.seq + 1
  rec.id = rec.id or env.new_id(prefix)
  rec.seq, rec.created_at = state.seq, rec.created_at or now
  state[kind][rec.id] = rec
  return rec
end

--- A new asset group (`fields`: name, type, ...) in state.groups, last updated now.
function T.new_group(state, env, now, fields)
  fields.updated_at = now
  return T.add(state, "groups", fields, env, now, "group")
end

--- Seconds an upload stays Processing: config `processing`, or a uniform draw up to
-- `processing_max` when that is larger (benchmarks spread completions).
function T.processing_time(env)
  local lo = tonumber(env.config.processing) or 0
  local hi = tonumber(env.config.processing_max)
  if hi and hi > lo and env.rng then return lo + (hi - lo) * env.rng:next() end
  return lo
end

--- Registers an asset (`fields`: url, asset_type, failure, ...): Processing for the
-- configured time, then Active or, with a `failure`, Failed. Counts a create of `key`.
function T.new_asset(state, env, now, fields, key)
  fields.ready_at = now + T.processing_time(env)
  fields.updated_at = now
  local a = T.add(state, "assets", fields, env, now, "asset")
  env.created(key)
  return a
end

--- Status of an asset at `now`: "processing" until ready, then "failed" or "active".
function T.asset_status(a, now)
  if now < a.ready_at then return "processing" end
  if a.failure then return "failed" end
  return "active"
end

--- The failure's `{Code, Message}` (or `{code, message}` with `lower_keys`) when failed.
function T.asset_error(a, now, lower_keys)
  if T.asset_status(a, now) ~= "failed" then return nil end
  if lower_keys then return {code = a.failure.code, message = a.failure.message} end
  return {Code = a.failure.code, Message = a.failure.message}
end

--- When a record last changed: its creation, or when it left Processing.
function T.updated(a, now)
  return math.max(a.updated_at or a.created_at, now >= a.ready_at and a.ready_at or a.created_at)
end

--- The renderers of an asset and an asset group as Volcengine's asset library shows them
-- (Ark's, and AnyFast's and OrcaRouter's after it): `asset(a, now)` and `group(g)`;
-- `extra`: the service's own constant fields on both (AnyFast's ProjectName).
function T.volc_records(extra)
  local function with(r)
    for k, v in pairs(extra or {}) do r[k] = v end
    return r
  end
  return function(a, now)
    return with({Id = a.id, Name = a.name, URL = a.url, AssetType = a.asset_type, GroupId = a.group_id,
                 Status = T.STATUS[T.asset_status(a, now)], CreateTime = T.iso(a.created_at),
                 UpdateTime = T.iso(T.updated(a, now)), Error = T.asset_error(a, now)})
  end, function(g)
    return with({Id = g.id, Name = g.name, Description = g.description, GroupType = g.type,
                 CreateTime = T.iso(g.created_at), UpdateTime = T.iso(g.updated_at or g.created_at)})
  end
end

--- A verification session (the person completes the check after `processing` seconds; the
-- link lasts `ttl`): its state at `now`, "pending" | "done" | "expired" | "spent".
function T.session_state(s, now)
  if s.spent then return "spent" end
  if s.done_at > s.expires_at or now < s.done_at then
    return now >= s.expires_at and "expired" or "pending"
  end
  return "done"
end

--- A new session record under `token`, filed in state.sessions; its check fails (`fails`)
-- when `link`, the caller's callback or return URL, holds the emulator's marker `verify-fail`.
function T.new_session(state, env, now, token, fields, ttl, link)
  fields.id, fields.token = token, token
  fields.done_at = now + (tonumber(env.config.processing) or 0)
  fields.expires_at = now + (ttl or math.huge)
  fields.fails = link ~= nil and find(lower(link), "verify-fail", 1, true) ~= nil
  return T.add(state, "sessions", fields, env, now)
end

--- Credentials

--- The key a request carries under the twin's `auth` rule, or nil.
function T.credential(req, auth)
  if auth.header then
    local key = req.headers[auth.header]
    if key == nil or key == "" then return nil end
    return key
  end
  local scheme, key = (req.headers["authorization"] or ""):match("^(%S+)%s+(%S.*)$")
  if not scheme or not auth.schemes[lower(scheme)] then return nil end
  return key
end

--- Checks `t` against `schema` (T.check) in the twin's words (or `words`); refuses in the
-- twin's way when it does not fit: `refuse(status, message, rule, field)`, else
-- `error(status, message)` (the error's own code for the status: not the rule's name).
function T.fit(twin, t, schema, words)
  local msg, rule, field = T.check(t, schema, words or twin.words)
  if not msg then return t end
  local status = twin.bad_status or 400
  T.refuse(twin.refuse and twin.refuse(status, msg, rule, field) or twin.error(status, msg))
end

-- the credential, the guard, the body, then the route (refusals raise, see T.refuse)
local function run(twin, state, route, req, params, env)
  local key
  local auth = twin.auth
  if route.auth ~= nil then auth = route.auth end
  if auth then
    key = T.credential(req, auth)
    local want = env.config.api_key
    if not key or (want ~= nil and key ~= want) then return (auth.error or twin.error)(401, auth.message) end
  end
  local now = env.now()
  if twin.guard then
    local refusal = twin.guard(state, req, env, now, route)
    if refusal then return refusal end
  end
  if route.body then
    req.json = T.fit(twin, T.json_body(req, twin.error, twin.bad_status, twin.json_refused), route.body)
  end
  return route.fn(state, req, params, env, now, key)
end

-- a refusal passes as it is; any other error gets its traceback here, where it happened
local function caught(e)
  if getmetatable(e) == Refusal then return e end
  return debug.traceback(tostring(e), 2)
end

--- Serves one routed request for a mounted twin: keeps it (the last, and the last create),
-- checks the credential, runs the twin's guard, checks the body, then runs the route.
function T.serve(twin, state, route, req, params, env)
  local kept = (twin.capture or T.capture)(req)
  state.last = kept
  if route.create then state.last_create = kept end
  local ok, answer = xpcall(function() return run(twin, state, route, req, params, env) end, caught)
  if ok then return answer end
  if getmetatable(answer) == Refusal then return answer.answer end
  error(answer, 0)
end

--- The request as a dump shows it.
function T.capture(req)
  return {method = req.method, path = req.path, raw_query = req.raw_query, headers = req.headers, body = req.body}
end

return T
