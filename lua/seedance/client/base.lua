--- Client: one provider, one key, one engine.
-- Created by seedance.new(opts); see api.md for the option list.
-- @classmod seedance.Client
local engine = require "seedance.runtime.engine"
local http = require "seedance.wire.http"
local block = require "seedance.runtime.block"
local core = require "seedance.core"
local debug_log = require "seedance.wire.debug"
local check = require "seedance.client.check"
local errors = require "seedance.error"
local registry = require "seedance.providers"

local unpack = table.unpack or unpack -- luacheck: ignore
local function pack(...)
  return { n = select("#", ...), ... }
end

local Client = {}
Client.__index = Client
local M = { class = Client }

-- secrets live outside the object, so no dump of a client can show them
local secrets = setmetatable({}, { __mode = "k" })

-- the services this build has a dialect for (seedance.providers, the one registry)
M.providers = registry.available()

local OPTIONS = {
  provider = "string", api_key = "string", base_url = "string", timeout = "number",
  connect_timeout = "number", retries = "number", endpoints = "table", journal = "string", store = "string",
  access_key = "string", secret_key = "string", region = "string", control_url = "string",
  poll = "table", max_per_host = "number", user_agent = "string", ca_file = "string",
  ca_path = "string", verify_tls = "boolean", auth_scheme = "string", backoff_base = "number",
  backoff_max = "number", validate = "boolean", deadline = "number", track = "boolean", driver = "string",
  max_in_flight = "number", in_flight_lease = "number",
}

local POLL_DEFAULTS = {
  asset = { interval = 2, max = 15 }, task = { interval = 5, max = 30 },
  session = { interval = 2, max = 10 }, factor = 1.5, jitter = 0.2,
  -- one list request refreshes a whole page of pending objects, so rounds can come often
  list = { interval = 1, max = 4 },
}

local function check_options(opts)
  if type(opts) ~= "table" then error("seedance.new: options must be a table", 3) end
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if not want then error("seedance.new: unknown option '" .. tostring(k) .. "'", 3) end
    if type(v) ~= want then
      error(("seedance.new: option '%s' must be a %s, got %s"):format(k, want, type(v)), 3)
    end
  end
  if not opts.provider then error("seedance.new: 'provider' is required (one of " ..
    table.concat(M.providers, ", ") .. ")", 3) end
  if not registry.has(opts.provider) then
    error("seedance.new: unknown provider '" .. opts.provider .. "' (one of " ..
      table.concat(M.providers, ", ") .. ")", 3)
  end
  for _, k in ipairs({ "timeout", "connect_timeout", "deadline" }) do check.timeout("seedance.new", k, opts[k], 3) end
  check.range("seedance.new", "max_in_flight", opts.max_in_flight, 1, 1e6, 3)
  if opts.max_in_flight and opts.max_in_flight ~= math.floor(opts.max_in_flight) then
    error("seedance.new: 'max_in_flight' must be a positive integer", 3)
  end
  check.range("seedance.new", "in_flight_lease", opts.in_flight_lease, 0.1, 86400, 3)
  if opts.driver and opts.driver ~= "curl" and opts.driver ~= "ngx" then
    error("seedance.new: 'driver' must be \"curl\" or \"ngx\"", 3)
  end
  check.range("seedance.new", "retries", opts.retries, 0, 100, 3)
  if opts.retries and opts.retries ~= math.floor(opts.retries) then
    error("seedance.new: 'retries' must be a non-negative integer", 3)
  end
  check.range("seedance.new", "max_per_host", opts.max_per_host, 1, 1024, 3)
  check.range("seedance.new", "backoff_base", opts.backoff_base, 0, 3600, 3)
  check.range("seedance.new", "backoff_max", opts.backoff_max, 0, 3600, 3)
  -- credentials go into every request's headers: an absurd one is a mistake to say now
  for _, k in ipairs({ "api_key", "access_key", "secret_key", "user_agent", "region", "auth_scheme" }) do
    check.text("seedance.new", k, opts[k], false, 3)
  end
  for _, k in ipairs({ "journal", "store", "ca_file", "ca_path" }) do check.path("seedance.new", k, opts[k], 3) end
  for _, k in ipairs({ "base_url", "control_url" }) do
    if opts[k] ~= nil and not opts[k]:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]") then
      error("seedance.new: '" .. k .. "' must be an http(s) URL", 3)
    end
    check.text("seedance.new", k, opts[k], true, 3)
  end
end

local POLL_KINDS = { "asset", "task", "session", "list" }

-- one poll setting, checked where it is given: intervals have a floor (check.MIN_INTERVAL),
-- so no setting can send a service thousands of requests a second
local function poll_value(name, k, v)
  if k == "interval" or k == "max" then
    check.interval("seedance.new", name, v, 4)
  elseif k == "factor" then
    check.range("seedance.new", name, v, 1, 10, 4)
  elseif k == "jitter" then
    check.range("seedance.new", name, v, 0, 1, 4)
  else
    error("seedance.new: unknown poll option '" .. name .. "'", 4)
  end
end

local function poll_config(p)
  local out = { factor = POLL_DEFAULTS.factor, jitter = POLL_DEFAULTS.jitter }
  for _, kind in ipairs({ "asset", "task", "session", "list" }) do
    out[kind] = { interval = POLL_DEFAULTS[kind].interval, max = POLL_DEFAULTS[kind].max }
  end
  if p then
    for k, v in pairs(p) do
      if k == "interval" or k == "max" then
        poll_value("poll." .. k, k, v)
        for _, kind in ipairs(POLL_KINDS) do out[kind][k] = v end
      elseif k == "factor" or k == "jitter" then
        poll_value("poll." .. k, k, v)
        out[k] = v
      elseif out[k] then
        if type(v) ~= "table" then error("seedance.new: poll." .. tostring(k) .. " must be a table", 4) end
        for kk, vv in pairs(v) do
          if kk ~= "interval" and kk ~= "max" then
            error("seedance.new: unknown poll option 'poll." .. k .. "." .. tostring(kk) .. "'", 4)
          end
          poll_value("poll." .. k .. "." .. kk, kk, vv)
          out[k][kk] = vv
        end
      else
        error("seedance.new: unknown poll option '" .. tostring(k) .. "'", 4)
      end
    end
    for _, kind in ipairs({ "asset", "task", "session", "list" }) do
      if out[kind].max < out[kind].interval then out[kind].max = out[kind].interval end
    end
  end
  return out
end

--- Create a client (see seedance.new).
-- @static
function M.new(opts)
  check_options(opts)
  local dialect = registry.get(opts.provider)
  -- options only one provider understands (Sunra's auth_scheme) are checked by its dialect
  local bad = dialect.check_options and dialect.check_options(opts)
  if bad then error("seedance.new: " .. bad, 2) end
  local key = opts.api_key or os.getenv("SEEDANCE_API_KEY")
  if not key or key == "" then
    -- a dialect with a second credential (Ark's key pair) may work without one
    if not (dialect.key_optional and dialect.key_optional(opts)) then
      error("seedance.new: 'api_key' is required (or set SEEDANCE_API_KEY)", 2)
    end
    key = nil
  end
  local endpoints = {}
  for k, v in pairs(dialect.endpoints) do endpoints[k] = v end
  for k, v in pairs(opts.endpoints or {}) do
    if not dialect.endpoints[k] then
      error("seedance.new: " .. opts.provider .. " has no endpoint named '" .. tostring(k) .. "'", 2)
    end
    if type(v) ~= "string" then error("seedance.new: endpoints." .. k .. " must be a string", 2) end
    endpoints[k] = v
  end
  local base = (opts.base_url or dialect.base_url):gsub("/+$", "")
  local eng, err = engine.new({
    timeout = opts.timeout or 30, connect_timeout = opts.connect_timeout or 10,
    retries = opts.retries or 4, max_per_host = opts.max_per_host or 32,
    user_agent = opts.user_agent or ("seedance-lua/" .. M.VERSION), ca_file = opts.ca_file,
    ca_path = opts.ca_path, verify_tls = opts.verify_tls, backoff_base = opts.backoff_base,
    backoff_max = opts.backoff_max, driver = opts.driver,
  })
  if not eng then error("seedance.new: cannot start the engine: " .. tostring(err), 2) end
  local control = opts.control_url or dialect.control_url
  local c = setmetatable({
    provider = opts.provider, dialect = dialect, endpoints = endpoints, base_url = base,
    control_url = control and control:gsub("/+$", "") or nil, region = opts.region or dialect.region,
    timeout = opts.timeout or 30, engine = eng, poll = poll_config(opts.poll), deadline = opts.deadline,
    validate = opts.validate ~= false, auto_track = opts.track == true, debug = debug_log.enabled(),
    -- with a store: the account's tasks in flight across every worker (client/tasks.lua)
    max_in_flight = (opts.journal or opts.store) and (opts.max_in_flight or dialect.max_in_flight) or nil,
    -- how long a task's slot counts without word from its worker (one that died)
    in_flight_lease = opts.in_flight_lease or 600,
  }, Client)
  secrets[c] = { api_key = key, secret_key = opts.secret_key, access_key = opts.access_key,
                 auth_scheme = opts.auth_scheme }
  -- known to the one redaction from now on: no error or log line of any client shows them
  errors.remember(key)
  errors.remember(opts.secret_key)
  if opts.journal and opts.store then error("seedance.new: give 'journal' or 'store', not both", 2) end
  if opts.journal or opts.store then
    -- keys are namespaced by a digest of the credential (seedance.store), never the credential
    c.journal = require("seedance.store.journal").open(opts.store or opts.journal, {
      provider = c.provider, secret = key or opts.access_key,
      who = "seedance.new: " .. (opts.store and "store" or "journal") })
    -- a provider with no list endpoint (crun) lists what this client's journal recorded
    if dialect.remember then
      for _, it in ipairs(c.journal:list("asset", c.provider)) do
        if it.entry.id then dialect.remember(c, it.entry.id, it.entry.group) end
      end
    end
  end
  return c
end

function Client:__tostring()
  return "seedance.Client(" .. self.provider .. " " .. self.base_url .. ")"
end

function Client:_secrets()
  local s = secrets[self] or {}
  -- no holes: redaction walks this with ipairs, and api_key may be absent
  local out = {}
  if s.api_key then out[#out + 1] = s.api_key end
  if s.secret_key then out[#out + 1] = s.secret_key end
  return out
end

--- Credential headers for one request; `req` is {method=, url=, body=, headers=} as it
-- will be sent, so a signing dialect (Ark's control plane) can sign exactly that.
function Client:_auth_headers(op, req)
  local s = secrets[self]
  return self.dialect.auth(s.api_key, op, s, req, self)
end

--- Whether this client can fetch an asset by id (Ark's library needs its key pair).
function Client:_can_look_up()
  local f = self.dialect.can_look_up
  return not f or f(secrets[self] or {})
end

--- Whether this client's service can do `what`: "assets", "list", "delete", "groups",
-- "sessions", "generate", "cancel", "quota", ... (a method it cannot serve raises).
-- @tparam string what
-- @treturn boolean
function Client:can(what)
  return self.dialect.capabilities[what] == true
end

--- Raise unless the provider has capability `cap` (what is named in the message).
function Client:_require(cap, what)
  if not self.dialect.capabilities[cap] then
    error("seedance: " .. self.provider .. " cannot " .. what, 3)
  end
end

--- Send operation `op` and call cb(body, nil, text) or cb(nil, err) from a later step
-- (`text`: the answer's bytes, which objects keep as their raw). Returns the id.
function Client:_op_async(op, cb)
  local req = http.request(self, op)
  local t0 = self.debug and debug_log.request(self, req)
  return self.engine:submit(req, function(r)
    if t0 then debug_log.result(self, req, r, t0) end
    local body, err = http.response(self, op, r, req)
    self._last_error = err
    return cb(body, err, r.body)
  end)
end

--- Run fn(...) with every request it blocks on bounded by `seconds` from now (and by any
-- bound already in force): the whole of a compound call, attempts, backoff and lookups.
-- @return what fn returns
function Client:_within(seconds, fn, ...)
  local outer = self._until
  local at = core.now() + seconds
  if outer and outer < at then at = outer end
  self._until = at
  local out = pack(pcall(fn, ...))
  self._until = outer
  if not out[1] then error(out[2], 0) end
  return unpack(out, 2, out.n)
end

--- Send operation `op` and block until it is answered (or its deadline passes: the call's
-- bound (_within), else the client's `deadline`).
-- @return decoded body (and the answer's bytes), or nil and a seedance.Error
function Client:_call(op)
  local left = self._until and (self._until - core.now()) or self.deadline
  if left then
    if left <= 0.001 then
      return nil, http.new_error(self, { kind = "timeout", code = "deadline", retryable = true,
                                         message = "no time left for the request before the call's deadline" })
    end
    if not op.deadline or op.deadline > left then op.deadline = left end
  end
  local result, failure, text, finished = nil, nil, nil, false
  local id = self:_op_async(op, function(body, err, bytes)
    result, failure, text, finished = body, err, bytes, true
  end)
  -- the engine enforces per-attempt timeouts; this bound only guards against a driver bug
  local bound = core.now() + (left and math.min(left + 5, (self.timeout + 70) * 8) or (self.timeout + 70) * 8)
  if not block.until_done({ self.engine }, function() return finished end, bound) then
    self.engine:cancel(id)
    return nil, http.new_error(self, { kind = "timeout", message = "request did not finish in time" })
  end
  if failure then return nil, failure end
  return result, nil, text
end

--- A journal write failed: nothing was created, and the caller learns why.
function Client:_journal_error(msg)
  return nil, self:_error({ kind = "network", retryable = false, code = "store",
                            message = "cannot write the journal: " .. tostring(msg) })
end

--- The store could not record an object just created (and paid for): the object is
-- returned all the same, with this error beside it (`err.id`, `err.object`), so its id is
-- never lost; the intent written before the create stays, so no rerun creates it again.
-- @return obj, err
function Client:_bookkeeping_error(obj, msg)
  local what = require("seedance.model.object").kind(obj) or "object"
  return obj, self:_error({ kind = "network", retryable = false, code = "store", id = obj.id, object = obj,
    message = ("%s %s was created but the journal could not record it: %s"):format(what, tostring(obj.id),
      tostring(msg)) })
end

--- The client's watcher of the C scheduler's polls (created on first use).
function Client:_tracker()
  if not self._poller then
    self._poller = require("seedance.runtime.watch").new(self)
    self.engine.watch = self._poller
  end
  return self._poller
end

--- With seedance.new{track = true} (game loops), every object this client creates is
-- refreshed by step() until it is terminal; otherwise only waits and client:track() poll.
function Client:_track(obj)
  -- when it was made here: a wait that starts soon after looks sooner (watch.add)
  obj._born = self.engine:now()
  if self.auto_track then self:_tracker():add(obj, true) end
  return obj
end

--- Refresh `obj` from every step() until it is terminal, so a game loop can read its fields.
-- @return obj
function Client:track(obj)
  local kind = require("seedance.model.object").kind(obj)
  if kind == nil or kind == "group" then
    error("client:track: expected an asset, task or session", 2)
  end
  self:_tracker():add(obj)
  return obj
end

--- Stop refreshing `obj`.
function Client:untrack(obj)
  if self._poller then self._poller:remove(obj) end
end

--- The error that ended the last operation (for iterators, which cannot return one).
function Client:last_error()
  return self._last_error
end

--- Advance every transfer and poll that is due, without blocking.
-- @treturn integer how many requests and polls are still in motion
function Client:step()
  return self.engine:step()
end

--- Close the engine and every connection (idempotent).
function Client:close()
  self.engine:close()
  if self.journal then self.journal:close() end
end

--- Read an answer with dialect parse function `fn(body, ...)`, under guard (http.parse):
-- its results, or nil and a `protocol` error for an answer of the wrong shape.
function Client:_parse(shape, fn, body, ...)
  return http.parse(self, shape, fn, body, ...)
end

--- The error value used when a call is refused before any request.
function Client:_invalid(message, code)
  return nil, self:_error({ kind = "validation", message = message, code = code })
end

--- A seedance.Error from this client: its provider named, its secrets redacted.
function Client:_error(fields)
  return http.new_error(self, fields)
end

return M
