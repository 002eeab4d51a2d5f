--- A min-heap of Lua timers (next poll of each pending object), keyed by due time.
-- Cancelled timers are marked and skipped when they surface, which keeps cancel O(1).
-- @module seedance.timers
local M = {}
M.__index = M

--- An empty heap.
function M.new()
  return setmetatable({ n = 0, live = 0 }, M)
end

local function up(h, i)
  while i > 1 do
    local p = math.floor(i / 2)
    if h[p].due <= h[i].due then break end
    h[p], h[i] = h[i], h[p]
    i = p
  end
end

local function down(h, i)
  local n = h.n
  while true do
    local l, r, m = 2 * i, 2 * i + 1, i
    if l <= n and h[l].due < h[m].due then m = l end
    if r <= n and h[r].due < h[m].due then m = r end
    if m == i then return end
    h[m], h[i] = h[i], h[m]
    i = m
  end
end

--- Schedule fn at absolute time `due` (core.now() seconds); returns a handle.
function M:add(due, fn)
  local t = { due = due, fn = fn }
  self.n = self.n + 1
  self[self.n] = t
  self.live = self.live + 1
  up(self, self.n)
  return t
end

--- Cancel a timer handle (idempotent).
function M:cancel(t)
  if t and not t.cancelled and not t.fired then
    t.cancelled = true
    self.live = self.live - 1
  end
end

local function pop(h)
  local top = h[1]
  h[1] = h[h.n]
  h[h.n] = nil
  h.n = h.n - 1
  if h.n > 0 then down(h, 1) end
  return top
end

--- Due time of the earliest live timer, or nil.
function M:next_due()
  while self.n > 0 and self[1].cancelled do pop(self) end
  return self.n > 0 and self[1].due or nil
end

--- Run every timer due at `now`; returns how many ran.
function M:fire(now)
  local ran = 0
  while self.n > 0 and (self[1].cancelled or self[1].due <= now) do
    local t = pop(self)
    if not t.cancelled then
      t.fired = true
      self.live = self.live - 1
      ran = ran + 1
      t.fn()
    end
  end
  return ran
end

return M
