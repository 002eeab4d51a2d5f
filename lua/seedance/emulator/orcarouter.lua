--- The OrcaRouter twin: the Seedance asset library under `/v1/asset`, as described in
-- reference/providers.md section 2 and OrcaRouter's guide (seeds/001).
--
-- Auth `Authorization: Bearer <key>`. Groups are AIGC (created directly) or LivenessFace
-- (real_human, created by a verification session that succeeds `processing` seconds after it
-- starts, or fails when its return_url holds `verify-fail`). Assets need a group, a URL and
-- an AssetType; they are Processing for `processing` seconds, then Active, or Failed:
-- FaceMismatch in a real_human group for a URL holding `other-person` or `multi-face`, the
-- common URL markers elsewhere, a format that is not media, or an extension that
-- contradicts AssetType. The account holds at most 100 assets (`quota` overrides); one more
-- is a 403. Plan "free" lacks Advanced Creation Rights: 403.
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

local T = require "seedance.emulator.twin"
local tasks = require "seedance.emulator.tasks"
local content = require "seedance.emulator.content"

local iso, lower, floor, find = T.iso, string.lower, math.floor, string.find

local orca = {name = "orcarouter", base_path = "/v1",
              auth = {schemes = {bearer = true}, message = "invalid or missing API key"}}

--- An answer in OrcaRouter's error shape (`code` may be given, else from the status).
function orca.error(status, message, code)
  return T.json(status, {error = {code = code or T.CODES[status] or "InternalServiceError",
                                  message = message, type = "invalid_request_error"}})
end
local fail = orca.error

-- refuses the request (see T.refuse)
local function invalid(message)
  T.refuse(fail(400, message, "InvalidParameter"))
end

-- Only documented fields, in their documented casing: `group_id` where `GroupId` is meant is
-- refused by name, as the service does. A missing field is a MissingParameter.
local WORDS = {unknown = "unknown parameter '%s'", required = "'%s' is required", type = "'%s' must be a %s",
               enum = "'%s' must be Image, Video or Audio",
               range = function(k, f) return T.format("'%s' must be at most %d characters", k, f.max) end}
orca.words = WORDS
orca.json_refused = {content_type = "Content-Type must be application/json", object = "the body must be a JSON object"}
function orca.refuse(status, msg, rule)
  return fail(status, msg, rule == "required" and "MissingParameter" or nil)
end
-- the request's JSON object body checked against `schema` (an empty body is `{}` when allowed)
local function checked_body(req, schema, allow_empty)
  if allow_empty and (req.body == nil or req.body == "") then return {} end
  return T.fit(orca, T.json_body(req, fail, 400, orca.json_refused), schema)
end

-- Advanced Creation Rights, which the asset library needs and plain video generation does not
function orca.guard(_, _, env, _, route)
  if env.config.plan == "free" and not route.open then
    return fail(403, "the Seedance asset library requires Advanced Creation Rights")
  end
end

function orca.new()
  local s = T.state()
  s.n_assets = 0
  return s
end

-- Volcengine's records (seedance.emulator.twin): an asset without its Name, its UpdateTime
-- moving with the clock while it processes; a group without its Description (the dump shows it)
local volc_asset, volc_group = T.volc_records()

local function render_asset(a, now)
  local r = volc_asset(a, now)
  r.Name, r.UpdateTime = nil, iso(math.max(a.created_at, math.min(now, a.ready_at)))
  return r
end

local function render_group(g)
  local r = volc_group(g)
  r.Description = nil
  return r
end

-- Reads page_number/page_size and answers the shared list envelope (`list`: newest first).
local function paged(q, list, render, now)
  local page, size = T.positive_int(q.page_number, 1), T.positive_int(q.page_size, 10)
  if not page then return fail(400, "'page_number' must be a positive integer") end
  if not size or size > 100 then return fail(400, "'page_size' must be between 1 and 100") end
  return T.json(200, T.page(list, page, size, function(x) return render(x, now) end))
end

--- Groups

local GROUP = {{"Name", "string", max = 64}, {"Description", "string", max = 300}}
local NEW_GROUP = {{"Name", "string", req = true, max = 64}, {"Description", "string", max = 300}}
local GROUP_TYPES = {aigc = "AIGC", real_human = "LivenessFace"}

local function create_group(state, req, _, env, now)
  local body = req.json
  local description = T.present(body.Description) and body.Description or ""
  local g = T.new_group(state, env, now, {name = body.Name, description = description, type = "AIGC"})
  env.created("group:" .. g.name)
  return T.json(200, {Id = g.id})
end

local function list_groups(state, req, _, _, now)
  local q = req.query
  -- the service's default is real_human, which is why clients always send it
  local want = GROUP_TYPES[(q.group_type == nil or q.group_type == "") and "real_human" or q.group_type]
  if not want then return fail(400, "'group_type' must be aigc or real_human") end
  local name = q.name ~= "" and q.name or nil
  local list = T.sorted(state.groups, function(g)
    return g.type == want and (not name or find(g.name, name, 1, true))
  end, true)
  return paged(q, list, render_group, now)
end

local function update_group(state, req, params, _, now)
  local g = T.need(state.groups[params.id], fail, 404, "group not found")
  local body = checked_body(req, GROUP)
  local name, description = T.present(body.Name) and body.Name, T.present(body.Description) and body.Description
  if name == "" then return fail(400, "'Name' must not be empty") end
  if not name and not description then return fail(400, "give 'Name' or 'Description'", "MissingParameter") end
  g.name, g.description, g.updated_at = name or g.name, description or g.description, now
  return T.json(200, {Id = g.id})
end

--- Assets

local ASSET = {{"GroupId", "string", req = true, msg = "'GroupId' is required"},
               {"URL", "string", req = true, msg = "'URL' is required"},
               {"AssetType", req = true, enum = {Image = true, Video = true, Audio = true}},
               {"Name", "string", max = 64}}

local function asset_failure(u, asset_type, group)
  local l = lower(u)
  if group.type == "LivenessFace" and (find(l, "other-person", 1, true) or find(l, "multi-face", 1, true)) then
    return {code = "FaceMismatch", message = "The face does not match the verified person of this group"}
  end
  local ext = T.extension(u)
  local implied = T.media_type(ext)
  return T.url_failure(u)
    or (ext ~= "" and not implied and {code = "InvalidFormat", message = "format ." .. ext .. " is not supported"})
    or (ext ~= "" and implied ~= asset_type and {code = "InvalidFormat",
        message = "a ." .. ext .. " file is not of AssetType " .. asset_type})
    or nil
end

local function create_asset(state, req, _, env, now)
  local body = req.json
  if not body.URL:match("^https?://") then return fail(400, "'URL' must be a publicly accessible http(s) URL") end
  local g = T.need(state.groups[body.GroupId], fail, 404, "group " .. body.GroupId .. " not found", "NotFound.GroupId")
  local limit = tonumber(env.config.quota) or 100
  if state.n_assets >= limit then
    return fail(403, T.format("asset quota exceeded: the account holds at most %d assets", limit), "QuotaExceeded")
  end
  state.n_assets = state.n_assets + 1
  local a = T.new_asset(state, env, now, {group_id = g.id, asset_type = body.AssetType, url = body.URL,
    name = T.present(body.Name) and body.Name or nil, failure = asset_failure(body.URL, body.AssetType, g)}, body.URL)
  return T.json(200, {Id = a.id})
end

local function get_asset(state, _, params, _, now)
  local a = T.need(state.assets[params.id], fail, 404, "asset not found")
  return T.json(200, render_asset(a, now))
end

local function list_assets(state, req, _, _, now)
  local q = req.query
  local wanted
  if q.statuses and q.statuses ~= "" then
    wanted = {}
    for word in q.statuses:gmatch("[^,]+") do
      local w = word:match("^%s*(.-)%s*$")
      if T.STATUS[lower(w)] ~= w then
        return fail(400, "'statuses' takes Active, Processing, Failed; got '" .. w .. "'")
      end
      wanted[w] = true
    end
  end
  local gid = q.group_id ~= "" and q.group_id or nil
  local list = T.sorted(state.assets, function(a)
    return (not gid or a.group_id == gid) and (not wanted or wanted[T.STATUS[T.asset_status(a, now)]])
  end, true)
  return paged(q, list, render_asset, now)
end

local function delete_asset(state, _, params)
  if not state.assets[params.id] then return fail(404, "asset not found") end
  state.assets[params.id], state.n_assets = nil, state.n_assets - 1
  return T.json(200, {Id = params.id})
end

--- Real-person sessions

local function create_session(state, req, _, env, now)
  local body = checked_body(req, {{"return_url", "string"}}, true)
  local u = T.present(body.return_url) and body.return_url or nil
  local s = T.new_session(state, env, now, env.new_id("session"), {status = "pending", return_url = u}, nil, u)
  env.created(nil)
  return T.json(200, {session_id = s.id, status = "pending",
                      h5_link = "https://h5.orcarouter.ai/real-human/verify?session_id=" .. s.id})
end

-- A session settles lazily, when it is read: success makes its real_human group.
local function get_session(state, _, params, env, now)
  local s = T.need(state.sessions[params.session_id], fail, 404, "session not found")
  if s.status == "pending" and T.session_state(s, now) == "done" then
    if s.fails then
      s.status = "failed"
    else
      s.status = "success"
      local g = {name = "real-human-" .. s.id, description = "", type = "LivenessFace"}
      s.group_id = T.new_group(state, env, now, g).id
    end
  end
  return T.json(200, {session_id = s.id, status = s.status, group_id = s.group_id})
end

--- Video generation

local MODELS = {
  ["byteplus/dreamina-seedance-2-0-260128"] = {fast = false},
  ["byteplus/dreamina-seedance-2-0-fast-260128"] = {fast = true},
}
local GENERATION = {{"model", "string", req = true, msg = "'model' is required"},
                    {"prompt", "string", req = true, msg = "'prompt' is required"}, {"metadata"}}
local META = {{"content"}, {"ratio"}, {"duration"}, {"resolution"}, {"generate_audio"}, {"seed"}, {"watermark"}}
-- content[] (seedance.emulator.content): media only, the prompt being top-level
local ITEMS = content.items()
ITEMS.text.refused = "metadata.content[] takes media items only; the prompt is the top-level 'prompt'"
local CONTENT = {items = ITEMS, nonempty_items = true, urls = {"^https?://"},
  steps = {"object", "type", "fields", "role", "url", "holder", "scheme", "asset", "order", "limit"},
  refuse = function(_, message) invalid(message) end,
  words = {
    list = "metadata.content must be a list", object = "content[{i}] must be an object",
    type = "content[{i}].type must be image_url, video_url or audio_url",
    fields = {unknown = "unknown parameter 'content[{i}].%s'"},
    holder = {unknown = "unknown parameter 'content[{i}].{t}.%s'"},
    role = "content[{i}].role '{role}' is not a role of {t}", url = "content[{i}].{t}.url is required",
    asset_missing = "asset {id} not found in this account", asset_status = "asset {id} is {status}, not Active",
    scheme = "content[{i}]: a URL must be http(s) or asset://",
    order = "metadata.content[] must list images, then videos, then audios", limit = "at most {max} {t} items",
    mixed = "first/last frames cannot be mixed with reference media",
    one_each = "one first_frame and one last_frame at most",
    last_alone = "a last_frame needs a first_frame", total = "at most 12 media items in all",
    audio = "reference audio needs a reference image or video beside it",
  },
}

local function create_generation(state, req, _, env, now)
  local body = req.json
  local model, meta = MODELS[body.model], body.metadata
  if not model then return invalid("model '" .. body.model .. "' is not supported") end
  if T.present(meta) then
    if not T.is_object(meta) then return invalid("'metadata' must be an object") end
    T.fit(orca, meta, META)
    local msg = T.settings_error(meta, model.fast, "the fast model", {"generate_audio", "watermark"})
    if msg then invalid(msg) end
    if T.present(meta.content) then content.check(CONTENT, meta.content, state, now) end
  end
  local rec = tasks.new(env, {id = env.new_id("cgt"), prompt = body.prompt, model = body.model, input = body},
                        state, "task\0" .. body.model .. "\0" .. T.encode(body))
  rec.generation_id = env.new_id("vgen")
  return T.json(200, {id = rec.generation_id, task_id = rec.id, model = body.model, status = "queued",
                      created_at = floor(rec.created)})
end

local TASK_ERRORS = {
  moderation = {code = "OutputVideoSensitiveContentDetected",
                message = "The request failed because the output video may contain sensitive information."},
  failed = {code = "InternalServiceError", message = "The generation failed upstream."},
}

-- the task in the upstream's shape, whose status words are seedance.emulator.tasks' own
local function render_task(rec, env, req)
  local st, _, changed = tasks.state(rec, env)
  return {id = rec.id, model = rec.model, status = st,
          error = st == "failed" and TASK_ERRORS[rec.outcome == "moderation" and "moderation" or st] or T.null,
          content = st == "succeeded" and {video_url = tasks.video_url(rec, env, req)} or nil,
          created_at = floor(rec.created), updated_at = floor(changed)}
end

local function get_generation(state, req, params, env)
  local rec = state.tasks[params.task_id]
  if rec then return T.json(200, render_task(rec, env, req)) end
  for _, r in pairs(state.tasks) do
    if r.generation_id == params.task_id then
      return fail(404, "no task " .. params.task_id .. ": poll a generation by its task_id", "NotFound")
    end
  end
  return fail(404, "task " .. params.task_id .. " not found", "NotFound")
end

--- {op = "dump"}: groups, assets, sessions and generations.
orca.show = {
  {"groups", "groups", volc_group},
  {"assets", "assets", function(a, _, now) return render_asset(a, now) end},
  {"sessions", "sessions", function(s)
    return {session_id = s.id, status = s.status, group_id = s.group_id, return_url = s.return_url}
  end},
  {"generations", "tasks", function(rec, env)
    return {id = rec.generation_id, task_id = rec.id, model = rec.model, status = tasks.state(rec, env)}
  end},
}

orca.routes = {
  {"POST", "/v1/asset/groups", create_group, body = NEW_GROUP},
  {"GET", "/v1/asset/groups", list_groups},
  {"PATCH", "/v1/asset/groups/{id}", update_group},
  {"POST", "/v1/asset/files", create_asset, body = ASSET},
  {"GET", "/v1/asset/files", list_assets},
  {"GET", "/v1/asset/files/{id}", get_asset},
  {"DELETE", "/v1/asset/files/{id}", delete_asset},
  {"POST", "/v1/asset/real-human/sessions", create_session},
  {"GET", "/v1/asset/real-human/sessions/{session_id}", get_session},
  {"POST", "/v1/video/generations", create_generation, body = GENERATION, open = true, create = true},
  {"GET", "/v1/video/generations/{task_id}", get_generation, open = true},
}

return orca
