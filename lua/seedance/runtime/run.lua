--- seedance.run: workflow coroutines. Inside one, every wait (asset:wait, task:wait,
-- wait_all, any request) yields to this scheduler instead of blocking, so many independent
-- workflows interleave on one thread over the same engines.
-- @module seedance.runtime.run
local core = require "seedance.core"
local block = require "seedance.runtime.block"

local M = {}

local unpack = table.unpack or unpack -- luacheck: ignore

local function pack(...)
  return { n = select("#", ...), ... }
end

--- Run each function as a workflow until all have returned.
-- @param ... functions
-- @return with one function, its results; with several, a list of result lists
function M.run(...)
  local fns = pack(...)
  if fns.n == 0 then error("seedance.run: expected at least one function", 2) end
  for i = 1, fns.n do
    if type(fns[i]) ~= "function" then error("seedance.run: argument " .. i .. " is not a function", 2) end
  end
  local flows, results = {}, {}
  for i = 1, fns.n do
    local co = coroutine.create(fns[i])
    block.workflows[co] = true
    flows[i] = { co = co, index = i }
  end
  local live = fns.n
  local function resume(f, ...)
    local out = pack(coroutine.resume(f.co, ...))
    if not out[1] then
      -- every workflow is abandoned with it: none of them may hear of anything again
      for _, g in ipairs(flows) do block.workflows[g.co] = nil end
      error(out[2], 0)
    end
    if coroutine.status(f.co) == "dead" then
      block.workflows[f.co] = nil
      f.done = true
      live = live - 1
      results[f.index] = { unpack(out, 2, out.n) }
      results[f.index].n = out.n - 1
    else
      f.wait = out[2]
    end
  end
  for _, f in ipairs(flows) do resume(f) end
  while live > 0 do
    -- drive every engine some workflow waits on, once
    local engines, seen = {}, {}
    for _, f in ipairs(flows) do
      if not f.done and f.wait then
        for _, e in ipairs(f.wait.engines) do
          if not seen[e] then
            seen[e] = true
            engines[#engines + 1] = e
          end
        end
      end
    end
    local busy = block.step_all(engines)
    local progressed = false
    local now = core.now()
    for _, f in ipairs(flows) do
      if not f.done and f.wait and (f.wait.done() or (f.wait.deadline and now >= f.wait.deadline)) then
        f.wait = nil
        progressed = true
        resume(f)
      end
    end
    if not progressed then
      if busy == 0 then
        -- nothing in flight can wake anyone: let each waiter see that (until_done returns false)
        for _, f in ipairs(flows) do
          if not f.done then resume(f, "stop") end
        end
      else
        local soonest = 1
        for _, f in ipairs(flows) do
          if not f.done and f.wait and f.wait.deadline then
            soonest = math.min(soonest, math.max(0, f.wait.deadline - now))
          end
        end
        block.wait_any(engines, soonest)
      end
    end
  end
  if fns.n == 1 then return unpack(results[1], 1, results[1].n) end
  return results
end

return M
