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

--- Build an error.
-- @tparam table f fields: kind (required), message, status, code, provider, request_id, retryable, ...
-- @treturn seedance.Error
function M.new(f)
  assert(KINDS[f.kind], "seedance.error: unknown kind " .. tostring(f.kind))
  local e = {}
  for k, v in pairs(f) do e[k] = v end
  e.message = e.message or e.kind
  if e.retryable == nil then e.retryable = RETRYABLE[e.kind] or false end
  return setmetatable(e, Error)
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
  return s
end

--- Remove every occurrence of each secret from a string: provider messages sometimes echo
-- request headers back, and none of that may reach a log.
function M.redact(s, secrets)
  if type(s) ~= "string" or not secrets then return s end
  for _, secret in ipairs(secrets) do
    if type(secret) == "string" and #secret >= 4 then
      local i = 1
      while true do
        local a, b = s:find(secret, i, true)
        if not a then break end
        s = s:sub(1, a - 1) .. "[REDACTED]" .. s:sub(b + 1)
        i = a + 10
      end
    end
  end
  return s
end

return M
