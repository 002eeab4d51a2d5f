--- The normalized status vocabulary of providers.md, and the maps onto it.
-- @module seedance.model.status
local M = {}

local ASSET = { processing = "processing", active = "active", failed = "failed" }

local TASK = {
  pending = "queued", queued = "queued", not_start = "queued", in_queue = "queued", submitted = "queued",
  running = "running", processing = "running", in_progress = "running",
  succeeded = "succeeded", completed = "succeeded", success = "succeeded",
  failed = "failed", failure = "failed", error = "failed",
  cancelled = "cancelled", canceled = "cancelled",
  expired = "expired",
}

local SESSION = { pending = "pending", success = "succeeded", succeeded = "succeeded",
                  failed = "failed", expired = "expired" }

M.terminal = {
  asset = { active = true, failed = true },
  task = { succeeded = true, failed = true, cancelled = true, expired = true },
  session = { succeeded = true, failed = true, expired = true },
}

local maps = { asset = ASSET, task = TASK, session = SESSION }

--- Normalize a provider's word for an object kind ("asset", "task", "session").
-- Unknown words give nil: the caller keeps the raw word and treats it as not terminal.
function M.normalize(kind, word)
  if type(word) ~= "string" then return nil end
  return maps[kind][word:lower()]
end

--- True when a normalized status ends a wait.
function M.is_terminal(kind, status)
  return M.terminal[kind][status] == true
end

return M
