--- Timestamps: the services send ISO-8601 strings or unix seconds (crun shows both).
-- @module seedance.model.time
local M = {}

-- days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm)
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Unix seconds from an ISO-8601 string, a number (seconds, or milliseconds when huge),
-- or a numeric string; nil when it is none of those.
function M.parse(v)
  if type(v) == "number" then
    if v > 1e11 then return v / 1000 end
    return v
  end
  if type(v) ~= "string" then return nil end
  local n = tonumber(v)
  if n then return M.parse(n) end
  local y, mo, d, h, mi, s, rest = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then
    y, mo, d = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
    if not y then return nil end
    h, mi, s, rest = 0, 0, 0, ""
  end
  local t = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
          + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
  local frac = rest:match("^%.(%d+)")
  if frac then
    t = t + tonumber("0." .. frac)
    rest = rest:sub(#frac + 2)
  end
  if rest == "" or rest == "Z" or rest == "z" then return t end
  local sign, oh, om = rest:match("^([%+%-])(%d%d):?(%d%d)$")
  if not sign then return nil end
  local off = tonumber(oh) * 3600 + tonumber(om) * 60
  if sign == "+" then return t - off end
  return t + off
end

--- ISO-8601 UTC text for unix seconds.
function M.iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

return M
