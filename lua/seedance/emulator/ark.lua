--- The Ark twin: Volcengine's signed OpenAPI for Ark's asset library, as described in
-- reference/providers.md section 6.
--
-- One route, `POST /?Action=<Action>&Version=2024-01-01`. Every request is checked the
-- way the gateway checks it, in order: a well-formed `Authorization: HMAC-SHA256
-- Credential=..., SignedHeaders=..., Signature=...`, the access key (when `access_key` is
-- configured), an `X-Date` within 15 minutes of the emulator's clock, the
-- `X-Content-Sha256` of the body, and, when `secret_key` is configured, the signature
-- itself, recomputed here from the request as received (a canonicalization written apart
-- from the client's C one, so the two check each other). Then the action and version, a
-- JSON object body, and its fields: required ones, exact PascalCase names (`group_id` or
-- `groupId` for `GroupId` is refused, with a hint), no unknown ones; JSON null is absent.
--
-- Lifecycle: assets are Processing for `config.processing` seconds, then Active, or
-- Failed for the URL markers of seedance.emulator.common.url_failure, and FaceMismatch
-- for a URL containing `other-person` in a real-person group; at most 30 assets process
-- at once. A visual-validate session is pending for `config.processing` seconds, then
-- succeeds with a new real-person group (`verify-fail` in its CallbackURL: it fails); its
-- link lasts 120 s; the token reads its GroupId once, then it is spent.
-- Every answer is `{ResponseMetadata = {RequestId, Action, Version, Service, Region,
-- Error?}, Result?}`.
--
-- The data plane (generation tasks under `/api/v3`, Bearer auth) is
-- seedance.emulator.ark_tasks, on the same state.
-- @module seedance.emulator.ark

local common = require "seedance.emulator.common"
local data_plane = require "seedance.emulator.ark_tasks"
local ok_core, core = pcall(require, "seedance.core")

local iso, floor, lower, format = common.iso8601, math.floor, string.lower, string.format

local ark = {
  name = "ark",
  -- emu.url is the data plane (the documented base ends in /api/v3); emu.control_url is
  -- the mount's root, where the signed control plane answers `POST /?Action=...`
  base_path = "/api/v3",
  control_plane = true,
}

local VERSION = "2024-01-01"
local SKEW = 15 * 60
local LINK_TTL = 120
local MAX_PROCESSING = 30
local MAX_PAGE_SIZE = 100
local SIGNED_REQUIRED = {"content-type", "host", "x-content-sha256", "x-date"}

local TYPES = {Image = true, Video = true, Audio = true}
local WORDS = {processing = "Processing", active = "Active", failed = "Failed"}
local GROUP_TYPES = {AIGC = true, RealHuman = true}

--- Envelope

-- error()'s answers (faults, unknown routes) have no state: their ids come from here
local loose_ids = 0

local function request_id(n, now)
  return os.date("!%Y%m%d%H%M%S", floor(now)) .. format("%012X", n)
end

local function envelope(rid, action, status, result, code, message)
  local meta = {RequestId = rid, Action = action or common.null, Version = VERSION,
                Service = "ark", Region = "cn-beijing"}
  if code then meta.Error = {Code = code, Message = message} end
  local body = {ResponseMetadata = meta}
  if result ~= nil then body.Result = result end
  return common.json(status, body)
end

local STATUS_CODE = {
  [400] = "InvalidParameter", [401] = "AuthenticationError", [403] = "AccessDenied",
  [404] = "NotFound", [405] = "MethodNotAllowed", [413] = "RequestEntityTooLarge",
  [429] = "FlowLimitExceeded", [500] = "InternalError", [502] = "InternalError",
  [503] = "ServiceUnavailable", [504] = "InternalError", [455] = "ServiceUnavailable",
}

--- An answer in Volcengine's error shape.
function ark.error(status, message)
  loose_ids = loose_ids + 1
  return envelope(request_id(loose_ids, os.time()), nil, status, nil,
                  STATUS_CODE[status] or "InternalError", message)
end

--- State

function ark.new()
  return {
    groups = {},     -- id -> group
    assets = {},     -- id -> asset
    sessions = {},   -- token -> session
    tasks = {},      -- id -> generation task (seedance.emulator.tasks finds them here)
    seq = 0,         -- creation order: the tie-breaker of every listing
    rid = 0,
    actions = {},    -- Action -> count, for specs
    last = nil,      -- the last request as received, for specs
  }
end

local function next_seq(state)
  state.seq = state.seq + 1
  return state.seq
end

--- Signature checking

local function unix_of_xdate(s)
  local y, mo, d, h, mi, sec = s:match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  if not y then return nil end
  y, mo = tonumber(y), tonumber(mo)
  -- days from civil (Howard Hinnant), so no local time zone leaks in
  if mo <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local doy = floor((153 * ((mo + 9) % 12) + 2) / 5) + tonumber(d) - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function escape(s, keep_slash)
  return (s:gsub("[^%w%-%._~/]", function(c)
    return format("%%%02X", c:byte())
  end):gsub("/", keep_slash and "/" or "%%2F"))
end

local function canonical_query(raw)
  local pairs_ = {}
  for part in (raw or ""):gmatch("[^&]+") do
    local k, v = part:match("^([^=]*)=?(.*)$")
    k = escape(unescape((k:gsub("%+", " "))), false)
    v = escape(unescape((v:gsub("%+", " "))), false)
    pairs_[#pairs_ + 1] = {k, v}
  end
  table.sort(pairs_, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    return a[2] < b[2]
  end)
  for i, p in ipairs(pairs_) do pairs_[i] = p[1] .. "=" .. p[2] end
  return table.concat(pairs_, "&")
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

local function hmac(key, msg) return core.hmac_sha256(key, msg) end

-- The signature the request should carry, from the request as received.
local function expected_signature(req, signed_list, names, x_date, region, secret)
  local lines = {}
  for i, name in ipairs(names) do lines[i] = name .. ":" .. trim(req.headers[name]) .. "\n" end
  local canonical = table.concat({
    req.method, escape(req.path, true), canonical_query(req.raw_query),
    table.concat(lines), signed_list, core.sha256_hex(req.body or ""),
  }, "\n")
  local scope = x_date:sub(1, 8) .. "/" .. region .. "/ark/request"
  local to_sign = "HMAC-SHA256\n" .. x_date .. "\n" .. scope .. "\n" .. core.sha256_hex(canonical)
  local k = hmac(hmac(hmac(hmac(secret, x_date:sub(1, 8)), region), "ark"), "request")
  return core.hmac_sha256(k, to_sign, true)
end

-- nil when the request is signed as the gateway wants; else status, code, message.
local function check_signature(req, env, now)
  local auth = req.headers["authorization"]
  if not auth or auth == "" then
    return 401, "MissingAuthenticationToken", "the request carries no Authorization header"
  end
  local alg, cred, signed_list, sig = auth:match(
    "^(%S+)%s+Credential=([^,%s]+),%s*SignedHeaders=([^,%s]+),%s*Signature=(%S+)$")
  if not alg then return 401, "InvalidAuthorization", "malformed Authorization header" end
  if alg ~= "HMAC-SHA256" then
    return 401, "InvalidAuthorization", "unsupported signing algorithm " .. alg
  end
  local ak, date, region, service, term = cred:match("^([^/]+)/(%d%d%d%d%d%d%d%d)/([^/]+)/([^/]+)/([^/]+)$")
  if not ak then return 401, "InvalidCredential", "malformed Credential scope" end
  local want_ak = env.config.access_key
  if want_ak ~= nil and ak ~= want_ak then
    return 401, "InvalidAccessKey", "the access key " .. ak .. " does not exist"
  end
  if service ~= "ark" or term ~= "request" then
    return 401, "InvalidCredential", "the credential scope must end with /ark/request"
  end
  local want_region = env.config.region
  if want_region ~= nil and region ~= want_region then
    return 401, "InvalidCredential", "the credential scope names region " .. region
  end
  local x_date = req.headers["x-date"]
  local t = x_date and unix_of_xdate(x_date)
  if not t then return 401, "InvalidTimestamp", "X-Date must read YYYYMMDDTHHMMSSZ" end
  if math.abs(now - t) > SKEW then
    return 401, "InvalidTimestamp", "X-Date " .. x_date .. " is more than 15 minutes from the server's time"
  end
  if x_date:sub(1, 8) ~= date then
    return 401, "InvalidCredential", "the credential date does not match X-Date"
  end
  local names, listed = {}, {}
  for name in signed_list:gmatch("[^;]+") do
    if name ~= lower(name) then
      return 401, "InvalidAuthorization", "SignedHeaders must be lower case"
    end
    if #names > 0 and name <= names[#names] then
      return 401, "InvalidAuthorization", "SignedHeaders must be sorted"
    end
    if req.headers[name] == nil then
      return 401, "InvalidAuthorization", "signed header " .. name .. " is missing"
    end
    names[#names + 1] = name
    listed[name] = true
  end
  for _, name in ipairs(SIGNED_REQUIRED) do
    if not listed[name] then return 401, "InvalidAuthorization", "SignedHeaders must include " .. name end
  end
  if not ok_core then return 500, "InternalError", "the emulator cannot load seedance.core" end
  if req.headers["x-content-sha256"] ~= core.sha256_hex(req.body or "") then
    return 401, "SignatureDoesNotMatch", "X-Content-Sha256 does not match the body"
  end
  local secret = env.config.secret_key
  if secret ~= nil and expected_signature(req, signed_list, names, x_date, region, secret) ~= sig then
    return 401, "SignatureDoesNotMatch",
           "the request signature we calculated does not match the signature you provided"
  end
  return nil
end

--- Field checking

-- nil when `t` has the fields `spec` allows ({Name = "string"|"number"|"table"|"list"}) and
-- every one `required` names; else code, message. JSON nulls are dropped first.
local function check_fields(t, spec, required, where)
  common.drop_nulls(t)
  for k, v in pairs(t) do
    local want = spec[k]
    if not want then
      return "InvalidParameter", "unknown field '" .. tostring(k) .. "'" .. (where or "") .. common.field_hint(spec, k)
    end
    local ok
    if want == "list" then ok = common.is_array(v)
    elseif want == "table" then ok = type(v) == "table" and (next(v) == nil or not common.is_array(v))
    else ok = type(v) == want end
    if not ok then return "InvalidParameter", "'" .. k .. "' must be a " .. want end
  end
  for _, k in ipairs(required or {}) do
    if t[k] == nil or t[k] == "" then return "MissingParameter", "'" .. k .. "' is required" end
  end
  return nil
end

local function strings(list, name)
  for _, v in ipairs(list) do
    if type(v) ~= "string" then return "'" .. name .. "' must list strings" end
  end
  return nil
end

-- The Filter of a List* body ({Filter, PageNumber, PageSize}), checked against `fields`, each
-- of `lists` holding strings only; or nil and the refusal's code and message
local function list_filter(b, fields, lists)
  local code, msg = check_fields(b, {Filter = "table", PageNumber = "number", PageSize = "number"})
  if code then return nil, code, msg end
  local f = b.Filter or {}
  code, msg = check_fields(f, fields, nil, " in Filter")
  if code then return nil, code, msg end
  for _, k in ipairs(lists) do
    local bad = f[k] and strings(f[k], k)
    if bad then return nil, "InvalidParameter", bad end
  end
  return f
end

-- a Filter's list as a set; nil (no filtering) when it is absent or empty
local function set_of(list)
  if not list or #list == 0 then return nil end
  local set = {}
  for _, v in ipairs(list) do set[v] = true end
  return set
end

local function paging(b)
  local page, size = b.PageNumber or 1, b.PageSize or 10
  if page < 1 or page ~= floor(page) then return nil, nil, "'PageNumber' must be a positive integer" end
  if size < 1 or size > MAX_PAGE_SIZE or size ~= floor(size) then
    return nil, nil, "'PageSize' must be between 1 and " .. MAX_PAGE_SIZE
  end
  return page, size
end

local function page_of(list, page, size, render)
  local items = {}
  local first = (page - 1) * size + 1
  for i = first, math.min(#list, first + size - 1) do items[#items + 1] = render(list[i]) end
  return {Items = common.array(items), TotalCount = #list, PageNumber = page, PageSize = size}
end

local function by_seq(a, b) return a.seq < b.seq end

--- Records

local function render_group(g)
  return {Id = g.id, Name = g.name, Description = g.description, GroupType = g.type,
          CreateTime = iso(g.created_at), UpdateTime = iso(g.updated_at)}
end

local function render_asset(a, now)
  local status = WORDS[common.asset_status(a, now)]
  local updated = status == "Processing" and a.updated_at or math.max(a.updated_at, a.ready_at)
  local r = {Id = a.id, Name = a.name, URL = a.url, AssetType = a.type, GroupId = a.group_id,
             Status = status, CreateTime = iso(a.created_at), UpdateTime = iso(updated)}
  if status == "Failed" then r.Error = {Code = a.failure.code, Message = a.failure.message} end
  return r
end

local function processing_count(state, now)
  local n = 0
  for _, a in pairs(state.assets) do
    if now < a.ready_at then n = n + 1 end
  end
  return n
end

--- Actions: fn(state, body, env, now) -> status, result | status, nil, code, message

local actions = {}

local function new_group(state, env, now, name, description, gtype)
  local g = {id = env.new_id("group"), seq = next_seq(state), name = name or "",
             description = description or "", type = gtype, created_at = now, updated_at = now}
  state.groups[g.id] = g
  return g
end

function actions.CreateAssetGroup(state, b, env, now)
  local code, msg = check_fields(b, {Name = "string", Description = "string", GroupType = "string"},
                                 {"Name", "GroupType"})
  if code then return 400, nil, code, msg end
  if b.GroupType ~= "AIGC" then
    return 400, nil, "InvalidParameter", "GroupType must be \"AIGC\" (real-person groups come from visual validation)"
  end
  if #b.Name > 64 then return 400, nil, "InvalidParameter", "Name is longer than 64 characters" end
  if b.Description and #b.Description > 300 then
    return 400, nil, "InvalidParameter", "Description is longer than 300 characters"
  end
  local g = new_group(state, env, now, b.Name, b.Description, "AIGC")
  env.created("group:" .. b.Name)
  return 200, {Id = g.id}
end

local function find_group(state, id)
  local g = state.groups[id]
  if not g then return nil, 404, nil, "ResourceNotFound", "asset group " .. tostring(id) .. " does not exist" end
  return g
end

function actions.GetAssetGroup(state, b)
  local code, msg = check_fields(b, {Id = "string"}, {"Id"})
  if code then return 400, nil, code, msg end
  local g, s, _, c, m = find_group(state, b.Id)
  if not g then return s, nil, c, m end
  return 200, render_group(g)
end

function actions.UpdateAssetGroup(state, b, _, now)
  local code, msg = check_fields(b, {Id = "string", Name = "string", Description = "string"}, {"Id"})
  if code then return 400, nil, code, msg end
  local g, s, _, c, m = find_group(state, b.Id)
  if not g then return s, nil, c, m end
  if b.Name and #b.Name > 64 then return 400, nil, "InvalidParameter", "Name is longer than 64 characters" end
  if b.Name then g.name = b.Name end
  if b.Description then g.description = b.Description end
  g.updated_at = now
  return 200, {Id = g.id}
end

function actions.DeleteAssetGroup(state, b)
  local code, msg = check_fields(b, {Id = "string"}, {"Id"})
  if code then return 400, nil, code, msg end
  local g, s, _, c, m = find_group(state, b.Id)
  if not g then return s, nil, c, m end
  for id, a in pairs(state.assets) do
    if a.group_id == g.id then state.assets[id] = nil end
  end
  state.groups[g.id] = nil
  return 200, {}
end

function actions.ListAssetGroups(state, b)
  local f, code, msg = list_filter(b, {Name = "string", GroupTypes = "list", GroupIds = "list"},
                                  {"GroupTypes", "GroupIds"})
  if not f then return 400, nil, code, msg end
  local types
  if f.GroupTypes and #f.GroupTypes > 0 then
    types = {}
    for _, t in ipairs(f.GroupTypes) do
      if not GROUP_TYPES[t] then return 400, nil, "InvalidParameter", "unknown GroupType '" .. t .. "'" end
      types[t] = true
    end
  end
  local ids = set_of(f.GroupIds)
  local page, size, perr = paging(b)
  if not page then return 400, nil, "InvalidParameter", perr end
  local list = {}
  for _, g in pairs(state.groups) do
    if (not types or types[g.type]) and (not ids or ids[g.id])
       and (not f.Name or g.name:find(f.Name, 1, true)) then
      list[#list + 1] = g
    end
  end
  table.sort(list, by_seq)
  return 200, page_of(list, page, size, render_group)
end

function actions.CreateAsset(state, b, env, now)
  local code, msg = check_fields(b, {GroupId = "string", URL = "string", Name = "string", AssetType = "string"},
                                 {"GroupId", "URL", "AssetType"})
  if code then return 400, nil, code, msg end
  if not TYPES[b.AssetType] then
    return 400, nil, "InvalidParameter",
           "AssetType must be \"Image\", \"Video\" or \"Audio\", got '" .. b.AssetType .. "'"
  end
  local implied = common.media_type(common.extension(b.URL))
  if implied and implied ~= b.AssetType then
    return 400, nil, "InvalidParameter", "URL is a " .. lower(implied) .. " but AssetType is " .. b.AssetType
  end
  local g, s, _, c, m = find_group(state, b.GroupId)
  if not g then return s, nil, c, m end
  if processing_count(state, now) >= MAX_PROCESSING then
    return 429, nil, "FlowLimitExceeded", "at most " .. MAX_PROCESSING .. " assets may be processing at once"
  end
  local failure = common.url_failure(b.URL)
  if not failure and g.type == "RealHuman" and lower(b.URL):find("other-person", 1, true) then
    failure = {code = "FaceMismatch",
               message = "the face does not match the verified person of this group"}
  end
  local a = {id = env.new_id("asset"), seq = next_seq(state), group_id = g.id, url = b.URL,
             name = b.Name or common.basename(b.URL), type = b.AssetType, created_at = now,
             updated_at = now, ready_at = now + (tonumber(env.config.processing) or 0), failure = failure}
  state.assets[a.id] = a
  env.created(g.id .. "\0" .. b.URL)
  return 200, {Id = a.id}
end

local function find_asset(state, id)
  local a = state.assets[id]
  if not a then return nil, 404, nil, "ResourceNotFound", "asset " .. tostring(id) .. " does not exist" end
  return a
end

function actions.GetAsset(state, b, _, now)
  local code, msg = check_fields(b, {Id = "string"}, {"Id"})
  if code then return 400, nil, code, msg end
  local a, s, _, c, m = find_asset(state, b.Id)
  if not a then return s, nil, c, m end
  return 200, render_asset(a, now)
end

function actions.UpdateAsset(state, b, _, now)
  local code, msg = check_fields(b, {Id = "string", Name = "string"}, {"Id", "Name"})
  if code then return 400, nil, code, msg end
  local a, s, _, c, m = find_asset(state, b.Id)
  if not a then return s, nil, c, m end
  a.name, a.updated_at = b.Name, now
  return 200, {Id = a.id}
end

function actions.DeleteAsset(state, b)
  local code, msg = check_fields(b, {Id = "string"}, {"Id"})
  if code then return 400, nil, code, msg end
  local a, s, _, c, m = find_asset(state, b.Id)
  if not a then return s, nil, c, m end
  state.assets[a.id] = nil
  return 200, {}
end

function actions.ListAssets(state, b, _, now)
  local f, code, msg = list_filter(b, {GroupIds = "list", Statuses = "list", Name = "string"},
                                  {"GroupIds", "Statuses"})
  if not f then return 400, nil, code, msg end
  local groups, statuses = set_of(f.GroupIds), nil
  if f.Statuses and #f.Statuses > 0 then
    statuses = {}
    for _, w in ipairs(f.Statuses) do
      if WORDS[lower(w)] ~= w then
        return 400, nil, "InvalidParameter", "unknown status '" .. w .. "' (Processing, Active or Failed)"
      end
      statuses[lower(w)] = true
    end
  end
  local page, size, perr = paging(b)
  if not page then return 400, nil, "InvalidParameter", perr end
  local list = {}
  for _, a in pairs(state.assets) do
    if (not groups or groups[a.group_id]) and (not statuses or statuses[common.asset_status(a, now)])
       and (not f.Name or a.name:find(f.Name, 1, true)) then
      list[#list + 1] = a
    end
  end
  table.sort(list, by_seq)
  return 200, page_of(list, page, size, function(a) return render_asset(a, now) end)
end

local ALPHA = "abcdefghijklmnopqrstuvwxyz0123456789"

function actions.CreateVisualValidateSession(state, b, env, now)
  local code, msg = check_fields(b, {CallbackURL = "string"})
  if code then return 400, nil, code, msg end
  local rng = state.rng or common.rng((tonumber(env.config.seed) or 1) + 104729)
  state.rng = rng
  local token
  repeat
    local t = {}
    for i = 1, 32 do
      local k = rng:int(#ALPHA) + 1
      t[i] = ALPHA:sub(k, k)
    end
    token = "bt-" .. table.concat(t)
  until not state.sessions[token]
  local s = {token = token, callback = b.CallbackURL, created_at = now,
             ready_at = now + (tonumber(env.config.processing) or 0), expires_at = now + LINK_TTL,
             fails = b.CallbackURL ~= nil and lower(b.CallbackURL):find("verify-fail", 1, true) ~= nil}
  state.sessions[token] = s
  env.created("session:" .. token)
  local link = "https://h5.emulator.invalid/visual-validate?byted_token=" .. token
  return 200, {BytedToken = token, H5Link = link, CallbackURL = b.CallbackURL}
end

function actions.GetVisualValidateResult(state, b, env, now)
  local code, msg = check_fields(b, {BytedToken = "string"}, {"BytedToken"})
  if code then return 400, nil, code, msg end
  local s = state.sessions[b.BytedToken]
  if not s then return 400, nil, "InvalidBytedToken", "unknown BytedToken" end
  if s.spent then return 400, nil, "InvalidBytedToken", "this BytedToken was already used" end
  if now < s.ready_at then
    if now >= s.expires_at then
      return 400, nil, "BytedTokenExpired", "the verification link expired before the check finished"
    end
    return 200, {}
  end
  if s.ready_at > s.expires_at then
    return 400, nil, "BytedTokenExpired", "the verification link expired before the check finished"
  end
  s.spent = true
  if s.fails then
    return 400, nil, "VisualValidateFailed", "the live face check did not pass"
  end
  local g = new_group(state, env, s.ready_at, "real-human-" .. s.token:sub(4, 11), "", "RealHuman")
  s.group_id = g.id
  return 200, {GroupId = g.id}
end

--- The route

local function handle(state, req, _, env)
  local now = env.now()
  state.rid = state.rid + 1
  local rid = request_id(state.rid, now)
  local action, version = req.query.Action, req.query.Version
  state.last = {method = req.method, path = req.path, raw_query = req.raw_query,
                headers = req.headers, body = req.body}
  local function fail(status, code, message) return envelope(rid, action, status, nil, code, message) end

  local status, code, message = check_signature(req, env, now)
  if status then return fail(status, code, message) end
  if action == nil or action == "" then return fail(400, "MissingParameter", "'Action' is required") end
  if version == nil or version == "" then return fail(400, "MissingParameter", "'Version' is required") end
  local fn = actions[action]
  if not fn or version ~= VERSION then
    return fail(404, "InvalidActionOrVersion", "Could not find operation " .. action .. " for version " .. version)
  end
  if not lower(req.headers["content-type"] or ""):find("application/json", 1, true) then
    return fail(400, "InvalidParameter", "Content-Type must be application/json")
  end
  local body = {}
  if req.body and req.body ~= "" then
    local decoded = common.decode(req.body)
    if type(decoded) ~= "table" or (next(decoded) ~= nil and common.is_array(decoded)) then
      return fail(400, "InvalidParameter", "the body must be a JSON object")
    end
    body = decoded
  end
  state.actions[action] = (state.actions[action] or 0) + 1
  local st, result, c, m = fn(state, body, env, now)
  if c then return fail(st, c, m) end
  return envelope(rid, action, st, result)
end

--- Everything, for {op = "dump"}: groups, assets and sessions in creation order, the
-- count of each action served, and the last request as received (either plane).
function ark.dump(state, env)
  local now = env.now()
  local groups, assets, sessions = {}, {}, {}
  for _, g in pairs(state.groups) do groups[#groups + 1] = g end
  for _, a in pairs(state.assets) do assets[#assets + 1] = a end
  table.sort(groups, by_seq)
  table.sort(assets, by_seq)
  for i, g in ipairs(groups) do groups[i] = render_group(g) end
  for i, a in ipairs(assets) do assets[i] = render_asset(a, now) end
  for _, s in pairs(state.sessions) do
    sessions[#sessions + 1] = {BytedToken = s.token, spent = s.spent == true, GroupId = s.group_id,
                               CallbackURL = s.callback}
  end
  return {groups = common.array(groups), assets = common.array(assets),
          sessions = common.array(sessions), actions = state.actions, last_request = state.last}
end

ark.routes = {
  {"POST", "/", handle},
}
for _, r in ipairs(data_plane.routes) do ark.routes[#ark.routes + 1] = r end

return ark
