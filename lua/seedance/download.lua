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

--- Fetch `u` into `path`.
function M.file(client, u, path, opts)
  local part = path .. ".part"
  local deadline = opts.timeout and (core.now() + opts.timeout) or nil
  for round = 1, 2 do
    local r = attempt(client, u, part, opts, deadline)
    if not r then
      return fail(client, { kind = "timeout", message = "download did not finish in time; rerun to resume",
                            partial = file_size(part) })
    end
    if r.error then
      return fail(client, { kind = r.error == "timeout" and "timeout" or "network", retryable = true,
        message = "download interrupted (" .. tostring(r.message) .. "); rerun to resume",
        partial = file_size(part) })
    end
    local s = r.status
    if s == 416 and round == 1 then
      -- our partial file does not fit the host's: start over
      os.remove(part)
    elseif s == 403 or s == 404 or s == 410 then
      return fail(client, { kind = "not_found", status = s, code = "url_expired", expired = true,
        message = ("the result host refused the video URL (%d): it has probably expired; "
                   .. "task:refresh() gets a fresh one, then download again"):format(s) })
    elseif s ~= 200 and s ~= 206 then
      return fail(client, { kind = "provider", status = s, retryable = s >= 500,
                            message = "the result host answered HTTP " .. s })
    else
      local have = file_size(part) or 0
      local want = r.headers["content-range"] and tonumber(r.headers["content-range"]:match("/(%d+)%s*$"))
      if not want and s == 200 and r.headers["content-length"] then want = tonumber(r.headers["content-length"]) end
      if want and have ~= want then
        return fail(client, { kind = "network", retryable = true, partial = have,
          message = ("download incomplete: %d of %d bytes; rerun to resume"):format(have, want) })
      end
      if opts.on_progress and have ~= nil then opts.on_progress(have, want or have) end
      local ok, err = os.rename(part, path)
      if not ok then
        return fail(client, { kind = "network", message = "cannot move the video into place: " .. tostring(err) })
      end
      return path
    end
  end
  return fail(client, { kind = "provider", status = 416, message = "the result host refused every range" })
end

return M
