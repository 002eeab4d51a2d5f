--- URL pieces: percent-encoding, query strings and path templates.
-- @module seedance.wire.url
local M = {}

--- Percent-encode everything but RFC 3986 unreserved characters.
function M.escape(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

--- "a=1&b=2" from a table, keys sorted so requests (and signatures) are reproducible.
-- List values are joined with commas, as the services' filters expect.
function M.query(t)
  if not t then return "" end
  local keys = {}
  for k, v in pairs(t) do
    if v ~= nil then keys[#keys + 1] = k end
  end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = t[k]
    if type(v) == "table" then v = table.concat(v, ",") end
    if type(v) == "boolean" then v = v and "true" or "false" end
    if type(v) == "number" and v == math.floor(v) then v = string.format("%d", v) end
    parts[#parts + 1] = M.escape(k) .. "=" .. M.escape(v)
  end
  return table.concat(parts, "&")
end

--- Fill "{name}" slots of a path template; a missing value is misuse. A "{+name}" slot
-- keeps the "/" of its value (each segment still escaped): for ids that are paths, such
-- as Sunra's model ids ("bytedance/seedance-2.0-relay").
function M.fill(template, params)
  return (template:gsub("{(%+?)([%w_]+)}", function(plus, k)
    local v = params and params[k]
    if v == nil then error("seedance: path parameter '" .. k .. "' missing for " .. template, 3) end
    if plus == "" then return M.escape(v) end
    return (tostring(v):gsub("[^/]+", M.escape))
  end))
end

--- The lowercased extension of a URL's path ("png"), or nil.
function M.extension(u)
  if type(u) ~= "string" then return nil end
  local path = u:gsub("[?#].*$", "")
  local ext = path:match("%.([%w]+)$")
  return ext and ext:lower() or nil
end

--- The last path segment of a URL, without query.
function M.basename(u)
  local path = u:gsub("[?#].*$", "")
  return path:match("([^/]+)$")
end

return M
