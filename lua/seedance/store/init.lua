--- The store: the single record of what a client created and claimed, shared by every
-- process that opens the same one. A path is the embedded SQLite store (many processes on
-- one machine: nginx workers, parallel scripts); `redis://host:port/db` is Redis (workers
-- on many machines). Both live in the C core (src/store_*.c) behind one interface.
--
-- What a client keeps here: an *intent* written before each paid create, the id written
-- right after it, looked up on every rerun (so nothing is paid twice); *claims* with a
-- lease, so two workers running the same workflow split it and a crashed worker's share
-- is picked up when its lease runs out; *slots*, a counter of things in flight shared by
-- every worker (a fleet-wide cap, e.g. Ark's 120 queued tasks per account).
--
-- Every key is namespaced by account: a digest of the API key (never the key itself), so
-- two accounts sharing one store never see each other's records. Values are JSON.
--
-- Failures: a store that cannot be reached or written returns `nil, message` (the caller
-- decides: before a create nothing is sent; after one, the object is still returned);
-- misuse (a bad argument) raises.
--
-- Usage (what a production or a worker does; `client.journal` is a client's view):
--
--     local s = client.journal                         -- nil without journal=/store=
--     local got, holder = s:claim("shot:3", 60)         -- mine for 60 s (renew by claiming again)
--     if got then ... s:release("shot:3") end           -- else another worker has it
--     local mine, e = s:claim_entry("k", 60, intent)    -- claim + read; intent written when none
--     s:put("k", done, true)                           -- a completion: also ends the claim
--     s:put("prod:x:shot:3", {kind = "shot", provider = client.provider, status = "done"})
--     local e = s:get("prod:x:shot:3")                 -- entry | false | nil, err
--     for _, it in ipairs(s:list("shot", client.provider)) do print(it.key, it.entry.status) end
--     local ok, live = s:slot("tasks", "task-key", 120, 3600)  -- a fleet-wide in-flight cap
--     s:unslot("tasks", "task-key")
-- @module seedance.store
local core = require "seedance.core"
local json = require "seedance.wire.json"

local M = {}

--- A view of a store for one account (what `client.journal` is).
-- @type Store
local Store = {}
Store.__index = Store
M.Store = Store

-- A JSON journal bigger than this is not one (a device or a runaway file read whole would
-- exhaust memory); the old format kept one small entry per create.
local MAX_JSON = 64 * 1024 * 1024
local JSON_FORMAT = 1
local SQLITE_MAGIC = "SQLite format 3\0"

--- The account part of every key: a digest of the credential, never the credential.
-- @tparam ?string secret the API key (or access key)
-- @treturn string 16 hex digits ("anonymous" without a credential)
function M.account(secret)
  if type(secret) ~= "string" or secret == "" then return "anonymous" end
  return core.sha256_hex("seedance store account\n" .. secret):sub(1, 16)
end

-- "redis://host[:port][/db][?timeout=s]" -> host, port, db, timeout; raises on a bad URL
local function parse_redis(spec, who)
  local rest = spec:sub(9)
  local query = rest:match("%?(.*)$")
  rest = rest:gsub("%?.*$", "")
  local host, port, db = rest:match("^([^:/]+):?(%d*)/?(%d*)$")
  if not host or rest:find("@", 1, true) then
    error(who .. ": '" .. spec .. "' is not redis://host[:port][/db]", 4)
  end
  local timeout
  if query then
    timeout = tonumber(query:match("^timeout=([%d.]+)$") or "")
    if not timeout or timeout <= 0 then error(who .. ": the only query of a redis URL is ?timeout=<seconds>", 4) end
  end
  return host, tonumber(port ~= "" and port or "6379"), tonumber(db ~= "" and db or "0"), timeout
end

-- what sits at a journal path: "missing", "sqlite" or "json" (with its text); raises when
-- it is none of them, leaving the file as it is (it may be the only record of paid work)
local function inspect(path, who)
  if #path == 0 or path:find("\0", 1, true) then
    error(who .. ": the path must be a non-empty string without NUL", 4)
  end
  local kind, size = core.file_kind(path)
  if kind == nil then error(who .. ": cannot look at '" .. path .. "': " .. tostring(size), 4) end
  if kind == "missing" then return "missing" end
  if kind ~= "file" then error(who .. ": '" .. path .. "' is not a regular file (a " .. kind .. ")", 4) end
  if size == 0 then return "missing" end
  local f, err = io.open(path, "rb")
  if not f then error(who .. ": cannot read '" .. path .. "': " .. tostring(err), 4) end
  local head = f:read(16) or ""
  if head == SQLITE_MAGIC then
    f:close()
    return "sqlite"
  end
  if not head:match("^%s*{") or size > MAX_JSON then
    f:close()
    error(who .. ": '" .. path .. "' is not a seedance journal (left as it is; move it away to start afresh)", 4)
  end
  local text = head .. (f:read("*a") or "")
  f:close()
  return "json", text
end

local function free_name(base)
  local name, n = base, 0
  while core.file_kind(name) ~= "missing" do
    n = n + 1
    name = base .. "." .. n
  end
  return name
end

-- group of an entry: what list(kind, provider) finds it by
local function group(ns, provider, kind)
  return ns .. "\n" .. tostring(provider) .. "\n" .. tostring(kind)
end

-- The old format (one JSON document) becomes an SQLite store at the same path, once:
-- every entry is written to a new file in one transaction, the old file is kept beside it
-- as <path>.json-backup, then the new file is renamed over the path (atomic: a crash
-- leaves the JSON journal in place, and the next open migrates again).
local function migrate(path, text, ns, who)
  local doc = json.decode(text)
  if type(doc) ~= "table" or doc.seedance_journal ~= JSON_FORMAT or type(doc.entries) ~= "table" then
    error(who .. ": '" .. path .. "' is not a seedance journal (left as it is; move it away to start afresh)", 4)
  end
  local tmp = path .. ".migrating-" .. core.process_tag():gsub("[^%w]", "_")
  local raw, err = core.store_open("sqlite", tmp)
  if not raw then error(who .. ": cannot migrate '" .. path .. "': " .. tostring(err), 4) end
  local recs = {}
  for k, e in pairs(doc.entries) do
    if type(k) == "string" and type(e) == "table" then
      recs[#recs + 1] = { ns .. "\n" .. k, json.encode(e), group(ns, e.provider, e.kind), tonumber(e.at) or 0 }
    end
  end
  local ok, perr = raw:put(recs)
  raw:close()
  if not ok then
    os.remove(tmp)
    error(who .. ": cannot migrate '" .. path .. "': " .. tostring(perr), 4)
  end
  local backup = free_name(path .. ".json-backup")
  local wrote, werr = core.write_durable(backup, text)
  if not wrote then
    os.remove(tmp)
    error(who .. ": cannot keep a backup of '" .. path .. "': " .. tostring(werr), 4)
  end
  -- another process may have migrated it meanwhile: then its store stands, ours goes
  if inspect(path, who) ~= "json" then
    os.remove(tmp)
    return
  end
  local moved, merr = os.rename(tmp, path)
  if not moved then
    os.remove(tmp)
    error(who .. ": cannot migrate '" .. path .. "': " .. tostring(merr), 4)
  end
end

--- Open the store named by `spec` for one account.
-- @tparam string spec a file path (SQLite; an old JSON journal there is migrated once,
-- kept as `<path>.json-backup`), `sqlite:<path>?timeout=<seconds>`, or
-- `redis://host[:port][/db][?timeout=seconds]`
-- @tparam table opts {provider=, secret= (digested, never kept), who= (the name in errors),
-- timeout= (seconds a call may wait for another process or a restarting server, default 10)}
-- @treturn Store; raises when `spec` names something that is not a store (left untouched).
-- A store that cannot be reached yet is opened on first use; its calls return nil, message.
function M.open(spec, opts)
  opts = opts or {}
  local who = opts.who or "seedance.store"
  if type(spec) ~= "string" then error(who .. ": expected a path or a redis:// URL", 3) end
  local s = setmetatable({ spec = spec, ns = "acct:" .. M.account(opts.secret), owner = core.process_tag(),
                           timeout = opts.timeout, held = {} }, Store)
  if spec:sub(1, 8) == "redis://" then
    local host, port, db, timeout = parse_redis(spec, who)
    s.args = { "redis", host, port, db, timeout or opts.timeout }
  else
    -- "sqlite:<path>?timeout=<seconds>" sets how long a write waits for another process
    local path, timeout = spec:match("^sqlite:(.-)%?timeout=([%d.]+)$")
    path = path or spec:gsub("^sqlite:", "")
    local kind, text = inspect(path, who)
    if kind == "json" then migrate(path, text, s.ns, who) end
    s.args = { "sqlite", path, tonumber(timeout) or opts.timeout }
  end
  s:_raw()
  return s
end

-- the C handle, opened now if it could not be before
function Store:_raw()
  if self.raw then return self.raw end
  local a = self.args
  local raw, err = core.store_open(a[1], a[2], a[3], a[4], a[5])
  if not raw then return nil, err end
  self.raw = raw
  return raw
end

--- Which backend: "sqlite" or "redis".
function Store:backend()
  return self.args[1]
end

-- a stored value as an entry: the table, false for none, or nil and a message
local function entry_of(v)
  if v == false then return false end
  local e = json.decode(v)
  if type(e) ~= "table" then return nil, "the store holds a damaged entry under this key" end
  return e
end

--- The entry under `key`.
-- @tparam string key
-- @return the entry (a table), false when there is none, or nil and a message
function Store:get(key)
  local raw, err = self:_raw()
  if not raw then return nil, err end
  local v, gerr = raw:get(self.ns .. "\n" .. key)
  if v == nil then return nil, gerr end
  return entry_of(v)
end

-- the record of an entry as the C store takes it: {key, value | false, group, at}
local function record(self, k, e)
  if e == false then return { self.ns .. "\n" .. k, false } end
  return { self.ns .. "\n" .. k, json.encode(e), group(self.ns, e.provider, e.kind), e.at or core.time() }
end

--- Set several entries at once: all are written or none (one transaction), durably.
-- @tparam table t key -> entry (a table with `kind` and `provider`), or false to remove
-- @tparam[opt] boolean completes these entries complete creates this process began under
-- its claims on those keys, after writing their intents (the id, or the removal after a
-- create that provably did nothing): the claims end in the same write, and the write may
-- ride on the next sync (SQLite). A power loss that takes it leaves the intent, an
-- outcome unknown, so nothing is paid twice; a crash of the process loses nothing.
-- @return true, or nil and a message
function Store:put_many(t, completes)
  local raw, err = self:_raw()
  if not raw then return nil, err end
  local recs = {}
  for k, e in pairs(t) do recs[#recs + 1] = record(self, k, e) end
  local ok, perr = raw:put(recs, completes and self.owner or nil)
  if ok and completes then
    for k in pairs(t) do self.held[k] = nil end
  end
  return ok, perr
end

--- Set one entry (false removes it).
-- @tparam string key
-- @param entry a table, or false
-- @tparam[opt] boolean completes as for put_many
-- @return true, or nil and a message
function Store:put(key, entry, completes)
  return self:put_many({ [key] = entry }, completes)
end

--- Entries of one kind for one provider, oldest first (by when each was first written).
-- @return list of {key=, entry=} (empty when the store cannot be read: see the second value)
function Store:list(kind, provider)
  local out = {}
  local raw, err = self:_raw()
  if not raw then return out, err end
  local keys, vals = raw:list(group(self.ns, provider, kind))
  if not keys then return out, vals end
  local cut = #self.ns + 2
  for i, k in ipairs(keys) do
    local e = json.decode(vals[i])
    if type(e) == "table" then out[#out + 1] = { key = k:sub(cut), entry = e } end
  end
  return out
end

--- Claim `key` for this process for `lease` seconds (claiming again renews it).
-- @treturn true when this process holds it, false and the holder when another live one
-- does, or nil and a message
function Store:claim(key, lease)
  local raw, err = self:_raw()
  if not raw then return nil, err end
  local got, holder = raw:claim(self.ns .. "\n" .. key, self.owner, lease)
  if got then self.held[key] = true end
  return got, holder
end

--- Claim `key` as `claim` does and, in the same transaction, read its entry; when it has
-- none and `intent` is given, record `intent` there (durably, before the claim is
-- granted): a create's claim and its intent are one write instead of two.
-- @tparam string key
-- @tparam number lease seconds
-- @tparam[opt] table intent the entry to record when there is none
-- @return true and the entry as it was (false: none, so `intent` is now recorded), or
-- false and the holder when another live process holds the claim, or nil and a message
function Store:claim_entry(key, lease, intent)
  local raw, err = self:_raw()
  if not raw then return nil, err end
  local got, v
  if intent then
    local r = record(self, key, intent)
    got, v = raw:claim(r[1], self.owner, lease, r[2], r[3], r[4])
  else
    got, v = raw:claim(self.ns .. "\n" .. key, self.owner, lease, true)
  end
  if not got then return got, v end
  self.held[key] = true
  local e, derr = entry_of(v)
  if e == nil then
    self:release(key)
    return nil, derr
  end
  return true, e
end

--- Give up a claim this process holds (nothing when another holds it, or when this
-- process gave it up already: with a put that `completes` it).
-- @return true, or nil and a message
function Store:release(key)
  if not self.held[key] then return true end
  local raw, err = self:_raw()
  if not raw then return nil, err end
  local ok, rerr = raw:release(self.ns .. "\n" .. key, self.owner)
  if ok then self.held[key] = nil end
  return ok, rerr
end

--- Take one of at most `limit` slots of `counter`, shared by every process on this store,
-- held by `token` for `lease` seconds (taking it again renews it).
-- @treturn boolean taken, and how many are live; or nil and a message
function Store:slot(counter, token, limit, lease)
  local raw, err = self:_raw()
  if not raw then return nil, err end
  return raw:slot(self.ns .. "\n" .. counter, token, limit, lease)
end

--- Give back the slot `token` holds.
-- @return true, or nil and a message
function Store:unslot(counter, token)
  local raw, err = self:_raw()
  if not raw then return nil, err end
  return raw:unslot(self.ns .. "\n" .. counter, token)
end

--- Close the connection (idempotent; a later call opens it again).
function Store:close()
  if self.raw then self.raw:close() end
  self.raw = nil
end

return M
