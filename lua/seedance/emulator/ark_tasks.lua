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
--
-- The fields the documentation gives per model (BytePlus ModelArk video generation API;
-- Seedance 1.5 pro / 1.0 pro beside 2.0): `service_tier = "flex"` (offline inference) on
-- 1.5 pro and 1.0 pro, queued `config.flex_queue` seconds before it runs; on any tier a task
-- not finished `execution_expires_after` seconds (3600-259200, default 172800) after its
-- creation is `expired`. `draft = true` on 1.5 pro (480p only) makes a draft, whose id in a
-- `{type = "draft_task", draft_task = {id}}` content item (alone [assumed]) generates the
-- video from it: its prompt and media, at the resolution asked. `frames` (29-289, 25 + 4n)
-- on 1.0 pro stands in for duration, and the task shows `frames` instead of `duration`.
-- The 1.x models take text and first/last frames only. `callback_url`: on each change of
-- status the task, shaped as its GET answer, is POSTed there (seedance.emulator.callbacks).
-- Every error is `{error = {code, message, param?, type}}` with an `X-Request-Id` header.
-- @module seedance.emulator.ark_tasks

local T = require "seedance.emulator.twin"
local tasks = require "seedance.emulator.tasks"
local content = require "seedance.emulator.content"

local floor, lower, format = math.floor, string.lower, string.format

local M = {}

M.PATH = "/api/v3/contents/generations/tasks"

--- The model ids per deployment; the fast ones have no 1080p. "1.5" and "1.0" are the
-- Seedance models before 2.0 that take draft, flex and frames (see FEATURES).
M.MODELS = {
  volcengine = {["doubao-seedance-2-0-260128"] = "standard", ["doubao-seedance-2-0-fast-260128"] = "fast",
                ["doubao-seedance-1-5-pro-251215"] = "1.5", ["doubao-seedance-1-0-pro-250528"] = "1.0"},
  byteplus = {["dreamina-seedance-2-0-260128"] = "standard", ["dreamina-seedance-2-0-fast-260128"] = "fast",
              ["seedance-1-5-pro-251215"] = "1.5", ["seedance-1-0-pro-250528"] = "1.0"},
}

-- What each kind of model takes: reference media, audio, draft, the flex tier, frames, and
-- its durations
local FEATURES = {
  standard = {references = true, audio = true, durations = {4, 15}},
  fast = {references = true, audio = true, durations = {4, 15}},
  ["1.5"] = {audio = true, draft = true, flex = true, durations = {4, 12}},
  ["1.0"] = {flex = true, frames = true, durations = {2, 12}},
}
local NAME = {standard = "seedance 2.0", fast = "seedance 2.0 fast", ["1.5"] = "seedance 1.5 pro",
              ["1.0"] = "seedance 1.0 pro"}

local TYPE_OF_STATUS = {[400] = "BadRequest", [401] = "Unauthorized", [403] = "Forbidden",
                        [404] = "NotFound", [429] = "TooManyRequests"}
local PIXELS = {["480p"] = {854, 480}, ["720p"] = {1280, 720}, ["1080p"] = {1920, 1080}}
local STATUSES = {queued = true, running = true, succeeded = true, failed = true, cancelled = true, expired = true}

-- create's fields and their JSON types
local CREATE = {nulls = true,
  {"model", "string", req = true}, {"content", "list", req = true}, {"ratio", "string"}, {"duration", "integer"},
  {"resolution", "string"}, {"generate_audio", "boolean"}, {"seed", "integer"}, {"watermark", "boolean"},
  {"return_last_frame", "boolean"}, {"callback_url", "string"}, {"camera_fixed", "boolean"}, {"draft", "boolean"},
  {"frames", "integer"}, {"service_tier", "string"}, {"execution_expires_after", "integer"},
  {"priority", "integer"}, {"safety_identifier", "string"}, {"tools", "list"},
}

--- Answers

--- A Volcengine request id: the time stamp and a counter (both planes answer with one).
function M.request_id(n, now)
  return os.date("!%Y%m%d%H%M%S", floor(now)) .. format("%012X", n)
end

local rid = 0
local function answer(status, body)
  rid = rid + 1
  return T.json(status, body, {["X-Request-Id"] = M.request_id(rid, os.time())})
end

--- An answer in the data plane's error shape.
function M.error(status, message, code, param)
  return answer(status, {error = {code = code or "AuthenticationError", message = message, param = param,
                                  type = TYPE_OF_STATUS[status] or "InternalServiceError"}})
end
local fail = M.error

-- the schema checker's words, for a field of `where` (" in content[0]", "")
local function words(where)
  return {
    unknown = function(k, hint) return "unknown field '" .. k .. "'" .. where .. hint end,
    required = function(k) return "'" .. k .. "' is required" .. where end,
    type = function(k, want)
      return format("'%s'%s must be %s %s", k, where, want == "integer" and "an" or "a", want)
    end,
  }
end
local TOP = words("")

-- refuses the create (see T.refuse)
local function bad(code, message, param)
  T.refuse(fail(400, message, code, param))
end
local function invalid(message, param) bad("InvalidParameter", message, param) end

-- content[] (seedance.emulator.content), in this plane's words; `where` is " in content[n]"
local W = " in content[{n}]"
local MISSING = {empty = true, type_missing = true, text = true, holder_missing = true, url = true,
                 role_missing = true, role_lone = true}

-- a draft_task item: the video from a draft, alone in content
local function draft_item(c)
  if c.t ~= "draft_task" then return end
  local why, _, field = T.check(c.it.draft_task, {nulls = true, {"id", "string", req = true}},
                                words(" in content[" .. c.n .. "].draft_task"))
  if why then invalid(why, "content.draft_task." .. field) end
  if #c.list > 1 then
    invalid("a draft_task item comes alone in content: the draft's prompt and media are used", "content")
  end
  c.out.draft_task = c.it.draft_task.id
end

-- input moderation of an image URL
local function privacy(c)
  if c.kind == "image" and lower(c.url):find("privacy", 1, true) then
    bad("InputImageSensitiveContentDetected.PrivacyInformation",
        "the input image may contain real-person privacy information in content[" .. c.n .. "]")
  end
end

-- the upstream's items, and a draft_task item (refused by a model that makes no drafts)
local function items(draft)
  local all = content.items()
  all.draft_task = {rank = 4, refused = not draft and "draft_task is only supported by seedance 1.5 pro" or nil}
  all.video_url.urls = {"^https?://[^/]"}  -- no data: URI for a video
  return all
end
local CONTENT = {items = items(true), typed = true, nonempty_text = true, limits_last = true,
  urls = {"^https?://[^/]", "^data:"},
  steps = {"object", "type", "fields", "order", "text", draft_item, "holder", "url", "scheme", "role", "asset",
           privacy},
  refuse = function(rule, message, param)
    bad(MISSING[rule] and "MissingParameter" or "InvalidParameter", message, param)
  end,
  words = {
    empty = "'content' must not be empty", object = "each content item must be an object" .. W,
    type_missing = "'type' is required" .. W, type = "unknown content type '{t}'",
    fields = {unknown = "unknown field '%s' in content[{n}]%s", type = "'%s' in content[{n}] must be a %s"},
    holder = {unknown = "unknown field '%s' in content[{n}].{t}%s", type = "'%s' in content[{n}].{t} must be a %s"},
    order = "content must list one text item first, then images, videos, audios" .. W,
    text = "'text' is required" .. W, holder_missing = "'{t}' is required" .. W, url = "'{t}.url' is required" .. W,
    scheme = "'{t}.url' must be an http(s) URL or asset://<id>" .. W,
    role_missing = "'role' is required" .. W, role = "role '{role}' is not valid for {t}" .. W,
    asset_missing = "asset {id} does not exist in this account", asset_status = "asset {id} is {status}, not Active",
    asset_type = "asset {id} is of type {got}, not {Kind}",
    role_lone = "'role' is required for each of several media items",
    mixed = "first/last frames cannot be mixed with reference media",
    one_each = "at most one first_frame and one last_frame", last_alone = "a last_frame needs a first_frame",
    limit = "at most {max} {kind} items", total = "at most 12 media items",
    audio = "audio needs an image or a video beside it",
  },
}
local NO_DRAFT = setmetatable({items = items(false)}, {__index = CONTENT})

-- Reads content[]: what the task needs ({text, media = {{kind, url, role}}} or {draft_task
-- = id}); `kind` is the model's (see FEATURES).
local function read_content(state, list, now, kind)
  local out = content.check(FEATURES[kind].draft and CONTENT or NO_DRAFT, list, state, now)
  if not FEATURES[kind].references then
    for _, m in ipairs(out.media) do
      if m.role ~= "first_frame" and m.role ~= "last_frame" then
        invalid(NAME[kind] .. " takes first/last frame images only, not " .. m.role, "content.role")
      end
    end
  end
  return out
end

-- The models this emulator's account may call: by the configured region, else all four.
local function model_kind(env, model)
  local region = env.config.region
  if type(region) == "string" then
    return (region:match("^cn%-") and M.MODELS.volcengine or M.MODELS.byteplus)[model]
  end
  return M.MODELS.volcengine[model] or M.MODELS.byteplus[model]
end

-- Refuses the create body's settings unless the model takes them.
local function check_settings(b, kind)
  local e, tools = b.execution_expires_after, b.tools or {}
  if b.ratio ~= nil and not T.RATIOS[b.ratio] then
    invalid("ratio '" .. b.ratio .. "' is not one of 21:9 16:9 4:3 1:1 3:4 9:16 adaptive", "ratio")
  end
  if b.resolution ~= nil and not PIXELS[b.resolution] then
    invalid("resolution '" .. b.resolution .. "' is not one of 480p 720p 1080p", "resolution")
  end
  local f, lo, hi = FEATURES[kind], FEATURES[kind].durations[1], FEATURES[kind].durations[2]
  if kind == "fast" and b.resolution == "1080p" then
    invalid("1080p is not supported by the fast model", "resolution")
  end
  if b.duration ~= nil and b.duration ~= -1 and (b.duration < lo or b.duration > hi) then
    invalid(format("duration must be %d-%d or -1 on %s", lo, hi, NAME[kind]), "duration")
  end
  if b.seed ~= nil and (b.seed < -1 or b.seed > 4294967295) then invalid("seed must be in [-1, 2^32-1]", "seed") end
  if b.frames ~= nil then
    if not f.frames then invalid("frames is not supported by " .. NAME[kind], "frames") end
    if b.frames < 29 or b.frames > 289 or (b.frames - 25) % 4 ~= 0 then
      invalid("frames must be 25 + 4n in [29, 289]", "frames")
    end
    if b.duration ~= nil then invalid("give duration or frames, not both", "frames") end
  end
  if b.generate_audio == true and not f.audio then
    invalid("generate_audio is not supported by " .. NAME[kind], "generate_audio")
  end
  if b.draft == true then
    if not f.draft then invalid("draft is only supported by seedance 1.5 pro", "draft") end
    if b.resolution ~= nil and b.resolution ~= "480p" then invalid("a draft is 480p only", "resolution") end
  end
  if b.service_tier ~= nil and b.service_tier ~= "default" and b.service_tier ~= "flex" then
    invalid("service_tier must be \"default\" or \"flex\"", "service_tier")
  end
  if b.service_tier == "flex" and not f.flex then
    invalid(NAME[kind] .. " only takes service_tier \"default\"", "service_tier")
  end
  if e ~= nil and (e < 3600 or e > 259200) then
    invalid("execution_expires_after must be in [3600, 259200]", "execution_expires_after")
  end
  if b.callback_url ~= nil and not b.callback_url:match("^https?://[^/]") then
    invalid("callback_url must be an http(s) URL", "callback_url")
  end
  if b.safety_identifier ~= nil and #b.safety_identifier > 64 then
    invalid("safety_identifier is longer than 64 characters", "safety_identifier")
  end
  for i, tool in ipairs(tools) do
    if not T.is_object(tool) then invalid("tools[" .. (i - 1) .. "] must be an object", "tools") end
    local why = T.check(tool, {nulls = true, {"type", "string"}}, words(" in tools[" .. (i - 1) .. "]"))
    if why or tool.type ~= "web_search" then
      invalid(why or "the only tool is {\"type\": \"web_search\"}", "tools")
    end
  end
end

--- The tasks with a callback_url: each change of status is POSTed there, the task shaped as
-- its GET answer (tasks.tick). True while any is left.
function M.tick(state, env)
  return tasks.tick(state, env, M.render)
end

--- Routes

local function create(state, req, _, env, now)
  local b = T.json_body(req, function(status, message) return fail(status, message, "InvalidParameter") end,
                        400, {content_type = "Content-Type must be application/json",
                              object = "the body must be a JSON object"})
  local why, rule, param = T.check(b, CREATE, TOP)
  if why then bad(rule == "required" and "MissingParameter" or "InvalidParameter", why, param) end
  local kind = model_kind(env, b.model)
  if not kind then invalid("the model '" .. b.model .. "' does not exist or you do not have access to it", "model") end
  local input = read_content(state, b.content, now, kind)
  check_settings(b, kind)
  if input.draft_task then
    -- the video from a draft: the draft's prompt and media
    local d = state.tasks[input.draft_task]
    local dwhy = (not d and "the draft task " .. input.draft_task .. " does not exist")
      or (not (d.params and d.params.draft == true) and "the task " .. d.id .. " is not a draft")
      or (tasks.state(d, env) ~= "succeeded" and "the draft task " .. d.id .. " has not succeeded")
      or (d.model ~= b.model and "the draft task " .. d.id .. " was made by " .. d.model)
      or (b.draft == true and "a draft cannot be made from a draft")
    if dwhy then invalid(dwhy, "content.draft_task.id") end
    input = {text = d.input.text, media = d.input.media, from_draft = d.id}
  end
  local text = input.text or ""
  if text:find("[[sensitive]]", 1, true) then
    bad("SensitiveContentDetected", "the input text may contain sensitive content")
  end
  local key = {b.model, text}
  for _, m in ipairs(input.media) do key[#key + 1] = m.role .. "=" .. m.url end
  if input.from_draft then key[#key + 1] = "draft_task=" .. input.from_draft end
  local rec = tasks.new(env, {prompt = text, model = b.model, input = input}, state,
                        "task\0" .. table.concat(key, "\0"))
  rec.params = b
  rec.expires_after = b.execution_expires_after or 172800
  if b.service_tier == "flex" then rec.wait = tonumber(env.config.flex_queue) or 0 end
  tasks.watch(state, rec, b.callback_url, req) -- told on each change of status (M.tick)
  return answer(200, {id = rec.id})
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

--- One task as the upstream's GET shows it (`rec.params`: the create body); AnyFast's twin
-- shows the same upstream record.
function M.render(rec, env, req)
  local st, _, changed = tasks.state(rec, env)
  local p = rec.params
  local resolution = p.resolution or "720p"
  local duration = (p.duration == nil or p.duration == -1) and 5 or p.duration
  local r = {
    id = rec.id, model = rec.model, status = st, error = T.null,
    created_at = floor(rec.created), updated_at = floor(changed),
    seed = (p.seed == nil or p.seed == -1) and seed_of(rec) or p.seed,
    resolution = resolution, ratio = (p.ratio == nil or p.ratio == "adaptive") and "16:9" or p.ratio,
    duration = duration, framespersecond = 24, generate_audio = p.generate_audio ~= false,
    draft = p.draft == true, service_tier = p.service_tier or "default",
    execution_expires_after = p.execution_expires_after or 172800,
  }
  -- only one of duration and frames is shown: frames when the create gave them
  if p.frames ~= nil then r.frames, r.duration = p.frames, nil end
  if p.draft == true then r.resolution = "480p" end
  if st == "succeeded" then
    r.content = {video_url = tasks.video_url(rec, env, req)}
    if p.return_last_frame then
      local frame = rec.token .. "-last.png"
      env.media[frame] = {id = rec.id}
      r.content.last_frame_url = r.content.video_url:gsub("[^/]*$", frame)
    end
    local px = PIXELS[r.resolution]
    local n = floor(px[1] * px[2] * (p.frames or 24 * duration) / 1024)
    r.usage = {completion_tokens = n, total_tokens = n}
  elseif st == "failed" then
    r.error = tasks.failure(rec, st, FAILURES)
  end
  return r
end

local function not_found(id)
  return fail(404, "the task " .. tostring(id) .. " does not exist", "ResourceNotFound", "id")
end

local function get(state, req, params, env)
  local rec = T.need(state.tasks[params.task_id], not_found, params.task_id)
  return answer(200, M.render(rec, env, req))
end

local LIST_PARAMS = {page_num = true, page_size = true, ["filter.status"] = true, ["filter.model"] = true,
                     ["filter.task_ids"] = true, ["filter.service_tier"] = true}

local function list(state, req, _, env)
  local q = req.query
  for k in pairs(q) do
    if not LIST_PARAMS[k] then return fail(400, "unknown query parameter '" .. k .. "'", "InvalidParameter", k) end
  end
  local page, size = T.positive_int(q.page_num, 1), T.positive_int(q.page_size, 10)
  if not page or page > 500 then return fail(400, "page_num must be in [1, 500]", "InvalidParameter", "page_num") end
  if not size or size > 500 then return fail(400, "page_size must be in [1, 500]", "InvalidParameter", "page_size") end
  local want, model = q["filter.status"], q["filter.model"]
  if want == "" then want = nil end
  if model == "" then model = nil end
  if want and not STATUSES[want] then
    return fail(400, "unknown filter.status '" .. want .. "'", "InvalidParameter", "filter.status")
  end
  local ids
  for part in (req.raw_query or ""):gmatch("[^&]+") do
    local k, v = part:match("^([^=]*)=?(.*)$")
    if T.unescape(k) == "filter.task_ids" then
      ids = ids or {}
      for id in T.unescape(v):gmatch("[^,]+") do ids[id] = true end
    end
  end
  local matching = T.sorted(state.tasks, function(rec)
    return (not want or tasks.state(rec, env) == want) and (not ids or ids[rec.id])
       and (not model or rec.model == model)
  end, true)
  return answer(200, T.page(matching, page, size, function(rec) return M.render(rec, env, req) end, {"items", "total"}))
end

local function delete(state, _, params, env)
  local rec = T.need(state.tasks[params.task_id], not_found, params.task_id)
  local st = tasks.state(rec, env)
  if st == "running" or st == "cancelled" then
    return fail(400, "the task " .. rec.id .. " is " .. st .. " and cannot be cancelled or deleted",
                "InvalidParameter", "id")
  end
  if st == "queued" then tasks.cancel(rec, env) else state.tasks[rec.id] = nil end
  return answer(200, {})
end

-- Bearer auth, its refusal in this plane's shape
local AUTH = {schemes = {bearer = true}, message = "the API key in the request is missing or invalid", error = fail}

M.routes = {
  {"POST", M.PATH, create, auth = AUTH, create = true},
  {"GET", M.PATH, list, auth = AUTH},
  {"GET", M.PATH .. "/{task_id}", get, auth = AUTH},
  {"DELETE", M.PATH .. "/{task_id}", delete, auth = AUTH},
}

return M
