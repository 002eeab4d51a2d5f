--- From a dialect operation to an engine request, and from the engine's result back to a
-- decoded body or a seedance.Error. The only place that knows both the dialect shapes and
-- the engine's result tables.
-- @module seedance.wire.http
local json = require "seedance.wire.json"
local errors = require "seedance.error"
local url = require "seedance.wire.url"
local core = require "seedance.core"

local M = {}

local STATUS_KIND = {
  [400] = "validation", [401] = "auth", [402] = "quota", [403] = "auth", [404] = "not_found",
  [409] = "conflict", [413] = "validation", [422] = "validation", [429] = "rate_limited",
}

local TRANSPORT_KIND = {
  connect = "network", network = "network", tls = "network", file = "network",
  timeout = "timeout", deadline = "timeout", cancelled = "timeout", too_large = "protocol",
}

--- Find a readable message and a code in an error body of unknown shape.
function M.describe_body(body)
  if type(body) ~= "table" then return nil, nil end
  local e = json.val(body.error)
  if type(e) == "table" then
    return json.val(e.message) or json.val(e.Message), json.str(json.val(e.code) or json.val(e.Code))
  end
  local meta = type(body.ResponseMetadata) == "table" and json.val(body.ResponseMetadata.Error)
  if type(meta) == "table" then return json.val(meta.Message), json.str(meta.Code) end
  local msg = json.val(body.message) or json.val(body.msg) or json.val(body.detail)
  if type(e) == "string" then msg = msg or e end
  return type(msg) == "string" and msg or nil, nil
end

--- Build the engine request for operation `op` of `client`.
-- `op.plane = "control"` sends it to the client's control_url (Ark's signed asset API).
function M.request(client, op)
  local d = client.dialect
  local path = client.endpoints[op.endpoint]
  if not path then error("seedance: " .. d.name .. " has no endpoint '" .. tostring(op.endpoint) .. "'", 3) end
  local base = op.base or (op.plane == "control" and client.control_url) or client.base_url
  local u = base .. url.fill(path, op.params)
  local q = url.query(op.query)
  if q ~= "" then u = u .. (u:find("?", 1, true) and "&" or "?") .. q end
  local headers = {}
  local body = op.body
  if type(body) == "table" then
    body = json.encode(body)
    headers[#headers + 1] = "Content-Type: application/json"
  elseif body ~= nil then
    headers[#headers + 1] = "Content-Type: " .. (op.content_type or "application/octet-stream")
  end
  headers[#headers + 1] = "Accept: application/json"
  if op.headers then
    for _, h in ipairs(op.headers) do headers[#headers + 1] = h end
  end
  local req = {
    method = op.method, url = u, headers = headers, body = body,
    idempotent = op.idempotent, retry_on = op.retry_on or d.retry_on,
    timeout = client.timeout, deadline = op.deadline,
  }
  for _, h in ipairs(client:_auth_headers(op, req)) do headers[#headers + 1] = h end
  return req
end

local function new_error(client, f, extra)
  f.provider = client.provider
  return errors.new(f, extra)
end
--- A seedance.Error from fields `f`, stamped with the client's provider; every string in it
-- is scrubbed of secrets (seedance.error.scrub), and of `extra` (a request's own, such as
-- its signature: seedance.error.header_secrets).
M.new_error = new_error

-- Answers of the wrong shape (issue 12). Whatever a server sends, a dialect's parse function
-- runs under guard and what it returns is checked here, once for every dialect: a raise or a
-- field of the wrong type is a `protocol` error, never a Lua error in the caller's hands.

--- The longest id an answer may carry (it goes back into later request paths).
M.MAX_ID = 2048

--- True for an absolute http(s) URL with a host: what a result host may be.
function M.is_http_url(v)
  return type(v) == "string" and v:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@]") ~= nil
end

local function is_id(v) return type(v) == "string" and v ~= "" and #v <= M.MAX_ID end
local function opt(check) return function(v) return v == nil or check(v) end end
local function is_str(v) return type(v) == "string" end
local function is_num(v) return type(v) == "number" and v == v end
local function is_failure(v)
  return type(v) == "table" and (v.code == nil or is_str(v.code)) and (v.message == nil or is_str(v.message))
end

-- the normalized fields whose type the rest of seedance relies on
local FIELDS = {
  { "id", opt(is_id), "a non-empty string id" },
  { "raw_status", opt(is_str), "a status word" },
  { "status", opt(is_str), "a status word" },
  { "group_id", opt(is_id), "a non-empty string id" },
  { "progress", opt(is_num), "a number" },
  { "queue_position", opt(is_num), "a number" },
  { "video_url", opt(M.is_http_url), "an http(s) URL" },
  { "last_frame_url", opt(M.is_http_url), "an http(s) URL" },
  { "error", opt(is_failure), "{code, message} strings" },
}

-- nil when `f` is a sane fields table (with an id when `need_id`), else what is wrong
local function bad_fields(f, need_id)
  if type(f) ~= "table" then return "no fields" end
  if need_id and f.id == nil then return "no id" end
  for _, c in ipairs(FIELDS) do
    local v = f[c[1]]
    if not c[2](v) then
      -- scrubbed before it is cut: a cut key would no longer be recognised
      v = errors.scrub(v)
      local shown = type(v) == "string" and ("%q"):format(#v > 60 and v:sub(1, 60) .. "..." or v) or type(v)
      return ("'%s' is %s, not %s"):format(c[1], shown, c[3])
    end
  end
  return nil
end

-- shape -> function(a, b, c) giving nil or what is wrong with a parse function's results
local SHAPES = {
  -- an object just made or fetched by id: it must say which
  object = function(f) return bad_fields(f, true) end,
  -- a refresh of an object we hold (or an update of it): the id may be left out (Sunra's
  -- status answers), as may anything unchanged
  refresh = function(f) return bad_fields(f, false) end,
  -- a task's refresh: whatever else it leaves out, it says what state the task is in
  task = function(f)
    local why = bad_fields(f, false)
    if why then return why end
    if f.raw_status == nil and f.status == nil then return "no status" end
    return nil
  end,
  -- a page read for ids and status words only (tracker): whether more follow
  brief = function(more)
    if more ~= nil and type(more) ~= "boolean" then return "no page count" end
    return nil
  end,
  -- a page: items (each an object), whether more follow, and a quota maybe
  list = function(items, more, quota)
    if type(items) ~= "table" then return "no list of items" end
    for i, f in ipairs(items) do
      local why = bad_fields(f, true)
      if why then return "item " .. i .. ": " .. why end
    end
    if more ~= nil and type(more) ~= "boolean" then return "no page count" end
    if quota ~= nil and type(quota) ~= "table" then return "a quota that is not a table" end
    return nil
  end,
  -- a batch create: per item, fields or {error = {code, message}}
  batch = function(items)
    if type(items) ~= "table" then return "no list of results" end
    for i, f in ipairs(items) do
      local why
      if type(f) == "table" and f.error ~= nil and f.id == nil then
        why = not is_failure(f.error) and "an error that is not {code, message} strings" or nil
      else
        why = bad_fields(f, true)
      end
      if why then return "item " .. i .. ": " .. why end
    end
    return nil
  end,
  -- a batch delete: per id, true or a reason
  outcomes = function(items)
    if type(items) ~= "table" then return "no list of results" end
    for i, r in ipairs(items) do
      if r ~= true and type(r) ~= "string" then return "item " .. i .. " is neither true nor a reason" end
    end
    return nil
  end,
}

--- Run dialect parse function `fn(body, ...)` on an answer, under guard: its results, or
-- nil and a `protocol` error when the body is not a JSON object or array, when `fn` raises
-- on it, or when its results are not of `shape` ("object", "refresh", "task", "list",
-- "batch", "outcomes", "brief"; see SHAPES). The one place answers are trusted.
function M.parse(client, shape, fn, body, ...)
  local why, a, b, c
  if type(body) ~= "table" then
    why = "the answer is " .. (body == json.null and "null" or type(body)) .. ", not a JSON object"
  else
    local ok
    ok, a, b, c = pcall(fn, body, ...)
    if not ok then
      why = "the answer could not be read: " .. tostring(a)
    else
      why = SHAPES[shape](a, b, c)
    end
  end
  if why then return nil, M.bad_answer(client, why, body) end
  return a, b, c
end

--- The `protocol` error for an answer of the wrong shape (code "bad_answer"): not a
-- transient fault, so a wait ends on it rather than polling until its deadline.
function M.bad_answer(client, why, body, rid, extra)
  return new_error(client, { kind = "protocol", code = "bad_answer", retryable = false, raw = body,
    request_id = rid, message = "unexpected answer from " .. client.provider .. ": " .. why }, extra)
end

--- Turn an engine result into (decoded body) or (nil, seedance.Error). `req` is the request
-- as sent: its credential headers are secrets the error must not show either.
function M.response(client, op, r, req)
  local extra = req and errors.header_secrets(req.headers) or nil
  local rid = r.headers and (r.headers["x-request-id"] or r.headers["x-tt-logid"] or r.headers["request-id"])
  if r.error then
    local kind = TRANSPORT_KIND[r.error] or "network"
    local msg = r.message or r.error
    return nil, new_error(client, { kind = kind, message = msg, retryable = kind ~= "protocol",
                                    request_sent = r.sent, attempts = r.attempts }, extra)
  end
  local body, jerr = nil, nil
  if r.body and r.body ~= "" then body, jerr = json.decode(r.body) end
  local status = r.status
  -- a success that is JSON but no object or array (42, true, null, "text") answers nothing
  if status < 300 and body ~= nil and type(body) ~= "table" and not op.empty_ok then
    return nil, M.bad_answer(client, "the answer is " .. (body == json.null and "null" or type(body))
                                     .. ", not a JSON object", body, rid, extra)
  end
  -- a dialect whose service names the request in the body (Ark's control plane) says where
  if not rid and client.dialect.request_id and type(body) == "table" then
    local ok, got = pcall(client.dialect.request_id, body)
    rid = ok and type(got) == "string" and got or nil
  end
  -- API calls never follow redirects (a custom auth header would follow them to any host),
  -- so a 3xx here is a failure to report, not an answer
  local failed = status >= 300
  local kind, code, message, retryable
  local classify = op.classify or client.dialect.classify
  if classify then
    -- the dialect may see an error inside a 200 (crun's envelope) or the opposite
    local ok
    ok, kind, code, message, retryable = pcall(classify, status, body, op, r)
    if not ok then
      return nil, M.bad_answer(client, "the answer could not be read: " .. tostring(kind), body, rid, extra)
    end
    failed = kind ~= nil or (status >= 300 and status < 400)
  elseif failed then
    local m, c = M.describe_body(body)
    kind, code, message = STATUS_KIND[status], c, m
    if client.dialect.error_kind then
      local ok, k = pcall(client.dialect.error_kind, status, body, m, c, op)
      kind = ok and k or kind
    end
  end
  -- what a hostile server put in these becomes an error's fields: strings only
  if kind ~= nil and not errors.kinds[kind] then kind = "provider" end
  code = json.str(code)
  if type(message) ~= "string" then message = nil end
  if failed then
    kind = kind or (status == 429 and "rate_limited") or "provider"
    if status >= 300 and status < 400 then
      kind = "provider"
      message = "the API answered a redirect (HTTP " .. status .. ") to " .. tostring(r.headers and r.headers.location)
                .. "; seedance does not follow redirects with credentials: set base_url to the new host"
    end
    if not message then
      -- scrubbed whole, then cut: a key cut in half would escape the scrub
      local snippet = errors.scrub(r.body or "", extra):sub(1, 200)
      message = "HTTP " .. status .. (snippet ~= "" and (": " .. snippet) or "")
    end
    local f = { kind = kind, status = status, code = code, message = message, request_id = rid,
                raw = body, attempts = r.attempts }
    if r.retry_after then
      f.retry_after = r.retry_after
      f.retry_at = core.time() + r.retry_after
    end
    -- the one safety policy says which statuses another try may get past
    local _, worth = core.safety(status)
    if worth then f.retryable = true end
    -- classify knows better: crun's 505 "feature disabled" is a 5xx no retry will fix
    if retryable ~= nil then f.retryable = retryable end
    return nil, new_error(client, f, extra)
  end
  if body == nil and not op.empty_ok then
    return nil, new_error(client, { kind = "protocol", status = status, request_id = rid,
      message = "response is not JSON" .. (jerr and (": " .. jerr) or "") }, extra)
  end
  return body, nil, rid
end

return M
