--- The crun.ai twin: Seedance asset upload, asset info and the real-person
-- visual-validate session at `/api/v1/client/job/...`, as described in
-- reference/providers.md section 3 and crun's doc pages (seeds/002).
--
-- Auth `x-api-key`. Every answer is `{"code", "message", "data"}`; the HTTP status and
-- `code` agree (200 on success). There is no list and no delete. Uploads need `name` (1-64
-- characters), `asset_type` (Image | Video | Audio, that casing) and a public `asset_url`
-- (no Base64); `group_id` must name a group made by a visual-validate session. Assets are
-- Processing for `config.processing` seconds, then Active, or Failed for the markers of
-- twin.url_failure, and `FaceMismatch` for a real-person group asset whose URL holds
-- `other-person`. `config.quota`, when set, is the number of uploads the account has
-- credits for: past it, 402. asset-info shows both time forms of crun's docs: ISO-8601
-- for odd-numbered uploads, unix seconds for even ones.
-- A session's person "completes" the face check `config.processing` seconds after the
-- start; the link lives 120 s, after which an unfinished token is expired; the result
-- hands out the new group once, then the token is spent.
-- [assumed] The not-ready result is `data.GroupId = ""`; an expired or spent token answers
-- 422 with a message that says so; `callback_url` is required.
--
-- Generation: `POST CreateTask {model, input, callback_url?}` (once the task ended, its
-- TaskInfo answer is POSTed to callback_url: crun.tick) for
-- `bytedance/seedance2-0-r2v` (reference_images/videos/audios), its fast twin
-- `bytedance/seedance2-0-fast-r2v` (public URLs only: crun's page hides the uploaded-asset
-- section) and `bytedance/seedance2-0-i2v` (img_urls, last_frame_image);
-- `GET TaskInfo?task_id=` answers `data{task_id, status pending|running|success|failed,
-- param, result{video_url}, ...}` on the lifecycle of seedance.emulator.tasks.
-- [assumed] A failed generation answers 501 ("Generation Failed") with the task in `data`
-- and `data.error{code, message}` (moderation: OutputVideoSensitiveContentDetected); an
-- expired task is failed with TaskExpired.
-- @module seedance.emulator.crun

local T = require "seedance.emulator.twin"
local tasks = require "seedance.emulator.tasks"

local iso, floor = T.iso, math.floor

local crun = {name = "crun", auth = {header = "x-api-key", message = "Unauthorized: missing or invalid x-api-key"}}

--- An answer in crun's envelope, the HTTP status agreeing with `code`.
function crun.error(status, message)
  return T.json(status, {code = status, message = message, data = T.null})
end
local fail = crun.error

local function ok(data, message)
  return T.json(200, {code = 200, message = message or "success", data = data})
end

-- crun refuses a request it cannot read as a validation error (422), where others say 400
crun.words = {unknown = "unknown field '%s'", required = "%s is required", type = "%s must be a %s"}
crun.bad_status = 422

local PARAM_WORDS = {unknown = "unknown parameter '%s'", required = "%s is required"}
-- the one query parameter a GET takes, required: its value
local function only_param(req, name)
  return T.fit(crun, req.query, {{name, req = true}}, PARAM_WORDS)[name]
end

function crun.new(env)
  local s = T.state()
  s.rng, s.uploads = T.rng((tonumber(env.config.seed) or 1) + 104729), 0
  return s
end

local function render(a, now)
  local updated, time = now >= a.ready_at and a.ready_at or a.created_at, iso
  if a.seq % 2 == 0 then time = floor end
  return {AssetId = a.id, Name = a.name, AssetType = a.asset_type, Status = T.STATUS[T.asset_status(a, now)],
          CreateTime = time(a.created_at), UpdateTime = time(updated), Error = T.asset_error(a, now)}
end

--- Assets

local UPLOAD = {
  {"name", "string", req = true, min = 1, max = 64, msg = "name is required: a string of 1-64 characters"},
  {"asset_type", req = true, enum = {Image = true, Video = true, Audio = true},
   msg = "asset_type must be one of Image, Video, Audio"},
  {"asset_url", "string", req = true, msg = "asset_url is required"}, {"group_id", "string"},
}

local function url_problem(u)
  if u:find("^data:") or not u:find("^%a[%w+.-]*:") then
    return "asset_url must be a public URL: Base64 is not supported"
  end
  if not u:find("^https?://[^/]") then return "asset_url must be an http(s) URL" end
end

-- why the upstream review would fail this asset, or nil
local function failure_of(u, asset_type, group)
  local implied = T.media_type(T.extension(u))
  return T.url_failure(u)
    or (implied and implied ~= asset_type and {code = "InvalidParameter.AssetType",
        message = "The file at asset_url is not of asset_type " .. asset_type})
    or (group and u:lower():find("other-person", 1, true) and {code = "FaceMismatch",
        message = "Face consistency verification failed."})
    or nil
end

local function upload(state, req, _, env, now)
  local body = req.json
  local msg = url_problem(body.asset_url)
  if msg then return fail(422, msg) end
  local group
  if T.present(body.group_id) then
    group = state.groups[body.group_id]
    if not group then return fail(404, "asset group not found: " .. body.group_id) end
  end
  local credits = tonumber(env.config.quota)
  if credits and state.uploads >= credits then
    return fail(402, "Insufficient credits: top up your account to upload more assets")
  end
  state.uploads = state.uploads + 1
  local a = T.new_asset(state, env, now, {name = body.name, asset_type = body.asset_type, url = body.asset_url,
    group_id = group and group.id, failure = failure_of(body.asset_url, body.asset_type, group)}, body.asset_url)
  a.seq = state.uploads -- the upload's number: odd and even show crun's two time forms
  return ok({AssetId = a.id})
end

local function info(state, req, _, _, now)
  local id = only_param(req, "asset_id")
  local a = T.need(state.assets[id], fail, 404, "asset not found: " .. id)
  return ok(render(a, now))
end

--- Real-person sessions

local SESSION = {{"callback_url", "string", req = true, msg = "callback_url is required: an http(s) URL"}}

local function start_session(state, req, _, env, now)
  local cb = req.json.callback_url
  if not cb:find("^https?://[^/]") then return fail(422, "callback_url is required: an http(s) URL") end
  local token = T.byted_token(state.rng, now)
  while state.sessions[token] do token = T.byted_token(state.rng, now) end
  T.new_session(state, env, now, token, {callback = cb}, 120)
  return ok({BytedToken = token, CallbackURL = cb,
             H5Link = "https://visual.volcengine.com/validate?bytedToken=" .. token .. "&lng=zh"})
end

local function session_result(state, req, _, env, now)
  local token = only_param(req, "byted_token")
  local s = T.need(state.sessions[token], fail, 404, "byted_token not found")
  local st = T.session_state(s, now)
  if st == "spent" then return fail(422, "byted_token already used: start a new session") end
  if st == "expired" then return fail(422, "byted_token expired: start a new session") end
  if st == "pending" then return ok({GroupId = ""}, "validation not completed") end
  local g = T.add(state, "groups", {real_person = true, token = token}, env, now, "group")
  s.group, s.spent = g.id, true
  return ok({GroupId = g.id})
end

--- Generation

local COMMON_INPUT = {{"prompt", "string", req = true, msg = "input.prompt is required"},
                      {"resolution", enum = T.RESOLUTIONS, msg = "resolution must be one of 480p, 720p, 1080p"},
                      {"aspect_ratio", enum = {["21:9"] = true, ["16:9"] = true, ["4:3"] = true, ["1:1"] = true,
                        ["3:4"] = true, ["9:16"] = true, auto = true},
                       msg = "aspect_ratio must be one of 21:9, 16:9, 4:3, 1:1, 3:4, 9:16, auto"},
                      {"duration"}, {"audio", "boolean"}, {"return_last_frame"}}
local function input_schema(lists)
  local s = {}
  for _, f in ipairs(COMMON_INPUT) do s[#s + 1] = f end
  for _, f in ipairs(lists) do s[#s + 1] = f end
  return s
end
local R2V = input_schema({{"reference_images", "list", max = 9}, {"reference_videos", "list", max = 3},
                          {"reference_audios", "list", max = 3}})
local I2V = input_schema({{"img_urls", "list", max = 2}, {"last_frame_image"}})
local INPUT_WORDS = {unknown = "unknown input field '%s'", type = "%s must be a %s",
                     range = function(k, f) return k .. " takes at most " .. f.max .. " items" end}
-- model -> {fields of input, takes asset://, takes 1080p}
local MODELS = {
  ["bytedance/seedance2-0-r2v"] = {fields = R2V, assets = true, hd = true},
  ["bytedance/seedance2-0-fast-r2v"] = {fields = R2V, assets = false, hd = false},
  ["bytedance/seedance2-0-i2v"] = {fields = I2V, assets = true, hd = true},
}
local KIND_OF = {reference_images = "Image", reference_videos = "Video", reference_audios = "Audio",
                 img_urls = "Image", last_frame_image = "Image"}
local WORD = {queued = "pending", running = "running", succeeded = "success", failed = "failed",
              expired = "failed", cancelled = "failed"}
local TASK = {{"model", req = true, enum = MODELS,
               msg = function(_, v) return "model must be one of the Seedance 2.0 models: " .. T.tostring(v) end},
              {"input", "object", req = true, msg = "input is required: an object"}, {"callback_url"}}

local function uuid(rng)
  local h = T.random_string(rng, 32, "0123456789abcdef")
  return h:sub(1, 8) .. "-" .. h:sub(9, 12) .. "-" .. h:sub(13, 16) .. "-" .. h:sub(17, 20) .. "-" .. h:sub(21)
end

-- why crun would refuse one media reference, or nil
local function ref_problem(state, u, field, model, now)
  if type(u) ~= "string" or u == "" then return "every " .. field .. " item must be a URL string" end
  local id = u:match("^asset://(.+)$")
  if not id then
    return not u:find("^https?://[^/]") and (field .. ": " .. u:sub(1, 60) .. " is not a public URL") or nil
  end
  if not model.assets then return "uploaded assets (asset://) are not supported by this model" end
  local a = state.assets[id]
  if not a then return "asset not found: " .. id end
  local st = T.asset_status(a, now)
  if st ~= "active" then return "asset " .. id .. " is " .. T.STATUS[st] .. ", not Active" end
  if a.asset_type ~= KIND_OF[field] then return "asset " .. id .. " is an " .. a.asset_type .. ", not for " .. field end
end

local function input_problem(state, input, model, now)
  local msg = T.check(input, model.fields, INPUT_WORDS)
  if msg then return msg end
  for field in pairs(KIND_OF) do
    local v = input[field]
    for _, u in ipairs(field == "last_frame_image" and {v} or model.fields.by_name[field] and v or {}) do
      msg = ref_problem(state, u, field, model, now)
      if msg then return msg end
    end
  end
  local n = function(k) return input[k] and #input[k] or 0 end
  if input.last_frame_image ~= nil and n("img_urls") ~= 1 then
    return "last_frame_image needs exactly one img_urls item"
  end
  if model.fields == I2V and n("img_urls") == 0 then return "img_urls is required" end
  if n("reference_audios") > 0 and n("reference_images") + n("reference_videos") == 0 then
    return "reference_audios need a reference image or video"
  end
  if input.resolution == "1080p" and not model.hd then return "1080p is not available on this model" end
  local d = input.duration
  if d ~= nil and (type(d) ~= "number" or d ~= floor(d) or not (d == -1 or (d >= 4 and d <= 15))) then
    return "duration must be an integer of 4-15 seconds, or -1"
  end
end

local function create_task(state, req, _, env, now)
  local body = req.json
  local model = MODELS[body.model]
  local msg = input_problem(state, body.input, model, now)
  if msg then return fail(422, msg) end
  local id = uuid(state.rng)
  while state.tasks[id] do id = uuid(state.rng) end
  local rec = tasks.new(env, {id = id, prompt = body.input.prompt, model = body.model, input = body.input},
                        state, "task\0" .. req.body)
  tasks.watch(state, rec, body.callback_url, req) -- told once the task ended (crun.tick)
  return ok({task_id = id})
end

local FAILURES = {
  moderation = {code = "OutputVideoSensitiveContentDetected",
                message = "The output video may contain sensitive content"},
  fail = {code = "InternalServiceError", message = "Generation failed, credits have been refunded"},
  expired = {code = "TaskExpired", message = "The task expired before it ran"},
  cancelled = {code = "TaskCancelled", message = "The task was cancelled"},
}

-- TaskInfo's answer for a task: its body, whose `code` is the HTTP status
local function task_answer(rec, env, req)
  local st, _, since = tasks.state(rec, env)
  local data = {task_id = rec.id, provider = "ByteDance", model_version = (rec.model:gsub("^bytedance/", "")),
                status = WORD[st], param = {model = rec.model, callback_url = rec.callback or T.null,
                input = rec.input}, create_at = floor(rec.created), result = T.null,
                duration_s = T.null, complete_at = T.null, source = "api"}
  if st == "succeeded" then
    data.result = {video_url = tasks.video_url(rec, env, req)}
    data.duration_s, data.complete_at = floor(since - rec.created), floor(since)
  end
  if st == "succeeded" or st == "queued" or st == "running" then
    return {code = 200, message = "success", data = data}
  end
  local f = tasks.failure(rec, st, FAILURES)
  data.error, data.complete_at = f, floor(since)
  return {code = 501, message = f.message, data = data}
end

local function task_info(state, req, _, env)
  local id = only_param(req, "task_id")
  local rec = T.need(state.tasks[id], fail, 404, "task not found: " .. id)
  local body = task_answer(rec, env, req)
  return T.json(body.code, body)
end

--- The tasks with a callback_url: crun POSTs there once the generation ended ("when
-- generation completes", docs.crun.ai), the body as TaskInfo answers it [assumed: the docs
-- say the payload is consistent with the task's data]. True while any is still running.
function crun.tick(state, env)
  return tasks.tick(state, env, task_answer, true)
end

--- {op = "dump"}: assets, sessions, tasks, and the ids of the real-person groups.
crun.show = {
  {"assets", "assets", function(a, _, now)
    local r = render(a, now)
    r.URL, r.GroupId = a.url, a.group_id
    return r
  end},
  {"sessions", "sessions", function(s)
    return {BytedToken = s.token, CallbackURL = s.callback, GroupId = s.group or T.null}
  end},
  {"tasks", "tasks", function(t, env) return {task_id = t.id, model = t.model, status = WORD[tasks.state(t, env)]} end},
  {"groups", "groups", function(g) return g.id end},
}

local P = "/api/v1/client/job"

crun.routes = {
  {"POST", P .. "/asset-upload", upload, body = UPLOAD},
  {"GET", P .. "/asset-info", info},
  {"POST", P .. "/visual-validate-session", start_session, body = SESSION},
  {"GET", P .. "/visual-validate-result", session_result},
  {"POST", P .. "/CreateTask", create_task, body = TASK, create = true},
  {"GET", P .. "/TaskInfo", task_info},
}

return crun
