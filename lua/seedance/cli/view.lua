--- How the CLI shows each kind of object: the fields of its JSON document (plain data,
-- never the raw provider body nor anything secret) and its human-readable lines.
-- @module seedance.cli.view
local M = {}

local function iso(t)
  if type(t) ~= "number" then return nil end
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

local function err_fields(e)
  if type(e) ~= "table" then return nil end
  return { code = e.code, message = e.message }
end

--- An asset as a JSON-ready table.
function M.asset_doc(a)
  return { id = a.id, status = a.status, raw_status = a.raw_status, type = a.type, name = a.name,
           url = a.url, ref = a.ref, group_id = a.group_id, error = err_fields(a.error),
           created_at = a.created_at, expires_at = a.expires_at }
end

--- An asset as key/value lines.
function M.asset_block(a)
  local e = a.error and (a.error.code or a.error.message) or nil
  return { { "asset", a.id }, { "status", a.status }, { "type", a.type }, { "name", a.name },
           { "ref", a.ref }, { "url", a.url }, { "group", a.group_id }, { "error", e },
           { "created", iso(a.created_at) }, { "expires", iso(a.expires_at) } }
end

M.ASSET_HEADER = { "ID", "STATUS", "TYPE", "NAME", "REF" }

--- An asset as a table row (columns of ASSET_HEADER).
function M.asset_row(a)
  return { a.id, a.status, a.type, a.name, a.ref }
end

--- A group as a JSON-ready table.
function M.group_doc(g)
  return { id = g.id, name = g.name, description = g.description, type = g.type,
           created_at = g.created_at }
end

M.GROUP_HEADER = { "ID", "TYPE", "NAME", "DESCRIPTION" }

--- A group as a table row (columns of GROUP_HEADER).
function M.group_row(g)
  return { g.id, g.type, g.name, g.description }
end

--- A group as key/value lines.
function M.group_block(g)
  return { { "group", g.id }, { "type", g.type }, { "name", g.name }, { "description", g.description } }
end

--- A verification session as a JSON-ready table.
function M.session_doc(s)
  return { id = s.id, status = s.status, raw_status = s.raw_status, link = s.link,
           group_id = s.group_id, expires_at = s.expires_at }
end

--- A verification session as key/value lines.
function M.session_block(s)
  return { { "session", s.id }, { "status", s.status }, { "link", s.link }, { "expires", iso(s.expires_at) } }
end

--- A task as a JSON-ready table.
function M.task_doc(t)
  return { id = t.id, status = t.status, raw_status = t.raw_status, progress = t.progress,
           model = t.model, prompt = t.prompt, video_url = t.video_url, error = err_fields(t.error),
           last_frame_url = t.last_frame_url, usage = t.usage,
           queue_position = t.queue_position,
           created_at = t.created_at }
end

--- A task as key/value lines.
function M.task_block(t)
  local e = t.error and (t.error.message or t.error.code) or nil
  return { { "task", t.id }, { "status", t.status }, { "model", t.model }, { "prompt", t.prompt },
           { "video", t.video_url }, { "error", e } }
end

--- The ids a command's document names, for `-q`: the task, the asset(s), the group(s)
-- (a verification's group rather than its session), the deleted ids.
-- @treturn {string,...}
function M.ids(doc)
  local out = {}
  local function add(x) if type(x) == "table" and x.id then out[#out + 1] = x.id end end
  add(doc.task)
  add(doc.asset)
  for _, a in ipairs(doc.assets or {}) do add(a) end
  if doc.group then add(doc.group) elseif doc.session then add(doc.session) end
  for _, g in ipairs(doc.groups or {}) do add(g) end
  for _, id in ipairs(doc.deleted or {}) do out[#out + 1] = id end
  return out
end

--- A seedance.Error as a JSON-ready table (no attached objects, nothing secret: the
-- library redacted the message already).
function M.error_doc(e)
  if type(e) ~= "table" then return { kind = "protocol", message = tostring(e) } end
  return { kind = e.kind, message = e.message, code = e.code, status = e.status,
           provider = e.provider, request_id = e.request_id, retryable = e.retryable }
end

return M
