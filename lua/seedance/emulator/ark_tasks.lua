--- The Ark twin's data plane: video generation tasks under `/api/v3`, as described in
-- reference/providers.md section 6. Mounted by seedance.emulator.ark beside the signed
-- control plane, sharing its state (so `asset://` references see the asset library).
--
-- `Authorization: Bearer <api key>` (any non-empty key, or only `config.api_key`).
-- Create is checked the way the service checks it: the documented fields only, with their
-- types; JSON null is absent (the official SDKs send every optional field, null when
-- unset); one of the four Seedance 2.0 model ids (Volcengine's `doubao-*` when
-- `config.region` is a `cn-*` region, BytePlus's `dreamina-*` for another region, either
-- when none is set); `content[]` ordered text, images, videos, audios, each with its role;
-- first/last frames never mixed with references; the documented limits; an `asset://`
-- reference must name an Active asset of this account of the matching type.
--
-- Lifecycle (seedance.emulator.tasks): queued, running, succeeded with a real MP4 on the
-- result host; `[[moderation]]` in the prompt fails it with
-- OutputVideoSensitiveContentDetected, `[[fail]]` with InternalServiceError, `[[expire]]`
-- expires it. Input moderation answers the create at once: `[[sensitive]]` in the text
-- with SensitiveContentDetected, an image URL containing `privacy` with
-- InputImageSensitiveContentDetected.PrivacyInformation.
-- DELETE cancels a queued task, deletes a finished one, and refuses a running or an
-- already cancelled one [assumed status and code: 400 InvalidParameter].
-- Every error is `{error = {code, message, param?, type}}` with an `X-Request-Id` header.
-- @module seedance.emulator.ark_tasks

local common = require "seedance.emulator.common"
local tasks = require "seedance.emulator.tasks"

local floor, lower, format = math.floor, string.lower, string.format
local null = common.null

local M = {}

M.PATH = "/api/v3/contents/generations/tasks"

--- The model ids per deployment; the fast ones have no 1080p.
M.MODELS = {
  volcengine = {["doubao-seedance-2-0-260128"] = "standard", ["doubao-seedance-2-0-fast-260128"] = "fast"},
  byteplus = {["dreamina-seedance-2-0-260128"] = "standard", ["dreamina-seedance-2-0-fast-260128"] = "fast"},
}

local TYPE_OF_STATUS = {[400] = "BadRequest", [401] = "Unauthorized", [403] = "Forbidden",
                        [404] = "NotFound", [429] = "TooManyRequests"}

local RATIOS = {["21:9"] = true, ["16:9"] = true, ["4:3"] = true, ["1:1"] = true, ["3:4"] = true,
                ["9:16"] = true, adaptive = true}
local RESOLUTIONS = {["480p"] = {854, 480}, ["720p"] = {1280, 720}, ["1080p"] = {1920, 1080}}
local STATUSES = {queued = true, running = true, succeeded = true, failed = true, cancelled = true,
                  expired = true}
local LIMITS = {image = 9, video = 3, audio = 3, total = 12}
local MAX_PAGE = 500

-- create's fields and their JSON types ("integer" is a number without a fraction)
local CREATE_FIELDS = {
  model = "string", content = "list", ratio = "string", duration = "integer", resolution = "string",
  generate_audio = "boolean", seed = "integer", watermark = "boolean", return_last_frame = "boolean",
  callback_url = "string", camera_fixed = "boolean", draft = "boolean", frames = "integer",
  service_tier = "string", execution_expires_after = "integer", priority = "integer",
  safety_identifier = "string", tools = "list",
}
local ITEM_FIELDS = {
  text = {type = "string", text = "string"},
  image_url = {type = "string", image_url = "object", role = "string"},
  video_url = {type = "string", video_url = "object", role = "string"},
  audio_url = {type = "string", audio_url = "object", role = "string"},
}
local ITEM_RANK = {text = 1, image_url = 2, video_url = 3, audio_url = 4}
local KIND = {image_url = "image", video_url = "video", audio_url = "audio"}
local ASSET_TYPE = {image = "Image", video = "Video", audio = "Audio"}
local REFERENCE_ROLE = {image = "reference_image", video = "reference_video", audio = "reference_audio"}

--- Answers

local function request_id(state, now)
  state.rid = (state.rid or 0) + 1
  return os.date("!%Y%m%d%H%M%S", floor(now)) .. format("%012X", state.rid)
end

local function answer(state, env, status, body)
  return common.json(status, body, {["X-Request-Id"] = request_id(state, env.now())})
end

local function fail(state, env, status, code, message, param)
  return answer(state, env, status, {error = {code = code, message = message, param = param,
                                              type = TYPE_OF_STATUS[status] or "InternalServiceError"}})
end

--- Checking

local is_object = common.is_object

local function has_type(v, want)
  if want == "list" then return common.is_array(v) end
  if want == "object" then return is_object(v) end
  if want == "integer" then return type(v) == "number" and v == floor(v) end
  return type(v) == want
end

-- Drops nulls, then nil when `t` holds only `spec`'s fields with their types; else the
-- message of an InvalidParameter and the field it is about.
local function check_fields(t, spec, where)
  common.drop_nulls(t)
  for k, v in pairs(t) do
    local want = spec[k]
    if not want then
      return "unknown field '" .. tostring(k) .. "'" .. where .. common.field_hint(spec, k), tostring(k)
    end
    if not has_type(v, want) then
      return format("'%s'%s must be %s %s", k, where, want == "integer" and "an" or "a", want), k
    end
  end
  return nil
end

local function url_ok(u, kind)
  return u:match("^https?://[^/]") or u:match("^asset://.") or (kind ~= "video" and u:match("^data:"))
end

-- An asset:// reference: nil when it names an Active asset of the right type; else a message.
local function check_asset(state, id, kind, now)
  local a = state.assets[id]
  if not a then return "asset " .. id .. " does not exist in this account" end
  local st = common.asset_status(a, now)
  if st ~= "active" then
    return "asset " .. id .. " is " .. (st == "failed" and "Failed" or "Processing") .. ", not Active"
  end
  if a.type ~= ASSET_TYPE[kind] then
    return "asset " .. id .. " is of type " .. a.type .. ", not " .. ASSET_TYPE[kind]
  end
  return nil
end

-- A refusal of content[]: status, code, message, param.
local function bad(code, message, param)
  return nil, 400, code, message, param
end

local function is_frame(role)
  return role == "first_frame" or role == "last_frame"
end

-- One media item of content[] (index i, 0-based in messages): {kind, url, role} or a refusal.
local function read_media(state, item, t, where, now)
  local kind, param = KIND[t], "content." .. t
  local holder = item[t]
  if holder == nil then return bad("MissingParameter", "'" .. t .. "' is required" .. where, param) end
  local why, field = check_fields(holder, {url = "string"}, where .. "." .. t)
  if why then return bad("InvalidParameter", why, param .. "." .. field) end
  local u = holder.url
  if u == nil or u == "" then
    return bad("MissingParameter", "'" .. t .. ".url' is required" .. where, param .. ".url")
  end
  if not url_ok(u, kind) then
    return bad("InvalidParameter", "'" .. t .. ".url' must be an http(s) URL or asset://<id>" .. where, param .. ".url")
  end
  local role = item.role
  if role == nil and kind ~= "image" then
    return bad("MissingParameter", "'role' is required" .. where, "content.role")
  end
  if role ~= nil and role ~= REFERENCE_ROLE[kind] and not (kind == "image" and is_frame(role)) then
    return bad("InvalidParameter", "role '" .. role .. "' is not valid for " .. t .. where, "content.role")
  end
  local id = u:match("^asset://(.+)$")
  if id then
    why = check_asset(state, id, kind, now)
    if why then return bad("InvalidParameter", why, param .. ".url") end
  end
  if kind == "image" and lower(u):find("privacy", 1, true) then
    return bad("InputImageSensitiveContentDetected.PrivacyInformation",
               "the input image may contain real-person privacy information" .. where)
  end
  return {kind = kind, url = u, role = role}
end

-- The rules across items: roles, frames against references, counts, audio's company.
local function check_media(media, n)
  local roles = {}
  for _, m in ipairs(media) do
    -- a lone image without a role is a first frame, as in image-to-video
    if m.role == nil then
      if n.image > 1 or n.video + n.audio > 0 then
        return bad("MissingParameter", "'role' is required for each of several media items", "content.role")
      end
      m.role = "first_frame"
    end
    roles[m.role] = (roles[m.role] or 0) + 1
  end
  local frames = (roles.first_frame or 0) + (roles.last_frame or 0)
  if frames > 0 and frames < #media then
    return bad("InvalidParameter", "first/last frames cannot be mixed with reference media", "content.role")
  end
  if (roles.first_frame or 0) > 1 or (roles.last_frame or 0) > 1 then
    return bad("InvalidParameter", "at most one first_frame and one last_frame", "content.role")
  end
  if roles.last_frame and not roles.first_frame then
    return bad("InvalidParameter", "a last_frame needs a first_frame", "content.role")
  end
  for kind, max in pairs({image = LIMITS.image, video = LIMITS.video, audio = LIMITS.audio}) do
    if n[kind] > max then return bad("InvalidParameter", format("at most %d %s items", max, kind), "content") end
  end
  if #media > LIMITS.total then
    return bad("InvalidParameter", "at most " .. LIMITS.total .. " media items", "content")
  end
  if n.audio > 0 and n.image + n.video == 0 then
    return bad("InvalidParameter", "audio needs an image or a video beside it", "content")
  end
  return true
end

-- Reads content[]: what the task needs ({text, media = {{kind, url, role}}}), or nil and
-- status, code, message, param of the refusal.
local function read_content(state, content, now)
  if #content == 0 then return bad("MissingParameter", "'content' must not be empty", "content") end
  local out = {media = {}}
  local rank, n = 0, {image = 0, video = 0, audio = 0}
  for i, item in ipairs(content) do
    local where = " in content[" .. (i - 1) .. "]"
    if not is_object(item) then
      return bad("InvalidParameter", "each content item must be an object" .. where, "content")
    end
    if item.type == null then item.type = nil end
    local t = item.type
    if t == nil then return bad("MissingParameter", "'type' is required" .. where, "content.type") end
    if t == "draft_task" then
      return bad("InvalidParameter", "draft_task is only supported by seedance 1.5 pro", "content.type")
    end
    local spec = ITEM_FIELDS[t]
    if not spec then return bad("InvalidParameter", "unknown content type '" .. tostring(t) .. "'", "content.type") end
    local why, param = check_fields(item, spec, where)
    if why then return bad("InvalidParameter", why, "content." .. param) end
    if ITEM_RANK[t] < rank or (t == "text" and rank == 1) then
      return bad("InvalidParameter", "content must list one text item first, then images, videos, audios" .. where,
                 "content")
    end
    rank = ITEM_RANK[t]
    if t == "text" then
      if type(item.text) ~= "string" or item.text == "" then
        return bad("MissingParameter", "'text' is required" .. where, "content.text")
      end
      out.text = item.text
    else
      local m, status, code, message, mparam = read_media(state, item, t, where, now)
      if not m then return nil, status, code, message, mparam end
      n[m.kind] = n[m.kind] + 1
      out.media[#out.media + 1] = m
    end
  end
  local ok, status, code, message, param = check_media(out.media, n)
  if not ok then return nil, status, code, message, param end
  return out
end

-- The models this emulator's account may call: by the configured region, else all four.
local function model_kind(env, model)
  local region = env.config.region
  if type(region) == "string" then
    local set = region:match("^cn%-") and M.MODELS.volcengine or M.MODELS.byteplus
    return set[model]
  end
  return M.MODELS.volcengine[model] or M.MODELS.byteplus[model]
end

-- nil when the create body's settings are ones the model takes; else code, message, param.
local function check_settings(b, kind)
  if b.ratio ~= nil and not RATIOS[b.ratio] then
    return "InvalidParameter", "ratio '" .. b.ratio .. "' is not one of 21:9 16:9 4:3 1:1 3:4 9:16 adaptive", "ratio"
  end
  if b.resolution ~= nil and not RESOLUTIONS[b.resolution] then
    return "InvalidParameter", "resolution '" .. b.resolution .. "' is not one of 480p 720p 1080p", "resolution"
  end
  if kind == "fast" and b.resolution == "1080p" then
    return "InvalidParameter", "1080p is not supported by the fast model", "resolution"
  end
  if b.duration ~= nil and b.duration ~= -1 and (b.duration < 4 or b.duration > 15) then
    return "InvalidParameter", "duration must be 4-15 or -1", "duration"
  end
  if b.seed ~= nil and (b.seed < -1 or b.seed > 4294967295) then
    return "InvalidParameter", "seed must be in [-1, 2^32-1]", "seed"
  end
  if b.frames ~= nil then return "InvalidParameter", "frames is not supported by seedance 2.0", "frames" end
  if b.draft == true then return "InvalidParameter", "draft is only supported by seedance 1.5 pro", "draft" end
  if b.service_tier ~= nil and b.service_tier ~= "default" then
    return "InvalidParameter", "seedance 2.0 only takes service_tier \"default\"", "service_tier"
  end
  local e = b.execution_expires_after
  if e ~= nil and (e < 3600 or e > 259200) then
    return "InvalidParameter", "execution_expires_after must be in [3600, 259200]", "execution_expires_after"
  end
  if b.callback_url ~= nil and not b.callback_url:match("^https?://[^/]") then
    return "InvalidParameter", "callback_url must be an http(s) URL", "callback_url"
  end
  if b.safety_identifier ~= nil and #b.safety_identifier > 64 then
    return "InvalidParameter", "safety_identifier is longer than 64 characters", "safety_identifier"
  end
  for i, tool in ipairs(b.tools or {}) do
    if not is_object(tool) then return "InvalidParameter", "tools[" .. (i - 1) .. "] must be an object", "tools" end
    local why = check_fields(tool, {type = "string"}, " in tools[" .. (i - 1) .. "]")
    if why or tool.type ~= "web_search" then
      return "InvalidParameter", why or "the only tool is {\"type\": \"web_search\"}", "tools"
    end
  end
  return nil
end

--- Routes

-- Bearer auth first, as the gateway does; the request is kept for {op="dump"}.
local function guarded(fn)
  return function(state, req, params, env)
    state.last = {method = req.method, path = req.path, raw_query = req.raw_query,
                  headers = req.headers, body = req.body}
    state.tasks = state.tasks or {}
    local key = (req.headers["authorization"] or ""):match("^Bearer%s+(%S+)$")
    local want = env.config.api_key
    if not key or (want ~= nil and key ~= want) then
      return fail(state, env, 401, "AuthenticationError",
                  "the API key in the request is missing or invalid")
    end
    return fn(state, req, params, env, env.now())
  end
end

local function create(state, req, _, env, now)
  if not lower(req.headers["content-type"] or ""):find("application/json", 1, true) then
    return fail(state, env, 400, "InvalidParameter", "Content-Type must be application/json")
  end
  local b = common.decode(req.body or "")
  if not is_object(b) then return fail(state, env, 400, "InvalidParameter", "the body must be a JSON object") end
  local why, param = check_fields(b, CREATE_FIELDS, "")
  if why then return fail(state, env, 400, "InvalidParameter", why, param) end
  if b.model == nil or b.model == "" then
    return fail(state, env, 400, "MissingParameter", "'model' is required", "model")
  end
  local kind = model_kind(env, b.model)
  if not kind then
    return fail(state, env, 400, "InvalidParameter",
                "the model '" .. b.model .. "' does not exist or you do not have access to it", "model")
  end
  if b.content == nil then return fail(state, env, 400, "MissingParameter", "'content' is required", "content") end
  local input, status, code, message, cparam = read_content(state, b.content, now)
  if not input then return fail(state, env, status, code, message, cparam) end
  local scode, smsg, sparam = check_settings(b, kind)
  if scode then return fail(state, env, 400, scode, smsg, sparam) end
  local text = input.text or ""
  if text:find("[[sensitive]]", 1, true) then
    return fail(state, env, 400, "SensitiveContentDetected", "the input text may contain sensitive content")
  end
  local rec = tasks.new(env, {prompt = text, model = b.model, input = input})
  state.seq = state.seq + 1
  rec.seq = state.seq
  rec.params = b
  state.tasks[rec.id] = rec
  local key = {b.model, text}
  for _, m in ipairs(input.media) do key[#key + 1] = m.role .. "=" .. m.url end
  env.created("task\0" .. table.concat(key, "\0"))
  return answer(state, env, 200, {id = rec.id})
end

-- a stable pseudo-random seed for a task whose caller left it to the service
local function seed_of(rec)
  local s = 0
  for i = 1, #rec.id do s = (s * 31 + rec.id:byte(i)) % 4294967296 end
  return s
end

local FAILURES = {
  moderation = {code = "OutputVideoSensitiveContentDetected",
                message = "the generated video may contain sensitive content"},
  fail = {code = "InternalServiceError", message = "the generation failed; please retry"},
}

-- One task as GET shows it.
local function render(rec, env, req)
  local st, _, changed = tasks.state(rec, env)
  local p = rec.params
  local resolution = p.resolution or "720p"
  local duration = (p.duration == nil or p.duration == -1) and 5 or p.duration
  local r = {
    id = rec.id, model = rec.model, status = st, error = null,
    created_at = floor(rec.created), updated_at = floor(changed),
    seed = (p.seed == nil or p.seed == -1) and seed_of(rec) or p.seed,
    resolution = resolution, ratio = (p.ratio == nil or p.ratio == "adaptive") and "16:9" or p.ratio,
    duration = duration, framespersecond = 24, generate_audio = p.generate_audio ~= false,
    draft = false, service_tier = "default", execution_expires_after = p.execution_expires_after or 172800,
  }
  if st == "succeeded" then
    r.content = {video_url = tasks.video_url(rec, env, req)}
    if p.return_last_frame then
      local frame = rec.token .. "-last.png"
      env.media[frame] = {id = rec.id}
      r.content.last_frame_url = r.content.video_url:gsub("[^/]*$", frame)
    end
    local px = RESOLUTIONS[resolution]
    local tokens = floor(px[1] * px[2] * 24 * duration / 1024)
    r.usage = {completion_tokens = tokens, total_tokens = tokens}
  elseif st == "failed" then
    r.error = FAILURES[rec.outcome] or FAILURES.fail
  end
  return r
end

local function not_found(state, env, id)
  return fail(state, env, 404, "ResourceNotFound", "the task " .. tostring(id) .. " does not exist", "id")
end

local function get(state, req, params, env)
  local rec = state.tasks[params.task_id]
  if not rec then return not_found(state, env, params.task_id) end
  return answer(state, env, 200, render(rec, env, req))
end

local LIST_PARAMS = {page_num = true, page_size = true, ["filter.status"] = true, ["filter.model"] = true,
                     ["filter.task_ids"] = true, ["filter.service_tier"] = true}

local function unescape(s)
  return (s:gsub("%+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function list(state, req, _, env)
  local q = req.query
  for k in pairs(q) do
    if not LIST_PARAMS[k] then
      return fail(state, env, 400, "InvalidParameter", "unknown query parameter '" .. k .. "'", k)
    end
  end
  local function int(name, default)
    local v = q[name]
    if v == nil or v == "" then return default end
    local n = tonumber(v)
    if not n or n ~= floor(n) or n < 1 or n > MAX_PAGE then return nil end
    return n
  end
  local page, size = int("page_num", 1), int("page_size", 10)
  if not page then return fail(state, env, 400, "InvalidParameter", "page_num must be in [1, 500]", "page_num") end
  if not size then return fail(state, env, 400, "InvalidParameter", "page_size must be in [1, 500]", "page_size") end
  local want = q["filter.status"]
  if want == "" then want = nil end
  if want and not STATUSES[want] then
    return fail(state, env, 400, "InvalidParameter", "unknown filter.status '" .. want .. "'", "filter.status")
  end
  local ids
  for part in (req.raw_query or ""):gmatch("[^&]+") do
    local k, v = part:match("^([^=]*)=?(.*)$")
    if unescape(k) == "filter.task_ids" then
      ids = ids or {}
      for id in unescape(v):gmatch("[^,]+") do ids[id] = true end
    end
  end
  local model = q["filter.model"]
  if model == "" then model = nil end
  local matching = {}
  for _, rec in pairs(state.tasks) do
    if (not want or tasks.state(rec, env) == want) and (not ids or ids[rec.id])
       and (not model or rec.model == model) then
      matching[#matching + 1] = rec
    end
  end
  table.sort(matching, function(a, b) return a.seq > b.seq end)
  local items = {}
  for i = (page - 1) * size + 1, math.min(#matching, page * size) do
    items[#items + 1] = render(matching[i], env, req)
  end
  return answer(state, env, 200, {items = common.array(items), total = #matching})
end

local function delete(state, _, params, env)
  local rec = state.tasks[params.task_id]
  if not rec then return not_found(state, env, params.task_id) end
  local st = tasks.state(rec, env)
  if st == "queued" then
    tasks.cancel(rec, env)
  elseif st == "running" or st == "cancelled" then
    return fail(state, env, 400, "InvalidParameter",
                "the task " .. rec.id .. " is " .. st .. " and cannot be cancelled or deleted", "id")
  else
    state.tasks[rec.id] = nil
  end
  return answer(state, env, 200, {})
end

M.routes = {
  {"POST", M.PATH, guarded(create)},
  {"GET", M.PATH, guarded(list)},
  {"GET", M.PATH .. "/{task_id}", guarded(get)},
  {"DELETE", M.PATH .. "/{task_id}", guarded(delete)},
}

return M
