--- A hostile HTTP server on loopback, scripted per test (issue 12): it answers whatever the
-- test says, however wrong (bodies of any shape, echoed secrets, headers of any size, bytes
-- that trickle or never end). It runs in a child process (spec/support/hostile_server.lua),
-- since a blocking client call in this process could not serve it.
--
--     local srv = hostile.start([[ return function(req, n) return { status = 200, body = "42" } end ]])
--     ... seedance.new{ base_url = srv.url, ... } ...
--     srv:requests()   -- what it was sent
--     srv:stop()
-- @module hostile
local cjson = require "cjson"

local M = {}

local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/spec/support/[^/]*$")) or "."

-- the interpreter running the suite runs the server too
local function interpreter()
  if type(jit) == "table" then return "luajit" end
  return "lua" .. _VERSION:match("%d+%.%d+")
end

local Server = {}
Server.__index = Server

--- Start a server whose answers come from `script`: Lua source returning
-- function(req, n) -> answer (see hostile_server.lua for the answer fields).
-- @tparam string script
-- @return the server: `url` ("http://127.0.0.1:<port>"), `port`
function M.start(script)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  local sfile, log, out = dir .. "/script.lua", dir .. "/requests.log", dir .. "/port"
  local f = assert(io.open(sfile, "w"))
  f:write(script)
  f:close()
  assert(io.open(log, "w")):close()
  -- the child's pid comes back from the shell that starts it in the background
  local p = assert(io.popen(("%s %s/spec/support/hostile_server.lua %s %s > %s 2>&1 & echo $!")
    :format(interpreter(), ROOT, sfile, log, out)))
  local pid = tonumber(p:read("*l"))
  p:close()
  local port
  for _ = 1, 500 do
    local pf = io.open(out)
    local line = pf and pf:read("*l")
    if pf then pf:close() end
    port = line and tonumber(line:match("^(%d+)"))
    if port then break end
    require("socket").sleep(0.01)
  end
  if not port then
    local pf = io.open(out)
    local why = pf and pf:read("*a") or "?"
    if pf then pf:close() end
    os.execute("kill " .. pid .. " 2>/dev/null")
    error("hostile server did not start: " .. why)
  end
  return setmetatable({ pid = pid, port = port, url = "http://127.0.0.1:" .. port, dir = dir, log = log }, Server)
end

--- The requests served so far: {method=, target=, headers=, body=, size=} each.
function Server:requests()
  local out = {}
  for line in io.lines(self.log) do out[#out + 1] = cjson.decode(line) end
  return out
end

--- Stop the server (by its pid) and remove its files.
function Server:stop()
  if self.pid then os.execute("kill " .. self.pid .. " 2>/dev/null") end
  self.pid = nil
  os.execute("rm -rf " .. self.dir)
end

return M
