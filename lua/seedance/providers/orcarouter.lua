--- OrcaRouter dialect (https://orcarouter.ai): the Seedance asset library under `/v1/asset`,
-- Bearer auth, the upstream's Capitalized field names (`GroupId`, `URL`, `AssetType`, ...)
-- and status words (`Processing`, `Active`, `Failed`).
--
-- Every asset lives in a group: an "aigc" group made by create_group, or a "real_human"
-- group made by a verification session (client:verify). Listing groups always sends
-- `group_type`, because OrcaRouter lists real_human groups when it is absent: with no
-- `type` given, seedance lists the aigc groups (the ones create_group makes).
--
-- A 403 is the 100-asset quota when its body says so (`quota`), otherwise a refused
-- permission (`auth`). Paths marked [assumed] in providers.md are plain `endpoints` entries.
--
-- Generation is `POST /video/generations`: the prompt at the top level, the media (and
-- the settings) in `metadata`, `metadata.content[]` holding only media items. The answer
-- carries two ids, `id` and `task_id`; the task is polled by `task_id`, and the poll
-- answers in the upstream's shape (`status`, `content.video_url`, `error`).
-- @module seedance.providers.orcarouter
local json = require "seedance.wire.json"
local time = require "seedance.model.time"
local shared = require "seedance.providers.shared"

local D = {
  name = "orcarouter",
  base_url = "https://api.orcarouter.ai/v1",
  endpoints = {
    create_group = "/asset/groups",
    list_groups = "/asset/groups",
    update_group = "/asset/groups/{id}",
    upload_asset = "/asset/files",
    get_asset = "/asset/files/{id}",
    list_assets = "/asset/files",
    delete_asset = "/asset/files/{id}",
    create_session = "/asset/real-human/sessions",
    get_session = "/asset/real-human/sessions/{id}",
    create_task = "/video/generations",
    get_task = "/video/generations/{id}",
  },
  -- the upstream's BytePlus model ids, behind OrcaRouter's "byteplus/" vendor prefix
  models = { standard = "byteplus/dreamina-seedance-2-0-260128",
             fast = "byteplus/dreamina-seedance-2-0-fast-260128" },
  generate_fields = { resolution = true, ratio = true, duration = true, audio = true, seed = true,
                      watermark = true },
  page_size = 100,
  capabilities = { assets = true, list = true, delete = true, groups = true, update_group = true,
                   sessions = true, generate = true },
  -- AssetType is required on upload: client:upload refuses an upload without one
  requires_type = true,
  -- every asset lives in a group: client:upload refuses an upload without one
  requires_group = true,
}

-- the upstream's words for the two kinds of group
local GROUP_TYPE = { aigc = "aigc", real_human = "real_human", livenessface = "real_human" }

--- The Authorization header: Bearer <key>.
function D.auth(key)
  return { "Authorization: Bearer " .. key }
end

--- Normalized asset fields from an OrcaRouter asset (GET or a list item).
-- (the upstream's record, passed on as it is)
function D.parse_asset(b)
  return shared.upstream_asset(b)
end

--- POST /asset/files answers only `{Id}`: the asset is Processing from then on.
function D.parse_upload(b)
  local f = D.parse_asset(b)
  f.raw_status = f.raw_status or "Processing"
  return f
end

--- POST /asset/files {GroupId, URL, AssetType, Name?}; a missing group is sent as
-- missing, and OrcaRouter refuses it (a validation error); a missing type never gets here
-- (`requires_type`).
function D.upload_asset(a)
  return { endpoint = "upload_asset", method = "POST",
           body = { GroupId = a.group, URL = a.url, AssetType = a.type and shared.TYPE_OUT[a.type], Name = a.name } }
end

--- GET /asset/files/{id}.
function D.get_asset(id)
  return { endpoint = "get_asset", method = "GET", params = { id = id }, idempotent = true }
end

--- GET /asset/files?group_id=&statuses=Active,Processing&page_number=&page_size=.
function D.list_assets(args, page)
  local st = args.status
  if type(st) ~= "table" then st = { st } end
  local words = {}
  for _, s in ipairs(st) do words[#words + 1] = shared.STATUS_OUT[s] or s end
  return { endpoint = "list_assets", method = "GET", idempotent = true,
           query = { group_id = args.group, statuses = #words > 0 and table.concat(words, ",") or nil,
                     page_number = page, page_size = args.page_size or D.page_size } }
end

-- the list envelope every listing shares: {TotalCount, Items, PageNumber, PageSize}
local function page_of(b, page, parse)
  return shared.upstream_page(b, parse, page, D.page_size)
end

--- Items of one page of assets and whether another page follows.
function D.parse_list(b, page)
  return page_of(b, page, D.parse_asset)
end

--- DELETE /asset/files/{id} [assumed].
function D.delete_asset(id)
  return { endpoint = "delete_asset", method = "DELETE", params = { id = id }, idempotent = true,
           empty_ok = true }
end

--- Groups

--- POST /asset/groups {Name (<= 64), Description? (<= 300)} -> {Id}.
function D.create_group(args)
  return { endpoint = "create_group", method = "POST",
           body = { Name = args.name, Description = args.description } }
end

--- Normalized group fields from `{Id}` or a list item.
function D.parse_group(b)
  local gt = shared.lower_word(b.GroupType)
  return {
    id = json.str(b.Id),
    name = json.val(b.Name),
    description = json.val(b.Description),
    type = gt and (GROUP_TYPE[gt] or gt) or nil,
    created_at = time.parse(json.val(b.CreateTime)),
    updated_at = time.parse(json.val(b.UpdateTime)),
  }
end

--- GET /asset/groups?group_type=&name=&page_number=&page_size=, group_type always sent.
function D.list_groups(opts, page)
  return { endpoint = "list_groups", method = "GET", idempotent = true,
           query = { group_type = opts.type or "aigc", name = opts.name, page_number = page,
                     page_size = opts.page_size or D.page_size } }
end

--- Items of one page of groups and whether another page follows.
function D.parse_group_list(b, page)
  return page_of(b, page, D.parse_group)
end

--- PATCH /asset/groups/{id} {Name?, Description?}.
function D.update_group(id, args)
  return { endpoint = "update_group", method = "PATCH", params = { id = id }, idempotent = true,
           body = { Name = args.name, Description = args.description } }
end

--- Real-person verification

--- POST /asset/real-human/sessions {return_url?} -> {session_id, h5_link, status}.
function D.create_session(args)
  return { endpoint = "create_session", method = "POST",
           body = { return_url = args.return_url } }
end

--- Normalized session fields from the start answer or a poll.
function D.parse_session(b)
  return {
    id = json.str(b.session_id),
    link = json.val(b.h5_link),
    raw_status = json.val(b.status),
    group_id = json.str(b.group_id),
    error = shared.failure(b.error),
  }
end

--- GET /asset/real-human/sessions/{session_id} -> {session_id, status, group_id?} [assumed].
function D.get_session(id)
  return { endpoint = "get_session", method = "GET", params = { id = id }, idempotent = true }
end

--- Generation

--- POST /video/generations {model, prompt, metadata: {content[], ratio, duration, resolution,
-- generate_audio, seed, watermark}}: content holds images, then videos, then audios (or the
-- first and last frames); metadata is left out when it would be empty.
function D.create_task(g)
  local item, content = shared.media_item, {}
  if g.first_frame then
    content[#content + 1] = item("image", g.first_frame.url, "first_frame")
    if g.last_frame then content[#content + 1] = item("image", g.last_frame.url, "last_frame") end
  end
  for _, kind in ipairs({ "image", "video", "audio" }) do
    for _, m in ipairs(g[kind .. "s"]) do content[#content + 1] = item(kind, m.url, "reference_" .. kind) end
  end
  local meta = { ratio = g.ratio, duration = g.duration, resolution = g.resolution,
                 generate_audio = g.audio, seed = g.seed, watermark = g.watermark }
  if #content > 0 then meta.content = json.array(content) end
  return { endpoint = "create_task", method = "POST",
           body = { model = g.model, prompt = g.prompt, metadata = next(meta) and meta or nil } }
end

--- {id, task_id, ...}: the task is known by `task_id` from here on.
function D.parse_created_task(b)
  local tid = json.str(b.task_id) or json.str(b.id)
  return { id = tid, generation_id = json.str(b.id), raw_status = json.val(b.status) or "queued",
           model = json.val(b.model) }
end

--- GET /video/generations/{task_id}.
function D.get_task(id)
  return { endpoint = "get_task", method = "GET", params = { id = id }, idempotent = true }
end

--- Normalized task fields from the upstream-shaped {id, status, content: {video_url,
-- last_frame_url?}, error: {code, message} | null}.
function D.parse_task(b)
  local c = json.val(b.content)
  c = type(c) == "table" and c or {}
  local word = json.val(b.status)
  return {
    raw_status = word,
    video_url = json.val(c.video_url),
    last_frame_url = json.val(c.last_frame_url),
    error = shared.task_error(b.error),
    usage = shared.usage(b.usage),
    progress = json.num(b.progress) or (word == "succeeded" and 100 or nil),
    created_at = time.parse(json.val(b.created_at)),
  }
end

--- Errors

--- 403 is the asset quota when the body says so, a refused permission otherwise; a
-- refusal by content moderation is `moderation` whatever its status.
function D.error_kind(status, _, message, code)
  local s = ((type(code) == "string" and code or "") .. " " .. (type(message) == "string" and message or "")):lower()
  if s:find("sensitivecontent", 1, true) then return "moderation" end
  if status ~= 403 then return nil end
  if s:find("quota", 1, true) or s:find("limit", 1, true) then return "quota" end
  return "auth"
end

--- Prompt token: the upstream's `[Image 1]`, `[Video 1]`, `[Audio 1]`.
function D.token(kind, n)
  return "[" .. kind:sub(1, 1):upper() .. kind:sub(2) .. " " .. n .. "]"
end

--- List-based refresh: one page of still-processing assets refreshes many at once
-- (the C scheduler); what left it is looked for in the other statuses, then fetched alone.
D.list_pending = {
  asset = { list = "list_assets", parse = "parse_list", args = { status = "processing", page_size = 100 },
            items = "Items", id = "Id", status = "Status", total = "TotalCount", item = "parse_asset",
            statuses = { "processing", { "active", "failed" } } },
}

-- where a GET answer says the status and progress: an unchanged answer ends in C
D.poll = { asset = { status = "Status" }, task = { status = "status", progress = "progress" } }

return D
