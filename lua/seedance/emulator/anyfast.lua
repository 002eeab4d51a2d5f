--- The AnyFast twin: the upstream asset library behind `POST /volc/asset/<Action>`,
-- as described in reference/providers.md section 4 and AnyFast's doc pages (seeds/003).
--
-- Auth `Authorization: Bearer <key>`; each key sees only what it created, and group names get
-- the key's `[u-<user>]-[t-<token>]-` prefix. Answers are the bare result (no envelope).
-- `model` bills the call: CreateAsset must name the one of its type (`volc-asset` image, the
-- default; `volc-asset-video`; `volc-asset-audio`). CreateAsset takes JSON (`URL`: a public
-- URL, a data URI, or raw base64, which is a PNG) or multipart/form-data (`model`, `file`,
-- `GroupId`, `Name`), whose parts are parsed here for real; inline and uploaded bytes are
-- sniffed, and bytes that are not of the asset's type make it Failed. Assets are Processing
-- for `config.processing` seconds, then Active, or Failed for the markers of
-- twin.url_failure (checked on a file's name too), and `FaceMismatch` in a LivenessFace group
-- for a URL or file name holding `other-person`. A visual-validate session's person completes
-- the check `config.processing` seconds after the start; the result then hands out a new
-- LivenessFace group once: the BytedToken is spent after that.
-- [assumed] Errors are `{"error": {"code", "message", "type"}}`; the not-ready result is
-- `{"GroupId": ""}`; a spent token is a 400 saying so.
--
-- Generation: `POST /v1/video/generations {model: seedance | seedance-fast, content[],
-- resolution, ratio, duration, generate_audio, watermark, tools, return_last_frame}` answers
-- `{id: "cgt-...", task_id, object, model, status: "", progress: 0, created_at}`; `content[]`
-- is checked as the docs say: the text item first, then images, videos, audios (roles
-- reference_image | first_frame | last_frame, reference_video, reference_audio); asset://
-- references must be this key's own Active assets of the item's type.
-- `GET /v1/video/generations/{id}` (the cgt id or the asyntask id) answers `{code: "success",
-- message, data: {task_id: "asyntask_...", action, status: NOT_START|QUEUED|IN_PROGRESS|
-- SUCCESS|FAILURE, result_url, fail_reason, progress: "NN%", data: <the upstream task>}}`; on
-- SUCCESS `fail_reason` repeats `result_url`, as AnyFast does for legacy clients. A failure
-- reaches "100%" with the reason in `fail_reason` and the upstream error in `data.data.error`
-- (moderation: OutputVideoSensitiveContentDetected); an expired task is FAILURE with the
-- upstream status "expired". [assumed] An unknown task id is a 400 `{code: "task_not_exist"}`.
-- @module seedance.emulator.anyfast

local T = require "seedance.emulator.twin"
local tasks = require "seedance.emulator.tasks"
local upstream = require "seedance.emulator.ark_tasks"
local content = require "seedance.emulator.content"

local floor, lower, byte, char = math.floor, string.lower, string.byte, string.char

local anyfast = {name = "anyfast",
                 auth = {schemes = {bearer = true}, message = "invalid or missing bearer token"}}

local MODEL_OF = {Image = "volc-asset", Video = "volc-asset-video", Audio = "volc-asset-audio"}
local MODELS = {["volc-asset"] = true, ["volc-asset-video"] = true, ["volc-asset-audio"] = true}
local GROUP_TYPES = {AIGC = true, LivenessFace = true}
local TOS = "https://ark-media-asset.tos-cn-beijing.volces.com/"

-- Volcengine's codes but its own 401; no 403 of its own (a fault's 403 says "Error", as for
-- any status it does not name)
local CODES = T.codes{[401] = "Unauthorized", [403] = "Error"}

--- An answer in AnyFast's error shape.
function anyfast.error(status, message, code)
  return T.json(status, {error = {code = code or CODES[status] or "Error", message = message,
                                  type = status >= 500 and "upstream_error" or "invalid_request_error"}})
end
local fail = anyfast.error
local function refuse(...) T.refuse(fail(...)) end

local WORDS = {unknown = "unknown field '%s'", required = "%s is required", type = "%s must be a %s",
               enum = "invalid value in %s: %s"}
anyfast.words = WORDS
-- the words for the fields of a List* call's Filter
local FILTER_WORDS = {unknown = "unknown field '%s' in Filter", required = "Filter.%s is required",
                      type = "Filter.%s must be a %s", enum = "invalid value in Filter.%s: %s"}

function anyfast.new(env)
  local s = T.state()
  s.task_alias, s.rng = {}, T.rng((tonumber(env.config.seed) or 1) + 15485863)
  return s
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

-- Volcengine's records (seedance.emulator.twin), in the project every key has
local render, render_group = T.volc_records{ProjectName = "default"}

local function new_group(state, env, now, key, plain, kind)
  return T.new_group(state, env, now, {owner = key, name = prefix(key) .. plain, plain = plain, type = kind})
end

--- Bytes: base64, sniffing, a checksum for the dump

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_VALUE = {}
for i = 1, 64 do B64_VALUE[B64:sub(i, i)] = i - 1 end

-- the decoded bytes, or nil when `s` is not base64
local function b64decode(s)
  s = s:gsub("[\r\n]", "")
  if #s == 0 or #s % 4 ~= 0 or s:find("[^%w%+/=]") or s:find("=[^=]") or s:find("===") then return nil end
  local out = {}
  for i = 1, #s, 4 do
    local n, pad = 0, 0
    for j = i, i + 3 do
      local c = s:sub(j, j)
      if c == "=" then pad = pad + 1 end
      n = n * 64 + (B64_VALUE[c] or 0)
    end
    out[#out + 1] = char(floor(n / 65536), floor(n / 256) % 256, n % 256):sub(1, 3 - pad)
  end
  return table.concat(out)
end

-- the media type the first bytes show, or nil (plain comparisons: Lua 5.1 patterns cannot
-- hold a NUL byte)
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

--- Parses a multipart/form-data body: a list of {name=, filename=, content_type=, data=},
-- or nil and why it is malformed.
function anyfast.parse_multipart(body, content_type)
  content_type = content_type or ""
  local b = content_type:match('[;%s]boundary="([^"]+)"') or content_type:match("[;%s]boundary=([^;%s]+)")
  if not b then return nil, "multipart body without a boundary" end
  local delim, pos, parts = "--" .. b, 1, {}
  if body:sub(1, #delim) ~= delim then return nil, "multipart body does not start with its boundary" end
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
    local next_delim = body:find("\r\n" .. delim, head_end + 4, true)
    if not next_delim then return nil, "multipart body is not closed by its boundary" end
    local d = headers["content-disposition"]
    local name = d and lower(d):find("^%s*form%-data")
                 and (d:match(';%s*name="([^"]*)"') or d:match(";%s*name=([^;%s]+)"))
    if not name then return nil, "multipart part without Content-Disposition: form-data; name=" end
    parts[#parts + 1] = {name = name, filename = d:match(';%s*filename="([^"]*)"') or d:match(";%s*filename=([^;%s]+)"),
                         content_type = headers["content-type"], data = body:sub(head_end + 4, next_delim - 1)}
    pos = next_delim + 2
  end
  return parts
end

--- The request as the dump keeps it: a multipart body as its parts (file bytes counted, not
-- copied: they need not be text, and JSON carries text).
function anyfast.capture(req)
  local out = T.capture(req)
  if lower(req.headers["content-type"] or ""):find("^multipart/") then
    out.body = "<multipart: " .. #req.body .. " bytes>"
    local parts = anyfast.parse_multipart(req.body, req.headers["content-type"]) or {}
    for i, p in ipairs(parts) do
      parts[i] = {name = p.name, filename = p.filename, content_type = p.content_type,
                  value = not p.filename and p.data or nil, bytes = #p.data}
    end
    out.parts = T.array(parts)
  end
  return out
end

--- Actions: every one is POST with a JSON body but CreateAsset, which reads its own

-- an action's body is checked by the route's schema, the billing model first
local MODEL = {"model", enum = MODELS,
               msg = function(_, m) return "model '" .. tostring(m) .. "' is not an asset billing model" end}
-- a multipart upload's model part, checked by the same field (one schema: T.check keeps its
-- index on it)
local MODEL_PART = {MODEL}
local function action(name, fn, schema)
  local body = {MODEL}
  for _, f in ipairs(schema) do body[#body + 1] = f end
  return {"POST", "/volc/asset/" .. name, function(state, req, _, env, now, key)
    return fn(state, req.json, key, env, now)
  end, body = body}
end

local PAGING = {{"Filter"},
                {"PageNumber", "integer", min = 1, msg = "PageNumber must be a positive integer"},
                {"PageSize", "integer", min = 1, max = 100, msg = "PageSize must be an integer of 1-100"}}

-- the Filter of a List* body checked, and its lists as a table of sets
local function filter_of(body, schema, required)
  local f = body.Filter
  if required and not T.is_object(f) then refuse(400, "Filter is required: an object") end
  f = T.present(f) and f or {}
  if not T.is_object(f) then refuse(400, "Filter must be an object") end
  T.fit(anyfast, f, schema, FILTER_WORDS)
  return f, T.filter_sets(f, schema, function(k, x)
    refuse(400, "invalid value in Filter." .. k .. ": " .. T.tostring(x))
  end)
end

local function paged(body, list, render_one)
  local page = T.present(body.PageNumber) and body.PageNumber or 1
  local size = T.present(body.PageSize) and body.PageSize or 10
  return T.json(200, T.page(list, page, size, render_one))
end

--- Groups

local NEW_GROUP = {{"Name", "string", req = true, max = 64, msg = function(_, v)
  return type(v) == "string" and #v > 64 and "Name must be at most 64 characters" or "Name is required"
end}}

local function create_group(state, body, key, env, now)
  local g = new_group(state, env, now, key, body.Name, "AIGC")
  env.created("group:" .. body.Name)
  return T.json(200, {Id = g.id})
end

local GROUP_FILTER = {{"Name", "string"}, {"GroupIds", "list"},
                      {"GroupType", enum = GROUP_TYPES, msg = "Filter.GroupType must be AIGC or LivenessFace"}}

local function list_groups(state, body, key)
  local f, sets = filter_of(body, GROUP_FILTER, true)
  local list = T.sorted(state.groups, function(g)
    return g.owner == key and (not sets.GroupIds or sets.GroupIds[g.id]) and (not f.GroupType or f.GroupType == g.type)
       and (not f.Name or g.plain:find(f.Name, 1, true))
  end, true)
  return paged(body, list, render_group)
end

--- Assets

-- why the upstream would fail this asset, or nil
local function failure_of(where, asset_type, group, bytes)
  return T.url_failure(where)
    or (bytes and sniff(bytes) ~= asset_type and {code = "InvalidParameter.UnsupportedFormat",
        message = "The uploaded content is not a supported " .. lower(asset_type) .. " format"})
    or (group.type == "LivenessFace" and lower(where):find("other-person", 1, true)
        and {code = "FaceMismatch", message = "Face consistency verification failed."})
    or nil
end

local function own_group(state, id, key)
  if type(id) ~= "string" or id == "" then refuse(400, "GroupId is required") end
  local g = state.groups[id]
  if not g or g.owner ~= key then refuse(404, "asset group not found: " .. id, "NotFound.AssetGroup") end
  return g
end

local EXT_OF = {Image = "png", Video = "mp4", Audio = "mp3"}

local function add_asset(state, env, key, now, f)
  local a = T.new_asset(state, env, now, {owner = key, name = f.name, asset_type = f.asset_type, group_id = f.group.id,
    failure = failure_of(f.where, f.asset_type, f.group, f.bytes), file = f.file, url = f.url}, f.where)
  a.url = a.url or (TOS .. key_hash(key, 7) .. "/" .. a.id .. "." .. (f.ext or "png"))
  return T.json(200, {Id = a.id})
end

-- the asset's bytes for a data URI or raw base64 URL (nil for a public URL), and its type
local function inline_bytes(u, asset_type)
  if u:find("^https?://[^/]") then return nil end
  local mime, b64 = u:match("^data:([%w%.%+%-]+/[%w%.%+%-]+);base64,(.*)$")
  if u:find("^data:") then
    if not mime then refuse(400, "URL: malformed data URI (want data:<type>;base64,...)") end
    if lower(mime:match("^(%a+)/")) ~= lower(asset_type) then
      refuse(400, "URL: a " .. mime .. " data URI is not an " .. asset_type)
    end
  elseif asset_type ~= "Image" then
    refuse(400, "URL: raw base64 is taken as a PNG image")
  end
  return T.need(b64decode(b64 or u), fail, 400, "URL is neither a public URL, a data URI nor base64"), mime
end

local CREATE = {{"GroupId"}, {"Name", "string"}, {"AssetType"}, {"URL"}, MODEL}

local function create_json(state, req, key, env, now)
  local body = T.fit(anyfast, T.json_body(req, fail), CREATE)
  local group = own_group(state, body.GroupId, key)
  local t = body.AssetType
  if not MODEL_OF[t] then return fail(400, "AssetType must be one of Image, Video, Audio") end
  local model = T.present(body.model) and body.model or "volc-asset"
  if model ~= MODEL_OF[t] then
    return fail(400, "AssetType " .. t .. " is billed as model " .. MODEL_OF[t] .. ", not " .. model)
  end
  local u = body.URL
  if type(u) ~= "string" or u == "" then return fail(400, "URL is required") end
  local bytes, mime = inline_bytes(u, t)
  local ext = mime and mime:match("/([%w]+)") or EXT_OF[t]
  return add_asset(state, env, key, now, {name = T.present(body.Name) and body.Name or "", asset_type = t,
    group = group, where = bytes and ("inline." .. ext) or u, url = not bytes and u or nil, bytes = bytes, ext = ext})
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
  local model = f.model and f.model.data
  T.fit(anyfast, {model = model}, MODEL_PART)
  local group = own_group(state, f.GroupId and f.GroupId.data, key)
  model = model or "volc-asset"
  local ext = T.extension(file.filename)
  local major = lower(file.content_type or ""):match("^(%a+)/") or ""
  -- the name, else the part's header, else the billing model says what was meant
  local t = T.media_type(ext) or (MODEL_OF[T.TYPE[major]] and T.TYPE[major])
  for k, m in pairs(MODEL_OF) do
    if not t and m == model then t = k end
  end
  if model ~= MODEL_OF[t] then
    return fail(400, "a " .. lower(t) .. " file is billed as model " .. MODEL_OF[t] .. ", not " .. model)
  end
  return add_asset(state, env, key, now, {
    name = f.Name and f.Name.data or file.filename, asset_type = t, group = group, where = file.filename,
    bytes = file.data, ext = ext ~= "" and ext or EXT_OF[t],
    file = {filename = file.filename, content_type = file.content_type or T.null, bytes = #file.data,
            checksum = anyfast.checksum(file.data)}})
end

local function create_asset(state, req, _, env, now, key)
  local ct = lower(req.headers["content-type"] or "")
  if ct:find("^multipart/form%-data") then return create_multipart(state, req, key, env, now) end
  if ct:find("application/json", 1, true) then return create_json(state, req, key, env, now) end
  return fail(400, "Content-Type must be application/json or multipart/form-data")
end

local function get_asset(state, body, key, _, now)
  local a = state.assets[body.Id]
  if not a or a.owner ~= key then return fail(404, "asset not found: " .. body.Id, "NotFound.Asset") end
  return T.json(200, render(a, now))
end

local ASSET_FILTER = {{"GroupIds", "list"},
                      {"Statuses", "list", values = {Processing = true, Active = true, Failed = true}},
                      {"GroupType", enum = GROUP_TYPES, msg = "Filter.GroupType must be AIGC or LivenessFace"},
                      {"Name"}}

local function list_assets(state, body, key, _, now)
  local f, sets = filter_of(body, ASSET_FILTER)
  local list = T.sorted(state.assets, function(a)
    local g = state.groups[a.group_id]
    return a.owner == key and (not sets.GroupIds or sets.GroupIds[a.group_id])
       and (not sets.Statuses or sets.Statuses[T.STATUS[T.asset_status(a, now)]])
       and (not f.GroupType or (g and g.type == f.GroupType))
       and (type(f.Name) ~= "string" or a.name:find(f.Name, 1, true))
  end, true)
  return paged(body, list, function(a) return render(a, now) end)
end

--- Real-person sessions

local function start_session(state, body, key, env, now)
  local cb = T.present(body.CallbackURL) and body.CallbackURL or nil
  if cb and not cb:find("^https?://[^/]") then return fail(400, "CallbackURL must be an http(s) URL") end
  local token = T.byted_token(state.rng, now)
  T.new_session(state, env, now, token, {owner = key, callback = cb})
  return T.json(200, {BytedToken = token, CallbackURL = cb or "",
    H5Link = "https://www.byteplus.com/en/liveness-face-manage/authorization?pl=" .. token})
end

local function session_result(state, body, key, env, now)
  local s = state.sessions[body.BytedToken]
  if not s or s.owner ~= key then return fail(404, "BytedToken not found", "NotFound.BytedToken") end
  local st = T.session_state(s, now)
  if st == "spent" then
    return fail(400, "BytedToken has already been used: start a new session", "InvalidParameter.BytedToken")
  end
  if st == "pending" then return T.json(200, {GroupId = ""}) end
  local g = new_group(state, env, now, key, "liveness-" .. s.token:sub(-8), "LivenessFace")
  s.group, s.spent = g.id, true
  return T.json(200, {GroupId = g.id})
end

--- Generation

-- the upstream model behind each of AnyFast's names, and whether it renders 1080p
local VIDEO_MODELS = {
  seedance = {upstream = "doubao-seedance-2-0-260128", hd = true},
  ["seedance-fast"] = {upstream = "doubao-seedance-2-0-fast-260128", hd = false},
}
local VIDEO = {{"model", req = true, enum = VIDEO_MODELS,
                msg = function(_, v) return "model must be seedance or seedance-fast, not " .. T.tostring(v) end},
               {"content", "list", req = true, min = 1, msg = "content is required: a list"},
               {"resolution", enum = T.RESOLUTIONS, msg = "resolution must be one of 480p, 720p, 1080p"},
               {"ratio", enum = T.RATIOS, msg = "ratio must be one of 16:9, 4:3, 1:1, 3:4, 9:16, 21:9, adaptive"},
               {"duration", "integer", min = -1, max = 15, msg = "duration must be an integer of 4-15 seconds"},
               {"generate_audio", "boolean"}, {"watermark", "boolean"}, {"tools"}, {"return_last_frame", "boolean"}}
-- content[] (seedance.emulator.content) as AnyFast checks it before passing it on
local ONE_EACH = "at most one first_frame, and a last_frame only beside a first_frame"
local CONTENT = {items = content.items(), urls = {"^https?://[^/]", "^data:"},
  steps = {"object", "type", "order", "fields", "text", "url", "role", "scheme", "asset", "limit"},
  refuse = function(rule, message)
    refuse(400, message, rule == "asset_missing" and "InvalidParameter.AssetNotFound" or nil)
  end,
  words = {
    object = "content[{i}] must be an object", type = "content[{i}]: unknown type '{t}'",
    text_first = "the text item must come first in content",
    order = "content items must follow the order image -> video -> audio ({kind}s after {prev_kind}s)",
    fields = {unknown = "unknown field '%s' in a {t} item"},
    fields_text = {unknown = "unknown field '%s' in the text item", type = "text must be a string"},
    text = "text must be a string",
    url = "{t}.url is required", role = "role '{role}' is not allowed on {t} items",
    scheme = "{t}.url must be a public URL, a data URI or asset://<ID>",
    asset_missing = "asset not found: {id}", asset_status = "asset {id} is {status}, not Active",
    asset_type = "asset {id} is an {got}, not for a {t} item", limit = "at most {max} {t} items",
    mixed = "first/last frame items cannot be mixed with reference media",
    one_each = ONE_EACH, last_alone = ONE_EACH,
    audio = "audio items need an image or a video beside them",
  },
}

local function create_video(state, req, _, env, now, key)
  local body = req.json
  content.check(CONTENT, body.content, state, now, key)
  local m = VIDEO_MODELS[body.model]
  if body.duration and body.duration < 4 and body.duration ~= -1 then
    return fail(400, "duration must be an integer of 4-15 seconds")
  end
  if body.resolution == "1080p" and not m.hd then return fail(400, "seedance-fast renders 480p or 720p") end
  local text = body.content[1].type == "text" and body.content[1].text or ""
  local rec = tasks.new(env, {id = env.new_id("cgt"), prompt = text, model = body.model, input = body},
                        state, "task\0" .. req.body)
  rec.owner, rec.upstream, rec.params = key, m.upstream, body
  rec.alias = "asyntask_" .. T.random_string(state.rng, 32)
  state.task_alias[rec.alias] = rec
  return T.json(200, {id = rec.id, task_id = rec.id, object = "video", model = body.model, status = "",
                      progress = 0, created_at = floor(now)})
end

local FAILURES = {
  moderation = {code = "OutputVideoSensitiveContentDetected",
                message = "The request failed because the output video may contain sensitive information."},
  fail = {code = "InternalServiceError", message = "The service encountered an unexpected internal error."},
  expired = {code = "TaskExpired", message = "The task expired before it ran."},
}

local function get_video(state, req, params, env, _, key)
  local rec = state.tasks[params.id] or state.task_alias[params.id]
  if not rec or rec.owner ~= key then
    return T.json(400, {code = "task_not_exist", message = "task_not_exist", data = T.null})
  end
  local st, progress, since = tasks.state(rec, env)
  -- the upstream's own record (seedance.emulator.ark_tasks), as AnyFast passes it on
  local up = upstream.render(rec, env, req)
  up.model, up.super_resolution, up.error = rec.upstream, up.resolution, nil
  if up.usage then up.usage.super_resolution_tokens = up.usage.total_tokens end
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
    data.fail_reason, data.original_result_url = u, u -- the legacy copy AnyFast keeps for old clients
  else
    local f = tasks.failure(rec, st, FAILURES)
    data.status, data.progress, data.fail_reason = "FAILURE", st == "failed" and "100%" or "0%", f.message
    up.error = f
  end
  if st ~= "queued" then data.start_time = floor(rec.created) + 1 end
  if st ~= "queued" and st ~= "running" then data.finish_time = floor(since) end
  return T.json(200, {code = "success", message = "", data = data})
end

--- {op = "dump"}: groups, assets (with an uploaded file's size and checksum), sessions, tasks.
anyfast.show = {
  {"assets", "assets", function(a, _, now)
    local r = render(a, now)
    r.file = a.file
    return r
  end},
  {"groups", "groups", render_group},
  {"sessions", "sessions", function(s)
    return {BytedToken = s.token, CallbackURL = s.callback or T.null, GroupId = s.group or T.null}
  end},
  {"tasks", "tasks", function(t, env)
    return {id = t.id, task_id = t.alias, model = t.model, status = tasks.state(t, env)}
  end},
}

anyfast.routes = {
  action("CreateAssetGroup", create_group, NEW_GROUP),
  action("ListAssetGroups", list_groups, PAGING),
  {"POST", "/volc/asset/CreateAsset", create_asset},
  action("GetAsset", get_asset, {{"Id", "string", req = true, msg = "Id is required"}}),
  action("ListAssets", list_assets, PAGING),
  action("CreateVisualValidateSession", start_session,
         {{"CallbackURL", "string", msg = "CallbackURL must be an http(s) URL"}}),
  action("GetVisualValidateResult", session_result,
         {{"BytedToken", "string", req = true, msg = "BytedToken is required"}}),
  {"POST", "/v1/video/generations", create_video, body = VIDEO, create = true},
  {"GET", "/v1/video/generations/{id}", get_video},
}

return anyfast
