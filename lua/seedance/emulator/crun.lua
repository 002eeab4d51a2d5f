--- The crun.ai twin: Seedance asset upload, asset info and the real-person
-- visual-validate session at `/api/v1/client/job/...`, as described in
-- reference/providers.md section 3 and crun's doc pages (seeds/002).
--
-- Auth `x-api-key`. Every answer is `{"code", "message", "data"}`; the HTTP
-- status and `code` agree (200 on success). There is no list and no delete.
-- Uploads need `name` (1-64 characters), `asset_type` (Image | Video | Audio,
-- that casing) and a public `asset_url` (no Base64); `group_id` must name a
-- group made by a visual-validate session. Assets are Processing for
-- `config.processing` seconds, then Active, or Failed for the markers of
-- common.url_failure, and `FaceMismatch` for a real-person group asset whose
-- URL holds `other-person`. `config.quota`, when set, is the number of
-- uploads the account has credits for: past it, 402.
-- asset-info shows both time forms of crun's docs: ISO-8601 for odd-numbered
-- uploads, unix seconds for even ones.
-- A session's person "completes" the face check `config.processing` seconds
-- after the start; the link lives 120 s, after which an unfinished token is
-- expired; the result hands out the new group once, then the token is spent.
-- [assumed] The not-ready result is `data.GroupId = ""`; an expired or spent
-- token answers 422 with a message that says so; `callback_url` is required.
--
-- Generation: `POST CreateTask {model, input, callback_url?}` for
-- `bytedance/seedance2-0-r2v` (reference_images/videos/audios), its fast twin
-- `bytedance/seedance2-0-fast-r2v` (public URLs only: crun's page hides the
-- uploaded-asset section) and `bytedance/seedance2-0-i2v` (img_urls, last_frame_image);
-- `GET TaskInfo?task_id=` answers `data{task_id, status pending|running|success|failed,
-- param, result{video_url}, ...}` on the lifecycle of seedance.emulator.tasks.
-- [assumed] A failed generation answers 501 ("Generation Failed") with the task in
-- `data` and `data.error{code, message}` (moderation: OutputVideoSensitiveContentDetected);
-- an expired task is failed with TaskExpired.
-- @module seedance.emulator.crun

local common = require "seedance.emulator.common"

local iso, floor, lower = common.iso8601, math.floor, string.lower

local crun = {name = "crun"}

local LINK_TTL = 120
local NAME_MAX = 64
local TYPES = {Image = true, Video = true, Audio = true}
local WORDS = {processing = "Processing", active = "Active", failed = "Failed"}

--- An answer in crun's envelope, the HTTP status agreeing with `code`.
function crun.error(status, message)
  return common.json(status, {code = status, message = message, data = common.null})
end
local fail = crun.error

local function ok(data, message)
  return common.json(200, {code = 200, message = message or "success", data = data})
end

--- State

--- Fresh state (again on reset).
function crun.new(env)
  return {assets = {}, groups = {}, sessions = {}, tasks = {}, seq = 0, uploads = 0, last = nil,
          rng = common.rng((tonumber(env.config.seed) or 1) + 104729)}
end

local function render(a, now)
  local status = WORDS[common.asset_status(a, now)]
  local updated = now >= a.ready_at and a.ready_at or a.created_at
  local out = {AssetId = a.id, Name = a.name, AssetType = a.asset_type, Status = status}
  if a.seq % 2 == 1 then
    out.CreateTime, out.UpdateTime = iso(a.created_at), iso(updated)
  else
    out.CreateTime, out.UpdateTime = floor(a.created_at), floor(updated)
  end
  if status == "Failed" then out.Error = {Code = a.failure.code, Message = a.failure.message} end
  return out
end

--- Request guards

local function utf8_len(s)
  return #(s:gsub("[\128-\191]", ""))
end


-- crun refuses with 422 where the others say 400
local function json_body(req)
  return common.json_body(req, fail, 422)
end

local function unknown_field(t, allowed, what)
  for k in pairs(t) do
    if not allowed[k] then return fail(422, "unknown " .. what .. " '" .. tostring(k) .. "'") end
  end
  return nil
end

-- the one query parameter a GET takes, required: its value, or nil and the refusal
local function only_param(req, name)
  local bad = unknown_field(req.query, {[name] = true}, "parameter")
  if bad then return nil, bad end
  local v = req.query[name]
  if v == nil or v == "" then return nil, fail(422, name .. " is required") end
  return v
end

-- Auth first, as the service does; the request is kept for {op = "dump"}.
local function guarded(fn)
  return function(state, req, params, env)
    state.last = {method = req.method, path = req.path, raw_query = req.raw_query,
                  headers = req.headers, body = req.body}
    local key = req.headers["x-api-key"]
    local want = env.config.api_key
    if key == nil or key == "" or (want ~= nil and key ~= want) then
      return fail(401, "Unauthorized: missing or invalid x-api-key")
    end
    return fn(state, req, params, env, env.now())
  end
end

--- Assets

local UPLOAD_FIELDS = {name = true, asset_type = true, asset_url = true, group_id = true}

local function check_url(u)
  if type(u) ~= "string" or u == "" then return "asset_url is required" end
  if u:find("^data:") or not u:find("^%a[%w+.-]*:") then
    return "asset_url must be a public URL: Base64 is not supported"
  end
  if not u:find("^https?://[^/]") then return "asset_url must be an http(s) URL" end
  return nil
end

-- why the upstream review would fail this asset, or nil
local function failure_of(url, asset_type, group)
  local f = common.url_failure(url)
  if f then return f end
  local implied = common.media_type(common.extension(url))
  if implied and implied ~= asset_type then
    return {code = "InvalidParameter.AssetType",
            message = "The file at asset_url is not of asset_type " .. asset_type}
  end
  if group and group.real_person and lower(url):find("other-person", 1, true) then
    return {code = "FaceMismatch", message = "Face consistency verification failed."}
  end
  return nil
end

local function upload(state, req, _, env, now)
  local body, err = json_body(req)
  if not body then return err end
  local bad = unknown_field(body, UPLOAD_FIELDS, "field")
  if bad then return bad end
  local name = body.name
  if type(name) ~= "string" or name == "" or utf8_len(name) > NAME_MAX then
    return fail(422, "name is required: a string of 1-" .. NAME_MAX .. " characters")
  end
  if not TYPES[body.asset_type] then
    return fail(422, "asset_type must be one of Image, Video, Audio")
  end
  local msg = check_url(body.asset_url)
  if msg then return fail(422, msg) end
  local group
  if body.group_id ~= nil and body.group_id ~= common.null then
    if type(body.group_id) ~= "string" then return fail(422, "group_id must be a string") end
    group = state.groups[body.group_id]
    if not group then return fail(404, "asset group not found: " .. body.group_id) end
  end
  local credits = tonumber(env.config.quota)
  if credits and state.uploads >= credits then
    return fail(402, "Insufficient credits: top up your account to upload more assets")
  end
  state.seq, state.uploads = state.seq + 1, state.uploads + 1
  local a = {
    id = env.new_id("asset"), seq = state.uploads, name = name, asset_type = body.asset_type,
    url = body.asset_url, group_id = group and group.id, created_at = now,
    ready_at = now + (tonumber(env.config.processing) or 0),
    failure = failure_of(body.asset_url, body.asset_type, group),
  }
  state.assets[a.id] = a
  env.created(body.asset_url)
  return ok({AssetId = a.id})
end

local function info(state, req, _, _, now)
  local id, bad = only_param(req, "asset_id")
  if not id then return bad end
  local a = state.assets[id]
  if not a then return fail(404, "asset not found: " .. id) end
  return ok(render(a, now))
end

--- Real-person sessions

local function new_token(state, now)
  local hex = {}
  for i = 1, 20 do
    local k = state.rng:int(16) + 1
    hex[i] = ("0123456789ABCDEF"):sub(k, k)
  end
  return os.date("!%Y%m%d%H%M%S", floor(now)) .. table.concat(hex)
end

local function start_session(state, req, _, env, now)
  local body, err = json_body(req)
  if not body then return err end
  local bad = unknown_field(body, {callback_url = true}, "field")
  if bad then return bad end
  local cb = body.callback_url
  if type(cb) ~= "string" or not cb:find("^https?://[^/]") then
    return fail(422, "callback_url is required: an http(s) URL")
  end
  local token = new_token(state, now)
  while state.sessions[token] do token = new_token(state, now) end
  state.seq = state.seq + 1
  state.sessions[token] = {token = token, callback = cb, seq = state.seq, created_at = now,
                           done_at = now + (tonumber(env.config.processing) or 0),
                           expires_at = now + LINK_TTL}
  return ok({BytedToken = token, CallbackURL = cb,
             H5Link = "https://visual.volcengine.com/validate?bytedToken=" .. token .. "&lng=zh"})
end

local function session_result(state, req, _, env, now)
  local token, bad = only_param(req, "byted_token")
  if not token then return bad end
  local s = state.sessions[token]
  if not s then return fail(404, "byted_token not found") end
  if s.group then return fail(422, "byted_token already used: start a new session") end
  -- a person who had not finished when the link died never will
  if s.done_at > s.expires_at or now < s.done_at then
    if now >= s.expires_at then return fail(422, "byted_token expired: start a new session") end
    return ok({GroupId = ""}, "validation not completed")
  end
  local g = {id = env.new_id("group"), real_person = true, created_at = now, token = token}
  state.groups[g.id] = g
  s.group = g.id
  return ok({GroupId = g.id})
end

--- Generation

local tasks = require "seedance.emulator.tasks"

local R2V = {prompt = true, reference_images = true, reference_videos = true, reference_audios = true,
             resolution = true, aspect_ratio = true, duration = true, audio = true, return_last_frame = true}
local I2V = {prompt = true, img_urls = true, last_frame_image = true, resolution = true, aspect_ratio = true,
             duration = true, audio = true, return_last_frame = true}
-- model -> {fields of input, takes asset://, takes 1080p}
local MODELS = {
  ["bytedance/seedance2-0-r2v"] = {fields = R2V, assets = true, hd = true},
  ["bytedance/seedance2-0-fast-r2v"] = {fields = R2V, assets = false, hd = false},
  ["bytedance/seedance2-0-i2v"] = {fields = I2V, assets = true, hd = true},
}
local RATIOS = {["21:9"] = true, ["16:9"] = true, ["4:3"] = true, ["1:1"] = true, ["3:4"] = true,
                ["9:16"] = true, auto = true}
local RESOLUTIONS = {["480p"] = true, ["720p"] = true, ["1080p"] = true}
local LIMITS = {reference_images = 9, reference_videos = 3, reference_audios = 3, img_urls = 2}
local KIND_OF = {reference_images = "Image", reference_videos = "Video", reference_audios = "Audio",
                 img_urls = "Image", last_frame_image = "Image"}
local WORD = {queued = "pending", running = "running", succeeded = "success", failed = "failed",
              expired = "failed", cancelled = "failed"}

local function uuid(rng)
  local hex = {}
  for i = 1, 32 do
    local k = rng:int(16) + 1
    hex[i] = ("0123456789abcdef"):sub(k, k)
  end
  local h = table.concat(hex)
  return h:sub(1, 8) .. "-" .. h:sub(9, 12) .. "-" .. h:sub(13, 16) .. "-" .. h:sub(17, 20) .. "-" .. h:sub(21)
end

-- why crun would refuse one media reference, or nil
local function check_ref(state, u, field, model, now)
  if type(u) ~= "string" or u == "" then return "every " .. field .. " item must be a URL string" end
  local id = u:match("^asset://(.+)$")
  if not id then
    if not u:find("^https?://[^/]") then return field .. ": " .. u:sub(1, 60) .. " is not a public URL" end
    return nil
  end
  if not model.assets then return "uploaded assets (asset://) are not supported by this model" end
  local a = state.assets[id]
  if not a then return "asset not found: " .. id end
  local st = common.asset_status(a, now)
  if st ~= "active" then return "asset " .. id .. " is " .. WORDS[st] .. ", not Active" end
  if a.asset_type ~= KIND_OF[field] then return "asset " .. id .. " is an " .. a.asset_type .. ", not for " .. field end
  return nil
end

local function check_input(state, input, model, now)
  local bad = unknown_field(input, model.fields, "input field")
  if bad then return bad end
  if type(input.prompt) ~= "string" or input.prompt == "" then return fail(422, "input.prompt is required") end
  local counts = {}
  for field, max in pairs(LIMITS) do
    local list = input[field]
    if list ~= nil and model.fields[field] then
      if not common.is_array(list) then return fail(422, field .. " must be a list") end
      if #list > max then return fail(422, field .. " takes at most " .. max .. " items") end
      for _, u in ipairs(list) do
        local why = check_ref(state, u, field, model, now)
        if why then return fail(422, why) end
      end
      counts[field] = #list
    end
  end
  if input.last_frame_image ~= nil then
    local why = check_ref(state, input.last_frame_image, "last_frame_image", model, now)
    if why then return fail(422, why) end
    if (counts.img_urls or 0) ~= 1 then return fail(422, "last_frame_image needs exactly one img_urls item") end
  end
  if model.fields == I2V and (counts.img_urls or 0) == 0 then return fail(422, "img_urls is required") end
  if (counts.reference_audios or 0) > 0 and (counts.reference_images or 0) + (counts.reference_videos or 0) == 0 then
    return fail(422, "reference_audios need a reference image or video")
  end
  if input.resolution ~= nil and not RESOLUTIONS[input.resolution] then
    return fail(422, "resolution must be one of 480p, 720p, 1080p")
  end
  if input.resolution == "1080p" and not model.hd then return fail(422, "1080p is not available on this model") end
  if input.aspect_ratio ~= nil and not RATIOS[input.aspect_ratio] then
    return fail(422, "aspect_ratio must be one of 21:9, 16:9, 4:3, 1:1, 3:4, 9:16, auto")
  end
  local d = input.duration
  if d ~= nil and (type(d) ~= "number" or d ~= floor(d) or not (d == -1 or (d >= 4 and d <= 15))) then
    return fail(422, "duration must be an integer of 4-15 seconds, or -1")
  end
  if input.audio ~= nil and type(input.audio) ~= "boolean" then return fail(422, "audio must be a boolean") end
  return nil
end

local function create_task(state, req, _, env, now)
  state.last_create = state.last
  local body, err = json_body(req)
  if not body then return err end
  local bad = unknown_field(body, {model = true, input = true, callback_url = true}, "field")
  if bad then return bad end
  local model = MODELS[body.model]
  if not model then return fail(422, "model must be one of the Seedance 2.0 models: " .. tostring(body.model)) end
  if type(body.input) ~= "table" or common.is_array(body.input) then
    return fail(422, "input is required: an object")
  end
  bad = check_input(state, body.input, model, now)
  if bad then return bad end
  local id = uuid(state.rng)
  while state.tasks[id] do id = uuid(state.rng) end
  local rec = tasks.new(env, {id = id, prompt = body.input.prompt, model = body.model, input = body.input})
  rec.callback = body.callback_url
  state.seq = state.seq + 1
  rec.seq = state.seq
  state.tasks[id] = rec
  env.created("task\0" .. req.body)
  return ok({task_id = id})
end

local FAILURES = {
  moderation = {code = "OutputVideoSensitiveContentDetected",
                message = "The output video may contain sensitive content"},
  fail = {code = "InternalServiceError", message = "Generation failed, credits have been refunded"},
  expired = {code = "TaskExpired", message = "The task expired before it ran"},
  cancelled = {code = "TaskCancelled", message = "The task was cancelled"},
}

local function task_info(state, req, _, env)
  local id, bad = only_param(req, "task_id")
  if not id then return bad end
  local rec = state.tasks[id]
  if not rec then return fail(404, "task not found: " .. id) end
  local st, _, since = tasks.state(rec, env)
  local data = {task_id = rec.id, provider = "ByteDance", model_version = (rec.model:gsub("^bytedance/", "")),
                status = WORD[st], param = {model = rec.model, callback_url = rec.callback or common.null,
                input = rec.input}, create_at = floor(rec.created), result = common.null,
                duration_s = common.null, complete_at = common.null, source = "api"}
  if st == "succeeded" then
    data.result = {video_url = tasks.video_url(rec, env, req)}
    data.duration_s, data.complete_at = floor(since - rec.created), floor(since)
    return ok(data)
  end
  if st == "queued" or st == "running" then return ok(data) end
  local f = FAILURES[st == "failed" and rec.outcome or st] or FAILURES.fail
  data.error, data.complete_at = f, floor(since)
  return common.json(501, {code = 501, message = f.message, data = data})
end

--- Everything the twin holds, in creation order, the last request and the last
-- CreateTask (polls come between): for {op = "dump"}.
function crun.dump(state, env)
  local now = env.now()
  local assets, sessions, groups = {}, {}, {}
  for _, a in pairs(state.assets) do assets[#assets + 1] = a end
  table.sort(assets, function(x, y) return x.seq < y.seq end) -- upload order
  for i, a in ipairs(assets) do
    local r = render(a, now)
    r.URL, r.GroupId = a.url, a.group_id
    assets[i] = r
  end
  for _, s in pairs(state.sessions) do sessions[#sessions + 1] = s end
  table.sort(sessions, function(x, y) return x.seq < y.seq end)
  for i, s in ipairs(sessions) do
    sessions[i] = {BytedToken = s.token, CallbackURL = s.callback, GroupId = s.group or common.null}
  end
  for id in pairs(state.groups) do groups[#groups + 1] = id end
  table.sort(groups)
  local list = {}
  for _, t in pairs(state.tasks) do list[#list + 1] = t end
  table.sort(list, function(x, y) return x.seq < y.seq end)
  for i, t in ipairs(list) do list[i] = {task_id = t.id, model = t.model, status = WORD[tasks.state(t, env)]} end
  return {assets = common.array(assets), sessions = common.array(sessions), groups = common.array(groups),
          tasks = common.array(list), last_request = state.last or common.null,
          last_create = state.last_create or common.null}
end

local P = "/api/v1/client/job"

crun.routes = {
  {"POST", P .. "/asset-upload", guarded(upload)},
  {"GET", P .. "/asset-info", guarded(info)},
  {"POST", P .. "/visual-validate-session", guarded(start_session)},
  {"GET", P .. "/visual-validate-result", guarded(session_result)},
  {"POST", P .. "/CreateTask", guarded(create_task)},
  {"GET", P .. "/TaskInfo", guarded(task_info)},
}

return crun
