--- The OrcaRouter twin: the Seedance asset library under `/v1/asset`, as
-- described in reference/providers.md section 2 and OrcaRouter's guide (seeds/001).
--
-- Auth `Authorization: Bearer <key>`. Groups are AIGC (created directly) or
-- LivenessFace (real_human, created by a verification session that succeeds
-- `processing` seconds after it starts, or fails when its return_url holds
-- `verify-fail`). Assets need a group, a URL and an AssetType; they are
-- Processing for `processing` seconds, then Active, or Failed: FaceMismatch in
-- a real_human group for a URL holding `other-person` or `multi-face`, the
-- common URL markers elsewhere, a format that is not media, or an extension
-- that contradicts AssetType. The account holds at most 100 assets (`quota`
-- overrides); one more is a 403. Plan "free" lacks Advanced Creation Rights: 403.
-- Error bodies are `{"error": {"code", "message", "type"}}` [assumed: undocumented].
--
-- Video generation (no Advanced Creation Rights needed): `POST /v1/video/generations`
-- `{model, prompt, metadata: {content[], ratio, duration, resolution, generate_audio,
-- seed, watermark}}` answers `{id, task_id, model, status, created_at}`; the task is polled
-- by `task_id` only, in the upstream's shape `{id, model, status, content: {video_url},
-- error, created_at, updated_at}` [assumed: the poll is undocumented]. content[] holds
-- media only (a text item is refused), images then videos then audios, with the
-- upstream's roles; asset:// must name an Active asset of this account. The lifecycle is
-- seedance.emulator.tasks; moderation fails with OutputVideoSensitiveContentDetected.
-- @module seedance.emulator.orcarouter

local common = require "seedance.emulator.common"
local tasks = require "seedance.emulator.tasks"

local iso, lower, floor, find = common.iso8601, string.lower, math.floor, string.find

local orca = {name = "orcarouter", base_path = "/v1"}

local DEFAULT_QUOTA = 100
local MAX_PAGE_SIZE = 100
local MAX_NAME, MAX_DESCRIPTION = 64, 300
local ASSET_TYPES = {Image = true, Video = true, Audio = true}
local STATUS_WORDS = {processing = "Processing", active = "Active", failed = "Failed"}
local GROUP_TYPES = {aigc = "AIGC", real_human = "LivenessFace"}

local CODES = {
  [400] = "InvalidParameter", [401] = "AuthenticationError", [403] = "AccessDenied",
  [404] = "NotFound", [405] = "MethodNotAllowed", [429] = "RateLimitExceeded",
  [500] = "InternalServiceError", [502] = "BadGateway", [503] = "ServiceUnavailable",
  [504] = "GatewayTimeout",
}

--- An answer in OrcaRouter's error shape (`code` may be given, else from the status).
function orca.error(status, message, code)
  return common.json(status, {error = {code = code or CODES[status] or "InternalServiceError",
                                       message = message, type = "invalid_request_error"}})
end
local fail = orca.error

--- State

--- Fresh state: groups, assets and sessions by id, creation order, the
-- asset count the quota holds, the last request.
function orca.new()
  return {groups = {}, assets = {}, sessions = {}, tasks = {}, seq = 0, n_assets = 0, last = nil}
end

local function next_seq(state)
  state.seq = state.seq + 1
  return state.seq
end

local function render_asset(a, now)
  local status = STATUS_WORDS[common.asset_status(a, now)]
  local out = {
    Id = a.id, GroupId = a.group_id, AssetType = a.asset_type, Status = status, URL = a.url,
    CreateTime = iso(a.created_at), UpdateTime = iso(math.max(a.created_at, math.min(now, a.ready_at))),
  }
  if status == "Failed" then out.Error = {Code = a.failure.code, Message = a.failure.message} end
  return out
end

local function render_group(g)
  return {Id = g.id, Name = g.name, GroupType = g.group_type, CreateTime = iso(g.created_at),
          UpdateTime = iso(g.updated_at)}
end

local function new_group(state, env, now, name, description, group_type)
  local g = {id = env.new_id("group"), seq = next_seq(state), name = name, description = description,
             group_type = group_type, created_at = now, updated_at = now}
  state.groups[g.id] = g
  return g
end

-- A session settles lazily, when it is read: success makes its real_human group.
local function settle(state, s, env, now)
  if s.status ~= "pending" or now < s.ready_at then return end
  if s.return_url and find(lower(s.return_url), "verify-fail", 1, true) then
    s.status = "failed"
    return
  end
  s.status = "success"
  s.group_id = new_group(state, env, now, "real-human-" .. s.id, "", "LivenessFace").id
end

--- Request guards

local function utf8_len(s)
  return #s:gsub("[\128-\191]", "")
end

local JSON_REFUSED = {content_type = "Content-Type must be application/json", object = "the body must be a JSON object"}

local function json_body(req, allow_empty)
  if allow_empty and (req.body == nil or req.body == "") then return {} end
  return common.json_body(req, fail, 400, JSON_REFUSED)
end

-- Only documented fields, in their documented casing: `group_id` where `GroupId`
-- is meant is refused by name, as the service does.
local function check_fields(body, allowed)
  for k in pairs(body) do
    if not allowed[k] then return fail(400, "unknown parameter '" .. tostring(k) .. "'") end
  end
  return nil
end

local function optional_string(body, field, max)
  local v = body[field]
  if v == nil or v == common.null then return nil end
  if type(v) ~= "string" then return nil, fail(400, "'" .. field .. "' must be a string") end
  if max and utf8_len(v) > max then
    return nil, fail(400, common.format("'%s' must be at most %d characters", field, max))
  end
  return v
end

-- Auth, then Advanced Creation Rights (which the asset library needs and plain video
-- generation, `open`, does not); the request is kept for {op = "dump"}.
local function guarded(fn, open)
  return function(state, req, params, env)
    state.last = {method = req.method, path = req.path, raw_query = req.raw_query,
                  headers = req.headers, body = req.body}
    local key = (req.headers["authorization"] or ""):match("^Bearer (.+)$")
    local want = env.config.api_key
    if not key or (want ~= nil and key ~= want) then
      return fail(401, "invalid or missing API key")
    end
    if env.config.plan == "free" and not open then
      return fail(403, "the Seedance asset library requires Advanced Creation Rights")
    end
    return fn(state, req, params, env, env.now())
  end
end

local positive_int = common.positive_int

-- Reads page_number/page_size and answers the shared list envelope.
local function paged(q, list, render, now)
  local page = positive_int(q.page_number, 1)
  if not page then return fail(400, "'page_number' must be a positive integer") end
  local size = positive_int(q.page_size, 10)
  if not size or size > MAX_PAGE_SIZE then
    return fail(400, "'page_size' must be between 1 and " .. MAX_PAGE_SIZE)
  end
  table.sort(list, function(a, b) return a.seq > b.seq end)
  local items = {}
  local first = (page - 1) * size + 1
  for i = first, math.min(#list, first + size - 1) do items[#items + 1] = render(list[i], now) end
  return common.json(200, {TotalCount = #list, Items = common.array(items), PageNumber = page,
                           PageSize = size})
end

--- Groups

local function create_group(state, req, _, env, now)
  local body, err = json_body(req)
  if not body then return err end
  err = check_fields(body, {Name = true, Description = true})
  if err then return err end
  local name
  name, err = optional_string(body, "Name", MAX_NAME)
  if err then return err end
  if not name or name == "" then return fail(400, "'Name' is required", "MissingParameter") end
  local description
  description, err = optional_string(body, "Description", MAX_DESCRIPTION)
  if err then return err end
  local g = new_group(state, env, now, name, description or "", "AIGC")
  env.created("group:" .. name)
  return common.json(200, {Id = g.id})
end

local function list_groups(state, req, _, _, now)
  local q = req.query
  -- the service's default is real_human, which is why clients always send it
  local t = q.group_type
  if t == nil or t == "" then t = "real_human" end
  local want = GROUP_TYPES[t]
  if not want then return fail(400, "'group_type' must be aigc or real_human") end
  local name = q.name ~= "" and q.name or nil
  local list = {}
  for _, g in pairs(state.groups) do
    if g.group_type == want and (not name or find(g.name, name, 1, true)) then list[#list + 1] = g end
  end
  return paged(q, list, render_group, now)
end

local function update_group(state, req, params, _, now)
  local g = state.groups[params.id]
  if not g then return fail(404, "group not found") end
  local body, err = json_body(req)
  if not body then return err end
  err = check_fields(body, {Name = true, Description = true})
  if err then return err end
  local name, description
  name, err = optional_string(body, "Name", MAX_NAME)
  if err then return err end
  description, err = optional_string(body, "Description", MAX_DESCRIPTION)
  if err then return err end
  if name == "" then return fail(400, "'Name' must not be empty") end
  if not name and not description then return fail(400, "give 'Name' or 'Description'", "MissingParameter") end
  g.name = name or g.name
  g.description = description or g.description
  g.updated_at = now
  return common.json(200, {Id = g.id})
end

--- Assets

local function asset_failure(url, asset_type, group)
  local l = lower(url)
  if group.group_type == "LivenessFace" and (find(l, "other-person", 1, true) or find(l, "multi-face", 1, true)) then
    return {code = "FaceMismatch", message = "The face does not match the verified person of this group"}
  end
  local f = common.url_failure(url)
  if f then return f end
  local ext = common.extension(url)
  if ext ~= "" then
    local implied = common.media_type(ext)
    if not implied then
      return {code = "InvalidFormat", message = "format ." .. ext .. " is not supported"}
    elseif implied ~= asset_type then
      return {code = "InvalidFormat", message = "a ." .. ext .. " file is not of AssetType " .. asset_type}
    end
  end
  return nil
end

local function create_asset(state, req, _, env, now)
  local body, err = json_body(req)
  if not body then return err end
  err = check_fields(body, {GroupId = true, URL = true, AssetType = true, Name = true})
  if err then return err end
  local gid, url, t = body.GroupId, body.URL, body.AssetType
  if type(gid) ~= "string" or gid == "" then return fail(400, "'GroupId' is required", "MissingParameter") end
  if type(url) ~= "string" or url == "" then return fail(400, "'URL' is required", "MissingParameter") end
  if t == nil or t == common.null then return fail(400, "'AssetType' is required", "MissingParameter") end
  if not ASSET_TYPES[t] then return fail(400, "'AssetType' must be Image, Video or Audio") end
  if not url:match("^https?://") then
    return fail(400, "'URL' must be a publicly accessible http(s) URL")
  end
  local name
  name, err = optional_string(body, "Name", MAX_NAME)
  if err then return err end
  local g = state.groups[gid]
  if not g then return fail(404, "group " .. gid .. " not found", "NotFound.GroupId") end
  local limit = tonumber(env.config.quota) or DEFAULT_QUOTA
  if state.n_assets >= limit then
    return fail(403, common.format("asset quota exceeded: the account holds at most %d assets", limit),
                "QuotaExceeded")
  end
  local a = {id = env.new_id("asset"), seq = next_seq(state), group_id = gid, asset_type = t, url = url,
             name = name, created_at = now, ready_at = now + (tonumber(env.config.processing) or 0),
             failure = asset_failure(url, t, g)}
  state.assets[a.id] = a
  state.n_assets = state.n_assets + 1
  env.created(url)
  return common.json(200, {Id = a.id})
end

local function get_asset(state, _, params, _, now)
  local a = state.assets[params.id]
  if not a then return fail(404, "asset not found") end
  return common.json(200, render_asset(a, now))
end

local function list_assets(state, req, _, _, now)
  local q = req.query
  local wanted
  if q.statuses and q.statuses ~= "" then
    wanted = {}
    for word in q.statuses:gmatch("[^,]+") do
      local w = word:match("^%s*(.-)%s*$")
      local ok = false
      for _, v in pairs(STATUS_WORDS) do ok = ok or v == w end
      if not ok then return fail(400, "'statuses' takes Active, Processing, Failed; got '" .. w .. "'") end
      wanted[w] = true
    end
  end
  local gid = q.group_id ~= "" and q.group_id or nil
  local list = {}
  for _, a in pairs(state.assets) do
    if (not gid or a.group_id == gid) and (not wanted or wanted[STATUS_WORDS[common.asset_status(a, now)]]) then
      list[#list + 1] = a
    end
  end
  return paged(q, list, render_asset, now)
end

local function delete_asset(state, _, params)
  local a = state.assets[params.id]
  if not a then return fail(404, "asset not found") end
  state.assets[params.id] = nil
  state.n_assets = state.n_assets - 1
  return common.json(200, {Id = params.id})
end

--- Real-person sessions

local function create_session(state, req, _, env, now)
  local body, err = json_body(req, true)
  if not body then return err end
  err = check_fields(body, {return_url = true})
  if err then return err end
  local ret
  ret, err = optional_string(body, "return_url")
  if err then return err end
  local s = {id = env.new_id("session"), seq = next_seq(state), status = "pending", return_url = ret, created_at = now,
             ready_at = now + (tonumber(env.config.processing) or 0)}
  state.sessions[s.id] = s
  env.created(nil)
  return common.json(200, {session_id = s.id, status = "pending",
                           h5_link = "https://h5.orcarouter.ai/real-human/verify?session_id=" .. s.id})
end

local function get_session(state, _, params, env, now)
  local s = state.sessions[params.session_id]
  if not s then return fail(404, "session not found") end
  settle(state, s, env, now)
  return common.json(200, {session_id = s.id, status = s.status, group_id = s.group_id})
end

--- Video generation

local MODELS = {
  ["byteplus/dreamina-seedance-2-0-260128"] = {fast = false},
  ["byteplus/dreamina-seedance-2-0-fast-260128"] = {fast = true},
}
local GEN_FIELDS = {model = true, prompt = true, metadata = true}
local META_FIELDS = {content = true, ratio = true, duration = true, resolution = true,
                     generate_audio = true, seed = true, watermark = true}
-- per item type (also the name of its {url} field): its roles, its rank in the order, its limit
local ITEM_TYPES = {
  image_url = {roles = {reference_image = true, first_frame = true, last_frame = true}, rank = 1, max = 9},
  video_url = {roles = {reference_video = true}, rank = 2, max = 3},
  audio_url = {roles = {reference_audio = true}, rank = 3, max = 3},
}

local function present(v)
  return v ~= nil and v ~= common.null
end

local function invalid(message)
  return fail(400, message, "InvalidParameter")
end

-- One media item: nil when fine; counts by type and frame roles are tallied in `n`.
local function check_item(state, it, i, n, now)
  if type(it) ~= "table" or common.is_array(it) then return invalid("content[" .. i .. "] must be an object") end
  if it.type == "text" then
    return invalid("metadata.content[] takes media items only; the prompt is the top-level 'prompt'")
  end
  local spec = ITEM_TYPES[it.type]
  if not spec then return invalid("content[" .. i .. "].type must be image_url, video_url or audio_url") end
  for k in pairs(it) do
    if k ~= "type" and k ~= "role" and k ~= it.type then
      return fail(400, "unknown parameter 'content[" .. i .. "]." .. tostring(k) .. "'")
    end
  end
  if not spec.roles[it.role] then
    return invalid(common.format("content[%d].role '%s' is not a role of %s", i, tostring(it.role), it.type))
  end
  local media = it[it.type]
  local u = type(media) == "table" and media.url
  if type(u) ~= "string" or u == "" then return invalid("content[" .. i .. "]." .. it.type .. ".url is required") end
  for k in pairs(media) do
    if k ~= "url" then
      return fail(400, common.format("unknown parameter 'content[%d].%s.%s'", i, it.type, tostring(k)))
    end
  end
  local id = u:match("^asset://(.+)$")
  if id then
    local a = state.assets[id]
    if not a then return invalid("asset " .. id .. " not found in this account") end
    local st = common.asset_status(a, now)
    if st ~= "active" then return invalid("asset " .. id .. " is " .. STATUS_WORDS[st] .. ", not Active") end
  elseif not u:match("^https?://") then
    return invalid("content[" .. i .. "]: a URL must be http(s) or asset://")
  end
  if spec.rank < n.rank then return invalid("metadata.content[] must list images, then videos, then audios") end
  n.rank = spec.rank
  n[it.type] = n[it.type] + 1
  if n[it.type] > spec.max then return invalid(common.format("at most %d %s items", spec.max, it.type)) end
  n[it.role] = (n[it.role] or 0) + 1
  return nil
end

local function check_content(state, content, now)
  if not common.is_array(content) then return invalid("metadata.content must be a list") end
  local n = {rank = 0, image_url = 0, video_url = 0, audio_url = 0}
  for i, it in ipairs(content) do
    local err = check_item(state, it, i, n, now)
    if err then return err end
  end
  local frames = (n.first_frame or 0) + (n.last_frame or 0)
  if frames > 0 and (n.reference_image or n.reference_video or n.reference_audio) then
    return invalid("first/last frames cannot be mixed with reference media")
  end
  if (n.first_frame or 0) > 1 or (n.last_frame or 0) > 1 then
    return invalid("one first_frame and one last_frame at most")
  end
  if n.last_frame and not n.first_frame then return invalid("a last_frame needs a first_frame") end
  if n.image_url + n.video_url + n.audio_url > 12 then return invalid("at most 12 media items in all") end
  if n.audio_url > 0 and n.image_url + n.video_url == 0 then
    return invalid("reference audio needs a reference image or video beside it")
  end
  return nil
end

local function check_settings(m, model)
  local msg = common.settings_error(m, model.fast, "the fast model")
  if msg then return invalid(msg) end
  local seed = m.seed
  if present(seed) and not (type(seed) == "number" and seed == floor(seed) and seed >= -1 and seed <= 4294967295) then
    return invalid("'seed' must be an integer from -1 to 4294967295")
  end
  for _, k in ipairs({"generate_audio", "watermark"}) do
    if present(m[k]) and type(m[k]) ~= "boolean" then return invalid("'" .. k .. "' must be a boolean") end
  end
  return nil
end

local TASK_WORDS = {queued = "queued", running = "running", succeeded = "succeeded", failed = "failed",
                    cancelled = "cancelled", expired = "expired"}

local function create_generation(state, req, _, env, now)
  local body, err = json_body(req)
  if not body then return err end
  err = check_fields(body, GEN_FIELDS)
  if err then return err end
  if type(body.model) ~= "string" or body.model == "" then
    return fail(400, "'model' is required", "MissingParameter")
  end
  local model = MODELS[body.model]
  if not model then return invalid("model '" .. body.model .. "' is not supported") end
  if type(body.prompt) ~= "string" or body.prompt == "" then
    return fail(400, "'prompt' is required", "MissingParameter")
  end
  local meta = body.metadata
  if present(meta) then
    if type(meta) ~= "table" or (next(meta) ~= nil and common.is_array(meta)) then
      return invalid("'metadata' must be an object")
    end
    err = check_fields(meta, META_FIELDS) or check_settings(meta, model)
    if err then return err end
    if present(meta.content) then
      err = check_content(state, meta.content, now)
      if err then return err end
    end
  end
  local rec = tasks.new(env, {id = env.new_id("cgt"), prompt = body.prompt, model = body.model, input = body})
  rec.seq = next_seq(state)
  rec.generation_id = env.new_id("vgen")
  state.tasks[rec.id] = rec
  env.created("task\0" .. body.model .. "\0" .. common.encode(body))
  return common.json(200, {id = rec.generation_id, task_id = rec.id, model = body.model, status = "queued",
                           created_at = floor(rec.created)})
end

local function render_task(rec, env, req)
  local st, _, changed = tasks.state(rec, env)
  local out = {id = rec.id, model = rec.model, status = TASK_WORDS[st], error = common.null,
               created_at = floor(rec.created), updated_at = floor(changed)}
  if st == "succeeded" then
    out.content = {video_url = tasks.video_url(rec, env, req)}
  elseif st == "failed" and rec.outcome == "moderation" then
    out.error = {code = "OutputVideoSensitiveContentDetected",
                 message = "The request failed because the output video may contain sensitive information."}
  elseif st == "failed" then
    out.error = {code = "InternalServiceError", message = "The generation failed upstream."}
  end
  return out
end

local function get_generation(state, req, params, env)
  local rec = state.tasks[params.task_id]
  if not rec then
    for _, r in pairs(state.tasks) do
      if r.generation_id == params.task_id then
        return fail(404, "no task " .. params.task_id .. ": poll a generation by its task_id", "NotFound")
      end
    end
    return fail(404, "task " .. params.task_id .. " not found", "NotFound")
  end
  return common.json(200, render_task(rec, env, req))
end

--- Groups, assets, sessions and generations in creation order, and the last request
-- as received: for {op = "dump"}.
function orca.dump(state, env)
  local now = env.now()
  local function sorted(t, render)
    local list = {}
    for _, x in pairs(t) do list[#list + 1] = x end
    table.sort(list, function(a, b) return (a.seq or 0) < (b.seq or 0) end)
    for i, x in ipairs(list) do list[i] = render(x, now) end
    return common.array(list)
  end
  return {
    groups = sorted(state.groups, function(g)
      local out = render_group(g)
      out.Description = g.description
      return out
    end),
    assets = sorted(state.assets, render_asset),
    sessions = sorted(state.sessions, function(s)
      return {session_id = s.id, status = s.status, group_id = s.group_id, return_url = s.return_url}
    end),
    generations = sorted(state.tasks, function(rec)
      local st = tasks.state(rec, env)
      return {id = rec.generation_id, task_id = rec.id, model = rec.model, status = TASK_WORDS[st]}
    end),
    last_request = state.last or common.null,
  }
end

orca.routes = {
  {"POST", "/v1/asset/groups", guarded(create_group)},
  {"GET", "/v1/asset/groups", guarded(list_groups)},
  {"PATCH", "/v1/asset/groups/{id}", guarded(update_group)},
  {"POST", "/v1/asset/files", guarded(create_asset)},
  {"GET", "/v1/asset/files", guarded(list_assets)},
  {"GET", "/v1/asset/files/{id}", guarded(get_asset)},
  {"DELETE", "/v1/asset/files/{id}", guarded(delete_asset)},
  {"POST", "/v1/asset/real-human/sessions", guarded(create_session)},
  {"GET", "/v1/asset/real-human/sessions/{session_id}", guarded(get_session)},
  {"POST", "/v1/video/generations", guarded(create_generation, true)},
  {"GET", "/v1/video/generations/{task_id}", guarded(get_generation, true)},
}

return orca
