--- The PiAPI twin: Seedance 2.0 asset library at `/api/v1/asset...` and tasks at
-- `/api/v1/task`, as described in reference/providers.md section 5 and PiAPI's page (seeds/004).
--
-- Auth `X-API-Key`; plans (emulator.options.PLANS) bound the assets and their idle TTL ("free": 403);
-- assets are Processing for `config.processing` seconds, then Active, or Failed for the URL
-- markers of seedance.emulator.twin.url_failure; failed assets do not count toward the
-- quota; get, list and task references refresh `last_used_at`; an asset idle longer than
-- the TTL is purged. Every error answers `{"code": <status>, "message": "...", "data": null}`;
-- a task answers in the envelope `{code: 200, data, message: "success"}`.
-- @module seedance.emulator.piapi

local T = require "seedance.emulator.twin"
local tasks = require "seedance.emulator.tasks"
local options = require "seedance.emulator.options"

local iso, lower = T.iso, string.lower

local DAY = 86400

local piapi = {name = "piapi", auth = {header = "x-api-key", message = "invalid api key"}}

--- An answer in PiAPI's error shape.
function piapi.error(status, message)
  return T.json(status, {code = status, message = message, data = T.null})
end
local fail = piapi.error

piapi.words = {
  unknown = "invalid request: unknown field '%s'", required = "invalid request: '%s' is required",
  type = "invalid request: '%s' must be a %s",
}
piapi.json_refused = {content_type = "invalid request: Content-Type must be application/json",
                      object = "invalid request: body must be a JSON object"}

-- The plan in force (configure may change plan or quota at any time), false for "free".
local function plan_of(env)
  local name = env.config.plan
  local p = options.PLANS[name]
  return p and {name = name, limit = tonumber(env.config.quota) or p.limit, ttl = p.ttl_days * DAY,
                ttl_days = p.ttl_days}
end

function piapi.new()
  local s = T.state()
  s.healthy, s.doomed, s.next_purge = 0, {}, 0  -- healthy ones count; doomed ones while processing
  return s
end

local function remove(state, a)
  state.assets[a.id] = nil
  if a.failure then state.doomed[a.id] = nil else state.healthy = state.healthy - 1 end
end

-- Plan first, as the service does; then the lazy purge of idle assets (once a second: O(n)).
function piapi.guard(state, _, env, now)
  local plan = plan_of(env)
  if not plan then return fail(403, "asset endpoints require plan >= hobbyist") end
  if now < state.next_purge then return nil end
  state.next_purge = now + 1
  for _, a in pairs(state.assets) do
    if now - a.last_used_at > plan.ttl then remove(state, a) end
  end
end

local function quota_used(state, now)
  local used = state.healthy
  for _, a in pairs(state.doomed) do
    if now < a.ready_at then used = used + 1 end
  end
  return used
end

local function render(a, plan, now)
  return {asset_id = a.id, name = a.name, asset_type = a.asset_type, status = T.STATUS[T.asset_status(a, now)],
          url = a.url, last_used_at = iso(a.last_used_at), expires_at = iso(a.last_used_at + plan.ttl),
          created_at = iso(a.created_at), error = T.asset_error(a, now, true)}
end

--- Assets

local UPLOAD = {{"url", "string", req = true, msg = "invalid request: 'url' is required"}, {"asset_type"},
                {"name", "string"}}

-- Validates one upload item and registers it: the asset, or nil and the message of a 400.
local function create(state, item, env, now)
  if not T.is_object(item) then return nil, "invalid request: each item must be a JSON object" end
  local bad = T.check(item, UPLOAD, piapi.words)
  if bad then return nil, bad end
  local u, asset_type = item.url, item.asset_type
  if T.present(asset_type) then
    asset_type = type(asset_type) == "string" and T.TYPE[lower(asset_type)]
    if not asset_type then return nil, "unsupported asset_type: " .. T.tostring(item.asset_type) end
  else
    local ext = T.extension(u)
    asset_type = T.media_type(ext)
    if not asset_type then return nil, "unsupported asset_type: " .. (ext ~= "" and ext or T.basename(u)) end
  end
  local plan, used = plan_of(env), quota_used(state, now)
  if used >= plan.limit then
    return nil, T.format("quota exceeded: plan %s allows %d assets, currently %d", plan.name, plan.limit, used)
  end
  local a = T.new_asset(state, env, now, {name = T.present(item.name) and item.name or T.basename(u),
    asset_type = asset_type, url = u, last_used_at = now, failure = T.url_failure(u)}, u)
  if a.failure then state.doomed[a.id] = a else state.healthy = state.healthy + 1 end
  return a
end

local function upload(state, req, _, env, now)
  local a, msg = create(state, req.json, env, now)
  if not a then return fail(400, msg) end
  return T.json(200, {asset_id = a.id, status = "Processing", upload_at = iso(now),
                      expires_at = iso(now + plan_of(env).ttl)})
end

local BATCH = {{"items", "list", req = true, min = 1, msg = "invalid request: 'items' is required"}}

local function upload_batch(state, req, _, env, now)
  local items = req.json.items
  if #items > 50 then return fail(400, "invalid request: at most 50 items per batch") end
  local results, ok_n = {}, 0
  for i, item in ipairs(items) do
    local a, msg = create(state, item, env, now)
    if a then
      ok_n, results[i] = ok_n + 1, {asset_id = a.id, status = "Processing"}
    else
      results[i] = {url = type(item) == "table" and type(item.url) == "string" and item.url or T.null, error = msg}
    end
  end
  return T.json(200, {total = #items, success = ok_n, failed = #items - ok_n, results = T.array(results)})
end

local function get_asset(state, _, params, env, now)
  local a = T.need(state.assets[params.asset_id], fail, 404, "asset not found")
  a.last_used_at = now
  return T.json(200, render(a, plan_of(env), now))
end

local ORDER_FIELDS = {last_used_at = true, created_at = true, name = true}

local function list_assets(state, req, _, env, now)
  local q, plan = req.query, plan_of(env)
  local page, size = T.positive_int(q.page, 1), T.positive_int(q.size, 20)
  if not page then return fail(400, "invalid request: 'page' must be a positive integer") end
  if not size or size > 100 then return fail(400, "invalid request: 'size' must be between 1 and 100") end
  local wanted
  if q.status and q.status ~= "" and lower(q.status) ~= "all" then
    wanted = {}
    for word in q.status:gmatch("[^,]+") do
      local w = lower(word:match("^%s*(.-)%s*$"))
      if not T.STATUS[w] then return fail(400, "invalid request: unknown status '" .. word .. "'") end
      wanted[w] = true
    end
  end
  local order = (q.order == nil or q.order == "") and "-last_used_at" or q.order
  if not ORDER_FIELDS[order:gsub("^%-", "")] then
    return fail(400, "invalid request: unsupported order '" .. order .. "'")
  end
  local matching = T.sorted(state.assets, function(a) return not wanted or wanted[T.asset_status(a, now)] end)
  local out = T.page(T.sort_by(matching, order), page, size, function(a)
    a.last_used_at = now
    return render(a, plan, now)
  end, {"items", "total", "page", "size"})
  out.quota = {used = quota_used(state, now), limit = plan.limit, ttl_days = plan.ttl_days}
  return T.json(200, out)
end

-- nil when deleted, else the status and message of the refusal
local function delete_one(state, id, now)
  local a = state.assets[id]
  if not a then return 404, "asset not found" end
  if T.asset_status(a, now) == "processing" then return 409, "asset still processing" end
  remove(state, a)
end

local function delete_asset(state, _, params, _, now)
  local status, msg = delete_one(state, params.asset_id, now)
  if status then return fail(status, msg) end
  return T.json(200, {asset_id = params.asset_id, status = "deleted"})
end

local DELETE = {{"asset_ids", "list", req = true, min = 1, msg = "invalid request: 'asset_ids' is required"}}

local function delete_batch(state, req, _, _, now)
  local ids = req.json.asset_ids
  if #ids > 100 then return fail(400, "invalid request: at most 100 asset_ids per request") end
  local results, deleted = {}, 0
  for i, id in ipairs(ids) do
    if type(id) ~= "string" then return fail(400, "invalid request: 'asset_ids' must be strings") end
    local status, msg = delete_one(state, id, now)
    if status then
      results[i] = {asset_id = id, error = msg}
    else
      deleted, results[i] = deleted + 1, {asset_id = id, status = "deleted"}
    end
  end
  return T.json(200, {deleted = deleted, failed = #ids - deleted, results = T.array(results)})
end

--- {op = "dump"}: every asset as GET would show it (without touching `last_used_at`), and the tasks.
piapi.show = {
  {"assets", "assets", function(a, env, now)
    local r = render(a, plan_of(env) or {ttl = 0}, now)
    r.ready_at = a.ready_at -- when it left Processing: benchmarks measure against it
    return r
  end},
  {"tasks", "tasks", function(rec, env)
    local st, _, since = tasks.state(rec, env)
    return {task_id = rec.id, status = st, changed_at = since, prompt = rec.prompt}
  end},
}

--- Tasks

local TASK = {{"model", enum = {seedance = true}, req = true, msg = "invalid request: model must be seedance"},
              {"task_type"}, {"input", "object", req = true, msg = "invalid request: 'input' is required"}}
local INPUT = {{"prompt", "string", req = true, msg = "invalid request: 'input.prompt' is required"},
               {"image_urls", "list"}, {"video_urls", "list"}, {"audio_urls", "list"},
               {"aspect_ratio"}, {"duration"}, {"resolution"}}
local TASK_TYPES = {["seedance-2"] = false, ["seedance-2-fast"] = false,
                    ["seedance-2-less-restriction"] = true, ["seedance-2-fast-less-restriction"] = true}
local TASK_WORDS = {queued = "pending", running = "processing", succeeded = "completed",
                    failed = "failed", expired = "failed", cancelled = "failed"}
local INPUT_WORDS = setmetatable({type = "invalid request: %s must be a list"}, {__index = piapi.words})
local TASK_ERRORS = {
  moderation = {code = "SensitiveContentDetected", message = "the output video was flagged by content moderation"},
  fail = {code = "GenerationFailed", message = "generation failed"},
  expired = {code = "TaskExpired", message = "the task expired before it ran"},
}

local function envelope(data)
  return T.json(200, {code = 200, data = data, message = "success"})
end

-- refuses an asset:// reference the task may not use (see T.refuse); a good one is used:
-- last_used_at
local function check_ref(state, u, relaxed, now)
  local id = type(u) == "string" and u:match("^asset://(.+)$")
  if not id then return end
  T.need(relaxed, fail, 422, "asset:// references are only allowed on -less-restriction task types")
  local a = T.need(state.assets[id], fail, 403, "asset not owned by this account")
  local st = T.asset_status(a, now)
  if st ~= "active" then T.refuse(fail(422, "asset " .. id .. " status=" .. T.STATUS[st])) end
  a.last_used_at = now
end

local function create_task(state, req, _, env, now)
  local body = req.json
  local relaxed = TASK_TYPES[body.task_type]
  if relaxed == nil then return fail(400, "invalid request: unknown task_type " .. tostring(body.task_type)) end
  local input = body.input
  T.fit(piapi, input, INPUT, INPUT_WORDS)
  for _, k in ipairs({"image_urls", "video_urls", "audio_urls"}) do
    for _, u in ipairs(input[k] or {}) do check_ref(state, u, relaxed, now) end
  end
  local rec = tasks.new(env, {id = env.new_id("task"), prompt = input.prompt, model = body.task_type, input = input},
                        state, "task\0" .. body.task_type .. "\0" .. T.encode(input))
  return envelope({task_id = rec.id, status = "pending"})
end

local function get_task(state, req, params, env)
  local rec = T.need(state.tasks[params.task_id], fail, 404, "task not found")
  local st, progress = tasks.state(rec, env)
  local data = {task_id = rec.id, status = TASK_WORDS[st], input = rec.input, progress = progress}
  if st == "succeeded" then
    -- points, as the page's example bills a 5 s task (10,000,000)
    local seconds = tonumber(rec.input.duration) or 5
    data.output = {video = tasks.video_url(rec, env, req)}
    data.meta = {usage = {type = "point", consume = seconds * 2000000}}
  end
  data.error = tasks.failure(rec, st, TASK_ERRORS)
  return envelope(data)
end

piapi.routes = {
  {"POST", "/api/v1/task", create_task, body = TASK, create = true},
  {"GET", "/api/v1/task/{task_id}", get_task},
  {"POST", "/api/v1/asset/upload", upload, body = {open = true}},
  {"POST", "/api/v1/asset/upload/batch", upload_batch, body = BATCH},
  {"POST", "/api/v1/asset/delete", delete_batch, body = DELETE},
  {"GET", "/api/v1/asset", list_assets},
  {"GET", "/api/v1/asset/{asset_id}", get_asset},
  {"DELETE", "/api/v1/asset/{asset_id}", delete_asset},
}

return piapi
