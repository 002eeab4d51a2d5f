--- From a dialect operation to an engine request, and from the engine's result back to a
-- decoded body or a seedance.Error. The only place that knows both the dialect shapes and
-- the engine's result tables.
-- @module seedance.http
local json = require "seedance.json"
local errors = require "seedance.error"
local url = require "seedance.url"
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

-- strings inside a decoded body, redacted in place (the body is ours, freshly decoded)
local function redact_deep(t, secrets, depth)
  if depth > 20 then return end
  for k, v in pairs(t) do
    if type(v) == "string" then t[k] = errors.redact(v, secrets)
    elseif type(v) == "table" then redact_deep(v, secrets, depth + 1) end
  end
end

local function new_error(client, f)
  local secrets = client:_secrets()
  f.provider = client.provider
  f.message = errors.redact(f.message, secrets)
  if type(f.raw) == "table" then redact_deep(f.raw, secrets, 0) end
  return errors.new(f)
end
--- A seedance.Error from fields `f`, stamped with the client's provider and with its
-- secrets redacted from the message and the raw body.
M.new_error = new_error

--- Turn an engine result into (decoded body) or (nil, seedance.Error).
function M.response(client, op, r)
  local rid = r.headers and (r.headers["x-request-id"] or r.headers["x-tt-logid"] or r.headers["request-id"])
  if r.error then
    local kind = TRANSPORT_KIND[r.error] or "network"
    local msg = r.message or r.error
    if r.error == "too_large" then msg = "response body over the size limit" end
    return nil, new_error(client, { kind = kind, message = msg, retryable = kind ~= "protocol",
                                    request_sent = r.sent, attempts = r.attempts })
  end
  local body, jerr = nil, nil
  if r.body and r.body ~= "" then body, jerr = json.decode(r.body) end
  -- a dialect whose service names the request in the body (Ark's control plane) says where
  if not rid and client.dialect.request_id and type(body) == "table" then rid = client.dialect.request_id(body) end
  local status = r.status
  -- API calls never follow redirects (a custom auth header would follow them to any host),
  -- so a 3xx here is a failure to report, not an answer
  local failed = status >= 300
  local kind, code, message, retryable
  local classify = op.classify or client.dialect.classify
  if classify then
    -- the dialect may see an error inside a 200 (crun's envelope) or the opposite
    kind, code, message, retryable = classify(status, body, op, r)
    failed = kind ~= nil or (status >= 300 and status < 400)
  elseif failed then
    local m, c = M.describe_body(body)
    kind, code, message = STATUS_KIND[status], c, m
    if client.dialect.error_kind then
      kind = client.dialect.error_kind(status, body, m, c, op) or kind
    end
  end
  if failed then
    kind = kind or (status == 429 and "rate_limited") or "provider"
    if status >= 300 and status < 400 then
      kind = "provider"
      message = "the API answered a redirect (HTTP " .. status .. ") to " .. tostring(r.headers and r.headers.location)
                .. "; seedance does not follow redirects with credentials: set base_url to the new host"
    end
    if not message then
      local snippet = (r.body or ""):sub(1, 200)
      message = "HTTP " .. status .. (snippet ~= "" and (": " .. snippet) or "")
    end
    local f = { kind = kind, status = status, code = code, message = message, request_id = rid,
                raw = body, attempts = r.attempts }
    if r.retry_after then
      f.retry_after = r.retry_after
      f.retry_at = core.time() + r.retry_after
    end
    if status >= 500 or status == 429 or status == 455 then f.retryable = true end
    -- classify knows better: crun's 505 "feature disabled" is a 5xx no retry will fix
    if retryable ~= nil then f.retryable = retryable end
    return nil, new_error(client, f)
  end
  if body == nil and not op.empty_ok then
    return nil, new_error(client, { kind = "protocol", status = status, request_id = rid,
      message = "response is not JSON" .. (jerr and (": " .. jerr) or "") })
  end
  return body, nil, rid
end

return M
