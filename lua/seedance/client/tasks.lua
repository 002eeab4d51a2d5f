--- Client methods for video generation: generate (validate, render, route, submit),
-- fetch a task, and a workflow-level retry for whole generations.
-- @classmod seedance.Client
local client_mod = require "seedance.client.base"
local media_types = require "seedance.media.types"
local render = require "seedance.render"
local asset_mod = require "seedance.model.asset"
local task = require "seedance.model.task"
local journal = require "seedance.store.journal"
local errors = require "seedance.error"
local core = require "seedance.core"
local object = require "seedance.model.object"
local check = require "seedance.client.check"

local Client = client_mod.class

local GEN_KEYS = {
  prompt = true, refs = true, model = true, resolution = true, ratio = true, duration = true,
  audio = true, seed = true, watermark = true, first_frame = true, last_frame = true, key = true,
  return_last_frame = true,
  -- upstream fields, where a service relays them (the dialect's generate_fields)
  callback_url = true, service_tier = true, execution_expires_after = true, draft = true, draft_task = true,
  frames = true,
}
-- the generation fields only some services relay: refused (code "unsupported") before any
-- request elsewhere, never dropped
local RELAYED = { "resolution", "ratio", "duration", "audio", "seed", "watermark", "callback_url", "service_tier",
                  "execution_expires_after", "draft", "draft_task", "frames" }
local TIERS = { default = true, flex = true }
-- values that ask for what every service does anyway: no service needs to relay them
local USUAL = { draft = false, service_tier = "default" }
local RATIOS = { ["21:9"] = true, ["16:9"] = true, ["4:3"] = true, ["1:1"] = true, ["3:4"] = true,
                 ["9:16"] = true, adaptive = true }
local RESOLUTIONS = { ["480p"] = true, ["720p"] = true, ["1080p"] = true }
-- what each generation setting may be, in words (for messages)
local ALLOWED = {
  ratio = "21:9 16:9 4:3 1:1 3:4 9:16 adaptive",
  resolution = "480p 720p 1080p (1080p on the standard model)",
  duration = "4 to 15 s, or -1 for auto",
}

--- The names `model` takes on this client: "standard", "fast", and the service's own
-- model ids that seedance knows (any other id is passed on as given).
-- @treturn {string,...}
function Client:known_models()
  local d, seen, out = self.dialect, {}, { "standard", "fast" }
  local lists = { d.models_for and d.models_for(self) or d.models, d.asset_models, d.i2v_models }
  local function add(id)
    if id and not seen[id] then
      seen[id] = true
      out[#out + 1] = id
    end
  end
  for _, list in ipairs(lists) do
    for _, k in ipairs({ "standard", "fast" }) do add(list and list[k]) end
  end
  -- models beside the two (Ark's Seedance 1.x, for drafts, the flex tier and frames)
  for _, id in ipairs(d.other_models and d.other_models(self) or {}) do add(id) end
  return out
end

local function check_types(a)
  if type(a) ~= "table" then error("client:generate: expected a table {prompt=, refs=, ...}", 4) end
  for k in pairs(a) do
    if not GEN_KEYS[k] then error("client:generate: unknown field '" .. tostring(k) .. "'", 4) end
  end
  if a.draft_task ~= nil then
    -- the video from a draft: the draft's prompt and media are used, nothing else is taken
    if not (object.kind(a.draft_task) == "task" or (type(a.draft_task) == "string" and a.draft_task ~= "")) then
      error("client:generate: 'draft_task' must be a Task or a task id", 4)
    end
    for _, k in ipairs({ "prompt", "refs", "first_frame", "last_frame" }) do
      if a[k] ~= nil then
        error("client:generate: '" .. k .. "' cannot go with 'draft_task' (the draft's own are used)", 4)
      end
    end
  elseif type(a.prompt) ~= "string" or a.prompt == "" then
    error("client:generate: 'prompt' must be a non-empty string", 4)
  end
  if a.refs ~= nil and type(a.refs) ~= "table" then error("client:generate: 'refs' must be a table", 4) end
  for _, k in ipairs({ "model", "resolution", "ratio", "key", "callback_url", "service_tier" }) do
    if a[k] ~= nil and type(a[k]) ~= "string" then error("client:generate: '" .. k .. "' must be a string", 4) end
  end
  for _, k in ipairs({ "duration", "seed", "execution_expires_after", "frames" }) do
    if a[k] ~= nil and type(a[k]) ~= "number" then error("client:generate: '" .. k .. "' must be a number", 4) end
  end
  for _, k in ipairs({ "audio", "watermark", "return_last_frame", "draft" }) do
    if a[k] ~= nil and type(a[k]) ~= "boolean" then error("client:generate: '" .. k .. "' must be a boolean", 4) end
  end
end

-- a first/last frame: an image asset in any form a reference takes (see seedance.render),
-- an image URL, or {url=}
local function frame(v, name, ctx)
  if v == nil then return nil end
  local obj = asset_mod.is(v)
  local u = (type(v) == "table" and not obj) and v.url or v
  if obj or render.asset_form(u, ctx.dialect) then
    local r, err, code = render.reference(name, obj and v or { url = u, type = "image" }, ctx)
    if not r then return nil, err, code end
    if r.type ~= "image" then return nil, name .. " must be an image, not " .. tostring(r.type) end
    return r
  elseif type(v) == "table" and type(v.url) == "string" then
    u = v.url
  elseif type(v) == "string" then
    u = v
  else
    error("client:generate: '" .. name .. "' must be an image asset, a URL or {url=}", 5)
  end
  if not (u:match("^https?://[^/?#]") or u:match("^data:")) then
    return nil, name .. " " .. u .. " is neither an image URL nor an asset"
  end
  local t = media_types.of(u)
  if t and t ~= "image" then return nil, name .. " must be an image, not " .. t end
  return { url = u, type = "image" }
end

--- A resolver for seedance.render: the asset an id or an `asset://` names, looked up once
-- per generation where the service can (false where it cannot).
function Client:_reference_resolver()
  local memo = {}
  return function(form, id)
    local key = form .. " " .. id
    if not memo[key] then memo[key] = { self:_reference_asset(form, id) } end
    return memo[key][1], memo[key][2]
  end
end

--- The asset that `asset://<id>` (form "ref") or an asset id (form "id") names: fetched by
-- id, or, where the service's paths take its own ids rather than the upstream's (Sunra,
-- `ref_by_list`), found in the listing by its reference.
-- @return Asset, or nil and a seedance.Error, or false when this client cannot look it up
function Client:_reference_asset(form, id)
  local d = self.dialect
  if not self:_can_look_up() then return false end
  local own = d.is_asset_id and d.is_asset_id(id)
  if not d.ref_by_list or (form == "id" and own) then
    local a, err = self:asset(id)
    if a then return a end
    if err.kind ~= "not_found" then return nil, err end
  elseif d.capabilities.list then
    local want = "asset://" .. id
    for a in self:assets() do
      if a.ref == want or a.id == id then return a end
    end
    local lerr = self:last_error()
    if lerr then return nil, lerr end
  else
    return false
  end
  return nil, self:_error({ kind = "not_found",
    message = ("no asset %s at %s (referenced as %s)"):format(id, self.provider,
                                                              form == "ref" and "asset://" .. id or "its id") })
end

-- a frame that is not what generation takes: the lookup's own error, or a validation one
function Client:_frame_error(e, code)
  if errors.is(e) then return nil, e end
  return self:_invalid(e, code)
end

-- The settings of a generation against what the services take: nil, or why not (naming
-- what is allowed). Checked before references are looked up, so a wrong setting costs nothing.
local function check_settings(self, a)
  local d = self.dialect
  if a.ratio and not RATIOS[a.ratio] then
    return "ratio " .. a.ratio .. " is not one of " .. ALLOWED.ratio
  end
  if a.resolution and not RESOLUTIONS[a.resolution] then
    return "resolution " .. a.resolution .. " is not one of " .. ALLOWED.resolution
  end
  local dur = a.duration
  if dur and dur ~= -1 then
    if dur ~= math.floor(dur) then
      return ("duration %s: whole seconds only (%s)"):format(tostring(dur), ALLOWED.duration)
    end
    if dur < 4 or dur > 15 then
      return ("duration %s s is outside 4-15 s (%s)"):format(tostring(dur), ALLOWED.duration)
    end
  end
  if a.seed and a.seed ~= math.floor(a.seed) then return "seed must be an integer" end
  if a.return_last_frame and not d.capabilities.last_frame then
    return self.provider .. " does not return a task's last frame (return_last_frame)", "unsupported"
  end
  for _, k in ipairs(RELAYED) do
    if a[k] ~= nil and a[k] ~= USUAL[k] and not (d.generate_fields or {})[k] then
      return self.provider .. " does not take '" .. k .. "' for a generation", "unsupported"
    end
  end
  if a.callback_url and not a.callback_url:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#%s]+") then
    return "callback_url " .. a.callback_url .. " is not an http(s) URL with a host"
  end
  if a.service_tier and not TIERS[a.service_tier] then
    return "service_tier " .. a.service_tier .. " is not one of default flex"
  end
  local e = a.execution_expires_after
  if e and (e ~= math.floor(e) or e < 3600 or e > 259200) then
    return ("execution_expires_after %s: whole seconds from 3600 to 259200 (1 h to 3 days)"):format(tostring(e))
  end
  if a.frames then
    if a.frames ~= math.floor(a.frames) then return "frames must be an integer" end
    if a.duration then return "give duration or frames, not both" end
  end
  if a.draft and a.draft_task then return "draft and draft_task: a draft cannot be made from a draft" end
  return nil
end

--- Validate, render and route a generation request; nil + Error if the service would refuse it.
function Client:_generation(a)
  local d = self.dialect
  local bad, code = check_settings(self, a)
  if bad then return self:_invalid(bad, code) end
  local resolve = self:_reference_resolver()
  local r, err
  if a.draft_task then
    r = { images = {}, videos = {}, audios = {} } -- the draft's prompt and media are used
  else
    r, err = render.render(a.prompt, a.refs, d, nil, resolve)
    if not r then return nil, err end
  end
  local ctx = { dialect = d, provider = self.provider, resolve = resolve }
  local ff, ferr, fcode = frame(a.first_frame, "first_frame", ctx)
  if not ff and ferr then return self:_frame_error(ferr, fcode) end
  local lf, lerr, lcode = frame(a.last_frame, "last_frame", ctx)
  if not lf and lerr then return self:_frame_error(lerr, lcode) end
  if (ff or lf) and (#r.images + #r.videos + #r.audios) > 0 then
    return self:_invalid("first/last frames cannot be mixed with reference media")
  end
  if lf and not ff then return self:_invalid("last_frame needs a first_frame") end
  local uses_assets = false
  for _, list in ipairs({ r.images, r.videos, r.audios }) do
    for _, m in ipairs(list) do
      if m.asset or (m.url or ""):match("^asset://") then uses_assets = true end
    end
  end
  for _, f in ipairs({ ff or {}, lf or {} }) do
    if f.asset or (f.url or ""):match("^asset://") then uses_assets = true end
  end
  local kind = a.model or "standard"
  local model = kind
  if kind == "standard" or kind == "fast" then
    -- a dialect whose ids depend on the deployment (Ark: Volcengine or BytePlus) picks per client
    local models = d.models_for and d.models_for(self) or d.models
    model = (uses_assets and d.asset_models and d.asset_models[kind]) or (models and models[kind])
    if not model then error("client:generate: " .. self.provider .. " has no '" .. kind .. "' model", 4) end
  else
    kind = nil
  end
  if kind == "fast" and a.resolution == "1080p" then
    return self:_invalid("1080p is only available on the standard model")
  end
  local g = {
    prompt = r.prompt, images = r.images, videos = r.videos, audios = r.audios,
    first_frame = ff, last_frame = lf, model = model, model_kind = kind, uses_assets = uses_assets,
    resolution = a.resolution, ratio = a.ratio, duration = a.duration, audio = a.audio,
    seed = a.seed, watermark = a.watermark, key = a.key, return_last_frame = a.return_last_frame,
    callback_url = a.callback_url, service_tier = a.service_tier, execution_expires_after = a.execution_expires_after,
    draft = a.draft, frames = a.frames,
    draft_task = a.draft_task and (type(a.draft_task) == "string" and a.draft_task or a.draft_task.id) or nil,
  }
  -- what the chosen model takes of these (Ark: draft, flex and frames are per model)
  if d.generation_problem then
    local why = d.generation_problem(g)
    if why then return self:_invalid(why, "unsupported") end
  end
  return g
end

--- Start a generation. With a journal, the same `key` (derived from the inputs when
-- absent) never submits a second paid task: a rerun gets the task the first run created.
-- @tparam table a {prompt=, refs=, model=, resolution=, ratio=, duration=, audio=, seed=,
-- watermark=, first_frame=, last_frame=, key=} (api.md); where the service relays them
-- (README, per provider): return_last_frame=, callback_url=, service_tier="default"|"flex",
-- execution_expires_after= (seconds), draft=true, draft_task=<Task or id> (the video from a
-- draft: no prompt, refs or frames then), frames= (instead of duration)
-- @return Task, or nil and a seedance.Error (`validation` before any request; a create
-- whose outcome is unknown has `err.maybe_submitted` and is never repeated)
function Client:generate(a)
  check_types(a)
  return self:_generate(a, nil)
end

--- Validate and render a generation exactly as generate would, sending nothing: for
-- dry runs, cost estimates and showing the prompt as it will be sent.
-- @tparam table a as for generate
-- @return {prompt=, model=, images=, videos=, audios=, first_frame=, last_frame=,
-- resolution=, ratio=, duration=, ...}, or nil and a seedance.Error (`validation`)
function Client:prepare(a)
  check_types(a)
  self:_require("generate", "generate videos")
  local g, err = self:_generation(a)
  if not g then return nil, err end
  local op, why = self.dialect.create_task(g)
  if not op then return self:_invalid(why) end
  return g
end

-- The task the journal's entry `e` for `key` stands for: the task when an earlier run
-- created it, or nil and an error when an earlier create's outcome is unknown (paying
-- twice is worse than asking the caller to look).
local function journaled(self, key, g, e)
  if e.id then
    local t = task.new(self, { id = e.id, prompt = g.prompt, model = g.model, key = g.key }, nil)
    local ok, err = t:refresh()
    if not ok then return nil, err end
    t.resumed = true
    if self.max_in_flight and not t:_terminal() then t._slot = key end
    return t
  end
  return nil, errors.new({ kind = "conflict", code = "maybe_submitted", provider = self.provider,
    message = ("a task for this key may already exist: an earlier run was cut off while creating it at %s; "
               .. "seedance will not pay for it twice (check the provider's task list, then client:forget(key))")
               :format(os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(e.at or 0))) })
end

-- the journal's entry for a generation: its intent, then (with `id`) its record
local function task_entry(self, g, id)
  return { kind = "task", provider = self.provider, key = g.key, at = core.time(), id = id }
end

function Client:_generate(a, suffix)
  self:_require("generate", "generate videos")
  local g, err = self:_generation(a)
  if not g then return nil, err end
  local d = self.dialect
  local op, why = d.create_task(g)
  if not op then return self:_invalid(why) end
  if self.journal then
    local key = journal.task_key(self.provider, g) .. (suffix or "")
    local function resolve(e)
      local t, jerr = journaled(self, key, g, e)
      if t then return self:_track(t) end
      return t, jerr
    end
    -- the intent rides on the claim, unless a slot must come first (a create that waits
    -- for room in the fleet has not begun: its intent is written once it has a slot)
    local intent = not self.max_in_flight and task_entry(self, g) or nil
    return journal.once(self, key, resolve, function(recorded) return self:_create_task(op, g, key, recorded) end,
                        intent)
  end
  return self:_create_task(op, g, nil)
end

-- The account's tasks in flight, counted in the store across every worker sharing it
-- (seedance.new{max_in_flight=}, or the provider's own queue limit): a slot per task,
-- taken before its create and given back when it ends. A slot is a lease
-- (seedance.new{in_flight_lease=}, 600 s): while this client polls the task, one timer
-- renews every such slot each quarter lease, whether or not the task's status moves (the
-- scheduler keeps unchanged answers to itself); a worker that dies leaves slots that lapse.
-- A task this client does not poll (never waited on, or given up) is not renewed: nobody
-- here would hear of its end to give the slot back.
local IN_FLIGHT = "in_flight:tasks"

local function renew(self, t)
  t._slot_at = core.now()
  self.journal:slot(IN_FLIGHT, t._slot, self.max_in_flight, self.in_flight_lease)
end

-- the one renewal timer, set while some polled task holds a slot (self._slots: key -> task)
local function arm(self)
  if self._slot_timer or not (self._slots and next(self._slots)) then return end
  self._slot_timer = self.engine:after(self.in_flight_lease / 4, function()
    self._slot_timer = nil
    for _, t in pairs(self._slots) do renew(self, t) end
    arm(self)
  end)
end

-- `t` is no longer renewed here (its polling stopped, or it ended)
local function unhold(self, t)
  if self._slots then self._slots[t._slot] = nil end
  if self._slot_timer and not (self._slots and next(self._slots)) then
    self.engine:cancel_timer(self._slot_timer)
    self._slot_timer = nil
  end
end

-- a slot for the task under `key`, waiting (backing off, with jitter) while the fleet is
-- at its cap; the create's claim on `key` is renewed meanwhile
local function take_slot(self, key)
  local j, limit = self.journal, self.max_in_flight
  local wait, bound = 0.2, core.now() + 600
  while true do
    local got, live = j:slot(IN_FLIGHT, key, limit, self.in_flight_lease)
    if got == nil then return self:_journal_error(live) end
    if got then return true end
    if core.now() > bound then
      return nil, self:_error({ kind = "rate_limited", code = "in_flight", message = ("%d tasks of this account "
        .. "are in flight across the workers sharing the store (max_in_flight = %d)"):format(live, limit) })
    end
    journal.pause(self, wait * (0.5 + math.random()))
    wait = math.min(wait * 2, 5)
    j:claim(key, journal.lease(self))
  end
end

--- Called by the poller (watch.lua) when it starts polling `obj`, on each change, and with
-- `stopped` when it stops: a task holding an in-flight slot has it renewed while it is
-- polled, and gives it back once it ended.
function Client:_polled(obj, stopped)
  local key = obj._slot
  if not key then return end
  if obj:_terminal() then
    unhold(self, obj)
    obj._slot = nil
    self.journal:unslot(IN_FLIGHT, key)
  elseif stopped then
    unhold(self, obj)
  else
    self._slots = self._slots or {}
    if not self._slots[key] then
      self._slots[key] = obj
      arm(self)
    end
    if core.now() - (obj._slot_at or 0) > self.in_flight_lease / 4 then renew(self, obj) end
  end
end

-- one paid create, recorded around it under `key` when the client keeps a journal
-- (`recorded`: its intent is there already, written with its claim)
function Client:_create_task(op, g, key, recorded)
  local d, j = self.dialect, key and self.journal
  local capped = j and self.max_in_flight
  if capped then
    local ok, serr = take_slot(self, key)
    if not ok then return nil, serr end
  end
  if j and not recorded then
    local ok, werr = j:put(key, task_entry(self, g))
    if not ok then
      if capped then j:unslot(IN_FLIGHT, key) end
      return self:_journal_error(werr)
    end
  end
  local body, cerr, text = self:_call(op)
  if not body then
    if j and journal.definite(cerr) then
      j:put(key, false, true)
      if capped then j:unslot(IN_FLIGHT, key) end
    end
    if not journal.definite(cerr) then cerr.maybe_submitted = true end
    return nil, cerr
  end
  local fields, perr = self:_parse("object", d.parse_created_task, body, g)
  if not fields then
    -- the service took the request (and may bill it); only its answer is unreadable
    perr.maybe_submitted = true
    return nil, perr
  end
  fields.prompt = g.prompt
  fields.model = fields.model or g.model
  fields.key = g.key
  local t = task.new(self, fields, object.raw(body, text))
  if capped then
    t._slot, t._slot_at = key, core.now()
  end
  if j then
    local ok, werr = j:put(key, task_entry(self, g, t.id), true)
    if not ok then return self:_bookkeeping_error(self:_track(t), werr) end
  end
  return self:_track(t)
end

--- Fetch a task by id (e.g. one started by an earlier run).
-- @return Task, or nil and a seedance.Error
function Client:task(id)
  check.text("client:task", "id", id, true, 2)
  if id == nil then error("client:task: 'id' must be a non-empty string", 2) end
  self:_require("generate", "fetch tasks")
  local t = task.new(self, { id = id }, nil)
  local ok, err = t:refresh()
  if not ok then return nil, err end
  return t
end

--- Forget a journaled generation key (after checking the provider for a task an
-- interrupted run may have created), so the next generate with it submits anew.
-- @tparam string key the generation's `key`
function Client:forget(key)
  if type(key) ~= "string" then error("client:forget: 'key' must be a string", 2) end
  check.text("client:forget", "key", key, false, 2)
  if self.journal then return self.journal:put(journal.task_key(self.provider, { key = key }), false) end
  return true
end

local RETRY_KEYS = { attempts = true, vary = true, backoff = true, timeout = true, on_update = true }

--- Generate and wait, starting a new task only when the previous one provably ended:
-- on `moderation` the caller's `vary(args, err, attempt)` may return changed arguments
-- (nil gives up); on `task_failed` it waits `backoff` seconds (doubling) and tries again.
-- A create whose outcome is unknown (network, timeout) or a wait that timed out is never
-- resubmitted: that task may exist and be billed.
-- @tparam table args as for generate
-- @tparam[opt] table opts {attempts=3, vary=fn, backoff=5, timeout=1800, on_update=fn}
-- @return Task, or nil, the last seedance.Error, and the list of tasks tried
function Client:generate_with_retry(args, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("client:generate_with_retry: options must be a table", 2) end
  for k in pairs(opts) do
    if not RETRY_KEYS[k] then error("client:generate_with_retry: unknown option '" .. tostring(k) .. "'", 2) end
  end
  if opts.vary ~= nil and type(opts.vary) ~= "function" then
    error("client:generate_with_retry: 'vary' must be a function", 2)
  end
  if opts.on_update ~= nil and type(opts.on_update) ~= "function" then
    error("client:generate_with_retry: 'on_update' must be a function", 2)
  end
  check.timeout("client:generate_with_retry", "timeout", opts.timeout, 2)
  check.range("client:generate_with_retry", "attempts", opts.attempts, 1, 100, 2)
  check.range("client:generate_with_retry", "backoff", opts.backoff, 0, 86400, 2)
  local attempts, backoff = opts.attempts or 3, opts.backoff or 5
  local deadline = core.now() + (opts.timeout or 1800)
  local tried, err = {}, nil
  for n = 1, attempts do
    local t
    check_types(args) -- vary() may hand back anything
    -- each attempt is its own paid task: its own journal entry; its create and any lookup
    -- share what is left of this call's time
    t, err = self:_within(math.max(deadline - core.now(), 0), self._generate, self, args, n > 1 and ("#" .. n) or nil)
    if not t then return nil, err, tried end
    tried[#tried + 1] = t
    local left = deadline - core.now()
    if left <= 0 then
      return nil, errors.new({ kind = "timeout", provider = self.provider, message = "out of time", object = t }), tried
    end
    local ok
    ok, err = t:wait({ timeout = left, on_update = opts.on_update })
    if ok then return t, nil, tried end
    if err.kind == "moderation" then
      if not opts.vary or n == attempts then break end
      local nargs = opts.vary(args, err, n)
      if nargs == nil then break end
      args = nargs
    elseif err.kind == "task_failed" and t.status == "failed" and n < attempts then
      local pause = math.min(backoff * 2 ^ (n - 1), math.max(0, deadline - core.now()))
      -- a timer on the engine makes this pause a wait like any other: it yields inside
      -- seedance.run and under nginx, and other polls go on meanwhile
      local woke = false
      self.engine:after(pause, function() woke = true end)
      require("seedance.runtime.block").until_done({ self.engine }, function() return woke end, core.now() + pause + 1)
    else
      break
    end
  end
  return nil, err, tried
end

return Client
