--- `seedance produce FILE.lua`: run a production described by a Lua file that returns
-- `{name =, cast = {...}, shots = {{key =, prompt =, ...}, ...}, <settings>}`, where the
-- settings are seedance.production's (out, concurrency, max_cost, cost, retry, filters,
-- partials) plus `journal` / `store` (the client's store, which makes reruns resume) and
-- `timeout`. Progress bars per shot on a terminal, one line per change when piped.
-- @module seedance.cli.produce
local seedance = require "seedance"
local args = require "seedance.cli.args"
local json = require "seedance.wire.json"

local M = {}

local SETTINGS = { out = true, concurrency = true, max_cost = true, cost = true, retry = true, filters = true,
                   partials = true }
local FILE_KEYS = { name = true, cast = true, shots = true, journal = true, store = true, timeout = true }

--- Read a production file: the table it returns, or raises a usage error naming the problem.
function M.load(path)
  local chunk, lerr = loadfile(path)
  if not chunk then args.usage_error("cannot load " .. path .. ": " .. tostring(lerr)) end
  local ok, spec = pcall(chunk)
  if not ok then args.usage_error(path .. " failed: " .. tostring(spec)) end
  if type(spec) ~= "table" then args.usage_error(path .. " must return a table {name=, cast=, shots=, ...}") end
  for k in pairs(spec) do
    if not (SETTINGS[k] or FILE_KEYS[k]) then args.usage_error(path .. ": unknown field '" .. tostring(k) .. "'") end
  end
  if type(spec.shots) ~= "table" or #spec.shots == 0 then args.usage_error(path .. ": 'shots' must list shots") end
  return spec
end

local function fraction(ev)
  if ev.status == "succeeded" then return 1 end
  if type(ev.progress) == "number" then return ev.progress / 100 end
  return 0
end

--- Run the command.
function M.run(ctx)
  local o = ctx.opts
  local path = ctx.args[1]
  local spec = M.load(path)
  local name = spec.name or path:match("([^/]-)%.lua$") or "production"
  local client = ctx:client({ journal = spec.journal, store = spec.store })
  local settings = { client = client, name = name }
  for k in pairs(SETTINGS) do settings[k] = spec[k] end
  local prod = seedance.production(settings)
  if spec.cast then prod:cast(spec.cast) end
  for _, s in ipairs(spec.shots) do prod:shot(s) end
  local out = ctx.out
  local function on_event(ev)
    if ev.shot and (ev.kind == "shot" or ev.kind == "progress" or ev.kind == "attempt" or ev.kind == "retry") then
      local detail = ev.attempt and ev.attempt > 1 and ("attempt " .. ev.attempt) or nil
      if ev.error and ev.status ~= "running" then detail = ev.error end
      out:progress(ev.shot, ev.status, fraction(ev), detail)
    elseif ev.kind == "take" then
      out:progress(ev.shot, "saved " .. ev.path, 1)
    elseif ev.kind == "cast" then
      out:progress("cast:" .. ev.member, ev.status, ev.status == "active" and 1 or 0, ev.error)
    end
  end
  local result, err = prod:run({ dry_run = o.dry_run, draft = o.draft, report = o.report,
                                 timeout = o.timeout or spec.timeout, on_event = on_event })
  out:finish()
  local doc = result or (err and err.result)
  if doc then
    local rows = {}
    for _, k in ipairs(doc.order) do
      local s = doc.shots[k]
      rows[#rows + 1] = { k, s.status, s.cost or 0, s.estimate or 0, s.path or s.prompt or "" }
    end
    out:table({ "SHOT", "STATUS", "COST", "ESTIMATE", o.dry_run and "PROMPT" or "TAKE" }, rows)
    out:line(("cost %g, estimate %g%s"):format(doc.cost or 0, doc.estimate or 0,
      doc.max_cost and (", ceiling " .. doc.max_cost) or ""))
    if doc.report then out:line("report " .. doc.report) end
    doc.timeline = nil -- the report has it; the document stays readable
    -- lists stay lists in JSON even when empty
    doc.order = json.array(doc.order)
    for _, sh in pairs(doc.shots) do
      for _, k in ipairs({ "takes", "tries", "after", "members" }) do sh[k] = json.array(sh[k]) end
    end
  end
  return { production = doc }, err
end

return M
