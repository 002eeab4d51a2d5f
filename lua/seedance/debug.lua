--- SEEDANCE_DEBUG=1: one line per request and per answer on stderr, for seeing what goes
-- on the wire. Credentials never appear: credential headers show as [REDACTED], and every
-- line passes through the client's secret redaction as well.
-- @module seedance.debug
local errors = require "seedance.error"
local core = require "seedance.core"

local M = {}

local SECRET_HEADERS = { authorization = true, ["x-api-key"] = true, cookie = true, ["proxy-authorization"] = true }

--- True when the environment asks for debug lines.
function M.enabled()
  local v = os.getenv("SEEDANCE_DEBUG")
  return v ~= nil and v ~= "" and v ~= "0"
end

local function emit(client, line)
  io.stderr:write(errors.redact(line, client:_secrets()), "\n")
end

--- Log a request about to be submitted.
function M.request(client, req)
  local hs = {}
  for _, h in ipairs(req.headers or {}) do
    local name, value = h:match("^([^:]+):%s*(.*)$")
    if name and SECRET_HEADERS[name:lower()] then value = "[REDACTED]" end
    hs[#hs + 1] = (name or h) .. ": " .. (value or "")
  end
  local body = req.body and (" body " .. #req.body .. " B: " .. req.body:sub(1, 300)) or ""
  emit(client, ("seedance[%s] > %s %s [%s]%s"):format(client.provider, req.method or "GET", req.url,
                                                     table.concat(hs, "; "), body))
  return core.now()
end

--- Log the outcome of a request started at `t0`.
function M.result(client, req, r, t0)
  local what = r.error and ("error " .. r.error .. ": " .. tostring(r.message)) or ("HTTP " .. tostring(r.status))
  local body = r.body and (" body " .. #r.body .. " B: " .. r.body:sub(1, 300)) or ""
  emit(client, ("seedance[%s] < %s %s: %s in %.3f s, %d attempt(s)%s"):format(client.provider, req.method or "GET",
    req.url, what, core.now() - t0, r.attempts or 0, body))
end

return M
