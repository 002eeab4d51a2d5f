--- The Lua half of the engine: completion and timer callbacks around the C core.
-- The C core (seedance.core) moves bytes, keeps deadlines, decides retries, owns the one
-- timer heap and the poll scheduler; this side turns its results into calls of the
-- functions that asked for them, and the scheduler's events into object changes.
-- @module seedance.runtime.engine
local core = require "seedance.core"
local cosocket = require "seedance.wire.ngx"

local M = {}
M.__index = M

--- Wrap a new core engine built from `opts` (see core.engine). `opts.driver`: "curl",
-- "ngx" (nginx cosockets, seedance.wire.ngx) or "external"; by default "ngx" inside
-- nginx, where a blocking libcurl call would stall the worker, else "curl".
function M.new(opts)
  local name = opts.driver or (cosocket.available() and "ngx" or "curl")
  local c, err
  if name == "ngx" then
    c, err = cosocket.engine(opts)
  else
    c, err = core.engine(opts)
  end
  if not c then return nil, err end
  return setmetatable({ core = c, driver = name, cbs = {}, inflight = 0, tcbs = {} }, M)
end

--- Submit a request table; `cb(result)` runs from a later step().
function M:submit(req, cb)
  local id = self.core:submit(req)
  self.cbs[id] = cb
  self.inflight = self.inflight + 1
  return id
end

--- Cancel a submitted request; its callback runs with error "cancelled".
function M:cancel(id)
  return self.core:cancel(id)
end

--- Run fn after `delay` seconds (from a later step()); returns a handle for cancel_timer.
function M:after(delay, fn)
  local id = self.core:timer(delay > 0 and delay or 0)
  self.tcbs[id] = fn
  return id
end

--- Cancel a timer set with `after` before it fires.
function M:cancel_timer(id)
  if id and self.tcbs[id] then
    self.tcbs[id] = nil
    self.core:cancel_timer(id)
  end
end

--- The engine's clock (seconds; a manual one in deterministic tests).
function M:now()
  return self.core:now()
end

--- Objects still in motion: transfers, timers and polls.
function M:busy()
  return self.core:busy()
end

-- call each fn(arg) of a list; one error must not drop the others, so the first is
-- raised once every one has run
local function run_all(fns, args, failure)
  for i = 1, #fns do
    if fns[i] then
      local ok, err = pcall(fns[i], args[i])
      if not ok and failure == nil then failure = err end
    end
  end
  return failure
end

-- One pass over what the core finished: request callbacks, fired timers, poll events.
-- Returns how many things it handed over, and the first error raised by one of them.
function M:_dispatch(failure)
  local c = self.core
  local done = c:collect()
  local fns = {}
  for i = 1, #done do
    local r = done[i]
    fns[i] = self.cbs[r.id]
    self.cbs[r.id] = nil
    self.inflight = self.inflight - 1
  end
  failure = run_all(fns, done, failure)
  local fired = c:fired()
  local tfns = {}
  for i = 1, #fired do
    tfns[i] = self.tcbs[fired[i]]
    self.tcbs[fired[i]] = nil
  end
  failure = run_all(tfns, fired, failure)
  local events = c:poll_events()
  if #events > 0 and self.watch then
    local ok, err = pcall(self.watch.events, self.watch, events)
    if not ok and failure == nil then failure = err end
  end
  return #done + #fired + #events, failure
end

-- what one step's callbacks make due at once (a timer of 0 s, a follow-up request) is
-- done in the same step, up to this many passes
local PASSES = 8

--- Advance everything that is due, never sleeping; returns busy().
function M:step()
  local failure, n
  for _ = 1, PASSES do
    self.core:step()
    n, failure = self:_dispatch(failure)
    if n == 0 then break end
  end
  if failure ~= nil then error(failure, 0) end
  return self.core:busy()
end

--- Seconds until something is due here (0: now), nil when idle.
function M:next_due()
  return self.core:next_due()
end

--- Block for I/O or the next timer, at most max_wait seconds.
function M:wait(max_wait)
  local d = self:next_due()
  if d == nil then return end
  if d < max_wait then max_wait = d end
  if max_wait <= 0 then return end
  self.core:wait(max_wait)
end

--- Close the core (idempotent); pending callbacks are dropped.
function M:close()
  self.core:close()
  self.cbs = {}
  self.tcbs = {}
  self.inflight = 0
end

return M
