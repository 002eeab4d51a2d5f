--- The AnyFast twin: the upstream asset library behind `POST /volc/asset/<Action>`,
-- as described in reference/providers.md section 4 and AnyFast's doc pages (seeds/003).
--
-- Auth `Authorization: Bearer <key>`; each key sees only what it created, and
-- group names get the key's `[u-<user>]-[t-<token>]-` prefix. Answers are the bare
-- result (no envelope). `model` bills the call: CreateAsset must name the one of
-- its type (`volc-asset` image, the default; `volc-asset-video`; `volc-asset-audio`).
-- CreateAsset takes JSON (`URL`: a public URL, a data URI, or raw base64, which is
-- a PNG) or multipart/form-data (`model`, `file`, `GroupId`, `Name`), whose parts
-- are parsed here for real; inline and uploaded bytes are sniffed, and bytes
-- that are not of the asset's type make it Failed. Assets are Processing for
-- `config.processing` seconds, then Active, or Failed for the markers of
-- common.url_failure (checked on a file's name too), and `FaceMismatch` in a
-- LivenessFace group for a URL or file name holding `other-person`.
-- A visual-validate session's person completes the check `config.processing`
-- seconds after the start; the result then hands out a new LivenessFace group
-- once: the BytedToken is spent after that.
-- [assumed] Errors are `{"error": {"code", "message", "type"}}`; the not-ready
-- result is `{"GroupId": ""}`; a spent token is a 400 saying so.
--
-- Generation: `POST /v1/video/generations {model: seedance | seedance-fast, content[],
-- resolution, ratio, duration, generate_audio, watermark, tools, return_last_frame}`
-- answers `{id: "cgt-...", task_id, object, model, status: "", progress: 0, created_at}`;
-- `content[]` is checked as the docs say: the text item first, then images, videos,
-- audios (roles reference_image | first_frame | last_frame, reference_video,
-- reference_audio); asset:// references must be this key's own Active assets of the
-- item's type. `GET /v1/video/generations/{id}` (the cgt id or the asyntask id)
-- answers `{code: "success", message, data: {task_id: "asyntask_...", action, status:
-- NOT_START|QUEUED|IN_PROGRESS|SUCCESS|FAILURE, result_url, fail_reason, progress: "NN%",
-- data: <the upstream task>}}`; on SUCCESS `fail_reason` repeats `result_url`, as
-- AnyFast does for legacy clients. A failure reaches "100%" with the reason in
-- `fail_reason` and the upstream error in `data.data.error` (moderation:
-- OutputVideoSensitiveContentDetected); an expired task is FAILURE with the upstream
-- status "expired". [assumed] An unknown task id is a 400 `{code: "task_not_exist"}`.
-- @module seedance.emulator.anyfast

local common = require "seedance.emulator.common"

local iso, floor, lower, byte, char = common.iso8601, math.floor, string.lower, string.byte, string.char

local anyfast = {name = "anyfast"}

local MODEL_OF = {Image = "volc-asset", Video = "volc-asset-video", Audio = "volc-asset-audio"}
local MODELS = {["volc-asset"] = true, ["volc-asset-video"] = true, ["volc-asset-audio"] = true}
local STATUSES = {Processing = "processing", Active = "active", Failed = "failed"}
local WORDS = {processing = "Processing", active = "Active", failed = "Failed"}
local GROUP_TYPES = {AIGC = true, LivenessFace = true}
local MAX_PAGE_SIZE = 100
local TOS = "https://ark-media-asset.tos-cn-beijing.volces.com/"

local CODES = {
  [400] = "InvalidParameter", [401] = "Unauthorized", [404] = "NotFound",
  [405] = "MethodNotAllowed", [429] = "RateLimitExceeded", [500] = "InternalServiceError",
  [502] = "BadGateway", [503] = "ServiceUnavailable", [504] = "GatewayTimeout",
}

--- An answer in AnyFast's error shape.
function anyfast.error(status, message, code)
  return common.json(status, {error = {code = code or CODES[status] or "Error", message = message,
                                       type = status >= 500 and "upstream_error" or "invalid_request_error"}})
end
local fail = anyfast.error

--- State

--- Fresh state (again on reset).
function anyfast.new(env)
  return {assets = {}, groups = {}, sessions = {}, tasks = {}, task_alias = {}, seq = 0, last = nil,
          rng = common.rng((tonumber(env.config.seed) or 1) + 15485863)}
end

-- a stable small number per key: the user and token ids of the name prefix
local function key_hash(key, mul)
  local h = 0
  for i = 1, #key do h = (h * mul + byte(key, i)) % 1000003 end
  return h
end

local function prefix(key)
  return ("[u-%d]-[t-%d]-"):format(1000 + key_hash(key, 31) % 9000, key_hash(key, 131))
end

local function render(a, now)
  local status = WORDS[common.asset_status(a, now)]
  local out = {Id = a.id, Name = a.name, URL = a.url, AssetType = a.asset_type, GroupId = a.group_id,
               Status = status, ProjectName = "default", CreateTime = iso(a.created_at),
               UpdateTime = iso(now >= a.ready_at and a.ready_at or a.created_at)}
  if status == "Failed" then out.Error = {Code = a.failure.code, Message = a.failure.message} end
  return out
end

local function render_group(g)
  return {Id = g.id, Name = g.name, GroupType = g.type, ProjectName = "default",
          CreateTime = iso(g.created_at), UpdateTime = iso(g.created_at)}
end

--- Bytes: base64, sniffing, a checksum for the dump

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_VALUE = {}
for i = 1, 64 do B64_VALUE[B64:sub(i, i)] = i - 1 end

-- the decoded bytes, or nil when `s` is not base64
local function b64decode(s)
  s = s:gsub("[\r\n]", "")
  if #s == 0 or #s % 4 ~= 0 or s:find("[^%w%+/=]") or s:find("=[^=]") or s:find("===") then
    return nil
  end
  local out = {}
  for i = 1, #s, 4 do
    local n, pad = 0, 0
    for j = i, i + 3 do
      local c = s:sub(j, j)
      if c == "=" then pad = pad + 1 end
      n = n * 64 + (B64_VALUE[c] or 0)
    end
    local b1, b2, b3 = floor(n / 65536), floor(n / 256) % 256, n % 256
    if pad == 0 then out[#out + 1] = char(b1, b2, b3)
    elseif pad == 1 then out[#out + 1] = char(b1, b2)
    else out[#out + 1] = char(b1) end
  end
  return table.concat(out)
end

-- the media type the first bytes show, or nil (plain comparisons: Lua 5.1 patterns
-- cannot hold a NUL byte)
local function sniff(data)
  local h4, box, riff = data:sub(1, 4), data:sub(5, 8), data:sub(9, 12)
  if h4 == "\137PNG" or data:sub(1, 3) == "\255\216\255" or h4 == "GIF8" or data:sub(1, 2) == "BM"
     or (h4 == "RIFF" and riff == "WEBP") or h4 == "II*\0" or h4 == "MM\0*"
     or (box == "ftyp" and (riff == "heic" or riff == "heif" or riff == "mif1")) then
    return "Image"
  end
  if box == "ftyp" or box == "moov" or box == "mdat" then return "Video" end
  local b1, b2 = byte(data, 1, 2)
  if (h4 == "RIFF" and riff == "WAVE") or data:sub(1, 3) == "ID3" or (b1 == 255 and (b2 or 0) >= 224) then
    return "Audio"
  end
  return nil
end

--- Adler-32 of a string, so a spec can tell the twin got every byte of a file.
function anyfast.checksum(data)
  local a, b = 1, 0
  for i = 1, #data do
    a = (a + byte(data, i)) % 65521
    b = (b + a) % 65521
  end
  return b * 65536 + a
end

--- multipart/form-data

-- the boundary parameter of a Content-Type, quoted or not
local function boundary_of(ct)
  local b = ct:match('[;%s]boundary="([^"]+)"') or ct:match("[;%s]boundary=([^;%s]+)")
  return b
end

local function disposition(headers)
  local d = headers["content-disposition"]
  if not d or not lower(d):find("^%s*form%-data") then return nil end
  local name = d:match(';%s*name="([^"]*)"') or d:match(";%s*name=([^;%s]+)")
  local filename = d:match(';%s*filename="([^"]*)"') or d:match(";%s*filename=([^;%s]+)")
  return name, filename
end

--- Parses a multipart/form-data body: a list of {name=, filename=, content_type=, data=},
-- or nil and why it is malformed.
function anyfast.parse_multipart(body, content_type)
  local b = boundary_of(content_type or "")
  if not b then return nil, "multipart body without a boundary" end
  local delim = "--" .. b
  local pos = 1
  if body:sub(1, #delim) ~= delim then return nil, "multipart body does not start with its boundary" end
  local parts = {}
  while true do
    pos = pos + #delim
    if body:sub(pos, pos + 1) == "--" then break end
    if body:sub(pos, pos + 1) ~= "\r\n" then return nil, "malformed multipart boundary line" end
    pos = pos + 2
    local head_end = body:find("\r\n\r\n", pos, true)
    if not head_end then return nil, "multipart part without a blank line after its headers" end
    local headers = {}
    for line in body:sub(pos, head_end - 1):gmatch("[^\r\n]+") do
      local k, v = line:match("^([^:]+):%s*(.-)%s*$")
      if not k then return nil, "malformed multipart header: " .. line end
      headers[lower(k)] = v
    end
    local data_start = head_end + 4
    local next_delim = body:find("\r\n" .. delim, data_start, true)
    if not next_delim then return nil, "multipart body is not closed by its boundary" end
    local name, filename = disposition(headers)
    if not name then return nil, "multipart part without Content-Disposition: form-data; name=" end
    parts[#parts + 1] = {name = name, filename = filename, content_type = headers["content-type"],
                         data = body:sub(data_start, next_delim - 1)}
    pos = next_delim + 2
  end
  return parts
end

--- Request guards

local is_object = common.is_object


local function json_body(req)
  return common.json_body(req, fail, 400)
end

local function unknown_field(t, allowed, where)
  for k in pairs(t) do
    if not allowed[k] then
      return fail(400, "unknown field '" .. tostring(k) .. "'" .. (where and (" in " .. where) or ""))
    end
  end
  return nil
end

local function check_model(m)
  if m == nil or m == common.null then return nil end
  if not MODELS[m] then return fail(400, "model '" .. tostring(m) .. "' is not an asset billing model") end
  return nil
end

-- the request as {op = "dump"} shows it: a multipart body as its parts (file bytes
-- counted, not copied: they need not be text, and JSON carries text)
local function snapshot(req)
  local out = {method = req.method, path = req.path, raw_query = req.raw_query, headers = req.headers,
               body = req.body}
  if lower(req.headers["content-type"] or ""):find("^multipart/") then
    out.body = "<multipart: " .. #req.body .. " bytes>"
    local parts = anyfast.parse_multipart(req.body, req.headers["content-type"]) or {}
    for i, p in ipairs(parts) do
      parts[i] = {name = p.name, filename = p.filename, content_type = p.content_type,
                  value = not p.filename and p.data or nil, bytes = #p.data}
    end
    out.parts = common.array(parts)
  end
  return out
end

-- Auth first, as the service does; every action is POST with a JSON body except
-- CreateAsset, which parses its own. The request is kept for {op = "dump"}.
local function action(fn, raw)
  return function(state, req, _, env)
    state.last = snapshot(req)
    local scheme, key = (req.headers["authorization"] or ""):match("^(%S+)%s+(%S+)$")
    local want = env.config.api_key
    if not scheme or lower(scheme) ~= "bearer" or (want ~= nil and key ~= want) then
      return fail(401, "invalid or missing bearer token")
    end
    if raw then return fn(state, req, key, env, env.now()) end
    local body, err = json_body(req)
    if not body then return err end
    local bad = check_model(body.model)
    if bad then return bad end
    return fn(state, body, key, env, env.now())
  end
end

local function page_args(body)
  local page, size = body.PageNumber, body.PageSize
  if page == nil or page == common.null then page = 1 end
  if size == nil or size == common.null then size = 10 end
  if type(page) ~= "number" or page < 1 or page ~= floor(page) then
    return nil, fail(400, "PageNumber must be a positive integer")
  end
  if type(size) ~= "number" or size < 1 or size > MAX_PAGE_SIZE or size ~= floor(size) then
    return nil, fail(400, "PageSize must be an integer of 1-" .. MAX_PAGE_SIZE)
  end
  return page, size
end

local function string_list(v, what, allowed)
  if v == nil or v == common.null then return nil end
  if not common.is_array(v) then return nil, fail(400, what .. " must be a list") end
  local set = {}
  for _, x in ipairs(v) do
    if type(x) ~= "string" or (allowed and not allowed[x]) then
      return nil, fail(400, "invalid value in " .. what .. ": " .. common.tostring(x))
    end
    set[x] = true
  end
  return set
end

local function paged(list, page, size, render_one)
  local items = {}
  local first = (page - 1) * size + 1
  for i = first, math.min(#list, first + size - 1) do items[#items + 1] = render_one(list[i]) end
  return common.json(200, {Items = common.array(items), TotalCount = #list, PageNumber = page, PageSize = size})
end

--- Groups

local function create_group(state, body, key, env, now)
  local bad = unknown_field(body, {model = true, Name = true})
  if bad then return bad end
  if type(body.Name) ~= "string" or body.Name == "" then return fail(400, "Name is required") end
  if #body.Name > 64 then return fail(400, "Name must be at most 64 characters") end
  state.seq = state.seq + 1
  local g = {id = env.new_id("group"), seq = state.seq, owner = key, name = prefix(key) .. body.Name,
             plain = body.Name, type = "AIGC", created_at = now}
  state.groups[g.id] = g
  env.created("group:" .. body.Name)
  return common.json(200, {Id = g.id})
end

local FILTER_GROUPS = {Name = true, GroupIds = true, GroupType = true}

local function list_groups(state, body, key)
  local bad = unknown_field(body, {model = true, Filter = true, PageNumber = true, PageSize = true})
  if bad then return bad end
  local f = body.Filter
  if not is_object(f) then return fail(400, "Filter is required: an object") end
  bad = unknown_field(f, FILTER_GROUPS, "Filter")
  if bad then return bad end
  local page, size = page_args(body)
  if not page then return size end
  local ids, err = string_list(f.GroupIds, "Filter.GroupIds")
  if err then return err end
  if f.GroupType ~= nil and not GROUP_TYPES[f.GroupType] then
    return fail(400, "Filter.GroupType must be AIGC or LivenessFace")
  end
  if f.Name ~= nil and type(f.Name) ~= "string" then return fail(400, "Filter.Name must be a string") end
  local list = {}
  for _, g in pairs(state.groups) do
    if g.owner == key and (not ids or ids[g.id]) and (not f.GroupType or f.GroupType == g.type)
       and (not f.Name or g.plain:find(f.Name, 1, true)) then
      list[#list + 1] = g
    end
  end
  common.sort_by(list, "-seq")
  return paged(list, page, size, render_group)
end

--- Assets

-- why the upstream would fail this asset, or nil
local function failure_of(where, asset_type, group, bytes)
  local f = common.url_failure(where)
  if f then return f end
  local shown = bytes and sniff(bytes)
  if bytes and shown ~= asset_type then
    return {code = "InvalidParameter.UnsupportedFormat",
            message = "The uploaded content is not a supported " .. lower(asset_type) .. " format"}
  end
  if group.type == "LivenessFace" and lower(where):find("other-person", 1, true) then
    return {code = "FaceMismatch", message = "Face consistency verification failed."}
  end
  return nil
end

local function own_group(state, id, key)
  if type(id) ~= "string" or id == "" then return nil, fail(400, "GroupId is required") end
  local g = state.groups[id]
  if not g or g.owner ~= key then return nil, fail(404, "asset group not found: " .. id, "NotFound.AssetGroup") end
  return g
end

local function add_asset(state, env, key, now, f)
  state.seq = state.seq + 1
  local a = {id = env.new_id("asset"), seq = state.seq, owner = key, name = f.name, asset_type = f.asset_type,
             group_id = f.group.id, created_at = now, ready_at = now + (tonumber(env.config.processing) or 0),
             failure = failure_of(f.where, f.asset_type, f.group, f.bytes), file = f.file}
  a.url = f.url or (TOS .. key_hash(key, 7) .. "/" .. a.id .. "." .. (f.ext or "png"))
  state.assets[a.id] = a
  env.created(f.where)
  return common.json(200, {Id = a.id})
end

local EXT_OF = {Image = "png", Video = "mp4", Audio = "mp3"}

-- the asset's bytes for a data URI or raw base64 URL (nil for a public URL), or an error
local function inline_bytes(u, asset_type)
  if u:find("^https?://[^/]") then return nil end
  local mime, b64 = u:match("^data:([%w%.%+%-]+/[%w%.%+%-]+);base64,(.*)$")
  if u:find("^data:") then
    if not mime then return nil, fail(400, "URL: malformed data URI (want data:<type>;base64,...)") end
    if lower(mime:match("^(%a+)/")) ~= lower(asset_type) then
      return nil, fail(400, "URL: a " .. mime .. " data URI is not an " .. asset_type)
    end
  else
    b64 = u
    if asset_type ~= "Image" then return nil, fail(400, "URL: raw base64 is taken as a PNG image") end
  end
  local bytes = b64decode(b64)
  if not bytes then return nil, fail(400, "URL is neither a public URL, a data URI nor base64") end
  return bytes, nil, mime
end

local CREATE_FIELDS = {model = true, GroupId = true, Name = true, AssetType = true, URL = true}

local function create_json(state, req, key, env, now)
  local body = common.decode(req.body)
  if not is_object(body) then return fail(400, "request body must be a JSON object") end
  local bad = unknown_field(body, CREATE_FIELDS) or check_model(body.model)
  if bad then return bad end
  local group, err = own_group(state, body.GroupId, key)
  if not group then return err end
  local t = body.AssetType
  if not MODEL_OF[t] then return fail(400, "AssetType must be one of Image, Video, Audio") end
  local model = body.model
  if model == nil or model == common.null then model = "volc-asset" end
  if model ~= MODEL_OF[t] then
    return fail(400, "AssetType " .. t .. " is billed as model " .. MODEL_OF[t] .. ", not " .. model)
  end
  if body.Name ~= nil and type(body.Name) ~= "string" then return fail(400, "Name must be a string") end
  local u = body.URL
  if type(u) ~= "string" or u == "" then return fail(400, "URL is required") end
  local bytes, berr, mime = inline_bytes(u, t)
  if berr then return berr end
  local ext = mime and mime:match("/([%w]+)") or EXT_OF[t]
  return add_asset(state, env, key, now, {name = body.Name or "", asset_type = t, group = group,
    where = bytes and ("inline." .. ext) or u, url = not bytes and u or nil, bytes = bytes, ext = ext})
end

local MULTIPART_FIELDS = {model = true, file = true, GroupId = true, Name = true}

local function create_multipart(state, req, key, env, now)
  local parts, perr = anyfast.parse_multipart(req.body, req.headers["content-type"])
  if not parts then return fail(400, perr) end
  local f = {}
  for _, p in ipairs(parts) do
    if not MULTIPART_FIELDS[p.name] then return fail(400, "unknown form field '" .. p.name .. "'") end
    if f[p.name] then return fail(400, "form field '" .. p.name .. "' given twice") end
    f[p.name] = p
  end
  local file = f.file
  if not file or not file.filename then return fail(400, "file is required: a file part") end
  if #file.data == 0 then return fail(400, "file is empty") end
  local bad = check_model(f.model and f.model.data)
  if bad then return bad end
  local group, err = own_group(state, f.GroupId and f.GroupId.data, key)
  if not group then return err end
  local ext = common.extension(file.filename)
  local t = common.media_type(ext)
  if not t and file.content_type then
    local major = lower(file.content_type):match("^(%a+)/") or ""
    major = major:sub(1, 1):upper() .. major:sub(2)
    if MODEL_OF[major] then t = major end
  end
  local model = f.model and f.model.data or "volc-asset"
  -- nothing in the name or part header: the billing model says what was meant
  if not t then
    for k, m in pairs(MODEL_OF) do
      if m == model then t = k end
    end
  end
  if model ~= MODEL_OF[t] then
    return fail(400, "a " .. lower(t) .. " file is billed as model " .. MODEL_OF[t] .. ", not " .. model)
  end
  return add_asset(state, env, key, now, {
    name = f.Name and f.Name.data or file.filename, asset_type = t, group = group, where = file.filename,
    bytes = file.data, ext = ext ~= "" and ext or EXT_OF[t],
    file = {filename = file.filename, content_type = file.content_type or common.null, bytes = #file.data,
            checksum = anyfast.checksum(file.data)}})
end

local function create_asset(state, req, key, env, now)
  local ct = lower(req.headers["content-type"] or "")
  if ct:find("^multipart/form%-data") then return create_multipart(state, req, key, env, now) end
  if ct:find("application/json", 1, true) then return create_json(state, req, key, env, now) end
  return fail(400, "Content-Type must be application/json or multipart/form-data")
end

local function get_asset(state, body, key, _, now)
  local bad = unknown_field(body, {model = true, Id = true})
  if bad then return bad end
  if type(body.Id) ~= "string" or body.Id == "" then return fail(400, "Id is required") end
  local a = state.assets[body.Id]
  if not a or a.owner ~= key then return fail(404, "asset not found: " .. body.Id, "NotFound.Asset") end
  return common.json(200, render(a, now))
end

local FILTER_ASSETS = {GroupIds = true, Statuses = true, GroupType = true, Name = true}

local function list_assets(state, body, key, _, now)
  local bad = unknown_field(body, {model = true, Filter = true, PageNumber = true, PageSize = true})
  if bad then return bad end
  local f = body.Filter
  if f == nil or f == common.null then f = {} end
  if not is_object(f) then return fail(400, "Filter must be an object") end
  bad = unknown_field(f, FILTER_ASSETS, "Filter")
  if bad then return bad end
  local page, size = page_args(body)
  if not page then return size end
  local groups, gerr = string_list(f.GroupIds, "Filter.GroupIds")
  if gerr then return gerr end
  local statuses, serr = string_list(f.Statuses, "Filter.Statuses", STATUSES)
  if serr then return serr end
  if f.GroupType ~= nil and not GROUP_TYPES[f.GroupType] then
    return fail(400, "Filter.GroupType must be AIGC or LivenessFace")
  end
  local list = {}
  for _, a in pairs(state.assets) do
    local g = state.groups[a.group_id]
    if a.owner == key and (not groups or groups[a.group_id])
       and (not statuses or statuses[WORDS[common.asset_status(a, now)]])
       and (not f.GroupType or (g and g.type == f.GroupType))
       and (type(f.Name) ~= "string" or a.name:find(f.Name, 1, true)) then
      list[#list + 1] = a
    end
  end
  common.sort_by(list, "-seq")
  return paged(list, page, size, function(a) return render(a, now) end)
end

--- Real-person sessions

local function start_session(state, body, key, env, now)
  local bad = unknown_field(body, {model = true, CallbackURL = true})
  if bad then return bad end
  local cb = body.CallbackURL
  if cb == common.null then cb = nil end
  if cb ~= nil and (type(cb) ~= "string" or not cb:find("^https?://[^/]")) then
    return fail(400, "CallbackURL must be an http(s) URL")
  end
  local hex = {}
  for i = 1, 20 do
    local k = state.rng:int(16) + 1
    hex[i] = ("0123456789ABCDEF"):sub(k, k)
  end
  local token = os.date("!%Y%m%d%H%M%S", floor(now)) .. table.concat(hex)
  state.seq = state.seq + 1
  state.sessions[token] = {token = token, seq = state.seq, owner = key, callback = cb,
                           done_at = now + (tonumber(env.config.processing) or 0)}
  return common.json(200, {BytedToken = token, CallbackURL = cb or "",
    H5Link = "https://www.byteplus.com/en/liveness-face-manage/authorization?pl=" .. token})
end

local function session_result(state, body, key, env, now)
  local bad = unknown_field(body, {model = true, BytedToken = true})
  if bad then return bad end
  local token = body.BytedToken
  if type(token) ~= "string" or token == "" then return fail(400, "BytedToken is required") end
  local s = state.sessions[token]
  if not s or s.owner ~= key then return fail(404, "BytedToken not found", "NotFound.BytedToken") end
  if s.group then
    return fail(400, "BytedToken has already been used: start a new session", "InvalidParameter.BytedToken")
  end
  if now < s.done_at then return common.json(200, {GroupId = ""}) end
  state.seq = state.seq + 1
  local plain = "liveness-" .. token:sub(-8)
  local g = {id = env.new_id("group"), seq = state.seq, owner = key, name = prefix(key) .. plain, plain = plain,
             type = "LivenessFace", created_at = now}
  state.groups[g.id] = g
  s.group = g.id
  return common.json(200, {GroupId = g.id})
end

--- Generation

local tasks = require "seedance.emulator.tasks"

-- the upstream model behind each of AnyFast's names, and whether it renders 1080p
local VIDEO_MODELS = {
  seedance = {upstream = "doubao-seedance-2-0-260128", hd = true},
  ["seedance-fast"] = {upstream = "doubao-seedance-2-0-fast-260128", hd = false},
}
local VIDEO_FIELDS = {model = true, content = true, resolution = true, ratio = true, duration = true,
                      generate_audio = true, watermark = true, tools = true, return_last_frame = true}
local RATIOS = {["21:9"] = true, ["16:9"] = true, ["4:3"] = true, ["1:1"] = true, ["3:4"] = true,
                ["9:16"] = true, adaptive = true}
local RESOLUTIONS = {["480p"] = true, ["720p"] = true, ["1080p"] = true}
-- item type -> {order, allowed roles, asset type, limit}
local ITEMS = {
  text = {order = 0},
  image_url = {order = 1, roles = {reference_image = true, first_frame = true, last_frame = true},
               asset_type = "Image", max = 9},
  video_url = {order = 2, roles = {reference_video = true}, asset_type = "Video", max = 3},
  audio_url = {order = 3, roles = {reference_audio = true}, asset_type = "Audio", max = 3},
}
local ORDER_WORD = {[1] = "images", [2] = "videos", [3] = "audios"}

-- why one media item would be refused, or nil
local function check_media(state, key, it, spec, now)
  local bad = unknown_field(it, {type = true, [it.type] = true, role = true}, "a " .. it.type .. " item")
  if bad then return bad end
  local obj = it[it.type]
  if not is_object(obj) or type(obj.url) ~= "string" or obj.url == "" then
    return fail(400, it.type .. ".url is required")
  end
  if not spec.roles[it.role or ""] then
    return fail(400, "role '" .. tostring(it.role) .. "' is not allowed on " .. it.type .. " items")
  end
  local id = obj.url:match("^asset://(.+)$")
  if not id then
    if not obj.url:find("^https?://[^/]") and not obj.url:find("^data:") then
      return fail(400, it.type .. ".url must be a public URL, a data URI or asset://<ID>")
    end
    return nil
  end
  local a = state.assets[id]
  if not a or a.owner ~= key then return fail(400, "asset not found: " .. id, "InvalidParameter.AssetNotFound") end
  local st = common.asset_status(a, now)
  if st ~= "active" then return fail(400, "asset " .. id .. " is " .. WORDS[st] .. ", not Active") end
  if a.asset_type ~= spec.asset_type then
    return fail(400, "asset " .. id .. " is an " .. a.asset_type .. ", not for a " .. it.type .. " item")
  end
  return nil
end

local function check_content(state, key, content, now)
  if not common.is_array(content) or #content == 0 then return fail(400, "content is required: a list") end
  local last_order, counts, roles = -1, {}, {}
  for i, it in ipairs(content) do
    if not is_object(it) then return fail(400, "content[" .. i .. "] must be an object") end
    local spec = ITEMS[it.type]
    if not spec then return fail(400, "content[" .. i .. "]: unknown type '" .. tostring(it.type) .. "'") end
    if spec.order == 0 then
      if i ~= 1 then return fail(400, "the text item must come first in content") end
      local bad = unknown_field(it, {type = true, text = true}, "the text item")
      if bad then return bad end
      if type(it.text) ~= "string" then return fail(400, "text must be a string") end
    else
      if spec.order < last_order then
        return fail(400, "content items must follow the order image -> video -> audio (" ..
          ORDER_WORD[spec.order] .. " after " .. ORDER_WORD[last_order] .. ")")
      end
      local bad = check_media(state, key, it, spec, now)
      if bad then return bad end
      counts[it.type] = (counts[it.type] or 0) + 1
      if counts[it.type] > spec.max then return fail(400, "at most " .. spec.max .. " " .. it.type .. " items") end
      roles[it.role] = (roles[it.role] or 0) + 1
    end
    last_order = spec.order
  end
  local frames = (roles.first_frame or 0) + (roles.last_frame or 0)
  if frames > 0 and (counts.image_url or 0) + (counts.video_url or 0) + (counts.audio_url or 0) > frames then
    return fail(400, "first/last frame items cannot be mixed with reference media")
  end
  if (roles.first_frame or 0) > 1 or (roles.last_frame or 0) > 1 or (roles.last_frame and not roles.first_frame) then
    return fail(400, "at most one first_frame, and a last_frame only beside a first_frame")
  end
  if (counts.audio_url or 0) > 0 and (counts.image_url or 0) + (counts.video_url or 0) == 0 then
    return fail(400, "audio items need an image or a video beside them")
  end
  return nil
end

local function check_video(state, key, body, now)
  local bad = unknown_field(body, VIDEO_FIELDS)
  if bad then return nil, bad end
  local m = VIDEO_MODELS[body.model]
  if not m then return nil, fail(400, "model must be seedance or seedance-fast, not " .. tostring(body.model)) end
  bad = check_content(state, key, body.content, now)
  if bad then return nil, bad end
  if body.resolution ~= nil and not RESOLUTIONS[body.resolution] then
    return nil, fail(400, "resolution must be one of 480p, 720p, 1080p")
  end
  if body.resolution == "1080p" and not m.hd then return nil, fail(400, "seedance-fast renders 480p or 720p") end
  if body.ratio ~= nil and not RATIOS[body.ratio] then
    return nil, fail(400, "ratio must be one of 16:9, 4:3, 1:1, 3:4, 9:16, 21:9, adaptive")
  end
  local d = body.duration
  if d ~= nil and (type(d) ~= "number" or d ~= floor(d) or not (d == -1 or (d >= 4 and d <= 15))) then
    return nil, fail(400, "duration must be an integer of 4-15 seconds")
  end
  for _, k in ipairs({"generate_audio", "watermark", "return_last_frame"}) do
    if body[k] ~= nil and type(body[k]) ~= "boolean" then return nil, fail(400, k .. " must be a boolean") end
  end
  return m
end

local function create_video(state, req, key, env, now)
  state.last_create = state.last
  local body, err = json_body(req)
  if not body then return err end
  local m, bad = check_video(state, key, body, now)
  if not m then return bad end
  local text = body.content[1].type == "text" and body.content[1].text or ""
  local rec = tasks.new(env, {id = env.new_id("cgt"), prompt = text, model = body.model, input = body})
  state.seq = state.seq + 1
  rec.owner, rec.upstream, rec.seq = key, m.upstream, state.seq
  rec.alias = "asyntask_" .. common.random_string(state.rng, 32)
  state.tasks[rec.id], state.task_alias[rec.alias] = rec, rec
  env.created("task\0" .. req.body)
  return common.json(200, {id = rec.id, task_id = rec.id, object = "video", model = body.model, status = "",
                           progress = 0, created_at = floor(now)})
end

local FAILURES = {
  moderation = {code = "OutputVideoSensitiveContentDetected",
                message = "The request failed because the output video may contain sensitive information."},
  fail = {code = "InternalServiceError", message = "The service encountered an unexpected internal error."},
  expired = {code = "TaskExpired", message = "The task expired before it ran."},
}

local function get_video(state, req, key, env, _, params)
  local rec = state.tasks[params.id] or state.task_alias[params.id]
  if not rec or rec.owner ~= key then
    return common.json(400, {code = "task_not_exist", message = "task_not_exist", data = common.null})
  end
  local st, progress, since = tasks.state(rec, env)
  local input = rec.input
  local up = {id = rec.id, model = rec.upstream, status = st, created_at = floor(rec.created),
              updated_at = floor(since), ratio = input.ratio or "adaptive", resolution = input.resolution or "720p",
              duration = input.duration or 5, generate_audio = input.generate_audio ~= false}
  local data = {task_id = rec.alias, action = "omniGenerate", result_url = "", fail_reason = "",
                submit_time = floor(rec.created), start_time = 0, finish_time = 0, request_id = rec.alias:sub(10, 30),
                data = up}
  if st == "queued" then
    data.status, data.progress = rec.seen and "QUEUED" or "NOT_START", "0%"
    rec.seen = true
  elseif st == "running" then
    data.status, data.progress = "IN_PROGRESS", floor(50 + progress / 2) .. "%"
  elseif st == "succeeded" then
    local u = tasks.video_url(rec, env, req)
    data.status, data.progress, data.result_url = "SUCCESS", "100%", u
    data.fail_reason = u -- the legacy copy AnyFast keeps for old clients
    up.content = {video_url = u}
  else
    local f = FAILURES[st == "failed" and rec.outcome or st] or FAILURES.fail
    data.status, data.progress, data.fail_reason = "FAILURE", st == "failed" and "100%" or "0%", f.message
    up.error = f
  end
  if st ~= "queued" then data.start_time = floor(rec.created) + 1 end
  if st ~= "queued" and st ~= "running" then data.finish_time = floor(since) end
  return common.json(200, {code = "success", message = "", data = data})
end

-- Bearer auth first, then (for POST) a JSON body; the request is kept for {op = "dump"}.
local function video(fn)
  return function(state, req, params, env)
    state.last = snapshot(req)
    local scheme, key = (req.headers["authorization"] or ""):match("^(%S+)%s+(%S+)$")
    local want = env.config.api_key
    if not scheme or lower(scheme) ~= "bearer" or (want ~= nil and key ~= want) then
      return fail(401, "invalid or missing bearer token")
    end
    return fn(state, req, key, env, env.now(), params)
  end
end

--- Groups, assets, sessions and tasks in creation order, the last request and the
-- last create of a video (polls come between): for {op = "dump"}.
function anyfast.dump(state, env)
  local now = env.now()
  local function sorted(t)
    local list = {}
    for _, x in pairs(t) do list[#list + 1] = x end
    table.sort(list, function(x, y) return x.seq < y.seq end)
    return list
  end
  local assets, groups, sessions = sorted(state.assets), sorted(state.groups), sorted(state.sessions)
  for i, a in ipairs(assets) do
    local r = render(a, now)
    r.file = a.file
    assets[i] = r
  end
  for i, g in ipairs(groups) do groups[i] = render_group(g) end
  for i, s in ipairs(sessions) do
    sessions[i] = {BytedToken = s.token, CallbackURL = s.callback or common.null, GroupId = s.group or common.null}
  end
  local list = sorted(state.tasks)
  for i, t in ipairs(list) do
    list[i] = {id = t.id, task_id = t.alias, model = t.model, status = tasks.state(t, env)}
  end
  return {assets = common.array(assets), groups = common.array(groups), sessions = common.array(sessions),
          tasks = common.array(list), last_request = state.last or common.null,
          last_create = state.last_create or common.null}
end

local P = "/volc/asset/"

anyfast.routes = {
  {"POST", P .. "CreateAssetGroup", action(create_group)},
  {"POST", P .. "ListAssetGroups", action(list_groups)},
  {"POST", P .. "CreateAsset", action(create_asset, true)},
  {"POST", P .. "GetAsset", action(get_asset)},
  {"POST", P .. "ListAssets", action(list_assets)},
  {"POST", P .. "CreateVisualValidateSession", action(start_session)},
  {"POST", P .. "GetVisualValidateResult", action(session_result)},
  {"POST", "/v1/video/generations", video(create_video)},
  {"GET", "/v1/video/generations/{id}", video(get_video)},
}

return anyfast
