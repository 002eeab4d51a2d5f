--- seedance: Seedance 2.0 reference assets and video generation on every service that
-- offers them, from one Lua API. See api.md for the contract.
-- @module seedance
local core = require "seedance.core"
local client = require "seedance.client"
local errors = require "seedance.error"
local wait = require "seedance.runtime.wait"

local M = {}

M._VERSION = "0.1.0"
client.VERSION = M._VERSION

--- Names of the providers this build speaks.
M.providers = {}
for i, p in ipairs(client.providers) do M.providers[i] = p end

--- Create a Client.
-- @tparam table opts provider, api_key (default $SEEDANCE_API_KEY), base_url, timeout,
-- connect_timeout, retries, endpoints, poll, ... (api.md); with a store (journal= or
-- store=): max_in_flight (the account's tasks in flight across every worker on it) and
-- in_flight_lease (seconds a task's slot still counts once its worker stops renewing it,
-- e.g. when it died; default 600; a live worker renews its slots every quarter of it)
-- @treturn seedance.Client
function M.new(opts)
  return client.new(opts)
end

--- Wait for many assets, tasks or sessions at once, concurrently.
-- @tparam table objects list of objects (any mix of clients)
-- @tparam[opt] table opts {timeout=, on_update=function(obj)}
-- @return objects, or nil and a seedance.Error
function M.wait_all(objects, opts)
  return wait.all(objects, opts, "seedance.wait_all")
end

--- Probe media bytes or a local file: {type=, format=, width=, height=, duration=, fps=, bytes=}.
-- @return table, or nil and a seedance.Error (kind "validation")
function M.probe(path_or_bytes)
  if type(path_or_bytes) ~= "string" then error("seedance.probe: expected a path or a byte string", 2) end
  local info, msg = core.probe(path_or_bytes)
  if not info then return nil, errors.new({ kind = "validation", message = msg }) end
  return info
end

--- Render a prompt template for a provider (see seedance.render module): `{{name}}`,
-- `{{name | filter}}` (built-in `describe`, `name`; `opts.filters`), `{{> partial}}`.
-- @tparam string prompt the template
-- @tparam[opt] table refs name -> asset, URL, {url=, type=} or text
-- @param[opt] provider a provider name or a dialect table
-- @tparam[opt] table opts {filters=, partials=, descriptions=}
-- @return {prompt=, images=, videos=, audios=}, or nil and a seedance.Error
function M.render(prompt, refs, provider, opts)
  return require("seedance.render").render(prompt, refs, provider, opts)
end

--- Run functions as workflow coroutines: their waits yield to one scheduler, so many
-- workflows interleave on one thread (see seedance.run module).
function M.run(...)
  return require("seedance.runtime.run").run(...)
end

--- A production: a cast and a shot list, run to the end (see seedance.production).
-- @tparam table opts {client=, name=, out=, concurrency=, max_cost=, cost=, retry=, filters=, partials=}
-- @return a Production with :cast{}, :shot{}, :run{}
function M.production(opts)
  return require("seedance.production").new(opts)
end

M.Error = errors.Error
M.is_error = errors.is

return M
