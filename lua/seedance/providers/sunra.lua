--- Sunra dialect (https://sunra.ai): the "Ark Assets API", a thin layer over the upstream
-- asset registry. Two ids per asset: Sunra's record `id` (what every path takes, so it is
-- `asset.id`) and the upstream `ark_asset_id` (what generations take, so `asset.ref` is
-- `asset://<ark_asset_id>`). Statuses and asset types are lowercase words.
--
-- Sunra answers its rate limit with HTTP 403, not 429: every operation asks the engine to
-- retry 403 (`retry_on`), and a 403 left after the retries is `rate_limited`, unless its
-- body plainly speaks of credentials or permissions (then `auth`). The docs show no 403
-- body at all, so the rate limit is the default reading of a 403.
--
-- Generation goes through Sunra's queue: the model id is part of the create path; the
-- status answer says IN_QUEUE, IN_PROGRESS, then COMPLETED, and only the result (one more
-- GET, which get_task asks for once the status said COMPLETED) tells a video from a
-- refusal (`success: false`, `unsafe_content`). The plain models refuse asset://, so a
-- generation that references an asset goes to the relay models (`asset_models`).
--
-- Paths marked [assumed] in providers.md are plain entries of `endpoints`.
-- @module seedance.providers.sunra
local json = require "seedance.wire.json"
local time = require "seedance.model.time"
local shared = require "seedance.providers.shared"

local D = {
  name = "sunra",
  base_url = "https://api.sunra.ai",
  endpoints = {
    upload_asset = "/v1/ark/assets",
    get_asset = "/v1/ark/assets/{id}",
    list_assets = "/v1/ark/assets",
    delete_asset = "/v1/ark/assets/{id}",
    -- the model id is a path ("bytedance/seedance-2.0-relay"): "{+model}" keeps its "/"
    create_task = "/v1/queue/{+model}/reference-to-video",
    get_task = "/v1/queue/requests/{id}/status",
    get_result = "/v1/queue/requests/{id}",
    cancel_task = "/v1/queue/requests/{id}/cancel",
  },
  -- the plain models go straight to the upstream and refuse asset:// (InvalidParameter);
  -- only the relay models recognize registered assets
  models = { standard = "bytedance/seedance-2.0", fast = "bytedance/seedance-2.0-fast" },
  asset_models = { standard = "bytedance/seedance-2.0-relay", fast = "bytedance/seedance-2.0-fast-relay" },
  -- what reference-to-video documents: no seed, no watermark
  generate_fields = { resolution = true, ratio = true, duration = true, audio = true },
  page_size = 100,
  capabilities = { assets = true, list = true, delete = true, generate = true, cancel = true },
  -- the rate limit's status, retried on every operation (a 403 proves nothing was created)
  retry_on = { 403 },
}

--- Sunra's own record ids (what `asset.id` is here), as opposed to the upstream's
-- `ark_asset_id`: a string of this shape in `refs` names an asset, never text. [assumed
-- shape: the docs show none; "sunra-<stamp>-<suffix>" as the twin issues, or a UUID]
function D.is_asset_id(s)
  return type(s) == "string" and (s:match("^sunra%-%d+%-%w+$") ~= nil or
    s:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") ~= nil)
end

--- Paths take Sunra's record id, while `asset://` carries the upstream id: an asset named
-- by its reference is found in the listing (seedance.client.tasks).
D.ref_by_list = true

-- its queue docs show `Key <key>`, its asset docs `Bearer <key>`
local SCHEMES = { Bearer = true, Key = true }

--- Refuse an auth scheme Sunra does not take, at seedance.new.
-- @treturn string|nil what is wrong
function D.check_options(opts)
  local s = opts.auth_scheme
  if s ~= nil and not SCHEMES[s] then
    return "auth_scheme must be \"Bearer\" or \"Key\" for sunra, got '" .. tostring(s) .. "'"
  end
  return nil
end

--- The Authorization header, in the configured scheme (default Bearer).
function D.auth(key, _, secrets)
  return { "Authorization: " .. (secrets and secrets.auth_scheme or "Bearer") .. " " .. key }
end

-- a failed record's reason: `error` as {code, message} or a bare string [assumed shape]
local function failure(b)
  local e = json.val(b.error)
  if type(e) == "table" then return shared.failure(e) end
  local msg = type(e) == "string" and e or json.val(b.error_message)
  local code = json.str(json.val(b.error_code))
  if msg or code then return { code = code, message = msg } end
  return nil
end

--- Normalized asset fields from a Sunra asset record.
function D.parse_asset(b)
  local ark = json.str(b.ark_asset_id)
  local ark_url, source = json.val(b.ark_url), json.val(b.source_url)
  local raw = json.val(b.status)
  return {
    id = json.str(b.id),
    ark_asset_id = ark,
    ref = shared.ref(ark),
    raw_status = raw,
    type = shared.lower_word(b.asset_type),
    name = json.val(b.name),
    url = ark_url or source,
    source_url = source,
    ark_url = ark_url,
    error = (type(raw) == "string" and raw:lower() == "failed") and failure(b) or nil,
    created_at = time.parse(json.val(b.created_at)),
  }
end

--- POST /v1/ark/assets {source_url, name?, asset_type?}.
function D.upload_asset(a)
  return { endpoint = "upload_asset", method = "POST", retry_on = D.retry_on,
           body = { source_url = a.url, name = a.name, asset_type = a.type } }
end

--- GET /v1/ark/assets/{id} (Sunra refreshes the record from upstream).
function D.get_asset(id)
  return { endpoint = "get_asset", method = "GET", params = { id = id }, idempotent = true,
           retry_on = D.retry_on }
end

--- GET /v1/ark/assets?status=&page=&page_size=. Sunra filters by one status word; a
-- list of several is sent as given and refused there.
function D.list_assets(args, page)
  local st = args.status
  if type(st) == "table" then st = table.concat(st, ",") end
  return { endpoint = "list_assets", method = "GET", idempotent = true, retry_on = D.retry_on,
           query = { status = st, page = page, page_size = args.page_size or D.page_size } }
end

--- Items of one page and whether another page follows.
function D.parse_list(b, page)
  return shared.page(b.items, D.parse_asset, page, b.page_size, b.total, D.page_size)
end

--- DELETE /v1/ark/assets/{id}: a soft delete, Sunra forgets the record while the
-- upstream registration stays.
function D.delete_asset(id)
  return { endpoint = "delete_asset", method = "DELETE", params = { id = id }, idempotent = true,
           retry_on = D.retry_on, empty_ok = true }
end

--- Generation: the queue

--- POST /v1/queue/<model>/reference-to-video {prompt, reference_images[], reference_videos[],
-- reference_audios[], resolution, ratio, duration, generate_audio}; empty lists are left out.
function D.create_task(g)
  if g.first_frame or g.last_frame then
    return nil, "sunra's reference-to-video has no first/last frame mode; reference the images instead"
  end
  local body = { prompt = g.prompt, resolution = g.resolution, ratio = g.ratio, duration = g.duration,
                 generate_audio = g.audio }
  for field, list in pairs({ reference_images = g.images, reference_videos = g.videos,
                             reference_audios = g.audios }) do
    if #list > 0 then body[field] = json.array(shared.urls(list)) end
  end
  return { endpoint = "create_task", method = "POST", params = { model = g.model },
           retry_on = D.retry_on, body = body }
end

--- {request_id, status_url, response_url, cancel_url}: the request waits in the queue.
function D.parse_created_task(b)
  return { id = json.str(b.request_id), raw_status = json.val(b.status) or "IN_QUEUE",
           status_url = json.val(b.status_url), response_url = json.val(b.response_url) }
end

--- The status while the request runs; once it said COMPLETED, the result, which alone
-- tells a video from a refusal.
function D.get_task(id, task)
  local done = task and task.raw_status == "COMPLETED"
  return { endpoint = done and "get_result" or "get_task", method = "GET", params = { id = id },
           idempotent = true, retry_on = D.retry_on }
end

-- the result: {video:{url}}, or {success:false, error:{code, message}}
local function parse_result(b)
  local video = json.val(b.video)
  local u = type(video) == "table" and json.val(video.url) or nil
  if json.val(b.success) ~= false and type(u) == "string" then
    return { raw_status = "COMPLETED", status = "succeeded", progress = 100, video_url = u }
  end
  local e = json.val(b.error)
  local err = shared.failure(e) or
    { code = "no_video", message = type(e) == "string" and e or "the result carries no video" }
  return { raw_status = "COMPLETED", status = "failed", progress = 100, error = err }
end

--- Normalized task fields from a status answer (IN_QUEUE | IN_PROGRESS | COMPLETED) or a
-- result. A COMPLETED status is still running for us: the outcome is in the result.
function D.parse_task(b)
  if json.val(b.video) ~= nil or json.val(b.success) ~= nil then return parse_result(b) end
  local word = json.val(b.status)
  local f = { raw_status = word, progress = json.num(b.progress) }
  if word == "IN_QUEUE" then
    -- the queue's status answer says how many requests are ahead (0: next to run)
    f.progress, f.queue_position = 0, json.num(b.queue_position)
  end
  if word == "COMPLETED" then
    f.status, f.progress = "running", nil
  end
  return f
end

--- PUT /v1/queue/requests/{id}/cancel: a request still in the queue stops; the next
-- status says CANCELLED.
function D.cancel_task(id)
  return { endpoint = "cancel_task", method = "PUT", params = { id = id }, idempotent = true,
           retry_on = D.retry_on }
end

local RATE_WORDS = { "rate limit", "rate_limit", "ratelimit", "too many", "throttl", "slow down" }
local AUTH_WORDS = { "api key", "api_key", "apikey", "unauthor", "forbidden", "permission",
                     "credential", "access denied", "not allowed", "invalid key", "invalid token" }

local function mentions(s, words)
  for _, w in ipairs(words) do
    if s:find(w, 1, true) then return true end
  end
  return false
end

--- 403 is Sunra's rate limit (see the module comment); a refusal by content moderation
-- is `moderation` whatever its status; the rest follows the status.
function D.error_kind(status, _, message, code)
  local s = ((type(code) == "string" and code or "") .. " " .. (type(message) == "string" and message or "")):lower()
  if s:find("unsafe_content", 1, true) or s:find("sensitivecontent", 1, true) then return "moderation" end
  -- a request that left the queue cannot be cancelled any more
  if s:find("cannot_cancel", 1, true) then return "conflict" end
  if status ~= 403 then return nil end
  if mentions(s, RATE_WORDS) then return "rate_limited" end
  if mentions(s, AUTH_WORDS) then return "auth" end
  return "rate_limited"
end

--- Prompt token: `@Image1`, `@Video1`, `@Audio1` (position within the type's list).
function D.token(kind, n)
  return "@" .. kind:sub(1, 1):upper() .. kind:sub(2) .. n
end

--- List-based refresh: one page of still-processing assets refreshes many at once
-- (the C scheduler); what left it is looked for in the other statuses, then fetched alone.
D.list_pending = {
  asset = { list = "list_assets", parse = "parse_list", args = { status = "processing", page_size = 100 },
            items = "items", id = "id", status = "status", total = "total", item = "parse_asset",
            statuses = { "processing", { "active", "failed" } } },
}

-- where a GET answer says the status and progress: an unchanged answer ends in C
-- (the status answer carries no progress: the number watched beside the status is the
-- queue position, so a request moving up the queue reaches task.queue_position)
D.poll = { asset = { status = "status" },
           task = { status = "status", progress = "queue_position", field = "queue_position" } }

return D
