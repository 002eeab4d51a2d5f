--- Client methods for the reference-asset library: upload, fetch, list, quota, delete.
-- @classmod seedance.Client
local client_mod = require "seedance.client"
local asset = require "seedance.asset"

local Client = client_mod.class

local UPLOAD_KEYS = { url = true, type = true, name = true, group = true, file = true }
local TYPES = { image = true, video = true, audio = true }

local function check_upload(a, who, level)
  if type(a) ~= "table" then error(who .. ": expected a table {url=...}", level) end
  for k in pairs(a) do
    if not UPLOAD_KEYS[k] then error(who .. ": unknown field '" .. tostring(k) .. "'", level) end
  end
  if a.url == nil and a.file == nil then error(who .. ": 'url' is required", level) end
  if a.url ~= nil and (type(a.url) ~= "string" or a.url == "") then
    error(who .. ": 'url' must be a non-empty string", level)
  end
  if a.file ~= nil and type(a.file) ~= "string" then error(who .. ": 'file' must be a path string", level) end
  if a.type ~= nil and not TYPES[a.type] then
    error(who .. ": 'type' must be \"image\", \"video\" or \"audio\"", level)
  end
  if a.name ~= nil and type(a.name) ~= "string" then error(who .. ": 'name' must be a string", level) end
  local g = a.group
  if g ~= nil and type(g) ~= "string" and not (type(g) == "table" and g.id) then
    error(who .. ": 'group' must be a Group or a group id", level)
  end
end

-- what we send: the caller's fields, the type inferred from the URL when absent
local function normalize_upload(a)
  local g = a.group
  return { url = a.url, file = a.file, name = a.name, group = type(g) == "table" and g.id or g,
           type = a.type or (a.url and client_mod.media_type(a.url)) }
end

--- Register one asset.
-- @tparam table a {url=, type=, name=, group=, file=}
-- @return Asset (status "processing" at first), or nil and a seedance.Error
function Client:upload(a)
  check_upload(a, "client:upload", 3)
  if a.file and not (self.dialect.capabilities or {}).file_upload then
    error("client:upload: " .. self.provider .. " takes URLs, not local files", 2)
  end
  local args = normalize_upload(a)
  -- a dialect may refuse before any request (an unreadable file, a name too long)
  local op, oerr = self.dialect.upload_asset(args, self)
  if not op then return nil, oerr end
  local body, err = self:_call(op)
  if not body then return nil, err end
  local d = self.dialect
  local fields = d.parse_upload and d.parse_upload(body, args, self) or d.parse_asset(body)
  fields.url = fields.url or args.url
  fields.type = fields.type or args.type
  fields.name = fields.name or args.name
  fields.group_id = fields.group_id or args.group
  return self:_track(asset.new(self, fields, body))
end

--- Register many assets, through the provider's batch endpoint where it has one.
-- @tparam table list of upload tables
-- @return list of Asset in input order, or nil and a seedance.Error. When only some items
-- fail, the list holds an Error at their positions and `err` (second value) says how many.
function Client:upload_many(list)
  if type(list) ~= "table" then error("client:upload_many: expected a list of {url=...}", 2) end
  for i, a in ipairs(list) do check_upload(a, "client:upload_many: item " .. i, 3) end
  local d = self.dialect
  local out, nfail = {}, 0
  local args = {}
  for i, a in ipairs(list) do args[i] = normalize_upload(a) end
  if not (d.capabilities or {}).batch_upload then
    for i, a in ipairs(args) do
      local x, err = self:upload(list[i])
      out[i] = x or err
      if not x then nfail = nfail + 1 end
      args[i] = a
    end
  else
    local size = d.batch_size or 50
    for first = 1, #args, size do
      local chunk = {}
      for i = first, math.min(first + size - 1, #args) do chunk[#chunk + 1] = args[i] end
      local body, err = self:_call(d.upload_assets(chunk))
      if not body then
        if first == 1 then return nil, err end
        for i = first, #args do out[i] = err; nfail = nfail + 1 end
        break
      end
      for j, f in ipairs(d.parse_upload_batch(body, chunk)) do
        local i = first + j - 1
        if f.error then
          out[i] = require("seedance.http").new_error(self, { kind = "validation",
            message = ("item %d (%s): %s"):format(i, tostring(args[i].url), tostring(f.error.message)),
            code = f.error.code })
          nfail = nfail + 1
        else
          f.url = f.url or args[i].url
          f.type = f.type or args[i].type
          f.name = f.name or args[i].name
          out[i] = self:_track(asset.new(self, f, body))
        end
      end
    end
  end
  if nfail > 0 then
    return out, require("seedance.http").new_error(self, { kind = "validation",
      message = ("%d of %d uploads failed"):format(nfail, #list) })
  end
  return out
end

--- Fetch one asset by id.
-- @return Asset, or nil and a seedance.Error (`not_found` when it does not exist)
function Client:asset(id)
  if type(id) ~= "string" or id == "" then error("client:asset: 'id' must be a non-empty string", 2) end
  local d = self.dialect
  local body, err = self:_call(d.get_asset(id))
  if not body then return nil, err end
  return asset.new(self, d.parse_asset(body), body)
end

local LIST_KEYS = { status = true, group = true, page_size = true, order = true }

--- Iterate over every asset, page by page, lazily.
-- A failure ends the loop; client:last_error() then says why.
-- @tparam[opt] table opts {status="active"|{...}, group=, page_size=}
function Client:assets(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("client:assets: options must be a table", 2) end
  for k in pairs(opts) do
    if not LIST_KEYS[k] then error("client:assets: unknown option '" .. tostring(k) .. "'", 2) end
  end
  self:_require("list", "list assets")
  local d = self.dialect
  local g = opts.group
  local args = { status = opts.status, group = type(g) == "table" and g.id or g,
                 page_size = opts.page_size, order = opts.order }
  -- a provider without a list endpoint (crun) answers from what this client created
  if d.iterate_assets then return d.iterate_assets(self, args) end
  local page, items, i, more = 0, {}, 0, true
  self._last_error = nil
  return function()
    while true do
      i = i + 1
      if items[i] then return asset.new(self, items[i], items[i].raw) end
      if not more then return nil end
      page = page + 1
      local body, err = self:_call(d.list_assets(args, page))
      if not body then
        self._last_error = err
        return nil
      end
      items, more = d.parse_list(body, page)
      i = 0
      if #items == 0 then return nil end
    end
  end
end

--- Asset quota where the provider reports one.
-- @return {used=, limit=, ttl_days=}, or nil and a seedance.Error
function Client:quota()
  self:_require("quota", "report a quota")
  local d = self.dialect
  local body, err = self:_call(d.quota())
  if not body then return nil, err end
  local _, _, q = d.parse_list(body, 1)
  if not q then
    return nil, require("seedance.http").new_error(self, { kind = "protocol",
      message = "the list answer carried no quota" })
  end
  return q
end

--- Delete many assets (or ids) at once, through the batch endpoint where one exists.
-- @return true, or nil and a seedance.Error whose `results` maps each id to true or a reason
function Client:delete_many(list)
  if type(list) ~= "table" then error("client:delete_many: expected a list of assets or ids", 2) end
  local ids = {}
  for i, x in ipairs(list) do
    local id = type(x) == "table" and x.id or x
    if type(id) ~= "string" then error("client:delete_many: item " .. i .. " is not an asset or id", 2) end
    ids[i] = id
  end
  self:_require("delete", "delete assets")
  local d = self.dialect
  local results = {}
  if (d.capabilities or {}).batch_delete then
    local size = d.batch_size or 50
    for first = 1, #ids, size do
      local chunk = {}
      for i = first, math.min(first + size - 1, #ids) do chunk[#chunk + 1] = ids[i] end
      local body, err = self:_call(d.delete_assets(chunk))
      if not body then return nil, err end
      for j, r in ipairs(d.parse_delete_batch(body, chunk)) do results[chunk[j]] = r end
    end
  else
    for _, id in ipairs(ids) do
      local body, err = self:_call(d.delete_asset(id))
      results[id] = body and true or (err and err.message)
    end
  end
  local bad = 0
  for _, id in ipairs(ids) do
    if results[id] ~= true then bad = bad + 1 end
  end
  for _, x in ipairs(list) do
    if type(x) == "table" and results[x.id] == true then x.deleted = true end
  end
  if bad > 0 then
    local e = require("seedance.http").new_error(self, { kind = "provider",
      message = ("%d of %d deletions failed"):format(bad, #ids) })
    e.results = results
    return nil, e
  end
  return true
end

return Client
