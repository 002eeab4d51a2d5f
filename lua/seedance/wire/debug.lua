--- SEEDANCE_DEBUG=1: one line per request and per answer on stderr, for seeing what goes
-- on the wire. Credentials never appear: credential headers show as [REDACTED], and every
-- line passes through the one secret redaction (seedance.error.scrub) as well.
-- @module seedance.wire.debug
local errors = require "seedance.error"
local core = require "seedance.core"

local M = {}

local SECRET_HEADERS = { authorization = true, ["x-api-key"] = true, cookie = true, ["proxy-authorization"] = true }

--- True when the environment asks for debug lines.
function M.enabled()
  local v = os.getenv("SEEDANCE_DEBUG")
  return v ~= nil and v ~= "" and v ~= "0"
end

-- every line is scrubbed whole (seedance.error.scrub) as it is written
local function emit(line, extra)
  io.stderr:write(errors.scrub(line, extra), "\n")
end

-- the first `n` bytes of a body, scrubbed before the cut (a key cut in half would escape)
local function head(s, n, extra)
  return errors.scrub(s, extra):sub(1, n)
end

--- Log a request about to be submitted (`tag`: a word after the line, "poll" for the
-- scheduler's own requests).
function M.request(client, req, tag)
  local hs = {}
  for _, h in ipairs(req.headers or {}) do
    local name, value = h:match("^([^:]+):%s*(.*)$")
    if name and SECRET_HEADERS[name:lower()] then value = "[REDACTED]" end
    hs[#hs + 1] = (name or h) .. ": " .. (value or "")
  end
  local extra = errors.header_secrets(req.headers)
  local body = req.body and (" body " .. #req.body .. " B: " .. head(req.body, 300, extra)) or ""
  emit(("seedance[%s] > %s %s [%s]%s%s"):format(client.provider, req.method or "GET", req.url,
                                               table.concat(hs, "; "), body, tag and (" (" .. tag .. ")") or ""), extra)
  return core.now()
end

--- Log the outcome of a request started at `t0` (`tag` as for `request`).
function M.result(client, req, r, t0, tag)
  local extra = errors.header_secrets(req.headers)
  local what = r.error and ("error " .. r.error .. ": " .. tostring(r.message)) or ("HTTP " .. tostring(r.status))
  local body = r.body and (" body " .. #r.body .. " B: " .. head(r.body, 300, extra)) or ""
  emit(("seedance[%s] < %s %s: %s in %.3f s, %d attempt(s)%s%s"):format(client.provider, req.method or "GET",
    req.url, what, core.now() - t0, r.attempts or 0, body, tag and (" (" .. tag .. ")") or ""), extra)
end

--- Log one request the C scheduler sent itself, or its answer: a "trace" event of
-- eng:poll_events() (`sent` or `answered`: method, url, headers, and once answered status
-- or error, body, attempts, elapsed). Such a request never passes through the client's
-- own request path, and an unchanged answer never reaches Lua otherwise.
function M.poll(client, ev)
  if ev.sent then return M.request(client, ev.sent, "poll") end
  local a = ev.answered
  return M.result(client, a, a, core.now() - a.elapsed, "poll")
end

return M
