--- Task: one video generation. Fields: id, status (queued|running|succeeded|failed|
-- cancelled|expired), raw_status, progress (0-100), video_url, last_frame_url, error,
-- prompt (as sent), model, created_at, usage, queue_position (where the service reports
-- one: Sunra's queue, while the task waits in it; nil elsewhere), raw.
-- @classmod seedance.Task
local object = require "seedance.model.object"
local errors = require "seedance.error"
local wait = require "seedance.runtime.wait"
local download = require "seedance.media.download"

local Task = object.class("task")
local M = { class = Task }

--- New task object owned by `client` from normalized fields.
-- @static
function M.new(client, fields, raw)
  return object.new("task", client, fields, raw)
end

function Task:_refresh_op()
  local d = self._client.dialect
  return d.get_task(self.id, self), d.parse_task
end

-- the services' content-moderation codes: retrying the same input is pointless
local MODERATION = { "SensitiveContent", "unsafe_content", "content_policy", "moderation", "nsfw" }

local function is_moderation(client, e)
  local d = client.dialect
  if d.is_moderation then return d.is_moderation(e) end
  local text = ((e.code or "") .. " " .. (e.message or "")):lower()
  for _, m in ipairs(MODERATION) do
    if text:find(m:lower(), 1, true) then return true end
  end
  return false
end
M.is_moderation = is_moderation

--- The error a task carries once it ended without a video.
function Task:_failure()
  local e = self.error or {}
  local c = self._client
  local kind = "task_failed"
  if self.status == "failed" and is_moderation(c, e) then kind = "moderation" end
  local why = e.message or e.code
  if self.status == "cancelled" then why = why or "the task was cancelled" end
  if self.status == "expired" then why = why or "the task expired before it ran" end
  return errors.new({ kind = kind, provider = c.provider,
    code = e.code or (self.status ~= "failed" and self.status or nil),
    message = ("task %s %s: %s"):format(tostring(self.id), self.status, why or "no reason given"),
    object = self, retryable = kind == "task_failed" and self.status ~= "cancelled" })
end

--- Wait until the task ends (succeeded, failed, cancelled or expired).
-- @tparam[opt] table opts {timeout=1800, on_update=function(task)}
-- @return the task, or nil and a seedance.Error (`moderation`, `task_failed`, `timeout`)
function Task:wait(opts)
  local ok, err = wait.all({ self }, opts, "seedance: task:wait")
  if not ok then return nil, err end
  return self
end

--- Ask the service to cancel the task (where it can). Local waits are not affected.
-- @return the task, or nil and a seedance.Error
function Task:cancel()
  local c = self._client
  c:_require("cancel", "cancel tasks")
  local body, err = c:_call(c.dialect.cancel_task(self.id, self))
  if not body then return nil, err end
  if c.dialect.parse_cancel then
    local fields, perr = c:_parse("refresh", c.dialect.parse_cancel, body, self)
    if not fields then return nil, perr end
    self:_apply(fields, body)
  end
  return self
end

--- Download the video to `path`: streamed to `path .. ".part"`, resumed with a range
-- request after an interruption, renamed into place when whole. No credential of any
-- kind is sent to the result host.
-- @tparam string path
-- @tparam[opt] table opts {on_progress=function(done, total), timeout=1800, max_bytes=2^30}
-- (a download ends at `timeout` seconds and at `max_bytes` bytes; raise them for more)
-- @return path, or nil and a seedance.Error (code "url_expired" when the host refuses:
-- call task:refresh() for a fresh URL, then download again — it resumes; code
-- "local_file" when the file cannot be written: the task stays done, download again)
function Task:download(path, opts)
  opts = download.check_args("task:download", path, opts, false)
  if not self.video_url then
    return nil, errors.new({ kind = "task_failed", provider = self._client.provider, code = self.status,
      message = ("task %s is %s: no video to download"):format(tostring(self.id), tostring(self.status)) })
  end
  return download.file(self._client, self.video_url, path, opts, self.id)
end

--- Start downloading the video to `path` and return at once: for game loops and other
-- frame-driven programs. The transfer advances inside `client:step()` (or any wait on this
-- client); the same file rules as task:download apply (`.part`, resume, rename when whole,
-- no credential to the result host, code "url_expired" when it refuses).
-- @tparam string path
-- @tparam[opt] table opts {on_progress=function(done, total), on_done=function(path) |
-- function(nil, err), timeout=1800, max_bytes=2^30}; both callbacks run from inside `client:step()`
-- @return a seedance.media.download Download (fields `bytes`, `total`, `done`, `error`, `path`;
-- methods `progress()`, `cancel()`, `wait{timeout=}`), or nil and a seedance.Error when
-- the task has no video
function Task:download_async(path, opts)
  opts = download.check_args("task:download_async", path, opts, true)
  if not self.video_url then
    return nil, errors.new({ kind = "task_failed", provider = self._client.provider, code = self.status,
      message = ("task %s is %s: no video to download"):format(tostring(self.id), tostring(self.status)) })
  end
  return download.file_async(self._client, self.video_url, path, opts, self.id)
end

return M
