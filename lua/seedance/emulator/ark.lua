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
-- Failed for the URL markers of seedance.emulator.twin.url_failure, and FaceMismatch
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

local T = require "seedance.emulator.twin"
local url = require "seedance.wire.url"
local data_plane = require "seedance.emulator.ark_tasks"
local request_id = data_plane.request_id
local ok_core, core = pcall(require, "seedance.core")

local floor, lower, format = math.floor, string.lower, string.format

local ark = {
  name = "ark",
  -- emu.url is the data plane (the documented base ends in /api/v3); emu.control_url is
  -- the mount's root, where the signed control plane answers `POST /?Action=...`
  base_path = "/api/v3",
  control_plane = true,
}

local VERSION = "2024-01-01"
local SIGNED_REQUIRED = {"content-type", "host", "x-content-sha256", "x-date"}

--- Envelope

-- error()'s answers (faults, unknown routes) have no state: their ids come from here
local loose_ids = 0

local function envelope(rid, action, status, result, code, message)
  local meta = {RequestId = rid, Action = action or T.null, Version = VERSION, Service = "ark", Region = "cn-beijing",
                Error = code and {Code = code, Message = message} or nil}
  return T.json(status, {ResponseMetadata = meta, Result = result})
end

-- the control plane's own codes: any 5xx but 503 is InternalError
local STATUS_CODE = T.codes{[413] = "RequestEntityTooLarge", [429] = "FlowLimitExceeded", [455] = "ServiceUnavailable",
                            [500] = "InternalError", [502] = "InternalError", [504] = "InternalError"}

--- An answer in Volcengine's error shape.
function ark.error(status, message)
  loose_ids = loose_ids + 1
  return envelope(request_id(loose_ids, os.time()), nil, status, nil, STATUS_CODE[status] or "InternalError", message)
end

function ark.new()
  local s = T.state()
  s.rid, s.actions = 0, {}  -- Action -> count, for specs
  return s
end

--- Signature checking

local function unix_of_xdate(s)
  local y, mo, d, h, mi, sec = s:match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  if not y then return nil end
  return require("seedance.model.time").parse(format("%s-%s-%sT%s:%s:%sZ", y, mo, d, h, mi, sec))
end

local escape = url.escape

local function canonical_query(raw)
  local list = {}
  for part in (raw or ""):gmatch("[^&]+") do
    local k, v = part:match("^([^=]*)=?(.*)$")
    list[#list + 1] = {escape(T.unescape(k)), escape(T.unescape(v))}
  end
  table.sort(list, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    return a[2] < b[2]
  end)
  for i, p in ipairs(list) do list[i] = p[1] .. "=" .. p[2] end
  return table.concat(list, "&")
end

local function hmac(key, msg) return core.hmac_sha256(key, msg) end

-- The signature the request should carry, from the request as received.
local function expected_signature(req, signed_list, names, x_date, region, secret)
  local lines = {}
  for i, name in ipairs(names) do
    lines[i] = name .. ":" .. req.headers[name]:gsub("^%s+", ""):gsub("%s+$", "") .. "\n"
  end
  local canonical = table.concat({req.method, (req.path:gsub("[^/]+", escape)), canonical_query(req.raw_query),
                                  table.concat(lines), signed_list, core.sha256_hex(req.body or "")}, "\n")
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
  if alg ~= "HMAC-SHA256" then return 401, "InvalidAuthorization", "unsupported signing algorithm " .. alg end
  local ak, date, region, service, term = cred:match("^([^/]+)/(%d%d%d%d%d%d%d%d)/([^/]+)/([^/]+)/([^/]+)$")
  if not ak then return 401, "InvalidCredential", "malformed Credential scope" end
  local cfg = env.config
  if cfg.access_key ~= nil and ak ~= cfg.access_key then
    return 401, "InvalidAccessKey", "the access key " .. ak .. " does not exist"
  end
  if service ~= "ark" or term ~= "request" then
    return 401, "InvalidCredential", "the credential scope must end with /ark/request"
  end
  if cfg.region ~= nil and region ~= cfg.region then
    return 401, "InvalidCredential", "the credential scope names region " .. region
  end
  local x_date = req.headers["x-date"]
  local t = x_date and unix_of_xdate(x_date)
  if not t then return 401, "InvalidTimestamp", "X-Date must read YYYYMMDDTHHMMSSZ" end
  if math.abs(now - t) > 15 * 60 then
    return 401, "InvalidTimestamp", "X-Date " .. x_date .. " is more than 15 minutes from the server's time"
  end
  if x_date:sub(1, 8) ~= date then return 401, "InvalidCredential", "the credential date does not match X-Date" end
  local names, listed = {}, {}
  for name in signed_list:gmatch("[^;]+") do
    if name ~= lower(name) then return 401, "InvalidAuthorization", "SignedHeaders must be lower case" end
    if #names > 0 and name <= names[#names] then return 401, "InvalidAuthorization", "SignedHeaders must be sorted" end
    if req.headers[name] == nil then return 401, "InvalidAuthorization", "signed header " .. name .. " is missing" end
    names[#names + 1], listed[name] = name, true
  end
  for _, name in ipairs(SIGNED_REQUIRED) do
    if not listed[name] then return 401, "InvalidAuthorization", "SignedHeaders must include " .. name end
  end
  if not ok_core then return 500, "InternalError", "the emulator cannot load seedance.core" end
  if req.headers["x-content-sha256"] ~= core.sha256_hex(req.body or "") then
    return 401, "SignatureDoesNotMatch", "X-Content-Sha256 does not match the body"
  end
  if cfg.secret_key ~= nil and expected_signature(req, signed_list, names, x_date, region, cfg.secret_key) ~= sig then
    return 401, "SignatureDoesNotMatch", "the request signature we calculated does not match the signature you provided"
  end
end

--- Field checking: exact names (a near miss gets a hint), JSON types, required ones

local WORDS = {unknown = "unknown field '%s'%s", required = "'%s' is required", type = "'%s' must be a %s",
               range = function(k, f) return k .. " is longer than " .. f.max .. " characters" end}
local FILTER_WORDS = setmetatable({unknown = "unknown field '%s' in Filter%s"}, {__index = WORDS})

-- Ends the action being served with an error in its envelope (see T.refuse).
local function refuse(state, status, code, message)
  T.refuse(envelope(state.request_id, state.action, status, nil, code, message))
end

local function invalid(state, message) refuse(state, 400, "InvalidParameter", message) end

-- `b` when it fits `schema`; else refuses
local function checked(state, b, schema, words)
  local msg, rule = T.check(b, schema, words or WORDS)
  if msg then refuse(state, 400, rule == "required" and "MissingParameter" or "InvalidParameter", msg) end
  return b
end

local PAGING = {nulls = true, {"Filter", "table"}, {"PageNumber", "number"}, {"PageSize", "number"}}

-- The Filter of a List* body, checked against `schema` (lists of strings only), its lists as
-- sets (nil: absent), page and size.
local function list_filter(state, b, schema)
  local f = checked(state, checked(state, b, PAGING).Filter or {}, schema, FILTER_WORDS)
  -- an empty list filters nothing
  local sets = T.filter_sets(f, schema, function(k) invalid(state, "'" .. k .. "' must list strings") end, true)
  local page, size = b.PageNumber or 1, b.PageSize or 10
  if page < 1 or page ~= floor(page) then
    invalid(state, "'PageNumber' must be a positive integer")
  end
  if size < 1 or size > 100 or size ~= floor(size) then
    invalid(state, "'PageSize' must be between 1 and 100")
  end
  return f, sets, page, size
end

-- the records as Volcengine shows them (seedance.emulator.twin)
local render_asset, render_group = T.volc_records()

--- Actions: {schema of the body (checked first), fn(state, body, env, now) -> result}; a
-- refusal raises (refuse)

local actions = {}

local ID = {nulls = true, {"Id", "string", req = true}}

-- the record `id` names in state[kind], or a refusal
local function find(state, kind, id)
  return state[kind][id] or refuse(state, 404, "ResourceNotFound",
                                   (kind == "groups" and "asset group " or "asset ") .. id .. " does not exist")
end

actions.CreateAssetGroup = {{nulls = true, {"Name", "string", req = true, max = 64},
                             {"Description", "string", max = 300}, {"GroupType", "string", req = true}},
                            function(state, b, env, now)
  if b.GroupType ~= "AIGC" then
    invalid(state, "GroupType must be \"AIGC\" (real-person groups come from visual validation)")
  end
  local g = T.new_group(state, env, now, {name = b.Name, description = b.Description or "", type = "AIGC"})
  env.created("group:" .. b.Name)
  return {Id = g.id}
end}

actions.GetAssetGroup = {ID, function(state, b) return render_group(find(state, "groups", b.Id)) end}

actions.UpdateAssetGroup = {{nulls = true, {"Id", "string", req = true}, {"Name", "string", max = 64},
                             {"Description", "string"}}, function(state, b, _, now)
  local g = find(state, "groups", b.Id)
  g.name, g.description, g.updated_at = b.Name or g.name, b.Description or g.description, now
  return {Id = g.id}
end}

actions.DeleteAssetGroup = {ID, function(state, b)
  local g = find(state, "groups", b.Id)
  for id, a in pairs(state.assets) do
    if a.group_id == g.id then state.assets[id] = nil end
  end
  state.groups[g.id] = nil
  return {}
end}

actions.ListAssetGroups = {nil, function(state, b)
  local f, sets, page, size = list_filter(state, b, {nulls = true, {"Name", "string"}, {"GroupTypes", "list"},
                                                     {"GroupIds", "list"}})
  for t in pairs(sets.GroupTypes or {}) do
    if t ~= "AIGC" and t ~= "RealHuman" then invalid(state, "unknown GroupType '" .. t .. "'") end
  end
  local list = T.sorted(state.groups, function(g)
    return (not sets.GroupTypes or sets.GroupTypes[g.type]) and (not sets.GroupIds or sets.GroupIds[g.id])
       and (not f.Name or g.name:find(f.Name, 1, true))
  end)
  return T.page(list, page, size, render_group)
end}

actions.CreateAsset = {{nulls = true, {"GroupId", "string", req = true}, {"URL", "string", req = true},
                        {"Name", "string"}, {"AssetType", "string", req = true}}, function(state, b, env, now)
  if T.TYPE[lower(b.AssetType)] ~= b.AssetType then
    invalid(state, "AssetType must be \"Image\", \"Video\" or \"Audio\", got '" .. b.AssetType .. "'")
  end
  local implied = T.media_type(T.extension(b.URL))
  if implied and implied ~= b.AssetType then
    invalid(state, "URL is a " .. lower(implied) .. " but AssetType is " .. b.AssetType)
  end
  local g = find(state, "groups", b.GroupId)
  local processing = 0
  for _, a in pairs(state.assets) do
    if now < a.ready_at then processing = processing + 1 end
  end
  if processing >= 30 then refuse(state, 429, "FlowLimitExceeded", "at most 30 assets may be processing at once") end
  local failure = T.url_failure(b.URL) or (g.type == "RealHuman" and lower(b.URL):find("other-person", 1, true)
    and {code = "FaceMismatch", message = "the face does not match the verified person of this group"}) or nil
  local a = T.new_asset(state, env, now, {group_id = g.id, url = b.URL, name = b.Name or T.basename(b.URL),
                                          asset_type = b.AssetType, failure = failure}, g.id .. "\0" .. b.URL)
  return {Id = a.id}
end}

actions.GetAsset = {ID, function(state, b, _, now) return render_asset(find(state, "assets", b.Id), now) end}

actions.UpdateAsset = {{nulls = true, {"Id", "string", req = true}, {"Name", "string", req = true}},
                       function(state, b, _, now)
  local a = find(state, "assets", b.Id)
  a.name, a.updated_at = b.Name, now
  return {Id = a.id}
end}

actions.DeleteAsset = {ID, function(state, b)
  state.assets[find(state, "assets", b.Id).id] = nil
  return {}
end}

actions.ListAssets = {nil, function(state, b, _, now)
  local f, sets, page, size = list_filter(state, b, {nulls = true, {"GroupIds", "list"}, {"Statuses", "list"},
                                                     {"Name", "string"}})
  for w in pairs(sets.Statuses or {}) do
    if T.STATUS[lower(w)] ~= w then invalid(state, "unknown status '" .. w .. "' (Processing, Active or Failed)") end
  end
  local list = T.sorted(state.assets, function(a)
    return (not sets.GroupIds or sets.GroupIds[a.group_id])
       and (not sets.Statuses or sets.Statuses[T.STATUS[T.asset_status(a, now)]])
       and (not f.Name or a.name:find(f.Name, 1, true))
  end)
  return T.page(list, page, size, function(a) return render_asset(a, now) end)
end}

actions.CreateVisualValidateSession = {{nulls = true, {"CallbackURL", "string"}}, function(state, b, env, now)
  state.rng = state.rng or T.rng((tonumber(env.config.seed) or 1) + 104729)
  local token
  repeat token = "bt-" .. T.random_string(state.rng, 32) until not state.sessions[token]
  T.new_session(state, env, now, token, {callback = b.CallbackURL}, 120, b.CallbackURL)
  env.created("session:" .. token)
  return {BytedToken = token, CallbackURL = b.CallbackURL,
          H5Link = "https://h5.emulator.invalid/visual-validate?byted_token=" .. token}
end}

actions.GetVisualValidateResult = {{nulls = true, {"BytedToken", "string", req = true}}, function(state, b, env, now)
  local s = state.sessions[b.BytedToken] or refuse(state, 400, "InvalidBytedToken", "unknown BytedToken")
  local phase = T.session_state(s, now)
  if phase == "spent" then refuse(state, 400, "InvalidBytedToken", "this BytedToken was already used") end
  if phase == "pending" then return {} end
  if phase == "expired" then
    refuse(state, 400, "BytedTokenExpired", "the verification link expired before the check finished")
  end
  s.spent = true
  if s.fails then refuse(state, 400, "VisualValidateFailed", "the live face check did not pass") end
  s.group_id = T.new_group(state, env, s.done_at, {name = "real-human-" .. s.token:sub(4, 11), description = "",
                                                   type = "RealHuman"}).id
  return {GroupId = s.group_id}
end}

--- The route

local function handle(state, req, _, env, now)
  state.rid = state.rid + 1
  local action, version = req.query.Action, req.query.Version
  state.request_id, state.action = request_id(state.rid, now), action
  local status, code, message = check_signature(req, env, now)
  if status then refuse(state, status, code, message) end
  if action == nil or action == "" then refuse(state, 400, "MissingParameter", "'Action' is required") end
  if version == nil or version == "" then refuse(state, 400, "MissingParameter", "'Version' is required") end
  local a = actions[action]
  if not a or version ~= VERSION then
    refuse(state, 404, "InvalidActionOrVersion", "Could not find operation " .. action .. " for version " .. version)
  end
  if not lower(req.headers["content-type"] or ""):find("application/json", 1, true) then
    invalid(state, "Content-Type must be application/json")
  end
  local body = {}
  if req.body and req.body ~= "" then
    body = T.decode(req.body)
    if not T.is_object(body) then invalid(state, "the body must be a JSON object") end
  end
  state.actions[action] = (state.actions[action] or 0) + 1
  if a[1] then checked(state, body, a[1]) end
  return envelope(state.request_id, action, 200, a[2](state, body, env, now))
end

--- {op = "dump"}: groups, assets, sessions, and the count of each action served.
ark.show = {
  {"groups", "groups", render_group},
  {"assets", "assets", function(a, _, now) return render_asset(a, now) end},
  {"sessions", "sessions", function(s)
    return {BytedToken = s.token, spent = s.spent == true, GroupId = s.group_id, CallbackURL = s.callback}
  end},
}

function ark.dump(state)
  return {actions = state.actions}
end

-- callbacks of the data plane's tasks (seedance.emulator.ark_tasks)
ark.tick = data_plane.tick

ark.routes = {{"POST", "/", handle, auth = false}}
for _, r in ipairs(data_plane.routes) do ark.routes[#ark.routes + 1] = r end

return ark
