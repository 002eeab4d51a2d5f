--- The PiAPI twin: Seedance 2.0 asset library at `/api/v1/asset...`, as
-- described in reference/providers.md section 5 and PiAPI's own doc page.
--
-- Auth `X-API-Key`; plans bound the number of assets and their idle TTL;
-- assets are Processing for `config.processing` seconds, then Active, or
-- Failed for the URL markers of seedance.emulator.common.url_failure;
-- failed assets do not count toward the quota; get and list refresh
-- `last_used_at`; an asset idle longer than the TTL is purged.
-- Every error answers `{"code": <status>, "message": "...", "data": null}`.
-- @module seedance.emulator.piapi

local common = require "seedance.emulator.common"

local iso, lower = common.iso8601, string.lower

local piapi = {name = "piapi"}

local DAY = 86400
local MAX_BATCH_UPLOAD = 50
local MAX_BATCH_DELETE = 100
local MAX_PAGE_SIZE = 100

--- Plans: most assets kept at once, and days idle before the purge.
piapi.PLANS = {
  hobbyist = {limit = 50, ttl_days = 3},
  developer = {limit = 200, ttl_days = 7},
  premium = {limit = 500, ttl_days = 15},
  enterprise = {limit = 1000, ttl_days = 15},
}

local TYPES = {image = "Image", video = "Video", audio = "Audio"}
local WORDS = {processing = "Processing", active = "Active", failed = "Failed"}
local ORDER_FIELDS = {last_used_at = true, created_at = true, name = true}

--- An answer in PiAPI's error shape.
function piapi.error(status, message)
  return common.json(status, {code = status, message = message, data = common.null})
end
local fail = piapi.error

--- State

function piapi.new()
  return {
    assets = {},      -- id -> asset
    seq = 0,          -- creation order, the tie-breaker of every listing
    healthy = 0,      -- assets that will not fail: they count toward the quota
    doomed = {},      -- id -> asset for those that will fail (count while processing)
    next_purge = 0,
  }
end

-- The plan in force, rebuilt only when configure changed plan or quota.
local cached_for_plan, cached_for_quota, cached_plan
local function plan_of(env)
  local name, quota = env.config.plan, env.config.quota
  if name == cached_for_plan and quota == cached_for_quota then return cached_plan end
  local p = piapi.PLANS[name]
  cached_for_plan, cached_for_quota = name, quota
  cached_plan = p and {name = name, limit = tonumber(quota) or p.limit, ttl = p.ttl_days * DAY,
                       ttl_days = p.ttl_days}
  return cached_plan
end

local function remove(state, a)
  state.assets[a.id] = nil
  if a.failure then
    state.doomed[a.id] = nil
  else
    state.healthy = state.healthy - 1
  end
end

-- Idle assets go lazily, at most once per emulated second: a sweep is O(n).
local function purge(state, plan, now)
  if now < state.next_purge then return end
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
  local status = WORDS[common.asset_status(a, now)]
  local r = {
    asset_id = a.id, name = a.name, asset_type = a.asset_type, status = status, url = a.url,
    last_used_at = iso(a.last_used_at), expires_at = iso(a.last_used_at + plan.ttl),
    created_at = iso(a.created_at),
  }
  if status == "Failed" then r.error = {code = a.failure.code, message = a.failure.message} end
  return r
end

--- Request guards

local is_object = common.is_object

local JSON_REFUSED = {content_type = "invalid request: Content-Type must be application/json",
                      object = "invalid request: body must be a JSON object"}

local function json_body(req)
  return common.json_body(req, fail, 400, JSON_REFUSED)
end

local function check_fields(t, allowed)
  for k in pairs(t) do
    if not allowed[k] then return "invalid request: unknown field '" .. tostring(k) .. "'" end
  end
  return nil
end

-- Auth and plan first, as the service does; then the lazy purge.
local function guarded(fn)
  return function(state, req, params, env)
    local key = req.headers["x-api-key"]
    local want = env.config.api_key
    if key == nil or key == "" or (want ~= nil and key ~= want) then
      return fail(401, "invalid api key")
    end
    local plan = plan_of(env)
    if not plan then return fail(403, "asset endpoints require plan >= hobbyist") end
    local now = env.now()
    purge(state, plan, now)
    return fn(state, req, params, env, plan, now)
  end
end

--- Creating

local UPLOAD_FIELDS = {url = true, asset_type = true, name = true}

-- Validates one upload item and registers it. Returns the asset, or nil and
-- the message of a 400.
local function create(state, item, env, plan, now)
  if not is_object(item) then return nil, "invalid request: each item must be a JSON object" end
  local bad = check_fields(item, UPLOAD_FIELDS)
  if bad then return nil, bad end
  local url = item.url
  if type(url) ~= "string" or url == "" then return nil, "invalid request: 'url' is required" end

  local asset_type = item.asset_type
  if asset_type ~= nil and asset_type ~= common.null then
    asset_type = type(asset_type) == "string" and TYPES[lower(asset_type)]
    if not asset_type then return nil, "unsupported asset_type: " .. common.tostring(item.asset_type) end
  else
    local ext = common.extension(url)
    asset_type = common.media_type(ext)
    if not asset_type then
      return nil, "unsupported asset_type: " .. (ext ~= "" and ext or common.basename(url))
    end
  end

  local name = item.name
  if name == nil or name == common.null then
    name = common.basename(url)
  elseif type(name) ~= "string" then
    return nil, "invalid request: 'name' must be a string"
  end

  local used = quota_used(state, now)
  if used >= plan.limit then
    return nil, common.format("quota exceeded: plan %s allows %d assets, currently %d",
                              plan.name, plan.limit, used)
  end

  state.seq = state.seq + 1
  local a = {
    id = env.new_id("asset"), seq = state.seq, name = name, asset_type = asset_type, url = url,
    created_at = now, last_used_at = now,
    ready_at = now + common.processing_time(env),
    failure = common.url_failure(url),
  }
  state.assets[a.id] = a
  if a.failure then
    state.doomed[a.id] = a
  else
    state.healthy = state.healthy + 1
  end
  env.created(url)
  return a
end

local function upload(state, req, _, env, plan, now)
  local body, err = json_body(req)
  if not body then return err end
  local a, msg = create(state, body, env, plan, now)
  if not a then return fail(400, msg) end
  return common.json(200, {
    asset_id = a.id, status = "Processing", upload_at = iso(now), expires_at = iso(now + plan.ttl),
  })
end

local function upload_batch(state, req, _, env, plan, now)
  local body, err = json_body(req)
  if not body then return err end
  local bad = check_fields(body, {items = true})
  if bad then return fail(400, bad) end
  local items = body.items
  if not common.is_array(items) or #items == 0 then
    return fail(400, "invalid request: 'items' is required")
  end
  if #items > MAX_BATCH_UPLOAD then
    return fail(400, "invalid request: at most " .. MAX_BATCH_UPLOAD .. " items per batch")
  end
  local results, ok_n, failed_n = {}, 0, 0
  for i, item in ipairs(items) do
    local a, msg = create(state, item, env, plan, now)
    if a then
      ok_n = ok_n + 1
      results[i] = {asset_id = a.id, status = "Processing"}
    else
      failed_n = failed_n + 1
      local url = type(item) == "table" and type(item.url) == "string" and item.url or common.null
      results[i] = {url = url, error = msg}
    end
  end
  return common.json(200, {total = #items, success = ok_n, failed = failed_n,
                           results = common.array(results)})
end

--- Reading

local function get_asset(state, _, params, _, plan, now)
  local a = state.assets[params.asset_id]
  if not a then return fail(404, "asset not found") end
  a.last_used_at = now
  return common.json(200, render(a, plan, now))
end

local positive_int = common.positive_int

local function list_assets(state, req, _, _, plan, now)
  local q = req.query
  local page, size = 1, 20
  if q.page and q.page ~= "" then
    page = positive_int(q.page)
    if not page then return fail(400, "invalid request: 'page' must be a positive integer") end
  end
  if q.size and q.size ~= "" then
    size = positive_int(q.size)
    if not size or size > MAX_PAGE_SIZE then
      return fail(400, "invalid request: 'size' must be between 1 and " .. MAX_PAGE_SIZE)
    end
  end
  local wanted
  if q.status and q.status ~= "" and lower(q.status) ~= "all" then
    wanted = {}
    for word in q.status:gmatch("[^,]+") do
      local w = lower(word:match("^%s*(.-)%s*$"))
      if not WORDS[w] then return fail(400, "invalid request: unknown status '" .. word .. "'") end
      wanted[w] = true
    end
  end
  local order = q.order
  if order == nil or order == "" then order = "-last_used_at" end
  if not ORDER_FIELDS[order:gsub("^%-", "")] then
    return fail(400, "invalid request: unsupported order '" .. order .. "'")
  end

  local matching = {}
  for _, a in pairs(state.assets) do
    if not wanted or wanted[common.asset_status(a, now)] then matching[#matching + 1] = a end
  end
  common.sort_by(matching, order)

  local items = {}
  local first = (page - 1) * size + 1
  for i = first, math.min(#matching, first + size - 1) do
    local a = matching[i]
    a.last_used_at = now
    items[#items + 1] = render(a, plan, now)
  end
  return common.json(200, {
    items = common.array(items), total = #matching, page = page, size = size,
    quota = {used = quota_used(state, now), limit = plan.limit, ttl_days = plan.ttl_days},
  })
end

--- Deleting

-- Returns nil when deleted, else the status and message of the refusal.
local function delete_one(state, id, now)
  local a = state.assets[id]
  if not a then return 404, "asset not found" end
  if common.asset_status(a, now) == "processing" then return 409, "asset still processing" end
  remove(state, a)
  return nil
end

local function delete_asset(state, _, params, _, _, now)
  local status, msg = delete_one(state, params.asset_id, now)
  if status then return fail(status, msg) end
  return common.json(200, {asset_id = params.asset_id, status = "deleted"})
end

local function delete_batch(state, req, _, _, _, now)
  local body, err = json_body(req)
  if not body then return err end
  local bad = check_fields(body, {asset_ids = true})
  if bad then return fail(400, bad) end
  local ids = body.asset_ids
  if not common.is_array(ids) or #ids == 0 then
    return fail(400, "invalid request: 'asset_ids' is required")
  end
  if #ids > MAX_BATCH_DELETE then
    return fail(400, "invalid request: at most " .. MAX_BATCH_DELETE .. " asset_ids per request")
  end
  local results, deleted, failed = {}, 0, 0
  for i, id in ipairs(ids) do
    if type(id) ~= "string" then return fail(400, "invalid request: 'asset_ids' must be strings") end
    local status, msg = delete_one(state, id, now)
    if status then
      failed = failed + 1
      results[i] = {asset_id = id, error = msg}
    else
      deleted = deleted + 1
      results[i] = {asset_id = id, status = "deleted"}
    end
  end
  return common.json(200, {deleted = deleted, failed = failed, results = common.array(results)})
end

--- Every asset, in creation order, as GET would show it (without touching
-- `last_used_at`): for {op = "dump"}.
function piapi.dump(state, env)
  local plan = plan_of(env) or {ttl = 0}
  local now = env.now()
  local list = {}
  for _, a in pairs(state.assets) do list[#list + 1] = a end
  table.sort(list, function(x, y) return x.seq < y.seq end)
  for i, a in ipairs(list) do
    list[i] = render(a, plan, now)
    list[i].ready_at = a.ready_at -- when it left Processing: benchmarks measure against it
  end
  local tasks, T = {}, require "seedance.emulator.tasks"
  for _, rec in pairs(state.tasks or {}) do
    local st, _, since = T.state(rec, env)
    tasks[#tasks + 1] = {task_id = rec.id, status = st, changed_at = since, prompt = rec.prompt}
  end
  return {assets = common.array(list), tasks = common.array(tasks)}
end

--- Tasks

local TASK_FIELDS = {model = true, task_type = true, input = true}
local INPUT_FIELDS = {prompt = true, image_urls = true, video_urls = true, audio_urls = true,
                      aspect_ratio = true, duration = true, resolution = true}
local TASK_TYPES = {["seedance-2"] = false, ["seedance-2-fast"] = false,
                    ["seedance-2-less-restriction"] = true, ["seedance-2-fast-less-restriction"] = true}
local TASK_WORDS = {queued = "pending", running = "processing", succeeded = "completed",
                    failed = "failed", expired = "failed", cancelled = "failed"}

local function envelope(data)
  return common.json(200, {code = 200, data = data, message = "success"})
end

local function create_task(state, req, _, env, _, now)
  local body, bad = json_body(req)
  if not body then return bad end
  local why = check_fields(body, TASK_FIELDS)
  if why then return fail(400, why) end
  if body.model ~= "seedance" then return fail(400, "invalid request: model must be seedance") end
  local relaxed = TASK_TYPES[body.task_type]
  if relaxed == nil then return fail(400, "invalid request: unknown task_type " .. tostring(body.task_type)) end
  local input = body.input
  if not is_object(input) then return fail(400, "invalid request: 'input' is required") end
  why = check_fields(input, INPUT_FIELDS)
  if why then return fail(400, why) end
  if type(input.prompt) ~= "string" or input.prompt == "" then
    return fail(400, "invalid request: 'input.prompt' is required")
  end
  for _, k in ipairs({"image_urls", "video_urls", "audio_urls"}) do
    local list = input[k]
    if list ~= nil and not common.is_array(list) then
      return fail(400, "invalid request: " .. k .. " must be a list")
    end
    for _, u in ipairs(list or {}) do
      local id = type(u) == "string" and u:match("^asset://(.+)$")
      if id then
        if not relaxed then
          return fail(422, "asset:// references are only allowed on -less-restriction task types")
        end
        local a = state.assets[id]
        if not a then return fail(403, "asset not owned by this account") end
        local st = common.asset_status(a, now)
        if st ~= "active" then
          return fail(422, "asset " .. id .. " status=" .. (st == "failed" and "Failed" or "Processing"))
        end
        a.last_used_at = now
      end
    end
  end
  local tasks = require "seedance.emulator.tasks"
  state.tasks = state.tasks or {}
  local rec = tasks.new(env, {id = env.new_id("task"), prompt = input.prompt, model = body.task_type, input = input})
  state.tasks[rec.id] = rec
  env.created("task\0" .. body.task_type .. "\0" .. common.encode(input))
  return envelope({task_id = rec.id, status = "pending"})
end

local function get_task(state, req, params, env)
  local tasks = require "seedance.emulator.tasks"
  local rec = (state.tasks or {})[params.task_id]
  if not rec then return fail(404, "task not found") end
  local st, progress = tasks.state(rec, env)
  local data = {task_id = rec.id, status = TASK_WORDS[st], input = rec.input, progress = progress}
  if st == "succeeded" then
    data.output = {video = tasks.video_url(rec, env, req)}
  elseif st == "failed" and rec.outcome == "moderation" then
    data.error = {code = "SensitiveContentDetected", message = "the output video was flagged by content moderation"}
  elseif st == "failed" then
    data.error = {code = "GenerationFailed", message = "generation failed"}
  elseif st == "expired" then
    data.error = {code = "TaskExpired", message = "the task expired before it ran"}
  end
  return envelope(data)
end

piapi.routes = {
  {"POST", "/api/v1/task", guarded(create_task)},
  {"GET", "/api/v1/task/{task_id}", guarded(get_task)},
  {"POST", "/api/v1/asset/upload", guarded(upload)},
  {"POST", "/api/v1/asset/upload/batch", guarded(upload_batch)},
  {"POST", "/api/v1/asset/delete", guarded(delete_batch)},
  {"GET", "/api/v1/asset", guarded(list_assets)},
  {"GET", "/api/v1/asset/{asset_id}", guarded(get_asset)},
  {"DELETE", "/api/v1/asset/{asset_id}", guarded(delete_asset)},
}

return piapi
