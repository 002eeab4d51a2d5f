--- AnyFast dialect (https://docs.anyfast.ai): Bearer auth, the upstream's asset-library
-- actions as `POST /volc/asset/<Action>` with bare results, and a `model` field that picks
-- what the call is billed as (`volc-asset` for images, `-video`, `-audio`).
-- CreateAsset takes a URL, a data URI or raw base64 in JSON, or a local file as
-- multipart/form-data. Every call is a POST; the read-only ones are marked idempotent so
-- the engine may repeat them. There is no delete.
-- Generation is `/v1/video/generations` with a `content[]` list; its poll answers
-- `{code:"success", data}` and repeats `result_url` in `fail_reason` on success (no error).
-- @module seedance.providers.anyfast
local json = require "seedance.wire.json"
local time = require "seedance.model.time"
local http = require "seedance.wire.http"
local media_types = require "seedance.media.types"
local errors = require "seedance.error"
local multipart = require "seedance.wire.multipart"
local task_status = require "seedance.model.status"
local shared = require "seedance.providers.shared"

local D = {
  name = "anyfast",
  base_url = "https://www.anyfast.ai",
  endpoints = {
    create_group = "/volc/asset/CreateAssetGroup",
    list_groups = "/volc/asset/ListAssetGroups",
    upload_asset = "/volc/asset/CreateAsset",
    get_asset = "/volc/asset/GetAsset",
    list_assets = "/volc/asset/ListAssets",
    create_session = "/volc/asset/CreateVisualValidateSession",
    get_session = "/volc/asset/GetVisualValidateResult",
    create_task = "/v1/video/generations",
    get_task = "/v1/video/generations/{id}",
  },
  -- both take asset:// references (AnyFast's asset workflow generates with them)
  models = { standard = "seedance", fast = "seedance-fast" },
  -- the generation fields AnyFast documents; a seed is refused before sending
  generate_fields = { resolution = true, ratio = true, duration = true, audio = true, watermark = true },
  page_size = 100,
  -- CreateAsset takes AssetType (and bills by it): client:upload refuses an upload whose
  -- type neither is given nor can be told (D.upload_type)
  requires_type = true,
  -- every asset lives in a group: client:upload refuses an upload without one
  requires_group = true,
  capabilities = { assets = true, list = true, delete = false, groups = true, sessions = true,
                   file_upload = true, generate = true,
                   -- return_last_frame is relayed upstream; content.last_frame_url comes back
                   last_frame = true },
}

local TYPE_IN = { Image = "image", Video = "video", Audio = "audio" }
local GROUP_TYPE_OUT = { aigc = "AIGC", real_human = "LivenessFace" }
local GROUP_TYPE_IN = { aigc = "aigc", livenessface = "real_human" }

--- The billing model of each asset type (images are the default, `volc-asset`).
D.MODELS = { image = "volc-asset", video = "volc-asset-video", audio = "volc-asset-audio" }

--- The credential header: a Bearer token.
function D.auth(key)
  return { "Authorization: Bearer " .. key }
end

--- Prompt token: "@image1", "@video1", "@audio1".
function D.token(kind, n)
  return "@" .. kind .. n
end

-- the upstream's `Result`, whether AnyFast passed it bare (as documented) or wrapped
local function result(b)
  if type(b) ~= "table" then return {} end
  local r = json.val(b.Result)
  return type(r) == "table" and r or b
end

-- AnyFast isolates tokens by prefixing group names with "[u-<user>]-[t-<token>]"
local function strip_prefix(name)
  if type(name) ~= "string" then return nil end
  return (name:gsub("^%[u%-[^%]]*%]%-%[t%-[^%]]*%]%-?", ""))
end

--- What is being uploaded

-- "data:image/png;base64,..." -> "image"; raw base64 is a PNG to AnyFast
local function inline_type(u)
  local mime = u:match("^data:(%a+)/[^;,]*[;,]")
  if mime then return TYPE_IN[mime:sub(1, 1):upper() .. mime:sub(2):lower()] end
  if #u >= 16 and not u:find("[^%w%+/=\r\n]") then return "image" end
  return nil
end

--- Whether an upload's URL is inline data AnyFast takes: a data URI or raw base64.
function D.inline_ok(u)
  return u:match("^data:") ~= nil or inline_type(u) ~= nil
end

--- The asset type of an upload: given, else from the file's or URL's extension, else from
-- an inline data URI (raw base64 counts as an image).
function D.upload_type(a)
  if a.type then return a.type end
  if a.file then return media_types.of(a.file) end
  return media_types.of(a.url) or inline_type(a.url)
end

local function upload_name(a)
  if a.name then return a.name end
  if a.file then return multipart.basename(a.file) end
  if a.url:find("^https?://") then
    local base = require("seedance.wire.url").basename(a.url)
    if base and base ~= "" then return base end
  end
  return "asset"
end

local function refuse(message)
  return nil, errors.new({ kind = "validation", provider = "anyfast", message = message })
end

--- Assets

--- The CreateAsset op (JSON for a URL, data URI or base64; multipart for a file), or nil and
-- a validation error (no group, no type, an unreadable file).
function D.upload_asset(a)
  local t = D.upload_type(a)
  if not t then
    return refuse("anyfast needs the asset type: pass type= (none can be told from " ..
      tostring(a.file or a.url):sub(1, 80) .. ")")
  end
  local op = { endpoint = "upload_asset", method = "POST" }
  if a.file then
    local data, msg = multipart.read_file(a.file)
    if not data then return refuse(msg) end
    op.body, op.content_type = multipart.encode({
      { name = "model", value = D.MODELS[t] },
      { name = "file", filename = multipart.basename(a.file), data = data },
      { name = "GroupId", value = a.group },
      { name = "Name", value = upload_name(a) },
    })
  else
    op.body = { model = D.MODELS[t], GroupId = a.group, Name = upload_name(a),
                AssetType = shared.TYPE_OUT[t], URL = a.url }
  end
  return op
end

--- Normalized asset fields from GetAsset or a ListAssets item.
function D.parse_asset(b)
  return shared.upstream_asset(result(b))
end

--- CreateAsset answers only `{Id}`: the rest is what we sent.
function D.parse_upload(b, a)
  local f = D.parse_asset(b)
  f.status = "processing"
  f.type = D.upload_type(a)
  f.name = upload_name(a)
  return f
end

--- The GetAsset op: read-only, so the engine may repeat it.
function D.get_asset(id)
  return { endpoint = "get_asset", method = "POST", body = { Id = id }, idempotent = true }
end

local function statuses(st)
  if st == nil then return nil end
  local list = {}
  local words = type(st) == "table" and st or {}
  if type(st) == "string" then
    for w in st:gmatch("[^,%s]+") do words[#words + 1] = w end
  end
  for _, w in ipairs(words) do list[#list + 1] = shared.STATUS_OUT[w] or w end
  return json.array(list)
end

--- One ListAssets page, filtered upstream by group and status.
function D.list_assets(args, page)
  local filter = { Statuses = statuses(args.status) }
  if args.group then filter.GroupIds = { args.group } end
  return { endpoint = "list_assets", method = "POST", idempotent = true,
           body = { model = D.MODELS.image, Filter = filter, PageNumber = page,
                    PageSize = args.page_size or D.page_size } }
end

local function page_of(b, page, parse)
  return shared.upstream_page(result(b), parse, page, D.page_size)
end

--- Items of one page, and whether another page follows.
function D.parse_list(b, page)
  return page_of(b, page, D.parse_asset)
end

--- Groups

--- The CreateAssetGroup op.
function D.create_group(args)
  -- CreateAssetGroup documents {model, Name} only: a description stays on our side
  return { endpoint = "create_group", method = "POST",
           body = { model = D.MODELS.image, Name = args.name } }
end

--- Normalized group fields from CreateAssetGroup's `{Id}` or a ListAssetGroups item.
function D.parse_group(b)
  local r = result(b)
  local gt = json.val(r.GroupType)
  return {
    id = json.str(json.val(r.Id)),
    name = strip_prefix(json.val(r.Name)),
    description = json.val(r.Description),
    type = type(gt) == "string" and GROUP_TYPE_IN[gt:lower()] or nil,
    created_at = time.parse(json.val(r.CreateTime)),
  }
end

--- One ListAssetGroups page, filtered upstream by type and name.
function D.list_groups(opts, page)
  return { endpoint = "list_groups", method = "POST", idempotent = true,
           body = { model = D.MODELS.image, PageNumber = page, PageSize = opts.page_size or D.page_size,
                    Filter = { GroupType = GROUP_TYPE_OUT[opts.type], Name = opts.name } } }
end

--- Groups of one page, and whether another page follows.
function D.parse_group_list(b, page)
  return page_of(b, page, D.parse_group)
end

--- Real-person sessions

--- The CreateVisualValidateSession op (CallbackURL is optional).
function D.create_session(args)
  return { endpoint = "create_session", method = "POST",
           body = { CallbackURL = args.return_url } }
end

--- The GetVisualValidateResult op for a session (its BytedToken).
function D.get_session(id)
  return { endpoint = "get_session", method = "POST", body = { BytedToken = id }, idempotent = true }
end

--- Normalized session fields from the start answer, a result, or a spent token's error.
-- There is no status word: "pending" until a GroupId comes, which means success.
function D.parse_session(b, session)
  -- once a group came, the spent token's later answers change nothing
  if session and session.group_id then return {} end
  local e = type(b) == "table" and shared.failure(b.error)
  if e then return { raw_status = "expired", error = e } end
  local r = result(b)
  return shared.session_fields(r.GroupId, r.BytedToken, r.H5Link)
end

--- Errors

local STATUS_KIND = {
  [400] = "validation", [401] = "auth", [402] = "quota", [403] = "auth", [404] = "not_found",
  [409] = "conflict", [413] = "validation", [422] = "validation", [429] = "rate_limited",
}

-- the upstream's token works once: asked again (or too late) it is the session's end
local function token_spent(code, message)
  local s = ((code or "") .. " " .. (type(message) == "string" and message or "")):lower()
  return s:find("bytedtoken", 1, true) ~= nil and
    (s:find("used", 1, true) ~= nil or s:find("expire", 1, true) ~= nil)
end

--- Errors by HTTP status, except that a spent BytedToken ends a session rather than a request.
function D.classify(status, body, op)
  if status < 400 then return nil end
  local message, code = http.describe_body(body)
  if op.endpoint == "get_session" and token_spent(code, message) then return nil end
  return STATUS_KIND[status] or "provider", code, message
end

--- Generation

--- The create op: `content[]` is the text item, then first/last frames or the reference
-- images, videos and audios, in that order (the `@image1`... tokens count in it).
function D.create_task(g)
  local item, content = shared.media_item, { { type = "text", text = g.prompt } }
  if g.first_frame then content[#content + 1] = item("image", g.first_frame.url, "first_frame") end
  if g.last_frame then content[#content + 1] = item("image", g.last_frame.url, "last_frame") end
  for _, kind in ipairs({ "image", "video", "audio" }) do
    for _, m in ipairs(g[kind .. "s"]) do content[#content + 1] = item(kind, m.url, "reference_" .. kind) end
  end
  return { endpoint = "create_task", method = "POST",
           body = { model = g.model, content = content, resolution = g.resolution, ratio = g.ratio,
                    duration = g.duration, generate_audio = g.audio, watermark = g.watermark,
                    return_last_frame = g.return_last_frame } }
end

-- "37%" (or a bare number) -> 37
local function percent(v)
  v = json.val(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil end
  return tonumber(v:match("^%s*(%d+%.?%d*)%s*%%?%s*$"))
end

local function word(v)
  v = json.val(v)
  if type(v) ~= "string" or v == "" then return nil end
  return v
end

--- The new task: `{id:"cgt-...", task_id, status, progress}`; status starts out empty.
function D.parse_created_task(b)
  return { id = json.str(json.val(b.id)) or json.str(json.val(b.task_id)), raw_status = word(b.status),
           progress = percent(b.progress) }
end

-- the poll answers `{code:"success", data}` in a 200; any other code there is an error
local function task_classify(status, body, op)
  local code = type(body) == "table" and json.val(body.code) or nil
  local ecode = type(code) == "string" and code ~= "success" and code or nil
  if ecode and ecode:lower():find("not_exist", 1, true) then
    return "not_found", ecode, word(body.message) or ecode
  end
  if status >= 400 then return D.classify(status, body, op) end
  if type(body) ~= "table" then return nil end
  if ecode then return "provider", ecode, word(body.message) or ecode end
  if code == nil and type(json.val(body.data)) ~= "table" then
    return "protocol", nil, "task answer without AnyFast's {code, data} envelope"
  end
  return nil
end

--- The poll op for one task id.
function D.get_task(id)
  return { endpoint = "get_task", method = "GET", params = { id = id }, idempotent = true,
           classify = task_classify }
end

local ENDED_BADLY = { failed = true, expired = true, cancelled = true }

--- Normalized task fields from a poll: status NOT_START|QUEUED|IN_PROGRESS|SUCCESS|FAILURE,
-- progress "NN%", the video at `result_url` (or the upstream's `data.content.video_url`).
-- On success `fail_reason` repeats `result_url` (a legacy quirk): never an error then.
function D.parse_task(b)
  local d = type(b) == "table" and json.val(b.data)
  if type(d) ~= "table" then d = {} end
  local up = json.val(d.data)
  if type(up) ~= "table" then up = {} end
  local content = json.val(up.content)
  if type(content) ~= "table" then content = {} end
  local raw = word(d.status)
  -- the upstream's own word says more than FAILURE when the task expired or was cancelled
  local up_status = word(up.status)
  if up_status and (task_status.normalize("task", up_status) == "expired" or
                    task_status.normalize("task", up_status) == "cancelled") then
    raw = up_status
  end
  local f = { raw_status = raw, progress = percent(d.progress),
              video_url = word(d.result_url) or word(content.video_url),
              last_frame_url = word(content.last_frame_url),
              created_at = time.parse(json.val(d.submit_time)), usage = shared.usage(up.usage) }
  if ENDED_BADLY[task_status.normalize("task", raw) or ""] then
    f.video_url = nil
    local reason = word(d.fail_reason)
    local e = json.val(up.error)
    if type(e) ~= "table" then e = {} end
    f.error = { code = json.str(json.val(e.code)), message = reason or word(e.message) }
  end
  return f
end

return D
