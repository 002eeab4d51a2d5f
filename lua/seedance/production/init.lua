--- Productions: a multi-character film as a cast and a shot list, run to the end.
--
--     local prod = seedance.production{client = client, name = "episode-1", concurrency = 4,
--                                      max_cost = 60, retry = {attempts = 3, vary = fn}}
--     prod:cast{hero = {image = "https://cdn/hero.png", describe = "a tall woman in a red coat"}}
--     prod:shot{key = "s1", prompt = "{{hero}} walks in, {{hero | describe}}.", duration = 5}
--     prod:shot{key = "s2", prompt = "{{hero}} turns.", after = "s1", continue = true}
--     local result, err = prod:run{timeout = 3600, on_event = print, report = "episode-1.html"}
--
-- The parts: `plan` (templates, dependencies, prices: everything checked before a request),
-- `cast` (registration), `schedule` (the run), `takes` (downloads), `ledger` (what the
-- client's store keeps), `report` (the HTML page).
-- @module seedance.production
local errors = require "seedance.error"
local cast_mod = require "seedance.production.cast"
local plan_mod = require "seedance.production.plan"
local ledger_mod = require "seedance.production.ledger"

local M = {}

--- A production (made by seedance.production).
-- @type Production
local Production = {}
Production.__index = Production
M.Production = Production

local OPTIONS = {
  client = "userdata|table", name = "string", out = "string", concurrency = "number", max_cost = "number",
  cost = "function", retry = "table", filters = "table", partials = "table",
}
local RETRY = { attempts = "number", vary = "function", backoff = "number" }
local SHOT = {
  key = "string", prompt = "string", duration = "number", ratio = "string", resolution = "string",
  model = "string", audio = "boolean", seed = "number", watermark = "boolean", after = "string|table",
  continue = "boolean|string", refs = "table",
}
local RUN = { timeout = "number", on_event = "function", report = "string", dry_run = "boolean", draft = "boolean",
              shots = "table" }

local function check(t, spec, who)
  for k, v in pairs(t) do
    local want = spec[k]
    if not want then error(who .. ": unknown option '" .. tostring(k) .. "'", 4) end
    if not ("|" .. want .. "|"):find("|" .. type(v) .. "|", 1, true) then
      error(("%s: '%s' must be a %s, got %s"):format(who, k, want:gsub("|", " or "), type(v)), 4)
    end
  end
end

--- The default price of a shot: seconds of video (5 when the shot leaves it to the service).
function M.seconds(shot)
  local d = shot.duration
  if d == nil or d == -1 then return 5 end
  return d
end

--- Create a production (see seedance.production).
-- @tparam table opts {client=, name=, out= ("out/<name>"), concurrency= (4), max_cost=,
-- cost= (fn(shot) -> number; default seconds of video), retry = {attempts= (3), vary=
-- fn(shot, err, n) -> prompt, backoff= (5 s, doubling)}, filters=, partials=}
-- @treturn Production
function M.new(opts)
  local who = "seedance.production"
  if type(opts) ~= "table" then error(who .. ": expected a table {client=, name=, ...}", 2) end
  check(opts, OPTIONS, who)
  if opts.client == nil then error(who .. ": 'client' is required", 2) end
  if type(opts.name) ~= "string" or not opts.name:match("^[%w][%w_%.%-]*$") then
    error(who .. ": 'name' is required: letters, digits, '.', '_' and '-' (it names files and store records)", 2)
  end
  local conc = opts.concurrency or 4
  if conc < 1 or conc ~= math.floor(conc) then error(who .. ": 'concurrency' must be a positive integer", 2) end
  if opts.max_cost and opts.max_cost < 0 then error(who .. ": 'max_cost' must be >= 0", 2) end
  local retry = opts.retry or {}
  check(retry, RETRY, who .. ": retry")
  local attempts = retry.attempts or 3
  if attempts < 1 or attempts ~= math.floor(attempts) then
    error(who .. ": 'retry.attempts' must be a positive integer", 2)
  end
  -- the template options are checked by the renderer (names, types)
  require("seedance.render").expand("", { filters = opts.filters, partials = opts.partials })
  return setmetatable({
    client = opts.client, name = opts.name, out = opts.out or ("out/" .. opts.name), concurrency = conc,
    max_cost = opts.max_cost, cost = opts.cost or M.seconds,
    retry = { attempts = attempts, vary = retry.vary, backoff = retry.backoff or 5 },
    filters = opts.filters, partials = opts.partials, members = {}, member_order = {}, shots = {}, by_key = {},
  }, Production)
end

--- Add cast members: `{name = {image = url | {urls}, video =, audio =, describe = "..."}, ...}`
-- (a bare URL string is an image). Raises on misuse, naming the member.
-- @return the production (calls chain)
function Production:cast(members)
  if type(members) ~= "table" then error("prod:cast: expected a table {name = {image=, ...}}", 2) end
  local names = {}
  for name in pairs(members) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    if self.members[name] then error("prod:cast: '" .. tostring(name) .. "' is already in the cast", 2) end
    self.members[name] = cast_mod.member(name, members[name], "prod:cast")
    self.member_order[#self.member_order + 1] = name
  end
  return self
end

--- Add a shot: `{key=, prompt=, duration=, ratio=, resolution=, model=, audio=, seed=,
-- watermark=, after = key | {keys}, continue = true | key, refs = {name = text or URL}}`.
-- `continue` starts the shot from the last frame of the shot it continues (its single
-- `after`, or the shot declared just before it, or the one named).
-- @return the production (calls chain)
function Production:shot(s)
  if type(s) ~= "table" then error("prod:shot: expected a table {key=, prompt=, ...}", 2) end
  check(s, SHOT, "prod:shot")
  if type(s.key) ~= "string" or not s.key:match("^[%w][%w_%.%-]*$") then
    error("prod:shot: 'key' is required: letters, digits, '.', '_' and '-' (it names the take directory)", 2)
  end
  if self.by_key[s.key] then error("prod:shot: a shot '" .. s.key .. "' already exists", 2) end
  if type(s.prompt) ~= "string" or s.prompt == "" then error("prod:shot: 'prompt' must be a non-empty string", 2) end
  local shot = {}
  for k, v in pairs(s) do shot[k] = v end
  local after = s.after
  if type(after) == "string" then after = { after } end
  shot.after = {}
  for i, a in ipairs(after or {}) do
    if type(a) ~= "string" then error("prod:shot: 'after' must list shot keys", 2) end
    shot.after[i] = a
  end
  self.shots[#self.shots + 1] = shot
  self.by_key[s.key] = shot
  return self
end

--- The settings of a shot as its generation gets them (for the report and the ledger).
function M.settings_table(shot, draft)
  local out = {}
  for _, k in ipairs(plan_mod.SETTINGS) do out[k] = shot[k] end
  if draft then out.resolution = "480p" end
  return out
end
--- The generation settings a take of `shot` is made with (M.settings_table, as a method).
Production.settings_table = function(shot, draft) return M.settings_table(shot, draft) end

--- The settings of a shot as one string (part of what identifies a take).
function Production.settings_of(shot)
  local parts = {}
  for _, k in ipairs(plan_mod.SETTINGS) do parts[#parts + 1] = k .. "=" .. tostring(shot[k]) end
  return table.concat(parts, ";")
end

-- what a dry run reports: every shot's prompt as it would be sent, its settings and price
local function dry_run(self, plan, emit, draft)
  local result = { shots = {}, estimate = plan.estimate, cost = 0, max_cost = self.max_cost, dry_run = true,
                   mode = draft and "draft" or "final", name = self.name, provider = self.client.provider,
                   order = plan.order, cast = {} }
  local problems, running = {}, 0
  for _, name in ipairs(self.member_order) do
    local urls = {}
    for i, r in ipairs(self.members[name].refs) do urls[i] = r.url end
    result.cast[name] = { status = "planned", urls = urls, describe = self.members[name].describe }
  end
  for _, k in ipairs(plan.order) do
    local step = plan.shots[k]
    local refs = {}
    for _, m in ipairs(step.members) do refs[m] = cast_mod.refs(self, m, nil) end
    local args = plan_mod.args(step, refs, { key = self.name .. "/" .. k, draft = draft,
                                                   frame = "https://last-frame.invalid/" .. k .. ".png" })
    local g, err = self.client:prepare(args)
    local status = "planned"
    running = running + step.cost
    if not g then
      status = "invalid"
      err.shot = k
      problems[#problems + 1] = err
    elseif self.max_cost and running > self.max_cost + 1e-9 then
      status = "over_budget"
    end
    result.shots[k] = { key = k, status = status, prompt = g and g.prompt, model = g and g.model,
                        estimate = step.cost, cost = 0, attempts = 0, takes = {}, tries = {},
                        error = err and err.message, after = step.deps, members = step.members,
                        continues = step.from, settings = M.settings_table(step.shot, draft) }
    emit({ kind = "shot", shot = k, status = status, cost = step.cost, prompt = g and g.prompt,
           error = err and err.message })
  end
  if #problems > 0 then
    local e = errors.new({ kind = "validation", provider = self.client.provider, problems = problems, result = result,
      message = problems[1].message .. (#problems > 1 and (" (and " .. (#problems - 1) .. " more)") or "") })
    return nil, e
  end
  return result
end

--- Run the production: register the cast, generate every shot (as the cast and `after`
-- allow, at most `concurrency` at once, inside `max_cost`), retry what can be retried,
-- download every take, record everything in the client's store.
-- @tparam[opt] table opts {timeout= (3600 s), on_event= fn(ev), report= "page.html",
-- dry_run= (validate, render and price; send nothing), draft= (every shot at 480p),
-- shots= {keys} (run only these; the others are left as they stand)}
-- @return result {shots = {key = {status=, task=, path=, takes=, attempts=, cost=, prompt=,
-- error=, ...}}, cost=, estimate=, ...}, and a seedance.Error when a shot did not succeed;
-- or nil and a seedance.Error (kind "validation", `problems` listing each) when the
-- production is invalid (then nothing was sent)
function Production:run(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("prod:run: options must be a table", 2) end
  check(opts, RUN, "prod:run")
  if opts.timeout and opts.timeout <= 0 then error("prod:run: 'timeout' must be positive", 2) end
  local timeline, t0 = {}, os.time()
  local core = require "seedance.core"
  local start = core.now()
  local function emit(ev)
    ev.at = core.now() - start
    timeline[#timeline + 1] = ev
    if opts.on_event then opts.on_event(ev) end
  end
  local plan, perr = plan_mod.build(self)
  local result, err
  if not plan then
    for _, p in ipairs(perr.problems or { perr }) do
      emit({ kind = "shot", shot = p.shot, status = "invalid", error = p.message })
    end
    return nil, perr
  end
  if opts.dry_run then
    result, err = dry_run(self, plan, emit, opts.draft)
  else
    local only
    if opts.shots then
      only = {}
      for _, k in ipairs(opts.shots) do
        if not self.by_key[k] then error("prod:run: 'shots' names '" .. tostring(k) .. "', which is not a shot", 2) end
        only[k] = true
      end
    end
    local ledger = ledger_mod.new(self.client, self.name)
    result = require("seedance.production.schedule").run(self, plan, ledger,
      { timeout = opts.timeout, draft = opts.draft, only = only, emit = emit })
    local bad = {}
    for _, k in ipairs(plan.order) do
      local s = result.shots[k]
      if s.status ~= "succeeded" then bad[#bad + 1] = k .. " " .. s.status end
    end
    if #bad > 0 then
      err = errors.new({ kind = "task_failed", provider = self.client.provider, result = result,
        message = ("%d of %d shots did not succeed: %s"):format(#bad, #plan.order, table.concat(bad, ", ")) })
    end
  end
  local doc = result or (err and err.result)
  if doc then
    doc.timeline, doc.started_at = timeline, t0
    doc.concurrency = self.concurrency
    if opts.report then
      local ok, rerr = require("seedance.production.report").write(self, doc, opts.report)
      if not ok then doc.report_error = rerr end
      doc.report = ok and opts.report or nil
    end
  end
  return result, err
end

return M
