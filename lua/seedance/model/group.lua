--- Group: a set of assets (an "aigc" library group, or a "real_human" group created by a
-- verification session). Fields: id, name, description, type, created_at, raw.
-- @classmod seedance.Group
local object = require "seedance.model.object"

local Group = object.methods("group")
local M = { class = Group }

--- New group object owned by `client` from normalized fields.
-- @static
function M.new(client, fields, raw)
  local g = object.new("group", client):_assign(fields)
  g.raw = raw
  return g
end

local UPDATE_KEYS = { name = true, description = true }

--- Rename or re-describe the group.
-- @tparam table args {name=, description=}
-- @return the group, or nil and a seedance.Error
function Group:update(args)
  if type(args) ~= "table" then error("group:update: expected a table {name=, description=}", 2) end
  for k, v in pairs(args) do
    if not UPDATE_KEYS[k] then error("group:update: unknown field '" .. tostring(k) .. "'", 2) end
    if type(v) ~= "string" then error("group:update: '" .. k .. "' must be a string", 2) end
  end
  local c = self._client
  c:_require("update_group", "update groups")
  local d = c.dialect
  local body, err = c:_call(d.update_group(self.id, args))
  if not body then return nil, err end
  local fields = {}
  if d.parse_group then
    local f, perr = c:_parse("refresh", d.parse_group, body, args)
    if not f then return nil, perr end
    fields = f
  end
  self:_assign(args)
  fields.id = nil
  self:_assign(fields)
  return self
end

--- Register an asset in this group (client:upload with group = this group).
function Group:upload(args)
  if type(args) ~= "table" then error("group:upload: expected a table {url=...}", 2) end
  local a = {}
  for k, v in pairs(args) do a[k] = v end
  a.group = self.id
  return self._client:upload(a)
end

--- Iterate over the assets of this group.
-- @tparam[opt] table opts {status=}
function Group:assets(opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.group = self.id
  return self._client:assets(o)
end

return M
