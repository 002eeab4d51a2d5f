--- The dialect contract, declared once: the fields every provider module has, the
-- functions each capability needs, and the defaults the library reads where a dialect says
-- nothing. The registry (seedance.providers) checks a dialect against it when it first
-- loads one, so a dialect that breaks the contract fails at once, naming the field,
-- instead of deep inside a paid call.
-- @module seedance.providers.base
local M = {}

--- Fields every dialect has, and their types.
M.REQUIRED = {
  name = "string",          -- the registry name, the same as the module's
  base_url = "string",      -- the service's default root (seedance.new{base_url=} overrides it)
  endpoints = "table",      -- operation name -> path template ("/v1/asset/{id}"), patchable per client
  capabilities = "table",   -- what the service can do: Client:can(what) reads it
  auth = "function",        -- auth(key, op, secrets, req, client) -> credential header lines
  token = "function",       -- token(kind, n) -> how a prompt names the n-th image/video/audio
  parse_asset = "function", -- fields of an asset from any of the service's asset shapes
}

--- Fields a dialect may declare, and their types (nil: absent).
M.OPTIONAL = {
  models = "table", asset_models = "table", generate_fields = "table", page_size = "number",
  batch_size = "number", region = "string", control_url = "string", max_in_flight = "number",
  requires_type = "boolean", requires_group = "boolean", ref_by_list = "boolean",
  retry_on = "table", poll = "table", list_pending = "table",
  error_kind = "function", classify = "function", check_options = "function",
  key_optional = "function", can_look_up = "function", remember = "function",
  is_asset_id = "function", inline_ok = "function", upload_type = "function",
  models_for = "function", request_id = "function",
}

--- What the library reads where a dialect declares nothing.
M.DEFAULTS = { batch_size = 50 }

--- The functions each capability needs: a dialect that claims one has them all. A list
-- inside the list is a choice: one of its members is enough.
M.NEEDS = {
  assets = { "upload_asset", "get_asset" },
  list = { { "list_assets", "iterate_assets" } },
  delete = { "delete_asset" },
  batch_upload = { "upload_assets", "parse_upload_batch" },
  batch_delete = { "delete_assets", "parse_delete_batch" },
  groups = { "create_group", "parse_group", "list_groups", "parse_group_list" },
  update_group = { "update_group" },
  sessions = { "create_session", "get_session", "parse_session" },
  generate = { "create_task", "get_task", "parse_task", "parse_created_task" },
  cancel = { "cancel_task" },
  quota = { "quota" },
}

--- The capabilities a dialect may claim (those above, and what the library reads as flags).
M.CAPABILITIES = { file_upload = true, last_frame = true }
for k in pairs(M.NEEDS) do M.CAPABILITIES[k] = true end

local function has_one(D, need)
  if type(need) == "string" then return type(D[need]) == "function", need end
  for _, f in ipairs(need) do
    if type(D[f]) == "function" then return true end
  end
  return false, table.concat(need, " or ")
end

--- What is wrong with a dialect table, or nil when it keeps the contract.
-- @tparam table D a dialect
-- @treturn[opt] string the first problem found, naming the field
function M.problem(D)
  if type(D) ~= "table" then return "is a " .. type(D) .. ", not a table" end
  for k, t in pairs(M.REQUIRED) do
    if type(D[k]) ~= t then return "'" .. k .. "' must be a " .. t .. " (is " .. type(D[k]) .. ")" end
  end
  for k, t in pairs(M.OPTIONAL) do
    if D[k] ~= nil and type(D[k]) ~= t then
      return "'" .. k .. "' must be a " .. t .. " when given (is " .. type(D[k]) .. ")"
    end
  end
  for op, path in pairs(D.endpoints) do
    if type(op) ~= "string" or type(path) ~= "string" then
      return "endpoints must map operation names to path strings (" .. tostring(op) .. ")"
    end
  end
  for cap, on in pairs(D.capabilities) do
    if not M.CAPABILITIES[cap] then return "unknown capability '" .. tostring(cap) .. "'" end
    if type(on) ~= "boolean" then return "capability '" .. cap .. "' must be true or false" end
    for _, need in ipairs(on and M.NEEDS[cap] or {}) do
      local ok, what = has_one(D, need)
      if not ok then return "capability '" .. cap .. "' needs function '" .. what .. "'" end
    end
  end
  return nil
end

--- Check a dialect and fill in the defaults; raises naming the dialect and the field.
-- @tparam table D a dialect
-- @tparam string name the name it was loaded under
-- @treturn table D
function M.check(D, name)
  local bad = M.problem(D)
  if not bad and D.name ~= name then bad = "'name' is '" .. D.name .. "', loaded as '" .. name .. "'" end
  if bad then error("seedance: the " .. name .. " dialect breaks the contract: " .. bad, 0) end
  for k, v in pairs(M.DEFAULTS) do
    if D[k] == nil then D[k] = v end
  end
  return D
end

return M
