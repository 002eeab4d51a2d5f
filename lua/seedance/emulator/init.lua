--- The offline emulator: a real HTTP server on loopback that speaks the
-- providers' asset APIs, for demos, for the spec suite and for users'
-- own workflow tests.
--
--     local emulator = require "seedance.emulator"
--     local emu = assert(emulator.start{provider = "piapi", processing = 0.5})
--     local client = seedance.new{provider = "piapi", base_url = emu.url, api_key = "k"}
--     ...
--     emu:stop()
--
-- The server runs on its own threads and Lua state (seedance.emucore); this
-- module only configures it and talks to it through JSON control messages.
-- Misuse raises; failing to serve (a port in use) returns nil, message.
-- @module seedance.emulator

local emucore = require "seedance.emucore"
local json = require "seedance.wire.json"
local app = require "seedance.emulator.app"
local options = require "seedance.emulator.options"

local emulator = {_VERSION = "0.1.0"}

local Emulator = {}
Emulator.__index = Emulator

local function check_options(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error("bad argument #1 to 'start' (table expected, got " .. type(opts) .. ")", 3)
  end
  local bad = options.problem(opts, options.OPTIONS, "option")
  if bad then error("seedance.emulator.start: " .. bad, 3) end
  return opts
end

-- The providers a given `provider` option serves: asking for one without a twin is misuse,
-- and raises.
local function providers_for(name)
  if name == "all" then return app.PROVIDERS end
  if not app.load_twin(name) then
    error("seedance.emulator.start: unknown provider '" .. tostring(name) .. "'", 3)
  end
  return {name}
end

--- Starts an emulator.
-- @tparam[opt] table opts
--   `provider` ("piapi" | "all" | another twin's name; default "piapi"),
--   `host` ("127.0.0.1"), `port` (0: any free port),
--   `processing` (seconds from upload to Active, default 2),
--   `plan` ("premium"; "free" refuses asset calls), `quota` (overrides the plan's asset limit),
--   `api_key` (nil: any non-empty key; a string: only that key),
--   `access_key`, `secret_key` (Ark's signed control plane: only that access key; with a
--   secret key, every signature is verified), `region` (Ark: the only region accepted),
--   `latency` (seconds added to every answer),
--   `faults` (`{rate_limit=, server_error=, reset=, slow=}` probabilities, `slow_delay=` seconds),
--   `seed` (for faults and ids, default 1), `log` (true: one line per request on stderr)
-- @return an Emulator, or nil and a message (e.g. port in use)
function emulator.start(opts)
  opts = check_options(opts)
  local provider = opts.provider or "piapi"
  local providers = providers_for(provider)
  local host = opts.host or "127.0.0.1"
  local config = {provider = provider}
  for k in pairs(options.SETTINGS) do config[k] = opts[k] end
  config.seed = opts.seed
  local srv, err = emucore.start{
    host = host, port = opts.port or 0, app = "seedance.emulator.app",
    config = json.encode(config), path = package.path, cpath = package.cpath,
  }
  if not srv then return nil, err end

  local port = srv:port()
  local url_host = host
  if host:find(":", 1, true) then url_host = "[" .. host .. "]" end
  if host == "0.0.0.0" then url_host = "127.0.0.1" elseif host == "::" then url_host = "[::1]" end
  local base = "http://" .. url_host .. ":" .. port
  local self = setmetatable({srv = srv, port = port, host = host, provider = provider, urls = {}, base = base,
                             url = base}, Emulator)
  for _, p in ipairs(providers) do
    local root = provider == "all" and (base .. "/" .. p) or base
    -- a service whose documented base URL has a path (OrcaRouter's /v1) gets it here too
    self.urls[p] = root .. (app.load_twin(p).base_path or "")
    -- Ark's signed control plane is served at the root of its mount, beside the data plane
    if app.load_twin(p).control_plane then self.control_url = self.control_url or root end
  end
  if provider ~= "all" then self.url = self.urls[provider] end
  self.control_endpoint = base .. "/__emulator/control"
  -- a place to point a task's callback_url at: what arrives is kept (emu:callbacks())
  self.callback_url = base .. "/__emulator/callbacks/"
  return self
end

--- Sends a control message (a table, JSON-encoded) and returns the answer.
-- Raises on a bad message or a stopped emulator.
-- @tparam table msg `{op = "stats" | "reset" | "fault" | "clear_faults" | "advance" |
--   "now" | "configure" | "config" | "dump" | "callbacks", ...}`
-- @treturn table
function Emulator:control(msg)
  if type(msg) ~= "table" then error("bad argument #1 to 'control' (table expected)", 2) end
  local out, err = self.srv:control(json.encode(msg))
  if not out then error("seedance.emulator: " .. tostring(err), 2) end
  local t = json.decode(out)
  if type(t) == "table" and t.error ~= nil then error("seedance.emulator: " .. tostring(t.error), 2) end
  return t
end

--- Queues a fault for the next `count` requests whose "METHOD /path" starts
-- with `match` (every request when nil).
-- @tparam table f `{match=, status=, retry_after=, count=1, delay=, close=, body=,
--   process=, truncate=}`: `status` answers that status (with `Retry-After`
--   when given, the provider's error body unless `body`), `close` drops the
--   connection, `delay` holds the answer back, `truncate` sends only that
--   many body bytes; with `process = true` the request takes effect first.
-- @treturn table `{ok = true, queued = n}`
function Emulator:fault(f)
  if type(f) ~= "table" then error("bad argument #1 to 'fault' (table expected)", 2) end
  local bad = options.problem(f, options.FAULT, "fault field")
  if bad then error("seedance.emulator: " .. bad, 2) end
  local msg = {op = "fault"}
  for k, v in pairs(f) do msg[k] = v end
  return self:control(msg)
end

--- Counters since start or the last reset: `requests`, `by_route`
-- (`["POST /api/v1/asset/upload"] = n`), `by_status`, `creates`,
-- `creates_by_provider`, `duplicate_creates` (the same URL created again),
-- `faults` (injected), and per provider `in_flight` (generation tasks queued or running
-- now) and `max_in_flight` (the most at once since the reset).
function Emulator:stats()
  return self:control{op = "stats"}
end

--- Serves `data` at `emu.base .. "/__emulator/files/" .. name`, with Range support
-- (`opts.no_ranges = true`: answer every request with the whole file), so reference URLs in
-- tests can point at real bytes on loopback.
-- @treturn string the file's URL
function Emulator:put_file(name, data, opts)
  if type(name) ~= "string" or type(data) ~= "string" then
    error("bad arguments to 'put_file' (name and data strings expected)", 2)
  end
  opts = opts or {}
  return self.base .. self:control{op = "put_file", name = name, data = data, type = opts.type,
                                   no_ranges = opts.no_ranges}.path
end

--- Clears every asset, queued fault, counter and clock offset; settings
-- (start options, configure) stay.
function Emulator:reset()
  return self:control{op = "reset"}
end

--- The callbacks the twins sent (`sent`: each delivery's `url`, HTTP `status` or `error`,
-- and the task's `id` and `task_status` it told of) and those that arrived at this emulator's
-- `emu.callback_url .. "<name>"` (`received`: `name`, decoded `body`, `content_type`).
-- @treturn table {sent = {...}, received = {...}}
function Emulator:callbacks()
  return self:control{op = "callbacks"}
end

--- Moves the emulator's clock forward (for TTLs and lifecycles).
function Emulator:advance(seconds)
  return self:control{op = "advance", seconds = seconds}
end

--- Changes settings while running: those of seedance.emulator.options.SETTINGS
-- (`processing`, `processing_max`, `generation`, `latency`, `plan`, `api_key`, `faults`,
-- `quota`, `log`, Ark's `access_key`, `secret_key`, `region`, `flex_queue`); `cjson.null`
-- clears one.
function Emulator:configure(t)
  local msg = {op = "configure"}
  for k, v in pairs(t) do msg[k] = v end
  return self:control(msg)
end

--- Stops the server and joins its threads. Idempotent.
function Emulator:stop()
  self.srv:stop()
end
Emulator.close = Emulator.stop
Emulator.__close = Emulator.stop

function Emulator:__tostring()
  return "seedance.emulator (" .. self.provider .. " at " .. self.url .. ")"
end

--- The bytes of the video every emulated generation produces: a real MP4 (1 s, 320x240,
-- H.264 + AAC), so a test can compare what it downloaded.
emulator.SAMPLE_MP4 = emucore.sample_mp4
--- Wall-clock unix seconds with sub-second precision.
emulator.now = emucore.now
--- Sleeps; returns false early when a signal interrupts it.
emulator.sleep = emucore.sleep

return emulator
