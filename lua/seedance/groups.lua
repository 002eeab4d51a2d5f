--- Client methods for groups and real-person verification sessions.
-- @classmod seedance.Client
local client_mod = require "seedance.client"
local group = require "seedance.group"
local session = require "seedance.session"

local Client = client_mod.class

local CREATE_KEYS = { name = true, description = true }

--- Create an asset group.
-- @tparam table args {name=, description=}
-- @return Group, or nil and a seedance.Error
function Client:create_group(args)
  if type(args) ~= "table" then error("client:create_group: expected a table {name=, description=}", 2) end
  for k, v in pairs(args) do
    if not CREATE_KEYS[k] then error("client:create_group: unknown field '" .. tostring(k) .. "'", 2) end
    if type(v) ~= "string" then error("client:create_group: '" .. k .. "' must be a string", 2) end
  end
  if not args.name or args.name == "" then error("client:create_group: 'name' is required", 2) end
  self:_require("groups", "create groups")
  local d = self.dialect
  local body, err = self:_call(d.create_group(args))
  if not body then return nil, err end
  local fields = d.parse_group(body, args)
  fields.name = fields.name or args.name
  fields.description = fields.description or args.description
  fields.type = fields.type or "aigc"
  return group.new(self, fields, body)
end

local GROUP_TYPES = { aigc = true, real_human = true }

--- Iterate over groups, every page, lazily. A failure ends the loop (see last_error).
-- @tparam[opt] table opts {type="aigc"|"real_human", name=}
function Client:groups(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("client:groups: options must be a table", 2) end
  for k in pairs(opts) do
    if k ~= "type" and k ~= "name" and k ~= "page_size" then
      error("client:groups: unknown option '" .. tostring(k) .. "'", 2)
    end
  end
  if opts.type ~= nil and not GROUP_TYPES[opts.type] then
    error("client:groups: 'type' must be \"aigc\" or \"real_human\"", 2)
  end
  self:_require("groups", "list groups")
  local d = self.dialect
  local page, items, i, more = 0, {}, 0, true
  self._last_error = nil
  return function()
    while true do
      i = i + 1
      if items[i] then return group.new(self, items[i], items[i].raw) end
      if not more then return nil end
      page = page + 1
      local body, err = self:_call(d.list_groups(opts, page))
      if not body then
        self._last_error = err
        return nil
      end
      items, more = d.parse_group_list(body, page)
      i = 0
      if #items == 0 then return nil end
    end
  end
end

--- Start a real-person verification session.
-- @tparam[opt] table args {return_url=} where the hosted page sends the person afterwards
-- @return Session (with `link` for the person), or nil and a seedance.Error
function Client:verify(args)
  args = args or {}
  if type(args) ~= "table" then error("client:verify: expected a table {return_url=}", 2) end
  for k, v in pairs(args) do
    if k ~= "return_url" then error("client:verify: unknown field '" .. tostring(k) .. "'", 2) end
    if type(v) ~= "string" then error("client:verify: 'return_url' must be a string", 2) end
  end
  self:_require("sessions", "run real-person verification")
  local d = self.dialect
  local body, err = self:_call(d.create_session(args))
  if not body then return nil, err end
  return self:_track(session.new(self, d.parse_session(body), body))
end

return Client
