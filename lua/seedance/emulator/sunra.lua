--- The Sunra twin: the "Ark Assets API" at `/v1/ark/assets`, as described in
-- reference/providers.md section 1 and Sunra's doc page (seeds/000).
--
-- Auth `Authorization: Bearer <key>` or `Key <key>` (both documented by Sunra);
-- anything else is a 401. Records carry Sunra's own `id` (paths take it) and the
-- upstream `ark_asset_id`; statuses are lowercase; `ark_url` appears once active.
-- Delete is soft: the record leaves the list and GET answers 404.
-- Sunra's rate limit is a 403: any 403 this twin sends (a queued fault, or the
-- `rate_limit` fault probability) carries the rate-limit body.
-- Error bodies are `{"error": {"code": ..., "message": ...}}` [assumed: undocumented].
--
-- Generation is Sunra's queue: `POST /v1/queue/<model>/reference-to-video` answers
-- `{request_id, status_url, response_url, cancel_url}`; the status says IN_QUEUE,
-- IN_PROGRESS, COMPLETED (CANCELLED and EXPIRED [assumed]); the result is
-- `{video: {url}}` or `{success: false, error: {code: "unsafe_content"}}`; a request still
-- in the queue can be cancelled. The plain models refuse asset:// with InvalidParameter;
-- the relay models take registered assets (soft-deleted ones too: the upstream
-- registration stays) once active. The lifecycle is seedance.emulator.tasks.
-- @module seedance.emulator.sunra

local common = require "seedance.emulator.common"
local tasks = require "seedance.emulator.tasks"

local iso, lower = common.iso8601, string.lower

local sunra = {name = "sunra", rate_limit_status = 403}

local TYPES = {image = true, video = true, audio = true}
local STATUSES = {processing = true, active = true, failed = true}
local MAX_PAGE_SIZE = 100

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
  return common.json(status, {error = {code = code, message = message}})
end
local fail = sunra.error

--- State

--- Fresh state: records by Sunra id, creation order, queue requests by id, the
-- last request.
function sunra.new()
  return {records = {}, seq = 0, tasks = {}, task_seq = 0, last = nil}
end

local function render(r, now)
  local status = common.asset_status(r, now)
  local out = {
    id = r.id, ark_asset_id = r.ark_asset_id, name = r.name, asset_type = r.asset_type,
    source_url = r.source_url, status = status, created_at = iso(r.created_at),
  }
  if status == "active" then out.ark_url = "https://ark-assets.example.com/" .. r.ark_asset_id .. "?sig=emulated" end
  if status == "failed" then out.error = {code = r.failure.code, message = r.failure.message} end
  return out
end

--- Request guards

local JSON_REFUSED = {content_type = "Content-Type must be application/json", object = "body must be a JSON object"}

local function json_body(req)
  return common.json_body(req, fail, 400, JSON_REFUSED)
end

-- Auth first, as the service does; the request is kept for {op = "dump"}.
local function guarded(fn)
  return function(state, req, params, env)
    state.last = {method = req.method, path = req.path, raw_query = req.raw_query,
                  headers = req.headers, body = req.body}
    local h = req.headers["authorization"] or ""
    local scheme, key = h:match("^(%S+) (.+)$")
    local want = env.config.api_key
    if (scheme ~= "Bearer" and scheme ~= "Key") or key == "" or (want ~= nil and key ~= want) then
      return fail(401, "invalid or missing API key")
    end
    return fn(state, req, params, env, env.now())
  end
end

--- Handlers

local CREATE_FIELDS = {source_url = true, name = true, asset_type = true}

local function create(state, req, _, env, now)
  local body, err = json_body(req)
  if not body then return err end
  for k in pairs(body) do
    if not CREATE_FIELDS[k] then return fail(400, "unknown field '" .. tostring(k) .. "'") end
  end
  local url = body.source_url
  if type(url) ~= "string" or url == "" then return fail(400, "'source_url' is required") end
  local ext = common.extension(url)
  local t = body.asset_type
  if t == nil or t == common.null then
    -- inferred from the extension, image when it says nothing (the docs' default)
    local m = common.media_type(ext)
    t = m and lower(m) or "image"
  elseif type(t) ~= "string" or not TYPES[t] then
    return fail(400, "'asset_type' must be one of image, video, audio")
  end
  local name = body.name
  if name == nil or name == common.null then
    name = common.basename(url)
  elseif type(name) ~= "string" then
    return fail(400, "'name' must be a string")
  end
  local failure = common.url_failure(url)
  if not failure and ext ~= "" and not common.media_type(ext) then
    failure = {code = "UnsupportedFormat", message = "format ." .. ext .. " is not supported"}
  end
  state.seq = state.seq + 1
  local r = {
    id = env.new_id("sunra"), ark_asset_id = env.new_id("asset"), seq = state.seq,
    name = name, asset_type = t, source_url = url, created_at = now,
    ready_at = now + (tonumber(env.config.processing) or 0), failure = failure,
  }
  state.records[r.id] = r
  env.created(url)
  return common.json(200, render(r, now))
end

local function get(state, _, params, _, now)
  local r = state.records[params.id]
  if not r or r.deleted then return fail(404, "asset not found") end
  return common.json(200, render(r, now))
end

local positive_int = common.positive_int

local function list(state, req, _, _, now)
  local q = req.query
  local page = positive_int(q.page, 1)
  if not page then return fail(400, "'page' must be a positive integer") end
  local size = positive_int(q.page_size, 20)
  if not size or size > MAX_PAGE_SIZE then
    return fail(400, "'page_size' must be between 1 and " .. MAX_PAGE_SIZE)
  end
  local want = q.status
  if want == "" then want = nil end
  if want ~= nil and not STATUSES[want] then
    return fail(400, "'status' must be one of processing, active, failed")
  end
  local matching = {}
  for _, r in pairs(state.records) do
    if not r.deleted and (not want or common.asset_status(r, now) == want) then
      matching[#matching + 1] = r
    end
  end
  table.sort(matching, function(a, b) return a.seq > b.seq end)
  local items = {}
  local first = (page - 1) * size + 1
  for i = first, math.min(#matching, first + size - 1) do items[#items + 1] = render(matching[i], now) end
  return common.json(200, {items = common.array(items), total = #matching, page = page, page_size = size})
end

local function delete(state, _, params)
  local r = state.records[params.id]
  if not r or r.deleted then return fail(404, "asset not found") end
  r.deleted = true
  return common.json(200, {id = r.id, deleted = true})
end

--- Generation: the queue

-- model id -> {relay = recognizes asset://, fast = no 1080p}
local MODELS = {
  ["bytedance/seedance-2.0"] = {relay = false, fast = false},
  ["bytedance/seedance-2.0-fast"] = {relay = false, fast = true},
  ["bytedance/seedance-2.0-relay"] = {relay = true, fast = false},
  ["bytedance/seedance-2.0-fast-relay"] = {relay = true, fast = true},
}
local TASK_FIELDS = {prompt = true, reference_images = true, reference_videos = true,
                     reference_audios = true, resolution = true, ratio = true, duration = true,
                     generate_audio = true}
local LISTS = {{"reference_images", 9}, {"reference_videos", 3}, {"reference_audios", 3}}
local QUEUE_WORDS = {queued = "IN_QUEUE", running = "IN_PROGRESS", succeeded = "COMPLETED",
                     failed = "COMPLETED", cancelled = "CANCELLED", expired = "EXPIRED"}

local function present(v)
  return v ~= nil and v ~= common.null
end

local function invalid(message)
  return fail(400, message, "InvalidParameter")
end

-- the record registered upstream as `ark`, deleted or not (a soft delete keeps it)
local function by_ark_id(state, ark)
  for _, r in pairs(state.records) do
    if r.ark_asset_id == ark then return r end
  end
  return nil
end

-- The reference lists as the service checks them; nil when they are fine.
local function check_references(state, body, model, now)
  local n = {}
  for _, l in ipairs(LISTS) do
    local field, max = l[1], l[2]
    local refs = body[field]
    n[field] = 0
    if present(refs) then
      if not common.is_array(refs) then return fail(400, "'" .. field .. "' must be a list of strings") end
      if #refs > max then return invalid(common.format("'%s' takes at most %d items", field, max)) end
      n[field] = #refs
      for _, u in ipairs(refs) do
        if type(u) ~= "string" or u == "" then return fail(400, "'" .. field .. "' must be a list of strings") end
        local ark = u:match("^asset://(.+)$")
        if ark then
          if not model.relay then
            return invalid("asset:// references are only recognized on the relay models")
          end
          local r = by_ark_id(state, ark)
          if not r then return invalid("asset " .. ark .. " does not exist") end
          local st = common.asset_status(r, now)
          if st ~= "active" then return invalid("asset " .. ark .. " is " .. st .. ", not active") end
        elseif not u:match("^https?://") then
          return invalid("'" .. field .. "' takes http(s) URLs or asset:// references")
        end
      end
    end
  end
  local images, videos, audios = n.reference_images, n.reference_videos, n.reference_audios
  if images + videos + audios > 12 then return invalid("at most 12 reference files in all") end
  if audios > 0 and images + videos == 0 then
    return invalid("reference audio needs a reference image or video beside it")
  end
  return nil
end

-- The scalar settings as documented; nil when they are fine.
local function check_settings(body, model)
  local msg = common.settings_error(body, model.fast, "the fast models")
  if msg then return invalid(msg) end
  if present(body.generate_audio) and type(body.generate_audio) ~= "boolean" then
    return invalid("'generate_audio' must be a boolean")
  end
  return nil
end

-- Where the client reached this twin (the mount prefix under --provider all).
local function base_url(req, env)
  local prefix = env.config.provider == "all" and "/sunra" or ""
  return "http://" .. (req.headers.host or "127.0.0.1") .. prefix
end

local function create_task(state, req, params, env, now)
  local model_id = params.owner .. "/" .. params.model
  local model = MODELS[model_id]
  if not model then return fail(404, "model '" .. model_id .. "' not found") end
  local body, err = json_body(req)
  if not body then return err end
  for k in pairs(body) do
    if not TASK_FIELDS[k] then return fail(400, "unknown field '" .. tostring(k) .. "'") end
  end
  if type(body.prompt) ~= "string" or body.prompt == "" then return fail(400, "'prompt' is required") end
  err = check_settings(body, model) or check_references(state, body, model, now)
  if err then return err end
  state.task_seq = state.task_seq + 1
  local rec = tasks.new(env, {id = env.new_id("req"), prompt = body.prompt, model = model_id, input = body})
  rec.seq = state.task_seq
  state.tasks[rec.id] = rec
  env.created("task\0" .. model_id .. "\0" .. common.encode(body))
  local u = base_url(req, env) .. "/v1/queue/requests/" .. rec.id
  return common.json(200, {request_id = rec.id, status_url = u .. "/status", response_url = u,
                           cancel_url = u .. "/cancel"})
end

local function task_status(state, _, params, env)
  local rec = state.tasks[params.id]
  if not rec then return fail(404, "request not found") end
  local st = tasks.state(rec, env)
  local out = {request_id = rec.id, status = QUEUE_WORDS[st]}
  if st == "queued" then out.queue_position = 0 end
  return common.json(200, out)
end

local function task_result(state, req, params, env)
  local rec = state.tasks[params.id]
  if not rec then return fail(404, "request not found") end
  local st = tasks.state(rec, env)
  if st == "queued" or st == "running" then
    return fail(400, "the request is still " .. (st == "queued" and "in the queue" or "in progress"),
                "request_not_completed")
  end
  if st == "succeeded" then return common.json(200, {video = {url = tasks.video_url(rec, env, req)}}) end
  local e
  if rec.outcome == "moderation" then
    e = {code = "unsafe_content", message = "the input was rejected by the upstream content moderation"}
  elseif st == "failed" then
    e = {code = "generation_failed", message = "the generation failed upstream"}
  else
    e = {code = "request_" .. st, message = "the request was " .. st .. " before it ran"}
  end
  return common.json(200, {success = false, error = e})
end

local function cancel_task(state, _, params, env)
  local rec = state.tasks[params.id]
  if not rec then return fail(404, "request not found") end
  if not tasks.cancel(rec, env) then
    return fail(400, "only a request still in the queue can be cancelled", "cannot_cancel")
  end
  return common.json(202, {status = "CANCELLATION_REQUESTED"})
end

--- Every record (soft-deleted ones marked) in creation order, the queue
-- requests, and the last request as received: for {op = "dump"}.
function sunra.dump(state, env)
  local now = env.now()
  local all = {}
  for _, r in pairs(state.records) do all[#all + 1] = r end
  table.sort(all, function(a, b) return a.seq < b.seq end)
  for i, r in ipairs(all) do
    local out = render(r, now)
    out.deleted = r.deleted or false
    all[i] = out
  end
  local reqs = {}
  for _, rec in pairs(state.tasks) do reqs[#reqs + 1] = rec end
  table.sort(reqs, function(a, b) return a.seq < b.seq end)
  for i, rec in ipairs(reqs) do
    reqs[i] = {request_id = rec.id, model = rec.model, status = QUEUE_WORDS[(tasks.state(rec, env))],
               input = rec.input}
  end
  return {assets = common.array(all), requests = common.array(reqs), last_request = state.last or common.null}
end

sunra.routes = {
  {"POST", "/v1/ark/assets", guarded(create)},
  {"GET", "/v1/ark/assets", guarded(list)},
  {"GET", "/v1/ark/assets/{id}", guarded(get)},
  {"DELETE", "/v1/ark/assets/{id}", guarded(delete)},
  {"POST", "/v1/queue/{owner}/{model}/reference-to-video", guarded(create_task)},
  {"GET", "/v1/queue/requests/{id}/status", guarded(task_status)},
  {"GET", "/v1/queue/requests/{id}", guarded(task_result)},
  {"PUT", "/v1/queue/requests/{id}/cancel", guarded(cancel_task)},
}

return sunra
