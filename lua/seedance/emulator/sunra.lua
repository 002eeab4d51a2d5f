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
-- @module seedance.emulator.sunra

local common = require "seedance.emulator.common"

local iso, lower, floor = common.iso8601, string.lower, math.floor

local sunra = {name = "sunra", rate_limit_status = 403}

local TYPES = {image = true, video = true, audio = true}
local STATUSES = {processing = true, active = true, failed = true}
local MAX_PAGE_SIZE = 100

local CODES = {
  [400] = "invalid_request", [401] = "unauthorized", [404] = "not_found",
  [405] = "method_not_allowed", [429] = "rate_limit_exceeded", [500] = "internal_error",
  [502] = "bad_gateway", [503] = "service_unavailable", [504] = "gateway_timeout",
}

--- An answer in Sunra's error shape. A 403 is always the rate limit.
function sunra.error(status, message)
  local code = CODES[status] or "error"
  if status == 403 then
    code, message = "rate_limit_exceeded", "Rate limit exceeded, please slow down and retry later"
  end
  return common.json(status, {error = {code = code, message = message}})
end
local fail = sunra.error

--- State

--- Fresh state: records by Sunra id, creation order, the last request.
function sunra.new()
  return {records = {}, seq = 0, last = nil}
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

local function json_body(req)
  local ct = lower(req.headers["content-type"] or "")
  if not ct:find("application/json", 1, true) then
    return nil, fail(400, "Content-Type must be application/json")
  end
  local body = common.decode(req.body)
  if type(body) ~= "table" or (next(body) ~= nil and common.is_array(body)) then
    return nil, fail(400, "body must be a JSON object")
  end
  return body
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

local function positive_int(s, default)
  if s == nil or s == "" then return default end
  local n = tonumber(s)
  if not n or n < 1 or n ~= floor(n) then return nil end
  return n
end

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

--- Every record (soft-deleted ones marked) in creation order, and the last
-- request as received: for {op = "dump"}.
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
  return {assets = common.array(all), last_request = state.last or common.null}
end

sunra.routes = {
  {"POST", "/v1/ark/assets", guarded(create)},
  {"GET", "/v1/ark/assets", guarded(list)},
  {"GET", "/v1/ark/assets/{id}", guarded(get)},
  {"DELETE", "/v1/ark/assets/{id}", guarded(delete)},
}

return sunra
