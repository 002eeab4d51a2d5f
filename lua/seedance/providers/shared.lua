--- What several dialects read and write alike: the upstream's capitalized words, its
-- PascalCase asset record, media lists and content items of a generation, and the page
-- math of list envelopes. Internal: the registry (seedance.providers) loads only the names
-- it lists, so this module is never taken for a provider. What is one service's own stays
-- in its dialect.
-- @module seedance.providers.shared
local json = require "seedance.wire.json"
local time = require "seedance.model.time"

local M = {}

--- The upstream's asset type words, by normalized type.
M.TYPE_OUT = { image = "Image", video = "Video", audio = "Audio" }

--- The upstream's asset status words, by normalized status.
M.STATUS_OUT = { processing = "Processing", active = "Active", failed = "Failed" }

--- A JSON string in lower case; nil for null or anything not a string.
function M.lower_word(v)
  v = json.val(v)
  return type(v) == "string" and v:lower() or nil
end

--- The reference a generation takes for an upstream asset id: "asset://<id>" (nil without an id).
function M.ref(id)
  return id and ("asset://" .. id) or nil
end

-- a member of an error object that says something: not null, not "", not the code 0 or "0"
-- that services put in the error object of an answer that went well
local function telling(v)
  v = json.val(v)
  if v == nil or v == "" or v == 0 or v == "0" then return nil end
  if type(v) == "table" then return next(v) ~= nil and v or nil end
  return v
end

--- `{code, message}` of an error object whose fields are named `code_key` and `message_key`
-- (default "code" and "message"); nil when it is not an object or says nothing: services
-- send `{"code": 0, "message": ""}` (or `{}`, or nulls) beside answers that went well.
function M.failure(e, code_key, message_key)
  e = json.val(e)
  if type(e) ~= "table" then return nil end
  local code, message = telling(e[code_key or "code"]), telling(e[message_key or "message"])
  if code == nil and message == nil then return nil end
  return { code = json.str(code), message = type(message) == "string" and message or json.str(message) }
end

--- A task's `error` as `{code, message}`; nil unless it says at least one of them (tasks
-- that went well may carry an empty error object).
function M.task_error(e)
  return M.failure(e)
end

--- What the upstream reported a task used (`usage: {completion_tokens, total_tokens}`),
-- nil when the answer says nothing.
function M.usage(u)
  u = json.val(u)
  if type(u) ~= "table" then return nil end
  local out = { completion_tokens = json.num(json.val(u.completion_tokens)),
                total_tokens = json.num(json.val(u.total_tokens)) }
  if out.completion_tokens == nil and out.total_tokens == nil then return nil end
  return out
end

--- Normalized asset fields from the upstream's PascalCase record (`Id`, `Status`,
-- `AssetType`, `URL`, `GroupId`, `Error = {Code, Message}`, `CreateTime`, `UpdateTime`),
-- which several services pass on as they got it.
-- @tparam table r the record
-- @tparam[opt] string id_key the field that holds the id (default "Id")
function M.upstream_asset(r, id_key)
  local id = json.str(r[id_key or "Id"])
  return {
    id = id,
    ref = M.ref(id),
    raw_status = json.val(r.Status),
    type = M.lower_word(r.AssetType),
    name = json.val(r.Name),
    url = json.val(r.URL),
    group_id = json.str(r.GroupId),
    error = M.failure(r.Error, "Code", "Message"),
    created_at = time.parse(json.val(r.CreateTime)),
    updated_at = time.parse(json.val(r.UpdateTime)),
  }
end

--- The URLs of a list of media items (`{url=}` each), in order.
function M.urls(list)
  local out = {}
  for i, m in ipairs(list) do out[i] = m.url end
  return out
end

--- A media item of a generation's `content[]`: `{type = "<kind>_url", role =, <kind>_url = {url}}`.
function M.media_item(kind, u, role)
  local key = kind .. "_url"
  return { type = key, role = role, [key] = { url = u } }
end

--- Whether another page follows one of `n` items: page `page` of `size` (a JSON value,
-- `default_size` when absent) has not reached `total` (a JSON value, 0 when absent).
function M.more(n, page, size, total, default_size)
  return n > 0 and page * (json.num(size) or default_size) < (json.num(total) or 0)
end

--- One page of a list envelope: its items parsed (each keeping its `raw` record) and
-- whether another page follows (see M.more).
function M.page(list, parse, page, size, total, default_size)
  local items = {}
  for i, raw in ipairs(json.val(list) or {}) do
    items[i] = parse(raw)
    items[i].raw = raw
  end
  return items, M.more(#items, page, size, total, default_size)
end

--- One page of the upstream's list envelope `{Items, PageNumber, PageSize, TotalCount}`
-- (see M.page).
function M.upstream_page(r, parse, page, default_size)
  return M.page(r.Items, parse, page, r.PageSize, r.TotalCount, default_size)
end

--- Session fields from an answer without a status word: "pending" until a group id comes,
-- which means success; the token and its link when the answer carries them.
function M.session_fields(group, token, link)
  group = json.str(json.val(group))
  if group == "" then group = nil end
  local f = { group_id = group, raw_status = group and "success" or "pending" }
  token = json.str(json.val(token))
  if token then
    f.id = token
    f.link = json.val(link)
  end
  return f
end

return M
