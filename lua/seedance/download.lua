--- Downloading a result file: to `<path>.part`, resumed by range, renamed when whole.
-- The request carries no header of ours at all: result hosts get no credential.
-- @module seedance.download
local errors = require "seedance.error"
local block = require "seedance.block"
local core = require "seedance.core"

local M = {}

local function file_size(p)
  local f = io.open(p, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

local function fail(client, f)
  f.provider = client.provider
  return nil, errors.new(f)
end

local function attempt(client, u, part, opts, deadline)
  local eng = client.engine
  local res
  local id = eng:submit({ method = "GET", url = u, file = part, resume = true, follow = true,
                          idempotent = true, headers = {}, deadline = opts.timeout },
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
local function settle(client, r, part, path, round, on_progress)
  if r.error then
    return fail(client, { kind = r.error == "timeout" and "timeout" or "network", retryable = true,
      code = r.error == "cancelled" and "cancelled" or nil,
      message = "download interrupted (" .. tostring(r.message) .. "); rerun to resume",
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
      message = ("download incomplete: %d of %d bytes; rerun to resume"):format(have, want) })
  end
  if on_progress then on_progress(have, want or have) end
  local ok, err = os.rename(part, path)
  if not ok then
    return fail(client, { kind = "network", message = "cannot move the video into place: " .. tostring(err) })
  end
  return path
end

--- Fetch `u` into `path`, blocking until it is there.
function M.file(client, u, path, opts)
  local part = path .. ".part"
  local deadline = opts.timeout and (core.now() + opts.timeout) or nil
  for round = 1, 2 do
    local r = attempt(client, u, part, opts, deadline)
    if not r then
      return fail(client, { kind = "timeout", message = "download did not finish in time; rerun to resume",
                            partial = file_size(part) })
    end
    local p, err = settle(client, r, part, path, round, opts.on_progress)
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
function M.file_async(client, u, path, opts)
  local eng = client.engine
  local part = path .. ".part"
  local deadline = opts.timeout and (core.now() + opts.timeout) or nil
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
    local left
    if deadline then
      left = deadline - core.now()
      if left <= 0 then
        return finish(fail(client, { kind = "timeout", partial = file_size(part),
          message = "download did not finish in time; rerun to resume" }))
      end
    end
    d._id = eng:submit({ method = "GET", url = u, file = part, resume = true, follow = true,
                         idempotent = true, headers = {}, deadline = left },
      function(r)
        local p, err = settle(client, r, part, path, round, function(b, t)
          d.bytes, d.total = b, t
          final = { b, t }
        end)
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
  local deadline = opts and opts.timeout and (core.now() + opts.timeout) or nil
  if not block.until_done({ self._client.engine }, function() return self.done end, deadline) then
    return nil, errors.new({ kind = "timeout", provider = self._client.provider,
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
