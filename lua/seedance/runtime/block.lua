--- Blocking on engines: a plain caller loops step + wait until done or deadline; inside
-- a seedance.run workflow the same call yields to the scheduler instead.
-- @module seedance.runtime.block
local core = require "seedance.core"

local M = {}

-- coroutine -> true for coroutines owned by seedance.run
M.workflows = setmetatable({}, { __mode = "k" })

-- Whether a wait here can yield to seedance.run. 5.3+ and LuaJIT can say; PUC 5.1 cannot
-- yield across a C function (pcall included) nor out of a for iterator (`for a in
-- client:assets()` inside a workflow) and cannot be asked, so read the stack. Where it
-- cannot yield the wait blocks instead: still correct, only the other workflows pause.
local can_yield = coroutine.isyieldable -- luacheck: ignore 143
if not can_yield then
  can_yield = function()
    local level = 2
    while true do
      local info = debug.getinfo(level, "Sn")
      if not info then return true end
      if info.what == "C" or info.name == "(for generator)" then return false end
      level = level + 1
    end
  end
end

--- The seedance.run workflow running now (a coroutine), or nil outside one.
function M.workflow()
  local co = coroutine.running()
  if co and M.workflows[co] then return co end
  return nil
end

--- Step every engine once; returns how much is still in motion across them.
function M.step_all(engines)
  local busy = 0
  for i = 1, #engines do busy = busy + engines[i]:step() end
  return busy
end

--- Block until something may be due on one of `engines`, at most `slice` seconds.
function M.wait_any(engines, slice)
  if #engines == 1 then
    engines[1]:wait(slice)
  else
    -- several clients: no single fd set to block on, so wait in short slices
    for i = 1, #engines do engines[i]:wait(math.min(slice, 0.005)) end
  end
end

--- Drive `engines` until `done()` is true or `deadline` (core.now() seconds) passes.
-- Returns true when done, false on deadline or when nothing can make progress.
function M.until_done(engines, done, deadline)
  local co = coroutine.running()
  if co and M.workflows[co] and can_yield() then
    while not done() do
      if deadline and core.now() >= deadline then return false end
      local ok = coroutine.yield({ engines = engines, done = done, deadline = deadline })
      if ok == "stop" then return false end
    end
    return true
  end
  while not done() do
    local busy = M.step_all(engines)
    if done() then return true end
    local now = core.now()
    if deadline and now >= deadline then return false end
    if busy == 0 then return false end
    M.wait_any(engines, deadline and (deadline - now) or 3600)
  end
  return true
end

return M
