--- The emulator's one list of settings and fault fields, read on both sides of the state
-- boundary: by seedance.emulator (the user's state: start, configure, fault), by the server
-- (seedance.emulator.app, on the emulator's own state: control ops) and by the
-- `seedance-emulator` command (its flags are these names with dashes).
-- @module seedance.emulator.options

local M = {}

--- Settings a running emulator takes from `start` and from `configure`, with their types.
M.SETTINGS = {
  processing = "number", processing_max = "number", generation = "number", latency = "number",
  plan = "string", api_key = "string", quota = "number", faults = "table", log = "boolean",
  access_key = "string", secret_key = "string", region = "string",
  -- seconds a task of a slower tier (Ark's service_tier = "flex") waits queued before it runs
  flex_queue = "number",
}

--- Everything `start` takes: its own options, and (through the metatable) the settings.
M.OPTIONS = setmetatable({provider = "string", port = "number", host = "string", seed = "number"},
                         {__index = M.SETTINGS})

--- Defaults of the settings (the others are unset).
M.DEFAULTS = {provider = "piapi", processing = 2.0, plan = "premium", latency = 0, seed = 1}

--- Plans (PiAPI's): the most assets kept at once, and the days one may stay idle before the
-- purge; "free" (false) refuses the asset library on the twins that have one.
M.PLANS = {free = false, hobbyist = {limit = 50, ttl_days = 3}, developer = {limit = 200, ttl_days = 7},
           premium = {limit = 500, ttl_days = 15}, enterprise = {limit = 1000, ttl_days = 15}}

--- Random fault rates of the `faults` setting (`slow_delay` is seconds, `retry_after` any).
M.RATES = {rate_limit = "number", server_error = "number", reset = "number", slow = "number",
           slow_delay = "number", malformed = "number", retry_after = true}

--- Fields of a queued fault (`emu:fault{...}`); `true`: any JSON value.
M.FAULT = {
  match = "string", status = "number", retry_after = true, count = "number", delay = "number",
  close = "boolean", body = true, process = "boolean", truncate = "number", malformed = "boolean",
  location = "string",
}

--- Checks a table against one of the lists: nil when every field is known and of its type,
-- else a message naming the field ("unknown option 'x'", "option 'x' must be a number").
-- @tparam table t
-- @tparam table list a field -> type table of this module
-- @tparam string what how a field is called in the message ("option", "fault field")
-- @param[opt] null a value that stands for "unset" and passes (cjson.null)
-- @treturn ?string
function M.problem(t, list, what, null)
  for k, v in pairs(t) do
    local want = list[k]
    if not want then return "unknown " .. what .. " '" .. tostring(k) .. "'" end
    if want ~= true and type(v) ~= want and (null == nil or v ~= null) then
      return what .. " '" .. k .. "' must be a " .. want .. ", got " .. type(v)
    end
  end
  if t.plan and t.plan ~= null and M.PLANS[t.plan] == nil then return "unknown plan '" .. tostring(t.plan) .. "'" end
  if type(t.faults) == "table" then return M.problem(t.faults, M.RATES, "fault") end
end

return M
