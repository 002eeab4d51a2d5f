--- Takes: every finished video of a shot is downloaded at once (result URLs expire in about
-- a day) to `<out>/<shot>/v001.mp4`, the next free number each time, never overwriting a
-- take, and checked: a real MP4 whose size is the size the host announced.
-- @module seedance.production.takes
local seedance_probe = require("seedance").probe
local errors = require "seedance.error"

local M = {}

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Make directory `dir` (and its parents). Returns true, or nil and a message.
function M.mkdir(dir)
  local r = os.execute("mkdir -p " .. quote(dir))
  if r == true or r == 0 then return true end
  return nil, "cannot create the directory " .. dir
end

--- The first free take path of `shot` under `out`: <out>/<shot>/v001.mp4, v002.mp4, ...
-- (a `.part` left by an interrupted download is resumed, not skipped)
function M.next_path(out, shot)
  local dir = out .. "/" .. shot
  local n = 1
  while exists(("%s/v%03d.mp4"):format(dir, n)) do n = n + 1 end
  return ("%s/v%03d.mp4"):format(dir, n), dir
end

local size_of = require("seedance.media.download").file_size

--- Check a downloaded take: an MP4 (probed), of `announced` bytes when the host said.
-- @return the probe's info, or nil and a seedance.Error (kind "protocol")
function M.check(path, announced)
  local size = size_of(path)
  local function bad(msg)
    return nil, errors.new({ kind = "protocol", code = "bad_take", message = "take " .. path .. ": " .. msg })
  end
  if not size then return bad("missing after the download") end
  if announced and announced > 0 and size ~= announced then
    return bad(("%d bytes, but the host announced %d"):format(size, announced))
  end
  local info, err = seedance_probe(path)
  if not info then return bad("not a video (" .. tostring(err and err.message) .. ")") end
  if info.type ~= "video" or (info.format ~= "mp4" and info.format ~= "mov") then
    return bad("a " .. tostring(info.type) .. "/" .. tostring(info.format) .. " file, not an MP4")
  end
  return info
end

--- Download the video of finished `task` as the next take of `shot` under `out`, and check
-- it. A result URL that has lapsed is fetched again from the task while it still exists.
-- @return {path=, version=, bytes=, duration=, width=, height=}, or nil and a seedance.Error
function M.fetch(task, out, shot, timeout)
  local path, dir = M.next_path(out, shot)
  local ok, merr = M.mkdir(dir)
  if not ok then return nil, errors.new({ kind = "protocol", message = merr }) end
  local total
  local opts = { timeout = timeout, on_progress = function(_, t) total = t end }
  local got, err = task:download(path, opts)
  if not got and err and err.code == "url_expired" then
    local fresh, rerr = task:refresh()
    if not fresh then return nil, rerr end
    got, err = task:download(path, opts)
  end
  if not got then return nil, err end
  local info, cerr = M.check(path, total)
  if not info then
    -- a broken take is kept for inspection under another name, never passed off as one
    os.rename(path, path .. ".bad")
    return nil, cerr
  end
  return { path = path, version = tonumber(path:match("v(%d+)%.mp4$")), bytes = size_of(path),
           duration = info.duration, width = info.width, height = info.height }
end

return M
