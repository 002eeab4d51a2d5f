--- JSON through lua-cjson, with the two things the services need that cjson lacks here:
-- an explicit empty array (`[]`, where cjson would write `{}`), and ids kept as strings
-- (Debian's cjson decodes every number as a float on 5.4).
-- @module seedance.wire.json

-- the library's own instances (cjson.new), so that settings a host application gives the global
-- cjson (encode_sparse_array, decode_max_depth, ...) never change what seedance sends or reads
local cjson = require("cjson").new()
local cjson_safe = require("cjson.safe").new()

local M = {}
M.null = cjson.null

local EMPTY_KEY = "__seedance_empty_array__"
local EMPTY = { [EMPTY_KEY] = true }

--- Mark a Lua list for encoding as a JSON array even when empty.
function M.array(t)
  if t == nil or next(t) == nil then return EMPTY end
  return t
end

--- Encode a value; raises on values JSON cannot hold (misuse).
function M.encode(v)
  local s = cjson.encode(v)
  if s:find(EMPTY_KEY, 1, true) then s = s:gsub('{"' .. EMPTY_KEY .. '":true}', "[]") end
  -- cjson writes "/" as "\/": valid, but no service does, and URLs fill these bodies.
  -- A literal backslash is written "\\", so every "\/" left is that escape.
  if s:find("\\/", 1, true) then s = s:gsub("\\/", "/") end
  return s
end

--- Decode text; returns nil, message for anything that is not JSON.
function M.decode(s)
  if type(s) ~= "string" or s == "" then return nil, "empty body" end
  return cjson_safe.decode(s)
end

--- A JSON value as an id string: integral numbers lose their ".0", null becomes nil.
function M.str(v)
  if v == nil or v == cjson.null then return nil end
  if type(v) == "number" then
    if v == math.floor(v) and v > -2^53 and v < 2^53 then return string.format("%d", v) end
    return tostring(v)
  end
  if type(v) == "string" then return v end
  return nil
end

--- A JSON value as a number, or nil (null, absent, or not numeric).
function M.num(v)
  if type(v) == "string" then v = tonumber(v) end
  if type(v) ~= "number" then return nil end
  -- integral values as integers where the Lua has them (5.3+): quotas print as 2, not 2.0
  if v == math.floor(v) and v > -2^53 and v < 2^53 then return math.floor(v) end
  return v
end

--- A JSON value with null turned into nil.
function M.val(v)
  if v == cjson.null then return nil end
  return v
end

return M
