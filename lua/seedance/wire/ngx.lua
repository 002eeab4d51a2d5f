--- The nginx driver: the C engine on its external driver, with every attempt performed
-- on an nginx cosocket in a light thread, so a worker is never blocked (libcurl is never
-- used inside nginx). Waiting yields to nginx on a semaphore that a finished attempt
-- posts, so other requests on the same worker run meanwhile.
--
-- seedance picks this driver by itself inside nginx (`seedance.new{driver = "curl"}`
-- overrides). What nginx's configuration must provide:
--
-- * a `resolver` for provider host names (cosockets do not read /etc/resolv.conf);
-- * `lua_ssl_trusted_certificate` (e.g. /etc/ssl/certs/ca-certificates.crt) for HTTPS:
--   TLS is verified unless `verify_tls = false`, and nginx ignores `ca_file`/`ca_path`;
-- * a phase where cosockets work: rewrite, access, content, or a timer (ngx.timer.at).
--
-- Make a client per request (or per timer): light threads belong to the request that
-- started them, so a client shared by several requests ties each one to the others' work.
--
-- The object returned by `engine()` has the methods of a core engine (submit, step, wait,
-- next_due, collect, cancel, progress, stats, close), so seedance.runtime.engine wraps either.
-- @module seedance.wire.ngx
local core = require "seedance.core"
local http1 = require "seedance.wire.http1"

local M = {}

-- where lua-nginx-module lets a request open sockets and wait on semaphores
local PHASES = {
  rewrite = true, server_rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
}

local function api()
  return rawget(_G, "ngx")
end

--- True when running inside nginx with lua-nginx-module (cosockets and light threads).
function M.available()
  local ngx = api()
  return type(ngx) == "table" and type(ngx.socket) == "table" and type(ngx.socket.tcp) == "function"
    and type(ngx.thread) == "table" and type(ngx.get_phase) == "function"
end

local Engine = {}
Engine.__index = Engine

--- A core engine whose attempts nginx performs; `opts` as for core.engine (its `driver`
-- is replaced). Returns nil and a message outside nginx.
function M.engine(opts)
  if not M.available() then return nil, "the ngx driver runs only inside nginx (lua-nginx-module)" end
  local copy = {}
  for k, v in pairs(opts or {}) do copy[k] = v end
  copy.driver = "external"
  local c, err = core.engine(copy)
  if not c then return nil, err end
  local ngx = api()
  local has_sema, semaphore = pcall(require, "ngx.semaphore")
  local self = setmetatable({
    c = c, ngx = ngx, sema = has_sema and semaphore.new(0) or nil,
    live = {}, threads = 0, dirty = false, closed = false, last_wake = 0,
  }, Engine)
  self.env = {
    tcp = ngx.socket.tcp, now = core.now, verify = opts.verify_tls ~= false,
    user_agent = opts.user_agent, connect_timeout = opts.connect_timeout or 10,
    pool_size = opts.max_per_host or 32,
    -- as the curl driver's CURLOPT_MAXAGE_CONN: idle connections older than this go
    keepalive_ms = 55000,
  }
  return self
end

--- Queue a request (see core engine:submit).
function Engine:submit(req)
  return self.c:submit(req)
end

--- Completed requests (see core engine:collect).
function Engine:collect(max)
  return self.c:collect(max)
end

--- Seconds until a retry or delayed request is due (see core engine:next_due).
function Engine:next_due()
  return self.c:next_due()
end

-- the clock, the timers and the poll scheduler are the core's own
for _, m in ipairs({ "now", "timer", "cancel_timer", "fired", "busy", "poll_class", "poll_add", "poll_remove",
                     "poll_hold", "poll_seen", "poll_submit", "poll_events", "poll_count", "poll_key",
                     "poll_class_of", "poll_trace" }) do
  Engine[m] = function(self, ...) return self.c[m](self.c, ...) end
end

--- Download progress (see core engine:progress).
function Engine:progress(id)
  return self.c:progress(id)
end

--- Counters of the core, with this driver's name and its light threads.
function Engine:stats()
  local s = self.c:stats()
  s.driver, s.threads = "ngx", self.threads
  return s
end

-- Wake every request waiting on this engine; `dirty` covers a waiter that is not
-- asleep yet (it returns at once instead of sleeping through the news).
function Engine:_wake()
  self.dirty = true
  self.last_wake = core.now()
  local s = self.sema
  if s then
    local n = s:count()
    if n < 0 then s:post(-n) end
  end
end

local function run(self, a)
  local id = a.id
  local progress
  if a.file then
    progress = function(written, total, from)
      if self.closed or self.live[id] == "cancelled" then return false end
      self.c:progress(id, written, total, from)
      -- let a waiting download's on_progress see it, at most ten times a second
      if core.now() - self.last_wake >= 0.1 then self:_wake() end
      return true
    end
  end
  local ok, out = pcall(http1.perform, a, self.env, progress)
  self.threads = self.threads - 1
  self.live[id] = nil
  if self.closed then return end
  if not ok then out = { error = "internal", sent = true, message = "ngx driver: " .. tostring(out) } end
  self.c:feed(id, out)
  self:_wake()
end

-- Start a light thread for every attempt the engine handed out.
function Engine:_pump()
  local out = self.c:outbox()
  if #out == 0 then return end
  local ngx = self.ngx
  local phase = ngx.get_phase()
  if not PHASES[phase] then
    local msg = "seedance: nginx cannot open sockets in the '" .. tostring(phase) ..
      "' phase; use a rewrite/access/content handler or ngx.timer.at"
    for _, a in ipairs(out) do self.c:feed(a.id, { error = "internal", sent = false, message = msg }) end
    error(msg, 0)
  end
  for _, a in ipairs(out) do
    self.live[a.id] = true
    self.threads = self.threads + 1
    local ok, err = pcall(ngx.thread.spawn, run, self, a)
    if not ok then
      self.threads = self.threads - 1
      self.live[a.id] = nil
      self.c:feed(a.id, { error = "internal", sent = false,
                          message = "cannot start a light thread: " .. tostring(err) })
    end
  end
end

--- Start what is due (attempts go to light threads); never waits. Returns the busy count.
function Engine:step()
  local n = self.c:step()
  self:_pump()
  return n
end

--- Yield to nginx until an attempt finishes or `max_wait` seconds pass.
function Engine:wait(max_wait)
  if self.closed then return end
  self:_pump()
  if self.dirty then
    self.dirty = false
    return
  end
  if not max_wait or max_wait <= 0 then return end
  if self.sema then
    self.sema:wait(max_wait)
  else
    -- no lua-resty-core: poll in short sleeps, still yielding
    self.ngx.sleep(math.min(max_wait, 0.01))
  end
  self.dirty = false
end

--- Cancel a request; an attempt in flight stops at its next read of a download.
function Engine:cancel(id)
  if self.live[id] then self.live[id] = "cancelled" end
  return self.c:cancel(id)
end

--- Close the core (idempotent); attempts in flight finish into nothing.
function Engine:close()
  if self.closed then return end
  self.closed = true
  for id in pairs(self.live) do self.live[id] = "cancelled" end
  self.c:close()
  self:_wake()
end

function Engine:__tostring()
  if self.closed then return "seedance.engine (ngx, closed)" end
  return ("seedance.engine (ngx, %d threads)"):format(self.threads)
end

return M
