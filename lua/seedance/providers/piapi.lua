--- PiAPI dialect (https://piapi.ai): X-API-Key auth, flat JSON, Capitalized statuses.
-- Paths marked [assumed] in providers.md are plain entries of `endpoints`, so a client can
-- patch them (seedance.new{endpoints = {...}}) if PiAPI documents something else.
-- @module seedance.providers.piapi
local json = require "seedance.wire.json"
local time = require "seedance.model.time"
local shared = require "seedance.providers.shared"

local D = {
  name = "piapi",
  base_url = "https://api.piapi.ai",
  endpoints = {
    upload_asset = "/api/v1/asset/upload",
    upload_assets = "/api/v1/asset/upload/batch",
    get_asset = "/api/v1/asset/{id}",
    list_assets = "/api/v1/asset",
    delete_asset = "/api/v1/asset/{id}",
    delete_assets = "/api/v1/asset/delete",
    create_task = "/api/v1/task",
    get_task = "/api/v1/task/{id}",
  },
  -- task types; plain ones reject asset:// references, so those route to -less-restriction
  models = { standard = "seedance-2", fast = "seedance-2-fast" },
  asset_models = { standard = "seedance-2-less-restriction", fast = "seedance-2-fast-less-restriction" },
  -- the generation fields PiAPI documents; others are refused before any request
  generate_fields = { resolution = true, ratio = true, duration = true },
  page_size = 100,
  batch_size = 50,
  capabilities = { assets = true, batch_upload = true, batch_delete = true, list = true, quota = true,
                   delete = true, generate = true },
}

function D.auth(key)
  return { "X-API-Key: " .. key }
end

--- Normalized asset fields from any of PiAPI's asset shapes.
function D.parse_asset(b)
  local id = json.str(b.asset_id)
  return {
    id = id,
    ref = shared.ref(id),
    raw_status = json.val(b.status),
    type = shared.lower_word(b.asset_type),
    name = json.val(b.name),
    url = json.val(b.url),
    error = shared.failure(b.error),
    created_at = time.parse(json.val(b.created_at) or json.val(b.upload_at)),
    expires_at = time.parse(json.val(b.expires_at)),
    last_used_at = time.parse(json.val(b.last_used_at)),
  }
end

local function upload_item(a)
  return { url = a.url, asset_type = a.type and shared.TYPE_OUT[a.type] or nil, name = a.name }
end

function D.upload_asset(a)
  return { endpoint = "upload_asset", method = "POST", body = upload_item(a) }
end

function D.upload_assets(list)
  local items = {}
  for i, a in ipairs(list) do items[i] = upload_item(a) end
  return { endpoint = "upload_assets", method = "POST", body = { items = json.array(items) } }
end

--- Per-item outcome of a batch upload, in input order: fields, or {error = {code, message}}.
function D.parse_upload_batch(b, list)
  local out, results = {}, json.val(b.results) or {}
  for i = 1, #list do
    local r = results[i]
    if type(r) == "table" and json.val(r.asset_id) then
      out[i] = D.parse_asset(r)
    else
      local msg = type(r) == "table" and json.val(r.error)
      if type(msg) == "table" then msg = json.val(msg.message) end
      out[i] = { error = { message = type(msg) == "string" and msg or "not created" } }
    end
  end
  return out
end

function D.get_asset(id)
  return { endpoint = "get_asset", method = "GET", params = { id = id }, idempotent = true }
end

function D.list_assets(args, page)
  local st = args.status
  if type(st) == "table" then st = table.concat(st, ",") end
  return { endpoint = "list_assets", method = "GET", idempotent = true,
           query = { page = page, size = args.page_size or D.page_size, status = st,
                     order = args.order } }
end

--- Items of one page, whether another page follows, and the quota the page reports.
function D.parse_list(b, page)
  local items = {}
  for i, raw in ipairs(json.val(b.items) or {}) do items[i] = D.parse_asset(raw) end
  local q = json.val(b.quota)
  local quota = type(q) == "table" and { used = json.num(q.used), limit = json.num(q.limit),
                                         ttl_days = json.num(q.ttl_days) } or nil
  return items, shared.more(#items, page, b.size, b.total, D.page_size), quota
end

function D.quota()
  return { endpoint = "list_assets", method = "GET", idempotent = true, query = { page = 1, size = 1 } }
end

-- 409 "asset still processing": worth a few retries before reporting a conflict
function D.delete_asset(id)
  return { endpoint = "delete_asset", method = "DELETE", params = { id = id }, idempotent = true,
           retry_on = { 409 } }
end

function D.delete_assets(ids)
  return { endpoint = "delete_assets", method = "POST", body = { asset_ids = json.array(ids) },
           idempotent = true, retry_on = { 409 } }
end

--- Per-id outcome of a batch delete: true, or an error message.
function D.parse_delete_batch(b, ids)
  local by_id = {}
  for _, r in ipairs(json.val(b.results) or {}) do
    local id = json.str(r.asset_id)
    if id then
      local err = json.val(r.error)
      if type(err) == "table" then err = json.val(err.message) end
      by_id[id] = (json.val(r.status) == "deleted") or (type(err) == "string" and err or "not deleted")
    end
  end
  local out = {}
  for i, id in ipairs(ids) do out[i] = by_id[id] or "not deleted" end
  return out
end

--- Prompt token: PiAPI's canonical "Image 1" (it also accepts "@image1").
function D.token(kind, n)
  return kind:sub(1, 1):upper() .. kind:sub(2) .. " " .. n
end

-- task answers come in a {code, data, message} envelope whose code can say "error" in a 200
local function envelope(status, body)
  local code = type(body) == "table" and json.num(body.code)
  if status < 400 and (code == nil or code == 200) then return nil end
  local msg = type(body) == "table" and json.val(body.message) or nil
  local kind = (status >= 400 and status) or code
  local map = { [400] = "validation", [401] = "auth", [403] = "auth", [404] = "not_found",
                [422] = "validation", [429] = "rate_limited" }
  return map[kind] or (kind and kind >= 500 and "provider") or "provider", code and json.str(code), msg
end

function D.create_task(g)
  if g.first_frame or g.last_frame then
    return nil, "piapi has no first/last frame mode for seedance-2"
  end
  local input = { prompt = g.prompt, image_urls = shared.urls(g.images), video_urls = shared.urls(g.videos),
                  audio_urls = shared.urls(g.audios), aspect_ratio = g.ratio, duration = g.duration,
                  resolution = g.resolution }
  for _, k in ipairs({ "image_urls", "video_urls", "audio_urls" }) do
    if #input[k] == 0 then input[k] = nil end
  end
  return { endpoint = "create_task", method = "POST", classify = envelope,
           body = { model = "seedance", task_type = g.model, input = input } }
end

function D.parse_created_task(b)
  local data = type(b.data) == "table" and b.data or {}
  return { id = json.str(data.task_id), raw_status = json.val(data.status) or "pending" }
end

function D.get_task(id)
  return { endpoint = "get_task", method = "GET", params = { id = id }, idempotent = true, classify = envelope }
end

-- `meta.usage = {type = "point", consume = 10000000}` of a task answer (seeds/004), or nil
local function usage(meta)
  meta = json.val(meta)
  local u = type(meta) == "table" and json.val(meta.usage)
  if type(u) ~= "table" then return nil end
  local out = { type = json.val(u.type), consume = json.num(json.val(u.consume)) }
  if out.type == nil and out.consume == nil then return nil end
  return out
end

function D.parse_task(b)
  local data = type(b.data) == "table" and b.data or {}
  local out = type(data.output) == "table" and data.output or {}
  return {
    id = json.str(data.task_id), raw_status = json.val(data.status),
    video_url = json.val(out.video), error = shared.task_error(data.error), usage = usage(data.meta),
    progress = json.num(data.progress) or (json.val(data.status) == "completed" and 100 or nil),
    created_at = time.parse(json.val(data.created_at)),
  }
end

--- PiAPI's error table (seeds/004): the status alone is not enough for 400.
function D.error_kind(status, _, message)
  local m = type(message) == "string" and message:lower() or ""
  if status == 400 and m:find("quota", 1, true) then return "quota" end
  if status == 403 then return "auth" end
  if status == 422 and m:find("status=failed", 1, true) then return "asset_failed" end
  return nil
end

--- List-based refresh: one page of still-processing assets refreshes many at once
-- (the C scheduler); what left it is looked for in the other statuses, then fetched alone.
D.list_pending = {
  asset = { list = "list_assets", parse = "parse_list",
            -- newest first: what just left the pending list is on the first pages of the others
            args = { status = "processing", page_size = 100, order = "-created_at" },
            -- where the scheduler reads a page (sched.c), and the statuses a pending asset
            -- can have moved to, listed when it left the pending list
            items = "items", id = "asset_id", status = "status", total = "total", item = "parse_asset",
            statuses = { "processing", { "active", "failed" } } },
}

-- where a GET answer says the status and progress: an unchanged answer ends in C
D.poll = { asset = { status = "status" }, task = { status = "data.status", progress = "data.progress" } }

return D
