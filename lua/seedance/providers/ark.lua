--- Ark dialect: the upstream itself (Volcengine Ark, or BytePlus ModelArk).
--
-- Two planes. The asset library (groups, assets, real-person sessions) is Volcengine's
-- signed OpenAPI: every action is `POST <control_url>/?Action=<Action>&Version=2024-01-01`
-- with a PascalCase JSON body, signed with an access key / secret key pair (signature V4,
-- computed in C by `core.sign_v4`), answering
-- `{ResponseMetadata = {RequestId, Action, Version, Error = {Code, Message}?}, Result}`.
-- Generation is the data plane at `base_url`, with `Authorization: Bearer <api_key>`:
-- `POST /contents/generations/tasks` with a `content[]` list (the text first, then images,
-- videos, audios, each with its role), polled by id, listed, cancelled by DELETE. A client
-- that only manages assets may leave out the api_key (an access/secret pair is enough).
--
-- The defaults are Volcengine's (region `cn-beijing`). BytePlus ModelArk is the same API
-- on other hosts; pass its three settings (they are also `ark.byteplus`):
--
--     seedance.new{provider = "ark", api_key = ..., access_key = ..., secret_key = ...,
--                  region = "ap-southeast-1", control_url = "https://open.byteplusapi.com",
--                  base_url = "https://ark.ap-southeast.bytepluses.com/api/v3"}
--
-- Every action's path is an entry of `endpoints`, so a changed Version can be patched.
-- What providers.md marks [assumed] (the real-person group type word, ListAssetGroups'
-- filter, the session's not-ready and spent-token answers) sits in one named table each.
-- @module seedance.providers.ark
local json = require "seedance.wire.json"
local time = require "seedance.model.time"
local core = require "seedance.core"
local shared = require "seedance.providers.shared"

local VERSION = "2024-01-01"
local function action(name) return "/?Action=" .. name .. "&Version=" .. VERSION end

local D = {
  name = "ark",
  base_url = "https://ark.cn-beijing.volces.com/api/v3",
  control_url = "https://open.volcengineapi.com",
  region = "cn-beijing",
  service = "ark",
  version = VERSION,
  endpoints = {
    create_group = action("CreateAssetGroup"),
    list_groups = action("ListAssetGroups"),
    get_group = action("GetAssetGroup"),
    update_group = action("UpdateAssetGroup"),
    delete_group = action("DeleteAssetGroup"),
    upload_asset = action("CreateAsset"),
    get_asset = action("GetAsset"),
    list_assets = action("ListAssets"),
    update_asset = action("UpdateAsset"),
    delete_asset = action("DeleteAsset"),
    create_session = action("CreateVisualValidateSession"),
    get_session = action("GetVisualValidateResult"),
    create_task = "/contents/generations/tasks",
    get_task = "/contents/generations/tasks/{id}",
    list_tasks = "/contents/generations/tasks",
    cancel_task = "/contents/generations/tasks/{id}",
  },
  -- Volcengine's model ids; a BytePlus client gets D.byteplus_models (see D.models_for)
  models = { standard = "doubao-seedance-2-0-260128", fast = "doubao-seedance-2-0-fast-260128" },
  -- every generation field of api.md is documented by Ark (audio as `generate_audio`), and
  -- the upstream's own: draft, flex and frames only on the models that take them (see
  -- D.generation_problem)
  generate_fields = { resolution = true, ratio = true, duration = true, audio = true, seed = true,
                      watermark = true, callback_url = true, service_tier = true, execution_expires_after = true,
                      draft = true, draft_task = true, frames = true },
  page_size = 50,
  -- CreateAsset takes AssetType: client:upload refuses an upload without one
  requires_type = true,
  -- every asset lives in a group: client:upload refuses an upload without one
  requires_group = true,
  capabilities = { assets = true, list = true, delete = true, groups = true, update_group = true,
                   sessions = true, generate = true, cancel = true,
                   -- return_last_frame: the task's content carries last_frame_url
                   last_frame = true },
}

--- The settings of the other deployment, BytePlus ModelArk (see the module comment).
D.byteplus = {
  region = "ap-southeast-1",
  control_url = "https://open.byteplusapi.com",
  base_url = "https://ark.ap-southeast.bytepluses.com/api/v3",
}

--- BytePlus ModelArk's model ids (the same models under its own names).
D.byteplus_models = { standard = "dreamina-seedance-2-0-260128", fast = "dreamina-seedance-2-0-fast-260128" }

--- Which deployment a client talks to: its data-plane host says so when it is one of the
-- two public ones; otherwise (a proxy, the emulator) its region does: "cn-*" is Volcengine.
-- @treturn string "volcengine" or "byteplus"
function D.deployment(client)
  local host = (client.base_url or ""):match("^%a[%w+.-]*://([^/?#:]+)") or ""
  host = host:lower()
  if host:match("volces%.com$") then return "volcengine" end
  if host:match("bytepluses%.com$") then return "byteplus" end
  return (client.region or D.region):match("^cn%-") and "volcengine" or "byteplus"
end

--- The model ids `model = "standard" | "fast"` stand for on this client's deployment.
function D.models_for(client)
  return D.deployment(client) == "byteplus" and D.byteplus_models or D.models
end

--- The signing clock (unix seconds); a spec may pin it to check a fixed signature.
D.clock = core.time
-- Ark queues at most this many generation tasks per account: with a store, a fleet of
-- workers keeps below it together (seedance.new{max_in_flight=} overrides)
D.max_in_flight = 120

--- Refuse half a key pair at seedance.new: the asset library would fail on every call.
-- @treturn string|nil what is wrong
function D.check_options(opts)
  if (opts.access_key == nil) ~= (opts.secret_key == nil) then
    return "ark needs both access_key and secret_key for its asset library (or neither)"
  end
  if opts.region ~= nil and not opts.region:match("^[%w%-]+$") then
    return "region must look like \"cn-beijing\" or \"ap-southeast-1\", got '" .. opts.region .. "'"
  end
  return nil
end

--- An api_key is needed only for generation: a key pair alone is a working asset client.
-- (seedance.new asks this before it insists on an api_key.)
function D.key_optional(opts)
  return opts.access_key ~= nil and opts.secret_key ~= nil
end

--- Assets can be looked up (a reference's type found out) only with the key pair that
-- signs the asset library.
function D.can_look_up(secrets)
  return secrets.access_key ~= nil and secrets.secret_key ~= nil
end

-- host, path and raw query of a URL as it goes on the wire
local function split_url(u)
  local host, rest = u:match("^%a[%w+.-]*://([^/?#]+)(.*)$")
  if not host then error("seedance: ark cannot sign the URL " .. tostring(u), 0) end
  host = host:gsub("^.*@", "")
  rest = rest:gsub("#.*$", "")
  local path, query = rest:match("^([^?]*)%??(.*)$")
  return host, path == "" and "/" or path, query
end

local function header_value(headers, name)
  local want = name:lower() .. ":"
  for _, h in ipairs(headers or {}) do
    if h:sub(1, #want):lower() == want then return (h:sub(#want + 1):gsub("^%s+", "")) end
  end
  return nil
end

--- Sign one control-plane request.
-- @tparam table req {method=, url=, body=, headers=} exactly as it will be sent
-- @tparam table secrets {access_key=, secret_key=}
-- @tparam string region
-- @tparam[opt] number now unix seconds (default: D.clock())
-- @treturn table the headers to add ("Name: value"), Authorization last
function D.sign(req, secrets, region, now)
  local host, path, query = split_url(req.url)
  local x_date = os.date("!%Y%m%dT%H%M%SZ", math.floor(now or D.clock()))
  local body = req.body or ""
  local body_hash = core.sha256_hex(body)
  local ctype = header_value(req.headers, "Content-Type")
  local signed = { ["Content-Type"] = ctype or "application/json", Host = host,
                   ["X-Date"] = x_date, ["X-Content-Sha256"] = body_hash }
  local s = core.sign_v4({ method = req.method, path = path, query = query, headers = signed,
    body = body, access_key = secrets.access_key, secret_key = secrets.secret_key,
    region = region, service = D.service })
  local out = { "Host: " .. host, "X-Date: " .. x_date, "X-Content-Sha256: " .. body_hash }
  if not ctype then out[#out + 1] = "Content-Type: " .. signed["Content-Type"] end
  out[#out + 1] = "Authorization: " .. s.authorization
  return out
end

--- Credentials for one request: the signature on the control plane, Bearer elsewhere.
function D.auth(key, op, secrets, req, client)
  if op.plane ~= "control" then
    if type(key) ~= "string" or key == "" then
      error("seedance: ark's generation API needs an api_key (seedance.new{api_key = ...} or "
            .. "SEEDANCE_API_KEY); access_key/secret_key only sign the asset library", 0)
    end
    return { "Authorization: Bearer " .. key }
  end
  if not (secrets and secrets.access_key and secrets.secret_key) then
    error("seedance: ark's asset library needs access_key and secret_key (seedance.new{...})", 0)
  end
  return D.sign(req, secrets, client and client.region or D.region)
end

--- The prompt notation for the n-th reference of a kind: "[Image 1]".
function D.token(kind, n)
  return "[" .. kind:sub(1, 1):upper() .. kind:sub(2) .. " " .. n .. "]"
end

--- Operations

local function control(endpoint, body, idempotent)
  -- every action is a POST with a JSON object, even one without fields
  return { endpoint = endpoint, method = "POST", body = body or {}, plane = "control",
           idempotent = idempotent }
end

-- upstream group types: "AIGC" is documented; the real-person word is [assumed]
local GROUP_TYPE_OUT = { aigc = "AIGC", real_human = "RealHuman" }

--- CreateAssetGroup: GroupType is required, and "AIGC" is the only kind one creates.
function D.create_group(args)
  return control("create_group", { Name = args.name, Description = args.description, GroupType = "AIGC" })
end

--- GetAssetGroup.
function D.get_group(id)
  return control("get_group", { Id = id }, true)
end

--- UpdateAssetGroup (only the fields given).
function D.update_group(id, args)
  return control("update_group", { Id = id, Name = args.name, Description = args.description }, true)
end

--- DeleteAssetGroup.
function D.delete_group(id)
  return control("delete_group", { Id = id }, true)
end

--- ListAssetGroups, one page. The filter's field names are [assumed].
function D.list_groups(opts, page)
  local filter = { Name = opts.name }
  if opts.type then filter.GroupTypes = json.array({ GROUP_TYPE_OUT[opts.type] }) end
  return control("list_groups", { Filter = filter, PageNumber = page,
                                  PageSize = opts.page_size or D.page_size }, true)
end

--- CreateAsset: a creation, so never repeated blindly by the engine.
function D.upload_asset(a)
  return control("upload_asset", { GroupId = a.group, URL = a.url, Name = a.name,
                                   AssetType = a.type and shared.TYPE_OUT[a.type] or nil })
end

--- GetAsset.
function D.get_asset(id)
  return control("get_asset", { Id = id }, true)
end

--- UpdateAsset (its name).
function D.update_asset(id, args)
  return control("update_asset", { Id = id, Name = args.name }, true)
end

--- DeleteAsset.
function D.delete_asset(id)
  return control("delete_asset", { Id = id }, true)
end

--- ListAssets, one page, filtered by group and statuses.
function D.list_assets(args, page)
  local filter = {}
  if args.group then filter.GroupIds = json.array({ args.group }) end
  local st = args.status
  if type(st) == "string" then st = { st } end
  if type(st) == "table" then
    local words = {}
    for i, s in ipairs(st) do words[i] = shared.STATUS_OUT[s] or s end
    filter.Statuses = json.array(words)
  end
  return control("list_assets", { Filter = filter, PageNumber = page,
                                  PageSize = args.page_size or D.page_size }, true)
end

--- CreateVisualValidateSession: the person's H5 page sends them to CallbackURL after.
function D.create_session(args)
  return control("create_session", { CallbackURL = args.return_url })
end

-- Not idempotent for the engine: the token works once, so a read whose answer was lost
-- must not be replayed as if nothing happened (the next poll reports the spent token).
--- GetVisualValidateResult for a session's token.
function D.get_session(id)
  return control("get_session", { BytedToken = id }, false)
end

--- Generation (data plane, Bearer)

local ROLE = { image = "reference_image", video = "reference_video", audio = "reference_audio" }

-- What the Seedance models take beyond 2.0's fields, per model (by its id without the
-- deployment's prefix), as the ModelArk video generation API documents them: a draft on
-- 1.5 pro (480p only), the flex tier on 1.5 pro and 1.0 pro, frames on 1.0 pro; the 1.x
-- models take first/last frames but no reference media, 1.0 pro no audio. An id not listed
-- is the service's to judge.
D.model_features = {
  ["seedance-2-0-260128"] = { references = true, audio = true },
  ["seedance-2-0-fast-260128"] = { references = true, audio = true },
  ["seedance-1-5-pro-251215"] = { audio = true, draft = true, flex = true },
  ["seedance-1-0-pro-250528"] = { flex = true, frames = true },
}

--- The Seedance 1.x model ids of this client's deployment (Volcengine's start with doubao-),
-- which `model` takes for drafts, the flex tier and frames.
function D.other_models(client)
  local prefix = D.deployment(client) == "volcengine" and "doubao-" or ""
  return { prefix .. "seedance-1-5-pro-251215", prefix .. "seedance-1-0-pro-250528" }
end

local function features(model)
  local base = tostring(model):gsub("^doubao%-", ""):gsub("^dreamina%-", "")
  return D.model_features[base], base
end

--- Why the model of generation `g` cannot take what it asks (nil when it can, or when the
-- model is not one seedance knows): checked before anything is paid.
function D.generation_problem(g)
  local f = features(g.model)
  if not f then return nil end
  local m = g.model
  if g.draft and not f.draft then
    -- named as this deployment names it (Volcengine's ids start with doubao-)
    return ("%s makes no drafts (draft): seedance 1.5 pro does (model = \"%sseedance-1-5-pro-251215\")")
      :format(m, m:match("^doubao%-") or "")
  end
  if g.draft_task and not f.draft then
    return m .. " cannot generate from a draft (draft_task): seedance 1.5 pro can"
  end
  if g.draft and g.resolution and g.resolution ~= "480p" then return "a draft is 480p only, not " .. g.resolution end
  if g.service_tier == "flex" and not f.flex then
    return m .. " has no flex tier (service_tier = \"flex\"): seedance 1.5 pro and 1.0 pro have"
  end
  if g.frames and not f.frames then
    return m .. " does not take frames: seedance 1.0 pro does (on the others, give duration)"
  end
  if g.frames and (g.frames < 29 or g.frames > 289 or (g.frames - 25) % 4 ~= 0) then
    return ("frames %d: 25 + 4n from 29 to 289 (29, 33, ... 289)"):format(g.frames)
  end
  if g.audio and not f.audio then return m .. " makes no audio (audio = true)" end
  if not f.references and (#(g.images or {}) + #(g.videos or {}) + #(g.audios or {})) > 0 then
    return m .. " takes no reference media: first/last frames only (seedance 2.0 takes references)"
  end
  return nil
end

--- POST /contents/generations/tasks: the text item first, then the first/last frames or
-- the reference images, videos and audios, in the order the prompt numbers them; or, for
-- the video from a draft, only the `draft_task` item. Only what the caller set is sent
-- (the service has a default for the rest).
function D.create_task(g)
  local media_item, content = shared.media_item, { { type = "text", text = g.prompt } }
  if g.draft_task then content = { { type = "draft_task", draft_task = { id = g.draft_task } } } end
  if g.first_frame then content[#content + 1] = media_item("image", g.first_frame.url, "first_frame") end
  if g.last_frame then content[#content + 1] = media_item("image", g.last_frame.url, "last_frame") end
  for _, kind in ipairs({ "image", "video", "audio" }) do
    for _, m in ipairs(g[kind .. "s"] or {}) do content[#content + 1] = media_item(kind, m.url, ROLE[kind]) end
  end
  return { endpoint = "create_task", method = "POST",
           body = { model = g.model, content = content, ratio = g.ratio, duration = g.duration,
                    resolution = g.resolution, generate_audio = g.audio, seed = g.seed,
                    watermark = g.watermark, return_last_frame = g.return_last_frame,
                    callback_url = g.callback_url, service_tier = g.service_tier,
                    execution_expires_after = g.execution_expires_after, draft = g.draft, frames = g.frames } }
end

--- GET /contents/generations/tasks/{id}.
function D.get_task(id)
  return { endpoint = "get_task", method = "GET", params = { id = id }, idempotent = true }
end

local TASK_FILTER = { queued = true, running = true, succeeded = true, failed = true,
                      cancelled = true, expired = true }

--- GET /contents/generations/tasks, one page, optionally of one status or one model
-- (`args.status` in the normalized words, which are also Ark's).
function D.list_tasks(args, page)
  args = args or {}
  if args.status ~= nil and not TASK_FILTER[args.status] then
    error("seedance: ark cannot list tasks by status '" .. tostring(args.status) .. "'", 2)
  end
  return { endpoint = "list_tasks", method = "GET", idempotent = true,
           query = { page_num = page or 1, page_size = args.page_size or D.page_size,
                     ["filter.status"] = args.status, ["filter.model"] = args.model } }
end

-- Not idempotent for the engine: DELETE cancels a queued task but deletes a finished one,
-- and a cancelled task refuses a second DELETE, so a replay after a lost answer misleads.
--- DELETE /contents/generations/tasks/{id}: cancels a queued task (a finished one is
-- deleted instead; a running one cannot be stopped).
function D.cancel_task(id)
  return { endpoint = "cancel_task", method = "DELETE", params = { id = id }, idempotent = false,
           empty_ok = true }
end

--- Parsing

local function result(b)
  local r = type(b) == "table" and json.val(b.Result)
  return type(r) == "table" and r or {}
end

-- Volcengine's error object, `{Code, Message}`
local function failure(e)
  return shared.failure(e, "Code", "Message")
end

--- Normalized asset fields from GetAsset's answer.
function D.parse_asset(b)
  return shared.upstream_asset(result(b))
end

--- CreateAsset answers only {Id}: the asset starts Processing.
function D.parse_upload(b)
  local f = D.parse_asset(b)
  f.raw_status = f.raw_status or "Processing"
  return f
end

local function page_of(b, page, parse)
  return shared.upstream_page(result(b), parse, page, D.page_size)
end

--- Items of one ListAssets page and whether another follows.
function D.parse_list(b, page)
  return page_of(b, page, shared.upstream_asset)
end

local function group_type(v)
  local w = shared.lower_word(v)
  if not w then return nil end
  w = w:gsub("[^%a]", "")
  if w == "aigc" then return "aigc" end
  if w == "realhuman" then return "real_human" end
  return w
end

local function group_fields(r)
  return {
    id = json.str(r.Id),
    name = json.val(r.Name),
    description = json.val(r.Description),
    type = group_type(r.GroupType),
    created_at = time.parse(json.val(r.CreateTime)),
  }
end

--- Normalized group fields (CreateAssetGroup answers only {Id}, UpdateAssetGroup less).
function D.parse_group(b)
  return group_fields(result(b))
end

--- Items of one ListAssetGroups page and whether another follows.
function D.parse_group_list(b, page)
  return page_of(b, page, group_fields)
end

-- Answers of GetVisualValidateResult that end a session rather than fail a request: the
-- token works once, so a spent (or elapsed) token means the session is over. [assumed codes]
local SESSION_END = {
  InvalidBytedToken = "expired", BytedTokenExpired = "expired", VisualValidateFailed = "failed",
}

--- A session from CreateVisualValidateSession ({BytedToken, H5Link}) or from
-- GetVisualValidateResult ({GroupId} once done; no GroupId yet while pending).
-- `session` is the Session being refreshed, if any.
function D.parse_session(b, session)
  local meta = type(b) == "table" and json.val(b.ResponseMetadata)
  local e = type(meta) == "table" and failure(meta.Error) or nil
  -- once the group is known, the token's being spent is old news
  if e and session ~= nil and session.group_id then return {} end
  if e then return { raw_status = SESSION_END[e.code] or "failed", error = e } end
  local r = result(b)
  local gid = json.str(r.GroupId)
  if gid == "" then gid = nil end
  return {
    id = json.str(r.BytedToken),
    link = json.val(r.H5Link),
    group_id = gid,
    raw_status = gid and "success" or "pending",
  }
end

--- A created task: only its id comes back; it starts queued.
function D.parse_created_task(b, g)
  return { id = json.str(type(b) == "table" and b.id or nil), raw_status = "queued", model = g and g.model }
end

local function task_fields(b)
  local content = json.val(b.content)
  if type(content) ~= "table" then content = {} end
  local raw = json.val(b.status)
  return {
    id = json.str(b.id), raw_status = raw, model = json.val(b.model),
    video_url = json.val(content.video_url), last_frame_url = json.val(content.last_frame_url),
    error = shared.task_error(b.error), progress = raw == "succeeded" and 100 or nil,
    usage = shared.usage(b.usage),
    created_at = time.parse(json.val(b.created_at)), updated_at = time.parse(json.val(b.updated_at)),
  }
end

--- Normalized fields of GET /contents/generations/tasks/{id} (Ark has no progress figure).
function D.parse_task(b)
  return task_fields(type(b) == "table" and b or {})
end

--- A DELETE answers nothing: a task that was queued is now cancelled; for one that had
-- ended the record is gone, and the task keeps what it knew.
function D.parse_cancel(_, task)
  if task and task.status == "queued" then return { raw_status = "cancelled" } end
  return {}
end

--- Tasks of one list page (each with `raw`) and whether another page follows.
-- @tparam[opt] number page_size what list_tasks asked for (default D.page_size)
function D.parse_task_list(b, page, page_size)
  b = type(b) == "table" and b or {}
  local items = {}
  for i, raw in ipairs(json.val(b.items) or {}) do
    items[i] = task_fields(raw)
    items[i].raw = raw
  end
  local total = json.num(b.total) or 0
  return items, #items > 0 and ((page or 1) - 1) * (page_size or D.page_size) + #items < total
end

--- Errors

-- Volcengine's codes (and Ark's) -> kinds; the HTTP status decides the rest.
local CODE_KIND = {
  InvalidParameter = "validation", MissingParameter = "validation", InvalidArgument = "validation",
  InvalidActionOrVersion = "not_found", InvalidBytedToken = "validation",
  BytedTokenExpired = "validation",
  AuthenticationError = "auth", SignatureDoesNotMatch = "auth", InvalidAccessKey = "auth",
  InvalidCredential = "auth", MissingAuthenticationToken = "auth", InvalidTimestamp = "auth",
  AccessDenied = "auth", SubscriptionRequired = "auth", InvalidAuthorization = "auth",
  AccountOverdueError = "quota", QuotaExceeded = "quota", SetLimitExceeded = "quota",
  ModelNotOpen = "auth", RequestBurstTooFast = "rate_limited",
  ["InvalidEndpoint.NotFound"] = "not_found", NotFound = "not_found", ResourceNotFound = "not_found",
  FlowLimitExceeded = "rate_limited", RequestLimitExceeded = "rate_limited",
  RateLimitExceeded = "rate_limited", TooManyRequests = "rate_limited",
  ServerOverloaded = "rate_limited",
  InternalError = "provider", InternalServiceError = "provider", ServiceUnavailable = "provider",
  Conflict = "conflict",
}

local STATUS_KIND = {
  [400] = "validation", [401] = "auth", [403] = "auth", [404] = "not_found", [409] = "conflict",
  [413] = "validation", [422] = "validation", [429] = "rate_limited",
}

--- The kind of a provider code: exact, then by its family ("InvalidParameter.Name",
-- "X.NotFound"), moderation for any "*SensitiveContentDetected*"; nil when unknown.
function D.code_kind(code)
  if type(code) ~= "string" then return nil end
  if code:find("SensitiveContentDetected", 1, true) then return "moderation" end
  if CODE_KIND[code] then return CODE_KIND[code] end
  local head = code:match("^([^.]+)%.")
  if head and CODE_KIND[head] then return CODE_KIND[head] end
  if code:match("NotFound$") then return "not_found" end
  if code:match("LimitExceeded") then return "rate_limited" end
  return nil
end

-- The data plane's error body, `{error = {code, message, param, type}}`, only in a 4xx/5xx:
-- a 200 task answer has an `error` of its own, which is the task's, not the request's.
local function data_failure(status, body)
  if status < 400 or type(body) ~= "table" then return nil end
  return shared.failure(body.error)
end

--- The request id Volcengine's OpenAPI puts in the body (seedance.wire.http asks for it).
function D.request_id(body)
  local meta = json.val(body.ResponseMetadata)
  return type(meta) == "table" and json.str(json.val(meta.RequestId)) or nil
end

--- On the control plane an error may come in a 200 as well as in a 4xx/5xx: the
-- ResponseMetadata decides (and carries the request id, see request_id). The data plane
-- answers errors with a 4xx/5xx and an `error` object.
-- @return kind, code, message; a nil kind is not an error
function D.classify(status, body, op)
  local meta = type(body) == "table" and json.val(body.ResponseMetadata) or nil
  local e = type(meta) == "table" and failure(meta.Error) or nil
  if e and op and op.endpoint == "get_session" and SESSION_END[e.code] then return nil end
  if not e and status < 400 then return nil end
  e = e or data_failure(status, body)
  local code = e and e.code
  local kind = D.code_kind(code) or STATUS_KIND[status]
  if not kind then kind = (status == 429 and "rate_limited") or "provider" end
  return kind, code, e and e.message
end

return D
