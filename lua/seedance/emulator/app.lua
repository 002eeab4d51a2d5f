--- The emulator's router, run by the C core on the server's own Lua state.
--
-- `app.new(config_json)` returns a server with `:handle(req)` (one HTTP request, see
-- seedance.emucore) and `:control(json)` (test control). It mounts provider twins (at the
-- root for one provider, under `/<provider>` for "all"), counts every request, injects
-- faults (here and nowhere else), adds latency, and hands each routed request to
-- seedance.emulator.twin, which keeps it, checks its credential and runs the route.
-- A twin is described in seedance.emulator.twin.
--
-- `env` gives a twin the emulator's clock (`env.now()`), live config (`env.config`), id
-- source (`env.new_id(prefix)`), `env.created(key)` to count a create (and a duplicate
-- create of the same key), `env.started(task)` to count a task in flight, and
-- `env.notify(url, body, about)` to POST a callback (seedance.emulator.callbacks).
-- A twin's `tick` runs on the C core's ticker thread (Server:tick).
-- @module seedance.emulator.app

local T = require "seedance.emulator.twin"
local tasks = require "seedance.emulator.tasks"
local callbacks = require "seedance.emulator.callbacks"
local options = require "seedance.emulator.options"

local ok_emucore, emucore = pcall(require, "seedance.emucore")
local wall_clock = ok_emucore and emucore.now or os.time

local app = {}

--- Every provider the emulator speaks (the library's registry), in mount order for "all".
app.PROVIDERS = require("seedance.providers").NAMES

local CONTROL_PATH = "/__emulator/control"
local FILES_PREFIX = "/__emulator/files/"

--- Loads the twin of one of app.PROVIDERS (seedance.emulator.<name>); nil for another name.
function app.load_twin(name)
  for _, p in ipairs(app.PROVIDERS) do
    if p == name then return require("seedance.emulator." .. name) end
  end
end

local Server = {}
Server.__index = Server

local function new_stats()
  return {requests = 0, by_route = {}, by_status = {}, creates = 0, creates_by_provider = {}, duplicate_creates = 0,
          faults = 0, in_flight = {}, max_in_flight = {}}
end

local function bump(t, k)
  t[k] = (t[k] or 0) + 1
end

local function match_route(route, path)
  local caps = {path:match(route.lua_pattern)}
  if caps[1] == nil then return nil end
  local params = {}
  for i, name in ipairs(route.names) do params[name] = caps[i] end
  return params
end

-- Compiles a twin's routes under a prefix: static paths in a hash, the others in a list (a Lua
-- pattern and the names of its parameters), so the common case is one table lookup. A route
-- `{method, "/path/{param}", fn, ...}` keeps the twin's own fields (create, auth, ...).
local function compile_mount(twin, prefix)
  local m = {twin = twin, prefix = prefix, name = twin.name, static = {}, dynamic = {}, paths = {}}
  for _, r in ipairs(twin.routes) do
    local route = {method = r[1], fn = r[3], names = {}, key = r[1] .. " " .. prefix .. r[2]}
    for k, v in pairs(r) do
      if type(k) ~= "number" then route[k] = v end
    end
    route.lua_pattern = "^" .. r[2]:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"):gsub("{([%w_]+)}", function(name)
      route.names[#route.names + 1] = name
      return "([^/]+)"
    end) .. "$"
    if #route.names == 0 then
      m.static[r[1] .. " " .. r[2]] = route
      m.paths[r[2]] = true
    else
      m.dynamic[#m.dynamic + 1] = route
    end
  end
  return m
end

--- A new server from a JSON config string (see seedance.emulator.start).
function app.new(config_json)
  local cfg = {}
  if config_json and config_json ~= "" then
    local decoded, err = T.decode(config_json)
    if type(decoded) ~= "table" then error("emulator config: " .. tostring(err or "not an object"), 0) end
    cfg = decoded
  end
  for k, v in pairs(options.DEFAULTS) do
    if cfg[k] == nil then cfg[k] = v end
  end
  if cfg.api_key == T.null then cfg.api_key = nil end
  if type(cfg.faults) ~= "table" then cfg.faults = {} end

  local self = setmetatable({config = cfg, offset = 0, queue = {}}, Server)

  self.mounts = {}
  for _, name in ipairs(cfg.provider == "all" and app.PROVIDERS or {cfg.provider}) do
    local twin = app.load_twin(name) or error("no emulator twin for provider '" .. tostring(name) .. "'", 0)
    self.mounts[#self.mounts + 1] = compile_mount(twin, cfg.provider == "all" and ("/" .. name) or "")
  end
  self:reset()
  return self
end

--- Clears every twin's state, the fault queue, the stats and the clock
-- offset. Settings (start options and configure) stay as they are.
function Server:reset()
  local server = self
  self.offset = 0
  self.queue = {}
  self.stats = new_stats()
  self.fault_rng = T.rng(self.config.seed)
  self.id_rng = T.rng((tonumber(self.config.seed) or 1) + 7919)
  self.live = {}
  self.issued = {}
  self.created_keys = {}
  self.media = {}
  self.media_expired = false
  self.files = {}
  self.callbacks = callbacks.new()
  for _, m in ipairs(self.mounts) do
    local env = {
      config = self.config,
      now = function() return server:now() end,
      new_id = function(prefix) return T.new_id(server.id_rng, server.issued, prefix, server:now()) end,
      created = function(key) server:count_create(m.name, key) end,
      media = self.media,
      rng = self.id_rng,
      notify = function(url, body, about) callbacks.post(server.callbacks, url, body, about) end,
    }
    env.started = function(task) server:count_task(m.name, task, env) end
    m.env = env
    m.state = m.twin.new and m.twin.new(env) or T.state()
  end
end

-- The tasks of a twin still queued or running (a finished one leaves the live list here,
-- so the list stays as short as what is in flight).
function Server:in_flight(name, env)
  local live, n = self.live[name] or {}, 0
  for i = 1, #live do
    local st = tasks.state(live[i], env)
    if st == "queued" or st == "running" then
      n = n + 1
      live[n] = live[i]
    end
  end
  for i = #live, n + 1, -1 do live[i] = nil end
  self.live[name] = live
  return n
end

function Server:count_task(name, task, env)
  local n = self:in_flight(name, env) + 1
  self.live[name][n] = task
  local s = self.stats
  if n > (s.max_in_flight[name] or 0) then s.max_in_flight[name] = n end
end

--- The timed work of every twin (callbacks of tasks that changed), then the deliveries
-- under way; called by the C core's ticker. Returns the seconds until the next tick: soon
-- while anything is under way, else a quarter second.
function Server:tick()
  local busy = false
  for _, m in ipairs(self.mounts) do
    if m.twin.tick and m.twin.tick(m.state, m.env) then busy = true end
  end
  if callbacks.deliver(self.callbacks) then busy = true end
  return busy and 0.02 or 0.25
end

--- The emulator's clock: wall time plus what {op="advance"} added.
function Server:now()
  return wall_clock() + self.offset
end

function Server:count_create(provider, key)
  local s = self.stats
  s.creates = s.creates + 1
  bump(s.creates_by_provider, provider)
  if key ~= nil then
    local k = provider .. "\0" .. tostring(key)
    if self.created_keys[k] then
      s.duplicate_creates = s.duplicate_creates + 1
    else
      self.created_keys[k] = true
    end
  end
end

-- The path below a mount's prefix ("/" for the prefix itself), or nil when it is not under it.
local function below(prefix, path)
  if prefix == "" then return path end
  local rest = path:sub(#prefix + 1)
  if path:sub(1, #prefix) ~= prefix or (rest ~= "" and rest:sub(1, 1) ~= "/") then return nil end
  return rest == "" and "/" or rest
end

-- Finds (mount, route, params) for a request; a route of the right path but
-- another method comes back as (mount, nil, nil, true) for a 405.
function Server:resolve(method, path)
  for _, m in ipairs(self.mounts) do
    local p = below(m.prefix, path)
    if p then
      local route = m.static[method .. " " .. p]
      if route then return m, route, {} end
      local wrong_method = m.paths[p] or false
      for _, r in ipairs(m.dynamic) do
        local params = match_route(r, p)
        if params then
          if r.method == method then return m, r, params end
          wrong_method = true
        end
      end
      return m, nil, nil, wrong_method
    end
  end
end

--- Faults

-- What a fault's status says when the fault gives no body.
local DEFAULT_MESSAGES = {
  [429] = "rate limit exceeded, please retry later",
  [500] = "internal server error",
  [502] = "bad gateway",
  [503] = "service temporarily unavailable",
  [504] = "gateway timeout",
  [455] = "service under maintenance, please retry later",
}

-- An error in the shape of the provider a request reached (outside any: {"error": ...}).
local function error_answer(mount, status, message)
  if mount then return mount.twin.error(status, message) end
  return T.json(status, {error = message})
end

-- A fault only delays or cuts an answer when it names no status and no close.
local function fault_alters_only(fault)
  return fault.status == nil and not fault.close
end

-- half of a JSON body: well-formed HTTP carrying JSON no parser accepts
local function malform(body)
  body = body or "{}"
  return body:sub(1, math.max(1, math.floor(#body / 2))) .. "\0}"
end

-- Applies a fault: it delays, cuts or spoils the answer the twin produced, or answers in
-- its place in the shape of the provider it hits (with process = true, after the request
-- took effect: the answer was lost).
local function spoil(answer, fault, mount)
  if fault_alters_only(fault) then
    if fault.delay then answer.delay = (answer.delay or 0) + fault.delay end
    if fault.truncate then answer.truncate = fault.truncate end
    if fault.malformed then answer.body = malform(answer.body) end
    return answer
  end
  if fault.close then return {close = true, delay = fault.delay} end
  local status = math.floor(fault.status or 500)
  local headers = {["Content-Type"] = "application/json"}
  if fault.retry_after ~= nil then headers["Retry-After"] = T.tostring(fault.retry_after) end
  if fault.location ~= nil then headers["Location"] = fault.location end
  local body = fault.body
  if body == nil then
    body = error_answer(mount, status, DEFAULT_MESSAGES[status] or ("emulated fault " .. status)).body
  elseif type(body) == "table" then
    body = T.encode(body)
  end
  return {status = status, headers = headers, body = body, delay = fault.delay, truncate = fault.truncate}
end

function Server:take_queued(key)
  local q = self.queue
  for i = 1, #q do
    local f = q[i]
    if f.match == nil or key:sub(1, #f.match) == f.match then
      f.count = f.count - 1
      if f.count <= 0 then table.remove(q, i) end
      return f
    end
  end
end

-- Probabilistic faults: each rate of config.faults in turn, drawn from the seeded source,
-- and the fault it makes. A 502 and half the resets hit after the request took effect: the
-- ambiguous failures a client must reconcile rather than blindly repeat. A twin's
-- `rate_limit_status` replaces 429 where its service says otherwise (Sunra answers its
-- rate limit with 403).
local DRAWN = {
  {"rate_limit", function(f, _, mount)
    return {status = mount and mount.twin.rate_limit_status or 429, retry_after = f.retry_after or "1"}
  end},
  {"server_error", function(_, rng)
    return ({{status = 500}, {status = 502, process = true}, {status = 503, retry_after = "1"}})[rng:int(3) + 1]
  end},
  {"reset", function(_, rng) return {close = true, process = rng:next() < 0.5} end},
  {"slow", function(f) return {delay = tonumber(f.slow_delay) or 5} end},
  {"malformed", function() return {malformed = true, process = true} end},
}

function Server:draw_fault(mount)
  local f, rng = self.config.faults, self.fault_rng
  for _, d in ipairs(DRAWN) do
    local r = f[d[1]]
    if r and r > 0 and rng:next() < r then return d[2](f, rng, mount) end
  end
end

--- Handling

--- Serves one HTTP request (called by the C core).
-- @tparam table req `{method=, path=, query=, raw_query=, headers=, body=}`
-- @treturn table `{status=, headers=, body=, delay=, close=, truncate=}`
function Server:handle(req)
  local method, path = req.method, req.path
  if path == CONTROL_PATH then
    if method ~= "POST" then return T.json(405, {error = "use POST"}) end
    local out = self:control(req.body)
    return T.json(out:find('^{"error"') and 400 or 200, out)
  end

  local stats = self.stats
  stats.requests = stats.requests + 1
  -- result videos live on the emulator's own "CDN", beside every twin
  local is_media = path:sub(1, #tasks.MEDIA_PREFIX) == tasks.MEDIA_PREFIX
  -- callbacks sent here (a task's callback_url on this emulator), kept for {op="callbacks"}
  if path:sub(1, #callbacks.PREFIX) == callbacks.PREFIX then
    bump(stats.by_route, "POST " .. callbacks.PREFIX)
    return callbacks.receive(self.callbacks, req)
  end
  -- reference files put there by {op="put_file"}: what preflight probing fetches in tests
  if path:sub(1, #FILES_PREFIX) == FILES_PREFIX then
    local f = self.files[path:sub(#FILES_PREFIX + 1)]
    bump(stats.by_route, "GET " .. FILES_PREFIX)
    if not f then return T.json(404, {error = "no such file"}) end
    if req.headers.range then stats.file_ranges = (stats.file_ranges or 0) + 1 end
    if f.no_ranges then req.headers.range = nil end
    return tasks.serve_bytes(req, f.data, f.type or "application/octet-stream", stats)
  end
  local mount, route, params, wrong_method
  if not is_media then mount, route, params, wrong_method = self:resolve(method, path) end
  bump(stats.by_route, route and route.key or (is_media and "GET " .. tasks.MEDIA_PREFIX) or (method .. " " .. path))

  local fault
  if #self.queue > 0 then fault = self:take_queued(method .. " " .. path) end
  if not fault and route and next(self.config.faults) then fault = self:draw_fault(mount) end
  if fault then stats.faults = stats.faults + 1 end

  -- the twin runs unless a fault answers in its place before the request takes effect
  local answer
  if not fault or fault.process or fault_alters_only(fault) then
    if is_media then
      answer = tasks.serve(req, self.media, stats, self.media_expired)
    elseif route then
      answer = T.serve(mount.twin, mount.state, route, req, params, mount.env)
    else
      answer = error_answer(mount, wrong_method and 405 or 404,
                            (wrong_method and "method not allowed: " or "route not found: ") .. method .. " " .. path)
    end
  end
  if fault then answer = spoil(answer, fault, mount) end

  local latency = tonumber(self.config.latency) or 0
  if latency > 0 then answer.delay = (answer.delay or 0) + latency end
  if not answer.close then bump(stats.by_status, T.tostring(answer.status or 200)) end
  if self.config.log then
    local target = req.raw_query ~= "" and (path .. "?" .. req.raw_query) or path
    io.stderr:write(T.iso(self:now()), " ", method, " ", target, " -> ",
                    answer.close and "dropped" or T.tostring(answer.status or 200),
                    fault and " (fault)" or "", "\n")
  end
  return answer
end

--- Control

local ops = {}

function ops.stats(self)
  for _, m in ipairs(self.mounts) do
    if self.live[m.name] then self.stats.in_flight[m.name] = self:in_flight(m.name, m.env) end
  end
  return self.stats
end

function ops.reset(self)
  self:reset()
  return {ok = true}
end

function ops.fault(self, t)
  t.op = nil
  local bad = options.problem(t, options.FAULT, "fault field", T.null)
  if bad then error(bad, 0) end
  local f = {count = 1}
  for k, v in pairs(t) do
    if v ~= T.null then f[k] = v end
  end
  if f.status == nil and not f.close and f.delay == nil and f.truncate == nil and not f.malformed then
    error("a fault needs one of status, close, delay, truncate, malformed", 0)
  end
  self.queue[#self.queue + 1] = f
  return {ok = true, queued = #self.queue}
end

function ops.clear_faults(self)
  self.queue = {}
  return {ok = true}
end

function ops.advance(self, t)
  local s = tonumber(t.seconds)
  if not s then error("advance needs 'seconds'", 0) end
  self.offset = self.offset + s
  return {ok = true, now = self:now()}
end

--- Expires one task now (any twin), as a service does when a task waits too long.
function ops.expire_task(self, t)
  for _, m in ipairs(self.mounts) do
    local rec = m.state.tasks and m.state.tasks[t.id]
    if rec then
      rec.expired = self:now()
      return {ok = true}
    end
  end
  error("no task '" .. tostring(t.id) .. "'", 0)
end

--- Serve `data` at /__emulator/files/<name> (Range honoured unless no_ranges).
function ops.put_file(self, t)
  if type(t.name) ~= "string" or type(t.data) ~= "string" then error("put_file needs 'name' and 'data'", 0) end
  self.files[t.name] = {data = t.data, type = t.type, no_ranges = t.no_ranges == true}
  return {ok = true, path = FILES_PREFIX .. t.name}
end

--- Every result URL answers 403 from now on, as lapsed signed URLs do.
function ops.expire_media(self, t)
  self.media_expired = t.expired ~= false
  return {ok = true}
end

--- The callbacks twins sent (each delivery's url, HTTP status or error, and the task it was
-- about) and those sent to this emulator's /__emulator/callbacks/<name>.
function ops.callbacks(self)
  return callbacks.show(self.callbacks)
end

function ops.now(self)
  return {now = self:now()}
end

function ops.configure(self, t)
  t.op = nil
  local bad = options.problem(t, options.SETTINGS, "setting", T.null)
  if bad then error(bad, 0) end
  for k, v in pairs(t) do
    if v == T.null then v = nil end
    self.config[k] = v
  end
  if self.config.faults == nil then self.config.faults = {} end
  return {ok = true}
end

function ops.config(self)
  return self.config
end

function ops.dump(self)
  local out = {}
  for _, m in ipairs(self.mounts) do
    local d, now = m.twin.dump and m.twin.dump(m.state, m.env) or {}, self:now()
    for _, s in ipairs(m.twin.show or {}) do
      local list = T.sorted(m.state[s[2]])
      for i, x in ipairs(list) do list[i] = s[3](x, m.env, now) end
      d[s[1]] = T.array(list)
    end
    d.last_request, d.last_create = m.state.last or T.null, m.state.last_create or T.null
    out[m.name] = d
  end
  return out
end

--- Runs a control request (JSON text `{"op": ..., ...}`) and answers JSON.
-- Errors come back as `{"error": "..."}`, never raised.
-- @tparam string text
-- @treturn string JSON
function Server:control(text)
  local t, err = T.decode(text or "")
  if type(t) ~= "table" then
    return T.encode({error = "control: invalid JSON: " .. tostring(err or "not an object")})
  end
  local op = ops[t.op]
  if not op then return T.encode({error = "control: unknown op '" .. tostring(t.op) .. "'"}) end
  local ok, result = pcall(op, self, t)
  if not ok then return T.encode({error = "control: " .. tostring(result)}) end
  return T.encode(result)
end

return app
