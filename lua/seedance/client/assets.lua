--- Client methods for the reference-asset library: upload, fetch, list, quota, delete.
-- @classmod seedance.Client
local client_mod = require "seedance.client.base"
local media_types = require "seedance.media.types"
local asset = require "seedance.model.asset"
local journal = require "seedance.store.journal"
local preflight = require "seedance.media.preflight"
local errors = require "seedance.error"
local url = require "seedance.wire.url"
local core = require "seedance.core"
local object = require "seedance.model.object"

-- the id of a Group object, or of a table with one (anything else as given)
local function id_of(g)
  if object.kind(g) or type(g) == "table" then return g.id end
  return g
end
local pager = require "seedance.wire.pager"
local check = require "seedance.client.check"

local Client = client_mod.class

local UPLOAD_KEYS = { url = true, type = true, name = true, group = true, file = true, validate = true }
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
  if a.validate ~= nil and type(a.validate) ~= "boolean" then error(who .. ": 'validate' must be a boolean", level) end
  local g = a.group
  if g ~= nil and type(g) ~= "string" and not ((type(g) == "table" or object.kind(g) == "group") and g.id) then
    error(who .. ": 'group' must be a Group or a group id", level)
  end
end

-- what we send: the caller's fields, the type inferred from the URL when absent
local function normalize_upload(a)
  local g = a.group
  return { url = a.url, file = a.file, name = a.name, group = id_of(g),
           type = a.type or (a.url and media_types.of(a.url)), validate = a.validate }
end

--- Whether an upload's source can be what any service takes, before any request: an
-- http(s) URL with a host (or, where the dialect takes inline data, `inline_ok`, a data
-- URI or raw base64), whose extension, when it has one, is a media extension unless
-- `type` says what it is; where the service keeps assets in groups (`requires_group`), a
-- group; and, where it requires the asset type on upload (`requires_type`), a type given
-- or told by the URL.
-- @return true, or nil and a seedance.Error of kind "validation"
function Client:_check_source(args)
  local d, u = self.dialect, args.url
  if d.requires_group and not args.group then
    return self:_invalid(("%s keeps assets in groups: pass group= (a Group, or the id of one made by "
      .. "client:create_group)"):format(self.provider), "group_required")
  end
  if args.file then return true end
  local shown = #u > 80 and u:sub(1, 77) .. "..." or u
  local scheme = u:match("^(%a[%w+.-]*):")
  local inline = d.inline_ok and d.inline_ok(u)
  if not inline then
    if not scheme or (scheme:lower() ~= "http" and scheme:lower() ~= "https") then
      return self:_invalid(("upload URL %s: the services fetch http:// or https:// URLs only%s")
        :format(shown, d.inline_ok and " (or, on " .. self.provider .. ", a data: URI or base64)" or ""),
        "bad_url")
    end
    local host = u:match("^%a[%w+.-]*://([^/?#]*)")
    host = host and host:gsub("^.*@", ""):gsub(":%d*$", "")
    if not host or host == "" or host == "[]" then
      return self:_invalid(("upload URL %s has no host"):format(shown), "bad_url")
    end
    -- the extension of the path, not of a bare host ("https://x.com")
    local path = u:match("^%a[%w+.-]*://[^/?#]*(/[^?#]*)")
    local ext = path and url.extension(path)
    if ext and not args.type and not media_types.BY_EXTENSION[ext] then
      local known = {}
      for e in pairs(media_types.BY_EXTENSION) do known[#known + 1] = e end
      table.sort(known)
      return self:_invalid(("upload URL %s: no service takes .%s files (images, videos and audios: %s); "
        .. "if it really is one, pass type=\"image\", \"video\" or \"audio\"")
        :format(shown, ext, table.concat(known, " ")), "bad_url")
    end
  end
  local t = args.type or (d.upload_type and d.upload_type(args))
  if d.requires_type and not t then
    return self:_invalid(("%s needs the asset type on upload: pass type=\"image\", \"video\" or "
      .. "\"audio\" (none can be told from %s)"):format(self.provider, shown), "type_required")
  end
  return true
end

-- The asset this client already registered for `args`, from the journal (its entry `e`
-- when read already): the asset, or false when there is nothing to reuse, or nil and an
-- error when it cannot tell (then creating again could register the same reference twice).
local function reuse(self, args, e)
  local j = self.journal
  local key = journal.asset_key(self.provider, args)
  if e == nil then
    local gerr
    e, gerr = j:get(key)
    if e == nil then return self:_journal_error(gerr) end
  end
  if not e then return false, key end
  if e.id then
    local a, err = self:asset(e.id)
    if a and a.status ~= "failed" then return a, key end
    if a or err.kind == "not_found" then
      j:put(key, false)
      return false, key
    end
    return nil, err
  end
  -- an intent with no id: the create may have happened before the crash; look for it
  local a, err = self:_find_asset(args)
  if a then
    j:put(key, { kind = "asset", provider = self.provider, id = a.id, url = args.url, name = args.name,
                 group = args.group, at = core.time() })
    return a, key
  end
  if err then return nil, err end
  return false, key
end

local function loopback(u)
  local host = type(u) == "string" and u:match("^%a+://%[?([^/%]:]+)")
  return host == "127.0.0.1" or host == "localhost" or host == "::1" or (host and host:match("^127%.")) ~= nil
end

--- Whether an upload is probed and checked against the provider's limits first: unless
-- validate = false (client or call). Against an emulator on loopback, only references on
-- loopback too are fetched: a test's example URLs are not there to be downloaded.
function Client:_validates(args)
  if args.validate == false or not self.validate then return false end
  if args.file then return true end
  if loopback(self.base_url) then return loopback(args.url) end
  return true
end

--- An asset registered from the same URL (and name, when given) by anyone with this key,
-- found through the listing; nil when none (or when the provider cannot list).
function Client:_find_asset(args)
  if not (self.dialect.capabilities.list and args.url) then return nil end
  for a in self:assets({ group = args.group }) do
    if a.url == args.url and (args.name == nil or a.name == args.name) and a.status ~= "failed" then
      return a
    end
  end
  return nil, self:last_error()
end

local function intent(self, args)
  return { kind = "asset", provider = self.provider, url = args.url or args.file, name = args.name,
           group = args.group, at = core.time() }
end

local function fields_of(self, body, args, f)
  local d = self.dialect
  if not f then
    local err
    if d.parse_upload then f, err = self:_parse("object", d.parse_upload, body, args, self)
    else f, err = self:_parse("object", d.parse_asset, body) end
    if not f then return nil, err end
  end
  f.url = f.url or args.url
  f.type = f.type or args.type
  f.name = f.name or args.name
  f.group_id = f.group_id or args.group
  return f
end

-- one create, journaled around it when the client keeps a journal
local function create_one(self, args)
  local op, oerr = self.dialect.upload_asset(args, self)
  if not op then return nil, oerr end
  local j, key = self.journal, nil
  if j then
    key = journal.asset_key(self.provider, args)
    local ok, jerr = j:put(key, intent(self, args))
    if not ok then return self:_journal_error(jerr) end
  end
  local body, err, text = self:_call(op)
  if not body then
    if journal.definite(err) then
      if j then j:put(key, false, true) end
      return nil, err
    end
    -- the server may have registered it before the answer was lost: look before anyone
    -- creates it again
    local found = self:_find_asset(args)
    if not found then
      err.maybe_submitted = true
      return nil, err
    end
    local e = intent(self, args)
    e.id = found.id
    if j then j:put(key, e, true) end
    return self:_track(found)
  end
  local f, perr = fields_of(self, body, args)
  if not f then
    -- the service took the request; only its answer is unreadable
    perr.maybe_submitted = true
    return nil, perr
  end
  local a = asset.new(self, f, object.raw(body, text))
  if j then
    local e = intent(self, args)
    e.id = a.id
    local ok, jerr = j:put(key, e, true)
    if not ok then return self:_bookkeeping_error(self:_track(a), jerr) end
  end
  return self:_track(a)
end

local function check_and_create(self, args)
  if self:_validates(args) then
    local ok, verr = preflight.check(self, args)
    if not ok then return nil, verr end
  end
  return create_one(self, args)
end

-- one asset: with a journal, reused when anyone sharing the store registered it, and
-- created under the store's claim so that two workers never both register it
local function upload_one(self, args)
  if not self.journal then return check_and_create(self, args) end
  local function resolve(e)
    local found, err = reuse(self, args, e)
    if found then return self:_track(found) end
    if found == nil then return nil, err end
    return false
  end
  return journal.once(self, journal.asset_key(self.provider, args), resolve,
                      function() return check_and_create(self, args) end)
end

--- Register one asset. With a journal, an asset this client registered before (same
-- provider, URL, name and group) is reused instead of registered again.
-- @tparam table a {url=, type=, name=, group=, file=}
-- @return Asset (status "processing" at first), or nil and a seedance.Error
function Client:upload(a)
  check_upload(a, "client:upload", 3)
  if a.file and not self.dialect.capabilities.file_upload then
    error("client:upload: " .. self.provider .. " takes URLs, not local files", 2)
  end
  local args = normalize_upload(a)
  local sane, serr = self:_check_source(args)
  if not sane then return nil, serr end
  return upload_one(self, args)
end

-- the items of a batch not in `skip`: reused, or created through the batch endpoint
local function many(self, args, skip)
  local d = self.dialect
  local out, todo = {}, {}
  for i = 1, #args do
    -- an item in skip is another worker's: the caller waits for it
    if not skip[i] then
      local found, err = false, nil
      if self.journal then found, err = reuse(self, args[i]) end
      if found then out[i] = self:_track(found)
      elseif found == nil then out[i] = err
      else todo[#todo + 1] = i end
    end
  end
  local checks = {}
  for _, i in ipairs(todo) do
    if self:_validates(args[i]) then checks[#checks + 1] = i end
  end
  if #checks > 0 then
    local probes = {}
    for k, i in ipairs(checks) do probes[k] = args[i] end
    local keep = {}
    local verdicts = preflight.check_many(self, probes)
    local refused = {}
    for k, i in ipairs(checks) do
      if verdicts[k] ~= true then
        out[i] = verdicts[k]
        refused[i] = true
      end
    end
    for _, i in ipairs(todo) do
      if not refused[i] then keep[#keep + 1] = i end
    end
    todo = keep
  end
  if not d.capabilities.batch_upload then
    for _, i in ipairs(todo) do
      local x, err = create_one(self, args[i])
      out[i] = x or err
    end
  else
    local size = d.batch_size
    for first = 1, #todo, size do
      local chunk, idx, intents = {}, {}, {}
      for t = first, math.min(first + size - 1, #todo) do
        local i = todo[t]
        chunk[#chunk + 1] = args[i]
        idx[#idx + 1] = i
        if self.journal then intents[journal.asset_key(self.provider, args[i])] = intent(self, args[i]) end
      end
      if self.journal then
        local ok, jerr = self.journal:put_many(intents)
        if not ok then return self:_journal_error(jerr) end
      end
      local body, err, text = self:_call(d.upload_assets(chunk))
      if not body then
        if self.journal and journal.definite(err) then
          for k in pairs(intents) do intents[k] = false end
          self.journal:put_many(intents)
        end
        if first == 1 and next(out) == nil then return nil, err end
        for t = first, #todo do out[todo[t]] = err end
        break
      end
      local done = {}
      local results, perr = self:_parse("batch", d.parse_upload_batch, body, chunk)
      if not results then
        perr.maybe_submitted = true
        if first == 1 and next(out) == nil then return nil, perr end
        for t = first, #todo do out[todo[t]] = perr end
        break
      end
      for j, f in ipairs(results) do
        local i = idx[j]
        local key = self.journal and journal.asset_key(self.provider, args[i])
        if f.error then
          out[i] = self:_error({ kind = "validation",
            message = ("item %d (%s): %s"):format(i, tostring(args[i].url), tostring(f.error.message)),
            code = f.error.code })
          if key then done[key] = false end
        else
          -- the batch answer's text, one string shared by the assets it made
          out[i] = self:_track(asset.new(self, fields_of(self, body, args[i], f), object.raw(body, text)))
          if key then
            local e = intent(self, args[i])
            e.id = out[i].id
            done[key] = e
          end
        end
      end
      if self.journal then
        local ok, jerr = self.journal:put_many(done, true)
        -- these were created (and paid for): hand them over, the failure beside them
        if not ok then
          return out, self:_error({ kind = "network", retryable = false, code = "store",
            message = "assets were created but the journal could not record them: " .. tostring(jerr) })
        end
      end
    end
  end
  return out
end

--- Register many assets, through the provider's batch endpoint where it has one.
-- With a journal, each item is claimed in the store first: items another worker is
-- registering at the same moment are waited for and reused, never registered twice.
-- @tparam table list of upload tables
-- @return list of Asset in input order, or nil and a seedance.Error. When only some items
-- fail, the list holds an Error at their positions and `err` (second value) says how many.
function Client:upload_many(list)
  if type(list) ~= "table" then error("client:upload_many: expected a list of {url=...}", 2) end
  for i, a in ipairs(list) do check_upload(a, "client:upload_many: item " .. i, 3) end
  local args, bad = {}, {}
  for i, a in ipairs(list) do
    args[i] = normalize_upload(a)
    local _, serr = self:_check_source(args[i])
    bad[i] = serr -- refused before any request: never claimed, never sent
  end
  local j, keys, mine, later = self.journal, {}, {}, {}
  if j then
    local lease = journal.lease(self)
    for i = 1, #args do
      if not bad[i] then
        keys[i] = journal.asset_key(self.provider, args[i])
        local got, holder = j:claim(keys[i], lease)
        if got == nil then
          for k in pairs(mine) do j:release(keys[k]) end
          return self:_journal_error(holder)
        end
        if got then mine[i] = true else later[i] = true end
      end
    end
  end
  local skip = {}
  for i in pairs(later) do skip[i] = true end
  for i in pairs(bad) do skip[i] = true end
  local out, err = many(self, args, skip)
  for k in pairs(mine) do j:release(keys[k]) end
  if not out then return nil, err end
  for i, e in pairs(bad) do out[i] = e end
  if err then return out, err end
  for i in pairs(later) do
    local a, aerr = upload_one(self, args[i])
    out[i] = a or aerr
  end
  local nfail = 0
  for i = 1, #args do
    if errors.is(out[i]) then nfail = nfail + 1 end
  end
  if nfail > 0 then
    return out, self:_error({ kind = "validation",
      message = ("%d of %d uploads failed"):format(nfail, #list) })
  end
  return out
end

--- Fetch one asset by id.
-- @return Asset, or nil and a seedance.Error (`not_found` when it does not exist)
function Client:asset(id)
  check.text("client:asset", "id", id, true, 2)
  if id == nil then error("client:asset: 'id' must be a non-empty string", 2) end
  local d = self.dialect
  local body, err, text = self:_call(d.get_asset(id))
  if not body then return nil, err end
  local f, perr = self:_parse("object", d.parse_asset, body)
  if not f then return nil, perr end
  return asset.new(self, f, object.raw(body, text))
end

local LIST_KEYS = { status = true, group = true, page_size = true, order = true, max_pages = true,
                    timeout = true }

--- Iterate over every asset, page by page, lazily.
-- A failure ends the loop; client:last_error() then says why. A listing is bounded: at
-- most `max_pages` pages (default 1000) within `timeout` seconds (default 600).
-- @tparam[opt] table opts {status="active"|{...}, group=, page_size=, max_pages=, timeout=}
function Client:assets(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("client:assets: options must be a table", 2) end
  for k in pairs(opts) do
    if not LIST_KEYS[k] then error("client:assets: unknown option '" .. tostring(k) .. "'", 2) end
  end
  check.range("client:assets", "page_size", opts.page_size, 1, 10000, 2)
  check.range("client:assets", "max_pages", opts.max_pages, 1, 1e9, 2)
  check.timeout("client:assets", "timeout", opts.timeout, 2)
  self:_require("list", "list assets")
  local d = self.dialect
  local g = opts.group
  local args = { status = opts.status, group = id_of(g),
                 page_size = opts.page_size, order = opts.order }
  -- a provider without a list endpoint (crun) answers from what this client created
  if d.iterate_assets then return d.iterate_assets(self, args) end
  return pager.iterate(self, { who = "client:assets", parse = d.parse_list, max_pages = opts.max_pages,
    timeout = opts.timeout, op = function(page) return d.list_assets(args, page) end,
    make = function(f) return asset.new(self, f, f.raw) end })
end

--- Asset quota where the provider reports one.
-- @return {used=, limit=, ttl_days=}, or nil and a seedance.Error
function Client:quota()
  self:_require("quota", "report a quota")
  local d = self.dialect
  local body, err = self:_call(d.quota())
  if not body then return nil, err end
  local items, _, q = self:_parse("list", d.parse_list, body, 1)
  if not items then return nil, q end
  if not q then
    return nil, self:_error({ kind = "protocol",
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
    local id = id_of(x)
    if type(id) ~= "string" then error("client:delete_many: item " .. i .. " is not an asset or id", 2) end
    check.text("client:delete_many", "item " .. i, id, true, 2)
    ids[i] = id
  end
  self:_require("delete", "delete assets")
  local d = self.dialect
  local results = {}
  if d.capabilities.batch_delete then
    local size = d.batch_size
    for first = 1, #ids, size do
      local chunk = {}
      for i = first, math.min(first + size - 1, #ids) do chunk[#chunk + 1] = ids[i] end
      local body, err = self:_call(d.delete_assets(chunk))
      if not body then return nil, err end
      local outcomes, perr = self:_parse("outcomes", d.parse_delete_batch, body, chunk)
      if not outcomes then return nil, perr end
      for j, r in ipairs(outcomes) do results[chunk[j]] = r end
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
    if (object.kind(x) or type(x) == "table") and results[x.id] == true then x.deleted = true end
  end
  if bad > 0 then
    local e = self:_error({ kind = "provider",
      message = ("%d of %d deletions failed"):format(bad, #ids) })
    e.results = results
    return nil, e
  end
  return true
end

return Client
