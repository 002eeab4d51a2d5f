--- The provider registry: the one list of services seedance speaks. The client, the media
-- limits, templates, the emulator, the CLI and the README's table all read it.
-- @module seedance.providers
local base = require "seedance.providers.base"

local M = {}

--- Every service, in the order of providers.md.
M.NAMES = { "sunra", "orcarouter", "crun", "anyfast", "piapi", "ark" }

local KNOWN = {}
for _, n in ipairs(M.NAMES) do KNOWN[n] = true end
-- dialects checked against the contract so far
local checked = setmetatable({}, { __mode = "k" })

--- Whether `name` is one of the services seedance knows.
-- @tparam string name
-- @treturn boolean
function M.known(name)
  return KNOWN[name] == true
end

-- whether a dialect module is installed, without loading it where the Lua can tell
-- (package.searchpath: 5.2+ and LuaJIT; 5.1 loads it)
local function present(p)
  local name = "seedance.providers." .. p
  if package.loaded[name] then return true end
  local searchpath = rawget(package, "searchpath")
  if searchpath then return searchpath(name, package.path) ~= nil end
  return (pcall(require, name))
end

--- Whether `name` is a known service whose dialect this build has.
-- @tparam string name
-- @treturn boolean
function M.has(name)
  return KNOWN[name] == true and present(name)
end

--- The names of the services whose dialect this build has, in registry order.
-- @treturn table a list of names
function M.available()
  local out = {}
  for _, p in ipairs(M.NAMES) do
    if present(p) then out[#out + 1] = p end
  end
  return out
end

--- The dialect of a known service, loaded and checked against the contract
-- (seedance.providers.base) once.
-- @tparam string name
-- @treturn[1] table the dialect
-- @treturn[2] nil when `name` is not a known service
function M.get(name)
  if not KNOWN[name] then return nil end
  local D = require("seedance.providers." .. name)
  if not checked[D] then checked[D] = base.check(D, name) end
  return D
end

return M
