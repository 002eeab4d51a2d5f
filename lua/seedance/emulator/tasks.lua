--- Generation tasks for every twin: one lifecycle (queued -> running -> succeeded, with a
-- real MP4 to download), failures on demand, and the result host that serves the video.
-- Each twin maps these states onto its own words and shapes.
--
-- Markers in a prompt steer the outcome: `[[moderation]]` fails with the twin's
-- moderation code, `[[fail]]` fails plainly, `[[expire]]` expires before it runs.
-- Control ops: `{op="expire_task", id=}` expires a task now; `{op="expire_media"}` makes
-- every result URL answer 403 from then on (signed URLs that lapsed).
-- @module seedance.emulator.tasks
local twin = require "seedance.emulator.twin"

local T = {}

T.MEDIA_PREFIX = "/__emulator/media/"

-- headers that carry credentials: none may reach a result host
local CREDENTIAL_HEADERS = { "authorization", "x-api-key", "x-date", "x-content-sha256", "cookie",
                             "proxy-authorization", "x-goog-api-key" }

--- A new task record, filed in the twin's `state.tasks` with its creation order, counted in
-- flight and as a create of `key`.
function T.new(env, fields, state, key)
  local now = env.now()
  local rec = twin.add(state, "tasks", {id = fields.id, created = now, prompt = fields.prompt or "",
                                        model = fields.model, input = fields.input, updated = now}, env, now, "cgt")
  env.created(key)
  env.started(rec)
  if rec.prompt:find("[[moderation]]", 1, true) then rec.outcome = "moderation"
  elseif rec.prompt:find("[[fail]]", 1, true) then rec.outcome = "fail"
  elseif rec.prompt:find("[[expire]]", 1, true) then rec.outcome = "expire" end
  return rec
end

--- Normalized state at `now`: status, progress (0-100), and when it last changed.
-- A record may wait `rec.wait` seconds more in the queue (a slower tier) and expire when it
-- has not finished `rec.expires_after` seconds after its creation.
function T.state(rec, env)
  local now = env.now()
  if rec.cancelled then return "cancelled", rec.progress or 0, rec.cancelled end
  if rec.expired then return "expired", 0, rec.expired end
  -- a fifth of config `generation` (default 3 s) queued, the rest running; `wait` more queued
  local generation, wait = tonumber(env.config.generation) or 3, rec.wait or 0
  local queued, total = generation * 0.2 + wait, generation + wait
  local age = now - rec.created
  if rec.expires_after and age >= rec.expires_after and total > rec.expires_after then
    return "expired", 0, rec.created + rec.expires_after
  end
  if age < queued then return "queued", 0, rec.created end
  if rec.outcome == "expire" then return "expired", 0, rec.created + queued end
  if age < total then
    local p = math.floor(100 * (age - queued) / math.max(total - queued, 0.001))
    return "running", math.min(p, 99), rec.created + queued
  end
  if rec.outcome == "moderation" or rec.outcome == "fail" then
    return "failed", 100, rec.created + total
  end
  return "succeeded", 100, rec.created + total
end

-- the states a task does not leave
local ENDED = {succeeded = true, failed = true, cancelled = true, expired = true}

--- The `{code, message}` of a task that ended without a video, from the twin's `words`:
-- keyed by how a failed one failed (`rec.outcome`: moderation, fail) or else by `st`
-- (expired, cancelled), `words.fail` when the twin has no word of its own; nil while the
-- task is queued or running or once it succeeded.
-- @tparam table rec the task
-- @tparam string st its state (T.state)
-- @tparam table words outcome or state -> {code, message}
function T.failure(rec, st, words)
  if ENDED[st] and st ~= "succeeded" then return words[st == "failed" and rec.outcome or st] or words.fail end
end

--- Files `rec` to have its changes POSTed to `url` by T.tick (no `url`: nothing to tell),
-- with the Host the create reached, so the body's result URLs point where the client does.
function T.watch(state, rec, url, req)
  rec.callback = url
  if not url then return end
  rec.host = req.headers.host
  state.callbacks = state.callbacks or {}
  state.callbacks[#state.callbacks + 1] = rec
end

--- The callbacks of a twin's watched tasks (T.watch), from its `tick`: each change of
-- state is POSTed, the body `render(rec, env, req)`; with `at_end`, only the end. A task
-- leaves the list once told of its end, or once deleted. True while any is left.
function T.tick(state, env, render, at_end)
  local list = state.callbacks
  if not list or #list == 0 then return false end
  local keep = {}
  for _, rec in ipairs(list) do
    local st, filed = T.state(rec, env), state.tasks[rec.id] == rec
    if filed and st ~= rec.told and (ENDED[st] or not at_end) then
      rec.told = st
      env.notify(rec.callback, render(rec, env, {headers = {host = rec.host}}), {id = rec.id, task_status = st})
    end
    if filed and not ENDED[st] then keep[#keep + 1] = rec end
  end
  state.callbacks = keep
  return #keep > 0
end

--- Cancel if still queued (as the services allow); returns true when it took effect.
function T.cancel(rec, env)
  if T.state(rec, env) ~= "queued" then return false end
  rec.cancelled = env.now()
  return true
end

--- The result URL of a finished task, on the host the client reached us by.
function T.video_url(rec, env, req)
  local media = env.media
  if not rec.token then
    rec.token = twin.random_string(env.rng, 24)
    media[rec.token] = { id = rec.id }
  end
  local host = req.headers and req.headers.host or "127.0.0.1"
  return "http://" .. host .. T.MEDIA_PREFIX .. rec.token .. ".mp4"
end

--- Serve a result video: no credentials accepted, Range honoured, expiry on demand.
-- `media` is the server-wide token table; `stats` gets counters.
function T.serve(req, media, stats, expired)
  for _, h in ipairs(CREDENTIAL_HEADERS) do
    if req.headers[h] ~= nil then
      stats.media_credential_violations = (stats.media_credential_violations or 0) + 1
      return twin.json(400, { error = "a credential (" .. h .. ") was sent to the result host" })
    end
  end
  local token = req.path:sub(#T.MEDIA_PREFIX + 1):gsub("%.mp4$", "")
  if not media[token] then return twin.json(404, { error = "no such video" }) end
  if expired then return twin.json(403, { error = "Request has expired" }) end
  stats.media_downloads = (stats.media_downloads or 0) + 1
  return T.serve_bytes(req, require("seedance.emucore").sample_mp4, "video/mp4", stats)
end

--- Answer a GET for `body`, honouring a single "bytes=a-b" / "bytes=a-" Range.
function T.serve_bytes(req, body, content_type, stats)
  local size = #body
  local range = req.headers.range
  local headers = { ["Content-Type"] = content_type, ["Accept-Ranges"] = "bytes" }
  if range then
    local a, b = range:match("^bytes=(%d+)%-(%d*)$")
    a = tonumber(a)
    b = tonumber(b) or (size - 1)
    if not a or a >= size or b < a then
      headers["Content-Range"] = "bytes */" .. size
      return { status = 416, headers = headers, body = "" }
    end
    if b >= size then b = size - 1 end
    headers["Content-Range"] = ("bytes %d-%d/%d"):format(a, b, size)
    stats.media_ranges = (stats.media_ranges or 0) + 1
    return { status = 206, headers = headers, body = body:sub(a + 1, b + 1) }
  end
  return { status = 200, headers = headers, body = body }
end

return T
