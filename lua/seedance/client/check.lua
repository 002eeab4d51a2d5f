--- Checks of what callers pass, shared by every entry point: each raises at once, naming
-- the call and the option, instead of letting a bad value fail later inside the library
-- (a NaN timeout that never passes, a 0.1 ms one that libcurl reads as "none", a NUL byte
-- that cuts a path short, a poll interval that floods a service).
-- @module seedance.client.check
local M = {}

--- The shortest timeout taken, in seconds: libcurl counts milliseconds, and reads 0 as none.
M.MIN_TIMEOUT = 0.001
--- The shortest poll interval taken, in seconds.
M.MIN_INTERVAL = 0.01
--- The longest id, key or header value sent, in bytes.
M.MAX_TEXT = 8192

local function fail(who, name, what, level)
  error(("%s: '%s' %s"):format(who, name, what), level + 1)
end

local function number(who, name, v, level)
  if type(v) ~= "number" then fail(who, name, "must be a number, got " .. type(v), level + 1) end
  if v ~= v then fail(who, name, "must be a number, got NaN", level + 1) end
end

--- A timeout in seconds: a number from 1 ms up (math.huge: no deadline). nil passes.
-- @tparam string who the call ("task:wait")
-- @tparam string name the option
-- @param v the value
-- @tparam[opt] integer level for error(), as seen from the caller of check (default 2)
function M.timeout(who, name, v, level)
  if v == nil then return end
  level = (level or 2) + 1
  if type(v) ~= "number" then fail(who, name, "must be a positive number of seconds, got " .. type(v), level) end
  if v ~= v then fail(who, name, "must be a positive number of seconds, not NaN", level) end
  if v <= 0 then fail(who, name, "must be a positive number of seconds", level) end
  if v < M.MIN_TIMEOUT then
    fail(who, name, ("must be at least %g s (got %g; less would mean no timeout at all)"):format(M.MIN_TIMEOUT, v),
         level)
  end
end

--- A poll interval in seconds: a finite number from MIN_INTERVAL up. nil passes.
function M.interval(who, name, v, level)
  if v == nil then return end
  level = (level or 2) + 1
  number(who, name, v, level)
  if v < M.MIN_INTERVAL or v == math.huge then
    fail(who, name, ("must be a number of seconds from %g up (got %g)"):format(M.MIN_INTERVAL, v), level)
  end
end

--- A finite number in [lo, hi]. nil passes.
function M.range(who, name, v, lo, hi, level)
  if v == nil then return end
  level = (level or 2) + 1
  number(who, name, v, level)
  if v < lo or v > hi then fail(who, name, ("must be between %g and %g (got %g)"):format(lo, hi, v), level) end
end

--- A local file path: a non-empty string without NUL bytes. nil passes.
function M.path(who, name, v, level)
  if v == nil then return end
  level = (level or 2) + 1
  if type(v) ~= "string" or v == "" then fail(who, name, "must be a file path", level) end
  if v:find("\0", 1, true) then fail(who, name, "contains a NUL byte", level) end
end

--- A string sent to a service (an id, a key): no NUL, no line break, at most MAX_TEXT bytes
-- (a longer one is a mistake, and would be sent slowly before the service refused it).
-- `nonempty`: "" is refused too. nil passes.
function M.text(who, name, v, nonempty, level)
  if v == nil then return end
  level = (level or 2) + 1
  if type(v) ~= "string" then fail(who, name, "must be a string, got " .. type(v), level) end
  if nonempty and v == "" then fail(who, name, "must be a non-empty string", level) end
  if #v > M.MAX_TEXT then fail(who, name, ("is %d bytes long (at most %d)"):format(#v, M.MAX_TEXT), level) end
  if v:find("[%z\r\n]") then fail(who, name, "contains a NUL byte or a line break", level) end
end

return M
