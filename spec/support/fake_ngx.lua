--- A stand-in for the `ngx` global, enough for seedance.wire.ngx outside nginx: cosockets
-- are LuaSocket sockets with a keep-alive pool, light threads run to completion at once
-- (LuaSocket blocks, so nothing yields), semaphores and sleeps are plain sleeps.
-- install() sets it up, remove() takes it away; `stats` counts connects and reuses.
local socket = require "socket"

local M = { stats = { connects = 0, reuses = 0 }, phase = "content" }

local pools = {}

local function cosocket()
  local s = { reused = 0 }

  function s:settimeouts(c, w, r)
    self.timeout = math.max(c, w, r) / 1000
    if self.sock then self.sock:settimeout(self.timeout) end
  end

  function s:connect(host, port, opts)
    local pool = pools[opts and opts.pool or (host .. ":" .. port)]
    if pool and #pool > 0 then
      local p = table.remove(pool)
      self.sock, self.reused, self.pool = p.sock, p.reused + 1, opts and opts.pool
      M.stats.reuses = M.stats.reuses + 1
      self.sock:settimeout(self.timeout or 10)
      return 1
    end
    local c = socket.tcp()
    c:settimeout(self.timeout or 10)
    local ok, err = c:connect(host, port)
    if not ok then
      c:close()
      return nil, err
    end
    M.stats.connects = M.stats.connects + 1
    self.sock, self.pool = c, opts and opts.pool or (host .. ":" .. port)
    return 1
  end

  function s:getreusedtimes() return self.reused end

  function s:send(data)
    if type(data) == "table" then data = table.concat(data) end
    return self.sock:send(data)
  end

  function s:receive(p)
    return self.sock:receive(p)
  end

  function s:setkeepalive()
    pools[self.pool] = pools[self.pool] or {}
    table.insert(pools[self.pool], { sock = self.sock, reused = self.reused })
    self.sock = nil
    return 1
  end

  function s:close()
    if self.sock then self.sock:close() end
    self.sock = nil
    return 1
  end

  return s
end

local sema = {}
sema.__index = sema
function sema.new() return setmetatable({}, sema) end
function sema.count() return 0 end
function sema.post() end
function sema.wait(_, t) socket.sleep(math.min(t, 0.05)) return nil, "timeout" end

--- Install the fake as the global `ngx` (and ngx.semaphore).
function M.install()
  M.stats.connects, M.stats.reuses, M.phase = 0, 0, "content"
  for k in pairs(pools) do
    for _, p in ipairs(pools[k]) do p.sock:close() end
    pools[k] = nil
  end
  local ngx = {
    socket = { tcp = cosocket },
    thread = {
      spawn = function(fn, ...)
        local co = coroutine.create(fn)
        local ok, err = coroutine.resume(co, ...)
        if not ok then error(err, 0) end
        return co
      end,
    },
    get_phase = function() return M.phase end,
    sleep = function(t) socket.sleep(t) end,
  }
  rawset(_G, "ngx", ngx)
  package.loaded["ngx.semaphore"] = sema
  return ngx
end

--- Remove the fake.
function M.remove()
  rawset(_G, "ngx", nil)
  package.loaded["ngx.semaphore"] = nil
end

return M
