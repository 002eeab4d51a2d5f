--- Client methods for groups and real-person verification sessions.
-- @classmod seedance.Client
local client_mod = require "seedance.client.base"
local group = require "seedance.model.group"
local session = require "seedance.model.session"
local pager = require "seedance.wire.pager"
local check = require "seedance.client.check"

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
  local fields, perr = self:_parse("object", d.parse_group, body, args)
  if not fields then return nil, perr end
  fields.name = fields.name or args.name
  fields.description = fields.description or args.description
  fields.type = fields.type or "aigc"
  return group.new(self, fields, body)
end

local GROUP_TYPES = { aigc = true, real_human = true }

--- Iterate over groups, every page, lazily. A failure ends the loop (see last_error); so do
-- the bounds, `max_pages` pages (default 1000) and `timeout` seconds (default 600).
-- @tparam[opt] table opts {type="aigc"|"real_human", name=, page_size=, max_pages=, timeout=}
function Client:groups(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("client:groups: options must be a table", 2) end
  for k in pairs(opts) do
    if k ~= "type" and k ~= "name" and k ~= "page_size" and k ~= "max_pages" and k ~= "timeout" then
      error("client:groups: unknown option '" .. tostring(k) .. "'", 2)
    end
  end
  if opts.type ~= nil and not GROUP_TYPES[opts.type] then
    error("client:groups: 'type' must be \"aigc\" or \"real_human\"", 2)
  end
  check.range("client:groups", "page_size", opts.page_size, 1, 10000, 2)
  check.range("client:groups", "max_pages", opts.max_pages, 1, 1e9, 2)
  check.timeout("client:groups", "timeout", opts.timeout, 2)
  if opts.name ~= nil then check.text("client:groups", "name", opts.name, false, 2) end
  self:_require("groups", "list groups")
  local d = self.dialect
  return pager.iterate(self, { who = "client:groups", parse = d.parse_group_list, max_pages = opts.max_pages,
    timeout = opts.timeout, op = function(page) return d.list_groups(opts, page) end,
    make = function(f) return group.new(self, f, f.raw) end })
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
  local fields, perr = self:_parse("object", d.parse_session, body)
  if not fields then return nil, perr end
  return self:_track(session.new(self, fields, body))
end

return Client
