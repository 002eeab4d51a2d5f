--- The Lua half of the engine: completion callbacks and poll timers around the C core.
-- The C core (seedance.core) moves bytes, keeps deadlines and decides retries; this side
-- turns its results into calls of the functions that asked for them.
-- @module seedance.engine
local core = require "seedance.core"
local timers = require "seedance.timers"
local cosocket = require "seedance.driver.ngx"

local M = {}
M.__index = M

--- Wrap a new core engine built from `opts` (see core.engine). `opts.driver`: "curl",
-- "ngx" (nginx cosockets, seedance.driver.ngx) or "external"; by default "ngx" inside
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
  return setmetatable({ core = c, driver = name, cbs = {}, inflight = 0, timers = timers.new() }, M)
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
  return self.timers:add(core.now() + (delay > 0 and delay or 0), fn)
end

--- Cancel a timer set with `after` before it fires.
function M:cancel_timer(t)
  self.timers:cancel(t)
end

--- Objects still in motion: transfers in flight plus timers set.
function M:busy()
  return self.inflight + self.timers.live
end

--- Advance everything that is due, never sleeping; returns busy().
function M:step()
  self.core:step()
  local done = self.core:collect()
  local failure
  for i = 1, #done do
    local r = done[i]
    local cb = self.cbs[r.id]
    self.cbs[r.id] = nil
    self.inflight = self.inflight - 1
    -- the results are already out of the engine: one callback's error must not drop the
    -- others', so it is raised once every completion has been handed over
    if cb then
      local ok, err = pcall(cb, r)
      if not ok and failure == nil then failure = err end
    end
  end
  if failure ~= nil then error(failure, 0) end
  self.timers:fire(core.now())
  -- completions may have submitted new requests that are already due
  if #done > 0 then self.core:step() end
  return self:busy()
end

--- Seconds until something is due here (0: now), nil when idle.
function M:next_due()
  local d = self.core:next_due()
  local t = self.timers:next_due()
  if t then
    t = t - core.now()
    if t < 0 then t = 0 end
    if not d or t < d then d = t end
  end
  return d
end

--- Block for I/O or the next timer, at most max_wait seconds.
function M:wait(max_wait)
  local d = self:next_due()
  if d == nil then return end
  if d < max_wait then max_wait = d end
  if max_wait <= 0 then return end
  if self.inflight > 0 or self.driver == "ngx" then -- nginx: yield, never sleep the worker
    self.core:wait(max_wait)
  else
    core.sleep(max_wait)
  end
end

--- Close the core (idempotent); pending callbacks are dropped.
function M:close()
  self.core:close()
  self.cbs = {}
  self.inflight = 0
  self.timers = timers.new()
end

return M
