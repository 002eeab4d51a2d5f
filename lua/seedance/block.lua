--- Blocking on engines: a plain caller loops step + wait until done or deadline; inside
-- a seedance.run workflow the same call yields to the scheduler instead.
-- @module seedance.block
local core = require "seedance.core"

local M = {}

-- coroutine -> true for coroutines owned by seedance.run
M.workflows = setmetatable({}, { __mode = "k" })

--- Drive `engines` until `done()` is true or `deadline` (core.now() seconds) passes.
-- Returns true when done, false on deadline or when nothing can make progress.
function M.until_done(engines, done, deadline)
  local co = coroutine.running()
  if co and M.workflows[co] then
    while not done() do
      if deadline and core.now() >= deadline then return false end
      local ok = coroutine.yield({ engines = engines, done = done, deadline = deadline })
      if ok == "stop" then return false end
    end
    return true
  end
  while not done() do
    local busy = 0
    for i = 1, #engines do busy = busy + engines[i]:step() end
    if done() then return true end
    local now = core.now()
    if deadline and now >= deadline then return false end
    if busy == 0 then return false end
    local slice = deadline and (deadline - now) or 3600
    if #engines == 1 then
      engines[1]:wait(slice)
    else
      -- several clients: no single fd set to block on, so wait in short slices
      for i = 1, #engines do engines[i]:wait(math.min(slice, 0.005)) end
    end
  end
  return true
end

return M
