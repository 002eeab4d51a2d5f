-- The hostile server's process (spec/support/hostile.lua starts it): an HTTP/1.1 server on
-- loopback, one connection at a time, answering every request with what the test's script
-- says, however wrong. Arguments: the script file, the request log file.
-- The script is a Lua chunk returning function(req, n) -> answer, where req is
-- {method=, path=, target=, headers={lowercase name = value}, body=} and n counts requests
-- from 1. An answer is a table:
--   status (200), reason, headers = {"Name: value", ...}, body = "...",
--   raw = "bytes"            written as they are instead of a response built from the rest
--   trickle = {bytes=, every=, total=}  the body in pieces of `bytes` every `every` seconds,
--                            `total` bytes in all (forever when absent)
--   flood = n                n bytes of body as fast as the socket takes them (no length)
--   length = n               Content-Length to announce (else #body)
--   delay = s                seconds to wait before answering
-- Every request is logged as one JSON line (method, target, headers, body size).
local socket = require "socket"
local cjson = require "cjson"

local script, log_path = arg[1], arg[2]
local handler = assert(dofile(script))

local server = assert(socket.bind("127.0.0.1", 0))
local _, port = server:getsockname()
io.write(port, " ", "\n")
io.flush()

local log = assert(io.open(log_path, "a"))
log:setvbuf("line")

local function read_request(c)
  local line, err = c:receive("*l")
  if not line then return nil, err end
  local method, target = line:match("^(%u+) (%S+)")
  if not method then return nil, "bad request line" end
  local headers = {}
  while true do
    local h = c:receive("*l")
    if not h or h == "" then break end
    local name, value = h:match("^([^:]+):%s*(.*)$")
    if name then headers[name:lower()] = value end
  end
  local body = ""
  local n = tonumber(headers["content-length"] or "")
  if n and n > 0 then body = c:receive(n) or "" end
  return { method = method, target = target, path = target:gsub("%?.*$", ""), headers = headers, body = body }
end

local function send_all(c, s)
  local i = 1
  while i <= #s do
    local last, err, partial = c:send(s, i)
    if not last then
      if err ~= "timeout" then return nil, err end
      i = (partial or i - 1) + 1
    else
      i = last + 1
    end
  end
  return true
end

local CHUNK = string.rep("x", 64 * 1024)

local function answer(c, a)
  if a.delay then socket.sleep(a.delay) end
  if a.raw then return send_all(c, a.raw) end
  local body = a.body or ""
  local head = { ("HTTP/1.1 %d %s"):format(a.status or 200, a.reason or "OK") }
  for _, h in ipairs(a.headers or {}) do head[#head + 1] = h end
  head[#head + 1] = "Connection: close"
  if a.length then head[#head + 1] = "Content-Length: " .. a.length
  elseif not (a.trickle or a.flood) then head[#head + 1] = "Content-Length: " .. #body end
  head[#head + 1] = ""
  head[#head + 1] = ""
  if not send_all(c, table.concat(head, "\r\n")) then return end
  if a.trickle then
    local t, sent = a.trickle, 0
    while not t.total or sent < t.total do
      if not send_all(c, string.rep("y", t.bytes or 1)) then return end
      sent = sent + (t.bytes or 1)
      socket.sleep(t.every or 0.1)
    end
    return
  end
  if a.flood then
    local sent = 0
    while sent < a.flood do
      if not send_all(c, CHUNK) then return end
      sent = sent + #CHUNK
    end
    return
  end
  return send_all(c, body)
end

local n = 0
while true do
  local c = server:accept()
  if c then
    c:settimeout(30)
    local req = read_request(c)
    if req then
      n = n + 1
      log:write(cjson.encode({ method = req.method, target = req.target, headers = req.headers,
                               body = #req.body < 4096 and req.body or nil, size = #req.body }), "\n")
      local ok, a = pcall(handler, req, n)
      if not ok then a = { status = 599, body = "script error: " .. tostring(a) } end
      answer(c, a or { status = 404 })
    end
    c:close()
  end
end
