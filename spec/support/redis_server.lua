--- A real redis-server for specs and benchmarks: on a spare loopback port, with its own
-- data directory and persistence on (appendonly), started and stopped by the caller.
-- @module redis_server
local M = {}
local S = {}
S.__index = S

local function sh(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

--- Whether redis-server is installed.
function M.available()
  return sh("command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1")
end

local function ping(port)
  return sh(("redis-cli -h 127.0.0.1 -p %d ping 2>/dev/null | grep -q PONG"):format(port))
end

--- Starts a server: `{dir=}` (a fresh one when absent). Returns the server or nil, message.
function M.start(opts)
  opts = opts or {}
  local dir = opts.dir
  if not dir then
    dir = os.tmpname()
    os.remove(dir)
    assert(sh("mkdir -p " .. dir))
  end
  local self = setmetatable({ dir = dir }, S)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  for _ = 1, 20 do
    local port = opts.port or math.random(20000, 60000)
    self.port = port
    if self:_run() then
      self.url = ("redis://127.0.0.1:%d/0"):format(port)
      return self
    end
    if opts.port then break end
  end
  return nil, "redis-server did not start (see " .. dir .. "/redis.log)"
end

function S:_run()
  if not sh(("redis-server --port %d --bind 127.0.0.1 --dir %s --appendonly yes --appendfsync always --save '' "
      .. "--daemonize yes --pidfile %s/redis.pid --logfile %s/redis.log"):format(self.port, self.dir, self.dir,
      self.dir)) then
    return false
  end
  for _ = 1, 100 do
    if ping(self.port) then return true end
    os.execute("sleep 0.05")
  end
  return false
end

--- Stops the server (SHUTDOWN: its append-only file is complete on disk).
function S:stop()
  sh(("redis-cli -h 127.0.0.1 -p %d shutdown >/dev/null 2>&1"):format(self.port))
  for _ = 1, 100 do
    if not ping(self.port) then return end
    os.execute("sleep 0.05")
  end
end

--- Stops it and starts it again on the same port and data.
function S:restart()
  self:stop()
  assert(self:_run(), "redis-server did not restart")
end

--- Stops it and removes its data directory.
function S:destroy()
  self:stop()
  sh("rm -rf " .. self.dir)
end

return M
