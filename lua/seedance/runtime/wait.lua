--- Waiting for many objects at once: each pending object gets a poll timer on its client's
-- engine; polls back off while nothing changes and snap back when something does; one
-- deadline covers the whole wait. asset:wait() is wait.all({asset}).
-- @module seedance.runtime.wait
local core = require "seedance.core"
local errors = require "seedance.error"
local block = require "seedance.runtime.block"
local object = require "seedance.model.object"
local check = require "seedance.client.check"

local M = {}

local DEFAULT_TIMEOUT = { asset = 600, session = 600, task = 1800 }
local OPTS = { timeout = true, on_update = true }

local function check_opts(opts, who)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(who .. ": options must be a table", 3) end
  for k in pairs(opts) do
    if not OPTS[k] then error(who .. ": unknown option '" .. tostring(k) .. "'", 3) end
  end
  check.timeout(who, "timeout", opts.timeout, 4)
  if opts.on_update ~= nil and type(opts.on_update) ~= "function" then
    error(who .. ": 'on_update' must be a function", 3)
  end
  return opts
end

--- Wait until every object is terminal or the deadline passes.
-- @return objects, or nil and a seedance.Error (the first failure, with `failed` listing
-- every failed object; or a `timeout` error with `pending` listing those still running)
function M.all(objects, opts, who)
  who = who or "seedance.wait_all"
  if type(objects) ~= "table" then error(who .. ": expected a list of objects", 2) end
  opts = check_opts(opts, who)
  local timeout = opts.timeout
  local engines, seen = {}, {}
  for i, obj in ipairs(objects) do
    local kind = object.kind(obj)
    if kind == nil or kind == "group" then
      error(who .. ": item " .. i .. " is not an asset, task or session", 2)
    end
    local eng = obj._client.engine
    if not seen[eng] then
      seen[eng] = true
      engines[#engines + 1] = eng
    end
    if not opts.timeout then
      -- a client's `deadline` is the default bound of every blocking call, waits included
      timeout = math.max(timeout or 0, obj._client.deadline or DEFAULT_TIMEOUT[obj._kind] or 600)
    end
  end
  local deadline = core.now() + (timeout or 600)
  local pending, raised = 0, nil
  local hard, watched = {}, {}
  -- a workflow that seedance.run abandoned (another one raised) hears of nothing more
  local flow = block.workflow()
  for _, obj in ipairs(objects) do
    if not obj:_terminal() and not watched[obj] then
      local tracker = obj._client:_tracker()
      local live = true
      local fn = function(o, err, ended)
        if flow and not block.workflows[flow] then return end
        if err then hard[o] = err end
        if not err and not ended and opts.on_update and raised == nil then
          local ok, e = pcall(opts.on_update, o)
          if not ok then raised = e end
        end
        if ended and live then
          live = false
          pending = pending - 1
        end
      end
      if tracker:listen(obj, fn) then
        watched[obj] = { tracker = tracker, fn = fn }
        pending = pending + 1
      end
    end
  end

  local done = block.until_done(engines, function() return pending == 0 or raised ~= nil end, deadline)
  local still = {}
  for obj, w in pairs(watched) do
    w.tracker:unlisten(obj, w.fn)
    if not obj:_terminal() and not hard[obj] then still[#still + 1] = obj end
  end
  if raised ~= nil then error(raised, 0) end
  if not done or #still > 0 then
    local c = objects[1]._client
    return nil, errors.new({ kind = "timeout", provider = c.provider, pending = still,
      message = ("%d of %d still pending after %g s"):format(#still, #objects, timeout or 600) })
  end
  local first, failed = nil, {}
  for _, obj in ipairs(objects) do
    if hard[obj] then
      failed[#failed + 1] = obj
      first = first or hard[obj]
    end
  end
  for _, obj in ipairs(objects) do
    local s = obj.status
    if s == "failed" or s == "cancelled" or s == "expired" then
      failed[#failed + 1] = obj
      first = first or obj:_failure()
    end
  end
  if first then
    first.failed = failed
    return nil, first
  end
  return objects
end

return M
