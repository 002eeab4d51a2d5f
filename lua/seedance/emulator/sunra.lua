--- The Sunra twin: the "Ark Assets API" at `/v1/ark/assets`, as described in
-- reference/providers.md section 1 and Sunra's doc page (seeds/000).
--
-- Auth `Authorization: Bearer <key>` or `Key <key>` (both documented by Sunra); anything
-- else is a 401. Records carry Sunra's own `id` (paths take it) and the upstream
-- `ark_asset_id`; statuses are lowercase; `ark_url` appears once active. Delete is soft: the
-- record leaves the list and GET answers 404. Sunra's rate limit is a 403: any 403 this twin
-- sends (a queued fault, or the `rate_limit` fault probability) carries the rate-limit body.
-- Error bodies are `{"error": {"code": ..., "message": ...}}` [assumed: undocumented].
--
-- Generation is Sunra's queue: `POST /v1/queue/<model>/reference-to-video` answers
-- `{request_id, status_url, response_url, cancel_url}`; the status says IN_QUEUE (with
-- `queue_position`, the requests of this account ahead of it, as fal's queue does),
-- IN_PROGRESS, COMPLETED (CANCELLED and EXPIRED [assumed]); the result is `{video: {url}}` or
-- `{success: false, error: {code: "unsafe_content"}}`; a request still in the queue can be
-- cancelled. The plain models refuse asset:// with InvalidParameter; the relay models take
-- registered assets (soft-deleted ones too: the upstream registration stays) once active.
-- @module seedance.emulator.sunra

local T = require "seedance.emulator.twin"
local tasks = require "seedance.emulator.tasks"

local sunra = {name = "sunra", rate_limit_status = 403,
               auth = {schemes = {bearer = true, key = true}, message = "invalid or missing API key"}}

local CODES = {
  [400] = "invalid_request", [401] = "unauthorized", [404] = "not_found",
  [405] = "method_not_allowed", [429] = "rate_limit_exceeded", [500] = "internal_error",
  [502] = "bad_gateway", [503] = "service_unavailable", [504] = "gateway_timeout",
}

--- An answer in Sunra's error shape (`code` may be given, else from the status).
-- A 403 is always the rate limit.
function sunra.error(status, message, code)
  code = code or CODES[status] or "error"
  if status == 403 then
    code, message = "rate_limit_exceeded", "Rate limit exceeded, please slow down and retry later"
  end
  return T.json(status, {error = {code = code, message = message}})
end
local fail = sunra.error

sunra.words = {unknown = "unknown field '%s'", required = "'%s' is required", type = "'%s' must be a %s",
               enum = "'%s' must be one of image, video, audio"}
sunra.json_refused = {content_type = "Content-Type must be application/json", object = "body must be a JSON object"}

local function render(r, now)
  local status = T.asset_status(r, now)
  return {id = r.id, ark_asset_id = r.ark_asset_id, name = r.name, asset_type = r.asset_type,
          source_url = r.source_url, status = status, created_at = T.iso(r.created_at),
          ark_url = status == "active" and ("https://ark-assets.example.com/" .. r.ark_asset_id .. "?sig=emulated")
                    or nil,
          error = T.asset_error(r, now, true)}
end

--- Assets

local CREATE = {{"source_url", "string", req = true, msg = "'source_url' is required"}, {"name", "string"},
                {"asset_type", enum = {image = true, video = true, audio = true}}}

local function create(state, req, _, env, now)
  local body = req.json
  local u = body.source_url
  local ext, kind = T.extension(u), body.asset_type
  local implied = T.media_type(ext)
  -- inferred from the extension, image when it says nothing (the docs' default)
  if not T.present(kind) then kind = implied and implied:lower() or "image" end
  local failure = T.url_failure(u)
  if not failure and ext ~= "" and not implied then
    failure = {code = "UnsupportedFormat", message = "format ." .. ext .. " is not supported"}
  end
  local r = T.new_asset(state, env, now, {id = env.new_id("sunra"), ark_asset_id = env.new_id("asset"),
    name = T.present(body.name) and body.name or T.basename(u), asset_type = kind, source_url = u,
    failure = failure}, u)
  return T.json(200, render(r, now))
end

local function get(state, _, params, _, now)
  local r = state.assets[params.id]
  if not r or r.deleted then return fail(404, "asset not found") end
  return T.json(200, render(r, now))
end

local function list(state, req, _, _, now)
  local q = req.query
  local page, size = T.positive_int(q.page, 1), T.positive_int(q.page_size, 20)
  if not page then return fail(400, "'page' must be a positive integer") end
  if not size or size > 100 then return fail(400, "'page_size' must be between 1 and 100") end
  local want = q.status ~= "" and q.status or nil
  if want ~= nil and not T.STATUS[want] then return fail(400, "'status' must be one of processing, active, failed") end
  local matching = T.sorted(state.assets, function(r)
    return not r.deleted and (not want or T.asset_status(r, now) == want)
  end, true)
  return T.json(200, T.page(matching, page, size, function(r) return render(r, now) end,
                            {"items", "total", "page", "page_size"}))
end

local function delete(state, _, params)
  local r = state.assets[params.id]
  if not r or r.deleted then return fail(404, "asset not found") end
  r.deleted = true
  return T.json(200, {id = r.id, deleted = true})
end

--- Generation: the queue

-- model id -> {relay = recognizes asset://, fast = no 1080p}
local MODELS = {
  ["bytedance/seedance-2.0"] = {relay = false, fast = false},
  ["bytedance/seedance-2.0-fast"] = {relay = false, fast = true},
  ["bytedance/seedance-2.0-relay"] = {relay = true, fast = false},
  ["bytedance/seedance-2.0-fast-relay"] = {relay = true, fast = true},
}
local TASK = {{"prompt", "string", req = true, msg = "'prompt' is required"},
              {"reference_images", "list"}, {"reference_videos", "list"}, {"reference_audios", "list"},
              {"resolution"}, {"ratio"}, {"duration"}, {"generate_audio"}}
local TASK_WORDS = setmetatable({type = "'%s' must be a list of strings"}, {__index = sunra.words})
local LISTS = {{"reference_images", 9}, {"reference_videos", 3}, {"reference_audios", 3}}
local QUEUE_WORDS = {queued = "IN_QUEUE", running = "IN_PROGRESS", succeeded = "COMPLETED",
                     failed = "COMPLETED", cancelled = "CANCELLED", expired = "EXPIRED"}

-- refuses the request (see T.refuse)
local function invalid(message)
  T.refuse(fail(400, message, "InvalidParameter"))
end

-- the record registered upstream as `ark`, deleted or not (a soft delete keeps it)
local function by_ark_id(state, ark)
  for _, r in pairs(state.assets) do
    if r.ark_asset_id == ark then return r end
  end
end

-- The reference lists as the service checks them: refused unless fine.
local function check_references(state, body, model, now)
  local n = {}
  for _, l in ipairs(LISTS) do
    local field, max = l[1], l[2]
    local refs = body[field]
    n[field] = T.present(refs) and #refs or 0
    if n[field] > max then return invalid(T.format("'%s' takes at most %d items", field, max)) end
    for _, u in ipairs(T.present(refs) and refs or {}) do
      if type(u) ~= "string" or u == "" then T.refuse(fail(400, "'" .. field .. "' must be a list of strings")) end
      local ark = u:match("^asset://(.+)$")
      if ark then
        if not model.relay then return invalid("asset:// references are only recognized on the relay models") end
        local r = by_ark_id(state, ark)
        if not r then return invalid("asset " .. ark .. " does not exist") end
        local st = T.asset_status(r, now)
        if st ~= "active" then return invalid("asset " .. ark .. " is " .. st .. ", not active") end
      elseif not u:match("^https?://") then
        return invalid("'" .. field .. "' takes http(s) URLs or asset:// references")
      end
    end
  end
  local images, videos, audios = n.reference_images, n.reference_videos, n.reference_audios
  if images + videos + audios > 12 then return invalid("at most 12 reference files in all") end
  if audios > 0 and images + videos == 0 then
    return invalid("reference audio needs a reference image or video beside it")
  end
end

local function create_task(state, req, params, env, now)
  local model_id = params.owner .. "/" .. params.model
  local model = T.need(MODELS[model_id], fail, 404, "model '" .. model_id .. "' not found")
  local body = T.fit(sunra, T.json_body(req, fail, 400, sunra.json_refused), TASK, TASK_WORDS)
  local msg = T.settings_error(body, model.fast, "the fast models")
  if msg then return invalid(msg) end
  check_references(state, body, model, now)
  local rec = tasks.new(env, {id = env.new_id("req"), prompt = body.prompt, model = model_id, input = body},
                        state, "task\0" .. model_id .. "\0" .. T.encode(body))
  -- where the client reached this twin (the mount prefix under --provider all)
  local u = "http://" .. (req.headers.host or "127.0.0.1") .. (env.config.provider == "all" and "/sunra" or "")
            .. "/v1/queue/requests/" .. rec.id
  return T.json(200, {request_id = rec.id, status_url = u .. "/status", response_url = u, cancel_url = u .. "/cancel"})
end

-- how many requests of this account wait in the queue ahead of `rec` (0: it runs next)
local function ahead_of(state, rec, env)
  local n = 0
  for _, other in pairs(state.tasks) do
    if other.seq < rec.seq and tasks.state(other, env) == "queued" then n = n + 1 end
  end
  return n
end

local function task_status(state, _, params, env)
  local rec = T.need(state.tasks[params.id], fail, 404, "request not found")
  local st = tasks.state(rec, env)
  return T.json(200, {request_id = rec.id, status = QUEUE_WORDS[st],
                      queue_position = st == "queued" and ahead_of(state, rec, env) or nil})
end

local function task_result(state, req, params, env)
  local rec = T.need(state.tasks[params.id], fail, 404, "request not found")
  local st = tasks.state(rec, env)
  if st == "queued" or st == "running" then
    return fail(400, "the request is still " .. (st == "queued" and "in the queue" or "in progress"),
                "request_not_completed")
  end
  if st == "succeeded" then return T.json(200, {video = {url = tasks.video_url(rec, env, req)}}) end
  local e = {code = "request_" .. st, message = "the request was " .. st .. " before it ran"}
  if rec.outcome == "moderation" then
    e = {code = "unsafe_content", message = "the input was rejected by the upstream content moderation"}
  elseif st == "failed" then
    e = {code = "generation_failed", message = "the generation failed upstream"}
  end
  return T.json(200, {success = false, error = e})
end

local function cancel_task(state, _, params, env)
  local rec = T.need(state.tasks[params.id], fail, 404, "request not found")
  if not tasks.cancel(rec, env) then
    return fail(400, "only a request still in the queue can be cancelled", "cannot_cancel")
  end
  return T.json(202, {status = "CANCELLATION_REQUESTED"})
end

--- {op = "dump"}: every record (soft-deleted ones marked) and the queue requests.
sunra.show = {
  {"assets", "assets", function(r, _, now)
    local out = render(r, now)
    out.deleted = r.deleted or false
    return out
  end},
  {"requests", "tasks", function(rec, env)
    return {request_id = rec.id, model = rec.model, status = QUEUE_WORDS[(tasks.state(rec, env))], input = rec.input}
  end},
}

sunra.routes = {
  {"POST", "/v1/ark/assets", create, body = CREATE},
  {"GET", "/v1/ark/assets", list},
  {"GET", "/v1/ark/assets/{id}", get},
  {"DELETE", "/v1/ark/assets/{id}", delete},
  {"POST", "/v1/queue/{owner}/{model}/reference-to-video", create_task, create = true},
  {"GET", "/v1/queue/requests/{id}/status", task_status},
  {"GET", "/v1/queue/requests/{id}", task_result},
  {"PUT", "/v1/queue/requests/{id}/cancel", cancel_task},
}

return sunra
