--- Structured errors: every operational failure in seedance is one of these.
-- `err.kind` is one of the words in api.md; `tostring(err)` reads
-- `seedance: <kind>: <message> (<provider> <status> <code>)`.
-- @module seedance.error
local M = {}

local Error = {}
Error.__index = Error
M.Error = Error

--- Kinds that may be retried by a caller as they are.
local RETRYABLE = { rate_limited = true, network = true, timeout = true, provider = true }

local KINDS = {
  validation = true, auth = true, quota = true, not_found = true, conflict = true,
  rate_limited = true, moderation = true, asset_failed = true, task_failed = true,
  provider = true, network = true, timeout = true, protocol = true,
}
M.kinds = KINDS

-- Secrets (issue 12). A server may echo a key back anywhere: in an error code, a request id
-- header, a plain-text body. So every secret any client of this process holds is known here,
-- and one function (M.scrub) takes them out of every string field of every error, deep, at
-- creation and when a field is added later, and out of every log line, before anything is
-- cut to a length: a key cut in half by a limit would no longer match.

-- secret -> true, for every client's api key and secret key (a set: no duplicates)
local known = {}
-- the same, longest first, so a key that contains another is replaced whole
local ordered = {}
-- the shortest string taken for a secret: shorter ones would redact ordinary words
local MIN_SECRET = 4
-- the shortest piece of a secret taken out at a string's start or end, where a cut elsewhere
-- (a server's own length limit) may have left it
local MIN_FRAGMENT = 8

--- Make `s` a secret of this process: from now on it is redacted from every error and log
-- line. Clients call this for their keys; nil and short strings are ignored.
-- @tparam ?string s
function M.remember(s)
  if type(s) ~= "string" or #s < MIN_SECRET or known[s] then return end
  known[s] = true
  ordered[#ordered + 1] = s
  table.sort(ordered, function(a, b) return #a > #b end)
end

local function replace_all(s, secret)
  local i = 1
  while true do
    local a, b = s:find(secret, i, true)
    if not a then return s end
    s = s:sub(1, a - 1) .. "[REDACTED]" .. s:sub(b + 1)
    i = a + 10
  end
end

-- a secret's head at the end of `s`, or its tail at the start, from MIN_FRAGMENT bytes up
-- (found by its first or last MIN_FRAGMENT bytes, then compared: no substring per length)
local function trim_fragments(s, secret)
  local n = #secret - 1
  local tail = #s > n and s:sub(-n) or s
  local first = secret:sub(1, MIN_FRAGMENT)
  local i = tail:find(first, 1, true)
  while i do
    if secret:sub(1, #tail - i + 1) == tail:sub(i) then
      s = s:sub(1, #s - (#tail - i + 1)) .. "[REDACTED]"
      break
    end
    i = tail:find(first, i + 1, true)
  end
  local head = #s > n and s:sub(1, n) or s
  local last = secret:sub(-MIN_FRAGMENT)
  local j, e = head:find(last, 1, true)
  local best
  while j do
    if secret:sub(-e) == head:sub(1, e) then best = e end
    j, e = head:find(last, j + 1, true)
  end
  if best then s = "[REDACTED]" .. s:sub(best + 1) end
  return s
end

local function scrub_list(s, list)
  for _, secret in ipairs(list) do
    if type(secret) == "string" and #secret >= MIN_SECRET then
      s = replace_all(s, secret)
      if #secret > MIN_FRAGMENT then s = trim_fragments(s, secret) end
    end
  end
  return s
end

--- The one redaction: `s` with every known secret (and each of `extra`, a list: a request's
-- signature) replaced by "[REDACTED]", and a secret's head or tail left at either end of
-- `s` by a cut too. Anything that is not a string is returned as it is.
-- @param s
-- @tparam[opt] {string,...} extra
function M.scrub(s, extra)
  if type(s) ~= "string" then return s end
  -- the keys first, so an echoed "Bearer <key>" reads "Bearer [REDACTED]"
  s = scrub_list(s, ordered)
  if extra then s = scrub_list(s, extra) end
  return s
end

-- every string in a plain table, scrubbed in place (objects and tables with a metatable, such
-- as another error or an Asset, are left alone: they are not the answer's text)
local function scrub_deep(t, extra, depth, seen)
  if depth > 20 or seen[t] then return end
  seen[t] = true
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  for _, k in ipairs(keys) do
    local v = t[k]
    if type(v) == "string" then t[k] = M.scrub(v, extra)
    elseif type(v) == "table" and getmetatable(v) == nil then scrub_deep(v, extra, depth + 1, seen) end
    if type(k) == "string" then
      local sk = M.scrub(k, extra)
      if sk ~= k then t[k], t[sk] = nil, t[k] end
    end
  end
end

local function scrub_value(v, extra)
  if type(v) == "string" then return M.scrub(v, extra) end
  if type(v) == "table" and getmetatable(v) == nil then scrub_deep(v, extra, 0, {}) end
  return v
end

--- Build an error; every string field (deep in plain tables such as `raw`) is scrubbed of
-- secrets (M.scrub), now and when a field is added later.
-- @tparam table f fields: kind (required), message, status, code, provider, request_id, retryable, ...
-- @tparam[opt] {string,...} extra secrets of this one request, beyond the known ones
-- @treturn seedance.Error
function M.new(f, extra)
  assert(KINDS[f.kind], "seedance.error: unknown kind " .. tostring(f.kind))
  local e = {}
  for k, v in pairs(f) do e[k] = scrub_value(v, extra) end
  e.message = e.message or e.kind
  if e.retryable == nil then e.retryable = RETRYABLE[e.kind] or false end
  return setmetatable(e, Error)
end

-- a field added after creation (maybe_submitted, results, failed) is scrubbed as it comes
function Error.__newindex(e, k, v)
  rawset(e, k, scrub_value(v))
end

--- True when `x` is a seedance error.
function M.is(x)
  return getmetatable(x) == Error
end

function Error.__tostring(e)
  local ctx = {}
  if e.provider then ctx[#ctx + 1] = e.provider end
  if e.status then ctx[#ctx + 1] = tostring(e.status) end
  if e.code and e.code ~= "" then ctx[#ctx + 1] = tostring(e.code) end
  local s = "seedance: " .. e.kind .. ": " .. tostring(e.message)
  if #ctx > 0 then s = s .. " (" .. table.concat(ctx, " ") .. ")" end
  -- a field changed in place after creation went past __newindex: scrub what is shown
  return M.scrub(s)
end

--- M.scrub with `secrets` as the extra list (the name older callers use).
-- @param s
-- @tparam[opt] {string,...} secrets
function M.redact(s, secrets)
  return M.scrub(s, secrets)
end

--- The secret parts of request header lines ("Name: value"): the whole value of a credential
-- header (Authorization, X-API-Key, ...) and each signature or token inside it, for M.scrub's
-- `extra` list: a server may echo a request's signature, which no client holds as a key.
-- @tparam {string,...} headers
-- @treturn {string,...}
function M.header_secrets(headers)
  local out = {}
  for _, h in ipairs(headers or {}) do
    local name, value = h:match("^([^:]+):%s*(.-)%s*$")
    local n = name and name:lower() or ""
    if n == "authorization" or n == "proxy-authorization" or n == "cookie" or n:find("key", 1, true)
       or n:find("token", 1, true) or n:find("signature", 1, true) then
      out[#out + 1] = value
      for piece in value:gmatch("[^%s,;=]+") do
        if #piece >= 16 then out[#out + 1] = piece end
      end
    end
  end
  return out
end

return M
