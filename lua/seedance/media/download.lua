--- Downloading a result file: to `<path>.part`, resumed by range, renamed when whole.
-- The request carries no header of ours at all: result hosts get no credential.
-- @module seedance.media.download
local block = require "seedance.runtime.block"
local core = require "seedance.core"
local check = require "seedance.client.check"
local http = require "seedance.wire.http"

local M = {}

--- Seconds a download may take unless its `timeout` says otherwise: a host that trickles
-- bytes must not hold a caller for ever.
M.TIMEOUT = 1800
--- Bytes a download may write unless its `max_bytes` says otherwise (1 GiB; a generated
-- video is a small fraction of that).
M.MAX_BYTES = 2 ^ 30

local OPTS = { on_progress = "function", timeout = "number", max_bytes = "number" }
local ASYNC_OPTS = { on_progress = "function", on_done = "function", timeout = "number", max_bytes = "number" }

--- Check a download's path and options for call `who` (task:download or, `async`,
-- task:download_async), raising on misuse as the caller; returns the options table.
function M.check_args(who, path, opts, async)
  if path == nil then error(who .. ": 'path' must be a file path", 3) end
  check.path(who, "path", path, 3)
  if opts ~= nil and type(opts) ~= "table" then error(who .. ": options must be a table", 3) end
  opts = opts or {}
  local allowed = async and ASYNC_OPTS or OPTS
  for k, v in pairs(opts) do
    local want = allowed[k]
    if not want then error(who .. ": unknown option '" .. tostring(k) .. "'", 3) end
    if want == "function" and type(v) ~= "function" then error(who .. ": '" .. k .. "' must be a function", 3) end
  end
  check.timeout(who, "timeout", opts.timeout, 3)
  check.range(who, "max_bytes", opts.max_bytes, 1, 2 ^ 53, 3)
  return opts
end

-- the engine request for one attempt: no header of ours, the size cap in max_body
local function request(u, part, opts, left)
  return { method = "GET", url = u, file = part, resume = true, follow = true, idempotent = true,
           headers = {}, deadline = left, max_body = opts.max_bytes or M.MAX_BYTES }
end

-- what to do about a file we cannot write: the task is done (and paid); say so, and how
-- to fetch the same video again, never "rerun" (a rerun of the workflow may pay again)
local function local_file(client, path, why, task_id)
  local again = task_id and (" (in a later run: client:task(%q) gives the task back)"):format(task_id) or ""
  return client:_error({ kind = "validation", code = "local_file", retryable = false,
    message = ("cannot write the video to %s: %s. This is a local file problem, not the service's: "
               .. "the task is done; fix the path or free space, then download again%s"):format(path, why, again) })
end

--- The size in bytes of the file at `p`, or nil when it cannot be opened.
function M.file_size(p)
  local f = io.open(p, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

local file_size = M.file_size

local function fail(client, f)
  return nil, client:_error(f)
end

local function attempt(client, u, part, opts, deadline)
  local eng = client.engine
  local res
  local id = eng:submit(request(u, part, opts, math.max(deadline - core.now(), check.MIN_TIMEOUT)),
                        function(r) res = r end)
  local last, perr
  local function report()
    if opts.on_progress and not perr then
      local done, total = eng.core:progress(id)
      if done and done ~= last then
        last = done
        local ok, e = pcall(opts.on_progress, done, total)
        if not ok then perr = e end
      end
    end
    return res ~= nil or perr ~= nil
  end
  local finished = block.until_done({ eng }, report, deadline)
  if perr ~= nil or not finished then
    eng:cancel(id)
    eng:step()
    if perr ~= nil then error(perr, 0) end
    return nil, "timeout"
  end
  return res
end

-- Judge one finished attempt: the path when the file is whole and in place; "again" when
-- the host refused our range (the partial file was dropped, start over); else nil, err.
local function settle(client, r, part, path, round, on_progress, task_id, max_bytes)
  if r.error == "file" then
    return nil, local_file(client, part, tostring(r.message), task_id)
  elseif r.error == "too_large" then
    return fail(client, { kind = "protocol", code = "too_large", retryable = false, partial = file_size(part),
      message = ("the video is larger than max_bytes (%d bytes): pass a larger max_bytes to fetch it")
                :format(max_bytes or M.MAX_BYTES) })
  elseif r.error then
    return fail(client, { kind = r.error == "timeout" and "timeout" or "network", retryable = true,
      code = r.error == "cancelled" and "cancelled" or nil,
      message = "download interrupted (" .. tostring(r.message) .. "); download again to resume",
      partial = file_size(part) })
  end
  local s = r.status
  if s == 416 and round == 1 then
    -- our partial file does not fit the host's: start over
    os.remove(part)
    return "again"
  elseif s == 403 or s == 404 or s == 410 then
    return fail(client, { kind = "not_found", status = s, code = "url_expired", expired = true,
      message = ("the result host refused the video URL (%d): it has probably expired; "
                 .. "task:refresh() gets a fresh one, then download again"):format(s) })
  elseif s == 416 then
    return fail(client, { kind = "provider", status = 416, message = "the result host refused every range" })
  elseif s ~= 200 and s ~= 206 then
    return fail(client, { kind = "provider", status = s, retryable = s >= 500,
                          message = "the result host answered HTTP " .. s })
  end
  local have = file_size(part) or 0
  local want = r.headers["content-range"] and tonumber(r.headers["content-range"]:match("/(%d+)%s*$"))
  if not want and s == 200 and r.headers["content-length"] then want = tonumber(r.headers["content-length"]) end
  if want and have ~= want then
    return fail(client, { kind = "network", retryable = true, partial = have,
      message = ("download incomplete: %d of %d bytes; download again to resume"):format(have, want) })
  end
  if on_progress then on_progress(have, want or have) end
  local ok, err = os.rename(part, path)
  if not ok then return nil, local_file(client, path, "cannot move it into place: " .. tostring(err), task_id) end
  return path
end

-- a result URL we will not fetch: nil, or the protocol error saying why
local function refuse_url(client, u)
  if http.is_http_url(u) then return nil end
  return client:_error({ kind = "protocol", code = "bad_answer", retryable = false,
    message = ("the result URL is not an http(s) URL (%s): seedance does not fetch it")
              :format(type(u) == "string" and (u:match("^([%w+.-]*):") or "no scheme") or type(u)) })
end

--- Fetch `u` into `path`, blocking until it is there (or `opts.timeout`, default M.TIMEOUT,
-- passes). `task_id` names the task in the advice of a local file error.
function M.file(client, u, path, opts, task_id)
  local bad = refuse_url(client, u)
  if bad then return nil, bad end
  local part = path .. ".part"
  local deadline = core.now() + (opts.timeout or M.TIMEOUT)
  for round = 1, 2 do
    local r = attempt(client, u, part, opts, deadline)
    if not r then
      return fail(client, { kind = "timeout", message = "download did not finish in time; download again to resume",
                            partial = file_size(part) })
    end
    local p, err = settle(client, r, part, path, round, opts.on_progress, task_id, opts.max_bytes)
    if p ~= "again" then return p, err end
  end
end

-- A download in motion (documented below, after the function that makes one)
local Download = {}
Download.__index = Download
M.Download = Download

-- how often on_progress is offered fresh byte counts: about once a frame at 60 fps
M.PROGRESS_INTERVAL = 1 / 60

--- Start fetching `u` into `path` and return a Download at once; the transfer, the
-- progress reports and `opts.on_done(path)` / `opts.on_done(nil, err)` all happen inside
-- later `client:step()` calls. Same file rules as M.file.
function M.file_async(client, u, path, opts, task_id)
  local bad = refuse_url(client, u)
  if bad then return nil, bad end
  local eng = client.engine
  local part = path .. ".part"
  local deadline = core.now() + (opts.timeout or M.TIMEOUT)
  local d = setmetatable({ _client = client, path = path, bytes = file_size(part) or 0, done = false }, Download)
  local ticker, last

  -- user callbacks run from timers, never from inside the engine's completion loop, so one
  -- that raises cannot swallow other requests' completions; the error leaves step()
  local function later(fn)
    eng:after(0, fn)
  end
  local function tick()
    ticker = nil
    if d.done then return end
    local b = d:progress()
    if opts.on_progress and b ~= last then
      last = b
      local ok, e = pcall(opts.on_progress, d.bytes, d.total)
      if not ok then
        d:cancel()
        error(e, 0)
      end
    end
    ticker = eng:after(M.PROGRESS_INTERVAL, tick)
  end
  local final -- the last byte count, reported just before on_done
  local function finish(p, err)
    d.done, d.error, d._id = true, err, nil
    if ticker then eng:cancel_timer(ticker) end
    ticker = nil
    if p then d.bytes = file_size(p) or d.bytes end
    if not (opts.on_done or (final and opts.on_progress)) then return end
    later(function()
      if final and opts.on_progress then opts.on_progress(final[1], final[2]) end
      if opts.on_done then opts.on_done(p, err) end
    end)
  end
  local function start(round)
    local left = deadline - core.now()
    if left <= 0 then
      return finish(fail(client, { kind = "timeout", partial = file_size(part),
        message = "download did not finish in time; download again to resume" }))
    end
    d._id = eng:submit(request(u, part, opts, math.max(left, check.MIN_TIMEOUT)),
      function(r)
        local p, err = settle(client, r, part, path, round, function(b, t)
          d.bytes, d.total = b, t
          final = { b, t }
        end, task_id, opts.max_bytes)
        if p == "again" then return start(round + 1) end
        finish(p, err)
      end)
  end
  start(1)
  if opts.on_progress then ticker = eng:after(M.PROGRESS_INTERVAL, tick) end
  return d
end

--- A download in motion, driven by `client:step()` (or any wait on the same client).
-- Fields: `path`, `bytes` (on disk so far, resumed part included), `total` (nil until the
-- host says), `done` (true once finished either way), `error` (a seedance.Error or nil).
-- @type Download

--- Bytes on disk so far and the total (nil until known), read from the transfer now.
-- @return bytes, total
function Download:progress()
  if not self.done and self._id then
    local b, t = self._client.engine.core:progress(self._id)
    if b then self.bytes, self.total = b, t or self.total end
  end
  return self.bytes, self.total
end

--- Stop the transfer; `on_done` then gets nil and an error with code "cancelled". The
-- `.part` file stays, so downloading to the same path again resumes.
-- @return true when a transfer was stopped
function Download:cancel()
  if self.done or not self._id then return false end
  return self._client.engine:cancel(self._id)
end

--- Block until the download ends (for scripts; a game loop reads `done` instead).
-- @tparam[opt] table opts {timeout=seconds}
-- @return path, or nil and a seedance.Error
function Download:wait(opts)
  if opts ~= nil and type(opts) ~= "table" then error("download:wait: options must be a table", 2) end
  check.timeout("download:wait", "timeout", opts and opts.timeout, 2)
  local deadline = opts and opts.timeout and (core.now() + opts.timeout) or nil
  if not block.until_done({ self._client.engine }, function() return self.done end, deadline) then
    return nil, self._client:_error({ kind = "timeout",
      message = "download still running; wait again or read its fields from step()", partial = self.bytes })
  end
  if self.error then return nil, self.error end
  return self.path
end

function Download:__tostring()
  local b, t = self:progress()
  return ("seedance.Download(%s %d/%s%s)"):format(self.path, b or 0, t and tostring(t) or "?",
    self.done and (self.error and " failed" or " done") or "")
end

return M
