--- crun.ai dialect (https://docs.crun.ai): `x-api-key` auth, every answer wrapped in
-- `{code, message, data}` where only code 200 is success, even inside an HTTP 200.
-- crun has no list and no delete endpoint, and says so: "Crun does not store asset IDs on
-- your behalf". So each client keeps the ids it created (D.created_ids is the hook the
-- journal will persist) and client:assets() fetches those one by one.
-- Generation is CreateTask/TaskInfo (reference-to-video, or image-to-video for frames);
-- TaskInfo's 501 "Generation Failed" is the task's end, not a failed poll.
-- @module seedance.providers.crun
local json = require "seedance.wire.json"
local time = require "seedance.model.time"
local url = require "seedance.wire.url"
local core = require "seedance.core"
local shared = require "seedance.providers.shared"

local D = {
  name = "crun",
  base_url = "https://api.crun.ai",
  endpoints = {
    upload_asset = "/api/v1/client/job/asset-upload",
    get_asset = "/api/v1/client/job/asset-info",
    create_session = "/api/v1/client/job/visual-validate-session",
    get_session = "/api/v1/client/job/visual-validate-result",
    create_task = "/api/v1/client/job/CreateTask",
    get_task = "/api/v1/client/job/TaskInfo",
  },
  -- reference-to-video models. crun's Seedance 2.0 Fast page documents only r2v, and its
  -- "custom uploaded assets" section is commented out: asset:// is refused there
  models = { standard = "bytedance/seedance2-0-r2v", fast = "bytedance/seedance2-0-fast-r2v" },
  -- first/last frames are image-to-video, a model of its own (no fast one is documented)
  i2v_models = { standard = "bytedance/seedance2-0-i2v" },
  -- the generation fields crun's pages show; seed and watermark are refused before sending
  -- callback_url: CreateTask's own (docs.crun.ai, Seedance 2.0 pages), beside input
  generate_fields = { resolution = true, ratio = true, duration = true, audio = true, callback_url = true },
  -- the H5 face-check link lives this long (crun's visual-validate page)
  session_ttl = 120,
  name_max = 64,
  capabilities = { assets = true, list = true, delete = false, sessions = true, generate = true },
  -- asset_type is required on upload (seeds/002): client:upload refuses an upload without one
  requires_type = true,
}

--- The credential header: crun takes the key in `x-api-key`.
function D.auth(key)
  return { "x-api-key: " .. key }
end

--- Prompt token: crun writes "[Image1]" (no space, unlike the upstream's "[Image 1]").
function D.token(kind, n)
  return "[" .. kind:sub(1, 1):upper() .. kind:sub(2) .. n .. "]"
end

--- Envelope and status codes

-- crun's status table (seeds/002): the same numbers come as HTTP statuses and as the
-- envelope's `code`; `retry` overrides the generic "5xx is retryable" where it is wrong
local CODES = {
  [400] = { kind = "validation" }, [401] = { kind = "auth" }, [402] = { kind = "quota" },
  [403] = { kind = "auth" }, [404] = { kind = "not_found" }, [409] = { kind = "conflict" },
  [422] = { kind = "validation" }, [429] = { kind = "rate_limited", retry = true },
  [455] = { kind = "provider", retry = true }, [500] = { kind = "provider", retry = true },
  [501] = { kind = "task_failed", retry = false }, [505] = { kind = "provider", retry = false },
}

local function envelope(body)
  if type(body) ~= "table" then return nil, nil end
  return json.num(json.val(body.code)), json.val(body.message)
end

-- an expired or spent byted_token is the session's last word, not a failed request
local function session_over(op, code, message)
  if op.endpoint ~= "get_session" or (code ~= 404 and code ~= 422) then return false end
  local m = type(message) == "string" and message:lower() or ""
  return m:find("expire", 1, true) ~= nil or m:find("used", 1, true) ~= nil
end

--- Decide success from the envelope: (kind, code, message, retryable) for an error, nil otherwise.
function D.classify(status, body, op)
  local code, message = envelope(body)
  if status < 400 and code == 200 then return nil end
  if status < 400 and body == nil then return nil end -- not JSON: the generic layer says so
  if status < 400 and code == nil then
    return "protocol", nil, "answer without crun's {code, message, data} envelope"
  end
  local effective = (code and code ~= 200) and code or status
  if session_over(op, effective, message) then return nil end
  local c = CODES[effective]
  local kind = c and c.kind or (effective >= 500 and "provider") or "validation"
  if type(message) ~= "string" or message == "" then message = nil end
  return kind, json.str(effective), message, c and c.retry
end

--- Names

local function utf8_len(s)
  return #(s:gsub("[\128-\191]", ""))
end

-- at most n characters, never cutting one in half
local function utf8_trim(s, n)
  if utf8_len(s) <= n then return s end
  local count, i = 0, 1
  while i <= #s do
    local b = s:byte(i)
    local w = b < 0x80 and 1 or b >= 0xF0 and 4 or b >= 0xE0 and 3 or b >= 0xC0 and 2 or 1
    if count == n then break end
    count, i = count + 1, i + w
  end
  return s:sub(1, i - 1)
end

--- The name sent with an upload: the caller's, else the URL's last segment (crun requires one).
function D.upload_name(a)
  if a.name then return a.name end
  local base = url.basename(a.url or "") or ""
  base = base:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  if base == "" then base = "asset" end
  return utf8_trim(base, D.name_max)
end

--- Per-client record of created assets

local function record(client)
  local r = client._crun_created
  if not r then
    r = { ids = {}, group = {}, known = {} }
    client._crun_created = r
  end
  return r
end

--- Remember an asset id as created by this client (the journal replays its ids here).
function D.remember(client, id, group)
  local r = record(client)
  if not r.known[id] then
    r.known[id] = true
    r.ids[#r.ids + 1] = id
  end
  if group then r.group[id] = group end
end

--- The ids this client created, oldest first: what a journal must keep, since crun cannot list.
function D.created_ids(client)
  local out = {}
  for i, id in ipairs(record(client).ids) do out[i] = id end
  return out
end

local function forget(client, id)
  local r = record(client)
  if not r.known[id] then return end
  r.known[id], r.group[id] = nil, nil
  for i, x in ipairs(r.ids) do
    if x == id then table.remove(r.ids, i) break end
  end
end

--- Assets

--- The asset-upload op, or nil and a validation error (a name over 64 characters, no type).
function D.upload_asset(a)
  local name = D.upload_name(a)
  if name == "" or utf8_len(name) > D.name_max then
    return nil, require("seedance.error").new({ kind = "validation", provider = "crun",
      message = "crun takes asset names of 1-" .. D.name_max .. " characters" })
  end
  return { endpoint = "upload_asset", method = "POST",
           body = { name = name, asset_type = shared.TYPE_OUT[a.type], asset_url = a.url, group_id = a.group } }
end

--- Normalized asset fields from the `data` of asset-info (or of the upload answer).
function D.parse_asset(b)
  local d = type(b) == "table" and json.val(b.data)
  if type(d) ~= "table" then d = {} end
  -- the upstream's record, but for its id's name
  return shared.upstream_asset(d, "AssetId")
end

--- The upload answer only carries `data.AssetId`: the rest is what we sent.
function D.parse_upload(b, a, client)
  local f = D.parse_asset(b)
  f.status = "processing"
  f.name = D.upload_name(a)
  if f.id and client then D.remember(client, f.id, a.group) end
  return f
end

--- The asset-info op for one id.
function D.get_asset(id)
  return { endpoint = "get_asset", method = "GET", query = { asset_id = id }, idempotent = true }
end

local function wanted_statuses(st)
  if st == nil then return nil end
  local set = {}
  if type(st) == "table" then
    for _, s in ipairs(st) do set[s] = true end
  else
    for s in tostring(st):gmatch("[^,%s]+") do set[s] = true end
  end
  return set
end

--- client:assets() for crun: every id this client created, fetched one at a time, filtered
-- here (crun filters nothing). An id crun no longer knows is dropped from the record.
function D.iterate_assets(client, args)
  local asset = require "seedance.model.asset"
  local ids = D.created_ids(client)
  local groups = record(client).group
  local want = wanted_statuses(args.status)
  local i = 0
  client._last_error = nil
  return function()
    while true do
      i = i + 1
      local id = ids[i]
      if not id then return nil end
      local body, err = client:_call(D.get_asset(id))
      if not body then
        if err.kind ~= "not_found" then
          client._last_error = err
          return nil
        end
        forget(client, id)
        client._last_error = nil -- a vanished asset is no failure of the listing
      else
        local f, perr = client:_parse("object", D.parse_asset, body)
        if not f then
          client._last_error = perr
          return nil
        end
        f.group_id = f.group_id or groups[id]
        local a = asset.new(client, f, body)
        if (not want or want[a.status]) and (not args.group or a.group_id == args.group) then
          return a
        end
      end
    end
  end
end

--- Real-person sessions

--- The visual-validate-session op: the hosted page returns to `callback_url`.
function D.create_session(args)
  return { endpoint = "create_session", method = "POST",
           body = { callback_url = args.return_url } }
end

--- The visual-validate-result op for a session (its BytedToken).
function D.get_session(id)
  return { endpoint = "get_session", method = "GET", query = { byted_token = id }, idempotent = true }
end

--- Normalized session fields from the start answer, a result, or an expired/spent token.
-- crun has no status word: "pending" until `data.GroupId` comes, which means success.
function D.parse_session(b, session)
  -- once a group came, the spent token's later answers change nothing
  if session and session.group_id then return {} end
  local code, message = envelope(b)
  local d = type(b) == "table" and json.val(b.data)
  if type(d) ~= "table" then d = {} end
  if code and code ~= 200 then
    return { raw_status = "expired", error = { code = json.str(code), message = message } }
  end
  local f = shared.session_fields(d.GroupId, d.BytedToken, d.H5Link)
  if f.id then f.expires_at = core.time() + D.session_ttl end
  return f
end

--- Generation

-- crun's word for the upstream's "adaptive" ratio (its image-to-video example sends "auto")
local RATIO_OUT = { adaptive = "auto" }

-- crun leaves an empty reference list out
local function urls(list)
  local out = shared.urls(list)
  return #out > 0 and out or nil
end

--- The model a generation goes to, or nil and why crun cannot run it: frames need the
-- image-to-video model; the fast alias takes no frames and no asset:// references.
function D.task_model(g)
  if g.first_frame then
    if not g.model_kind then return g.model end
    local m = D.i2v_models[g.model_kind]
    if not m then
      return nil, "crun documents no fast image-to-video model: first/last frames need model = \"standard\""
    end
    return m
  end
  if g.model_kind == "fast" and g.uses_assets then
    return nil, "crun documents uploaded assets (asset://) only on " .. D.models.standard ..
      ", not on its fast model: use model = \"standard\""
  end
  return g.model
end

--- The CreateTask op: reference-to-video takes reference_images/videos/audios; first and
-- last frames go to image-to-video as img_urls and last_frame_image.
function D.create_task(g)
  local model, why = D.task_model(g)
  if not model then return nil, why end
  local input = { prompt = g.prompt, resolution = g.resolution, aspect_ratio = RATIO_OUT[g.ratio] or g.ratio,
                  duration = g.duration, audio = g.audio }
  if g.first_frame then
    input.img_urls = { g.first_frame.url }
    input.last_frame_image = g.last_frame and g.last_frame.url or nil
  else
    input.reference_images = urls(g.images)
    input.reference_videos = urls(g.videos)
    input.reference_audios = urls(g.audios)
  end
  return { endpoint = "create_task", method = "POST",
           body = { model = model, input = input, callback_url = g.callback_url } }
end

--- The new task's id (`data.task_id`); crun starts every task "pending".
function D.parse_created_task(b, g)
  local d = type(b) == "table" and json.val(b.data)
  if type(d) ~= "table" then d = {} end
  return { id = json.str(json.val(d.task_id)), raw_status = "pending", model = D.task_model(g) }
end

-- TaskInfo of a failed generation answers 501 "Generation Failed": that is the task's
-- state, for parse_task to read, not a failed request
local function task_classify(status, body, op, r)
  local code = envelope(body)
  if type(body) == "table" and (status == 501 or code == 501) then return nil end
  return D.classify(status, body, op, r)
end

--- The TaskInfo op for one task id.
function D.get_task(id)
  return { endpoint = "get_task", method = "GET", query = { task_id = id }, idempotent = true,
           classify = task_classify }
end

-- the failure's code and message: a `data.error` object where there is one, else the envelope's
local function failure(d, code, message)
  local e = json.val(d.error)
  local f = { code = code and code ~= 200 and json.str(code) or nil, message = message }
  if type(e) == "table" then
    f.code = json.str(json.val(e.code)) or f.code
    f.message = json.val(e.message) or f.message
  elseif type(e) == "string" and e ~= "" then
    f.message = e
  end
  if f.message == "success" or f.message == "" then f.message = nil end
  return f
end

--- Normalized task fields from TaskInfo: `data.status` pending|running|success|failed, the
-- video at `data.result.video_url`; an envelope code 501 means the generation failed.
function D.parse_task(b)
  local code, message = envelope(b)
  local d = type(b) == "table" and json.val(b.data)
  if type(d) ~= "table" then d = {} end
  local raw = json.val(d.status)
  if code == 501 and (type(raw) ~= "string" or raw:lower() ~= "failed") then raw = "failed" end
  local f = { raw_status = raw, created_at = time.parse(json.val(d.create_at)),
              completed_at = time.parse(json.val(d.complete_at)) }
  local result = json.val(d.result)
  if type(result) == "table" then
    f.video_url = json.val(result.video_url)
    f.last_frame_url = json.val(result.last_frame_url)
  elseif type(result) == "string" and result ~= "" then
    f.video_url = result
  end
  local st = type(raw) == "string" and raw:lower() or ""
  if st == "success" then f.progress = 100 end
  if st == "failed" then f.error = failure(d, code, message) end
  return f
end

return D
