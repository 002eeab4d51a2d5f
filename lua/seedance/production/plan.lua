--- A production's plan: each shot's template expanded (partials, filters), the cast members
-- and text references it names, what it waits for (`after`, `continue`), the order shots
-- can run in, and what each costs. Everything a service would refuse is found here, before
-- anything is sent; the arguments of each generation are built here too, so a dry run and
-- a real run send (or would send) the same thing.
-- @module seedance.production.plan
local render = require "seedance.render"
local errors = require "seedance.error"

local M = {}

--- The reserved placeholder a continued shot may use for the frame it starts from.
M.LAST_FRAME = "last_frame"

-- the shot settings passed through to client:generate as they are
M.SETTINGS = { "duration", "ratio", "resolution", "model", "audio", "seed", "watermark" }

local function invalid(provider, msg, shot)
  return errors.new({ kind = "validation", provider = provider, message = msg, shot = shot })
end

-- plain {{name}} placeholders left after expansion, in order, each once
local function names_in(text)
  local out, seen = {}, {}
  for name in text:gmatch("{{%s*([^{}|>]-)%s*}}") do
    if not seen[name] then
      seen[name] = true
      out[#out + 1] = name
    end
  end
  return out
end

-- A member with several references is named by all of them: `{{friend}}` becomes
-- `{{friend}} ({{friend.2}}, {{friend.3}})`, which renders to one token per reference.
local function spread(text, name, n)
  if n < 2 then return text end
  local extra = {}
  for i = 2, n do extra[#extra + 1] = "{{" .. name .. "." .. i .. "}}" end
  local repl = "{{" .. name .. "}} (" .. table.concat(extra, ", ") .. ")"
  return (text:gsub("{{%s*" .. name:gsub("%p", "%%%0") .. "%s*}}", function() return repl end))
end

-- the shot this one continues from: `continue = "s1"`, or its single `after`, or the shot
-- declared just before it
local function source_of(shot, index, order)
  if shot.continue == nil or shot.continue == false then return nil end
  if type(shot.continue) == "string" then return shot.continue end
  if #shot.after == 1 then return shot.after[1] end
  if #shot.after == 0 and index > 1 then return order[index - 1] end
  return nil, "continue = true needs one shot to continue from (name it: continue = \"<key>\")"
end

--- Plan `prod` (its cast, shots and settings). Returns the plan, or nil and a seedance.Error
-- whose `problems` lists every problem found (one per shot at most).
-- @return {order = {keys}, shots = {key = step}, estimate =}
function M.build(prod)
  local client = prod.client
  local provider = client.provider
  local caps = (client.dialect and client.dialect.capabilities) or {}
  local descriptions = {}
  for name, m in pairs(prod.members) do descriptions[name] = m.describe end
  local topts = { filters = prod.filters, partials = prod.partials, descriptions = descriptions }
  local steps, problems = {}, {}
  local plan = { order = {}, shots = steps, estimate = 0 }
  for i, shot in ipairs(prod.shots) do
    plan.order[i] = shot.key
    local step = { shot = shot, members = {}, deps = {}, index = i }
    steps[shot.key] = step
    local texts = {}
    for k, v in pairs(shot.refs or {}) do
      if type(v) == "string" and not v:match("^%a+://") or type(v) == "number" then texts[k] = tostring(v) end
    end
    local problem
    local expanded, err = render.expand(shot.prompt, topts, texts)
    if not expanded then problem = err.message end
    if not problem then
      local from, why = source_of(shot, i, plan.order)
      if why then problem = why end
      step.from = from
      for _, name in ipairs(names_in(expanded)) do
        if prod.members[name] then
          step.members[#step.members + 1] = name
        elseif name == M.LAST_FRAME and from then -- luacheck: ignore 542
        elseif not (shot.refs and shot.refs[name] ~= nil) then
          problem = problem or ("unknown placeholder {{" .. name .. "}}")
        end
      end
      -- a member named only through a filter ({{hero | describe}}) needs no registration here
      for _, name in ipairs(step.members) do expanded = spread(expanded, name, #prod.members[name].refs) end
      step.template = expanded
    end
    for _, a in ipairs(shot.after) do step.deps[#step.deps + 1] = a end
    if step.from then
      local listed = false
      for _, a in ipairs(step.deps) do listed = listed or a == step.from end
      if not listed then step.deps[#step.deps + 1] = step.from end
      if not caps.last_frame then
        problem = problem or (provider .. " does not return a task's last frame, so shot '" .. shot.key
                              .. "' cannot continue from '" .. step.from .. "'")
      end
    end
    if problem then problems[#problems + 1] = invalid(provider, "shot '" .. shot.key .. "': " .. problem, shot.key) end
  end
  -- every dependency exists and comes first (a shot list is acyclic by construction)
  local position = {}
  for i, k in ipairs(plan.order) do position[k] = i end
  for _, k in ipairs(plan.order) do
    local step = steps[k]
    for _, d in ipairs(step.deps) do
      if not position[d] then
        problems[#problems + 1] = invalid(provider, ("shot '%s' waits for '%s', which is not a shot"):format(k, d), k)
      elseif position[d] >= position[k] then
        problems[#problems + 1] = invalid(provider,
          ("shot '%s' waits for '%s', declared after it (declare shots in an order they can run)"):format(k, d), k)
      end
    end
    if step.from then steps[step.from].gives_frame = true end
  end
  for _, k in ipairs(plan.order) do
    local step = steps[k]
    local ok, cost = pcall(prod.cost, step.shot)
    if not ok or type(cost) ~= "number" or cost < 0 or cost ~= cost then
      problems[#problems + 1] = invalid(provider, ("shot '%s': cost() gave %s, not a number >= 0"):format(k,
        ok and tostring(cost) or ("an error: " .. tostring(cost))), k)
      cost = 0
    end
    step.cost = cost
    plan.estimate = plan.estimate + cost
  end
  if #problems > 0 then
    local e = problems[1]
    if #problems > 1 then
      e = invalid(provider, ("%s (and %d more problem%s)")
        :format(e.message, #problems - 1, #problems > 2 and "s" or ""))
    end
    e.problems = problems
    return nil, e
  end
  return plan
end

--- The arguments of client:generate for `step` (of a built plan): `cast` maps member names to their
-- references (assets in a run; their URLs in a dry run), `frame` is the URL of the frame a
-- continued shot starts from, `prompt` a varied template (retry.vary) or nil.
-- A continued shot with no media of its own starts from the frame (first_frame); one that
-- names cast members takes the frame as one more reference image, `{{last_frame}}`
-- (first frames cannot be mixed with reference media on any service).
function M.args(step, cast, opts)
  local shot = step.shot
  local template = opts.prompt or step.template
  local refs = {}
  for k, v in pairs(shot.refs or {}) do refs[k] = v end
  for _, name in ipairs(step.members) do
    for i, r in ipairs(cast[name]) do refs[i == 1 and name or (name .. "." .. i)] = r end
  end
  local a = { prompt = template, refs = refs, key = opts.key }
  for _, k in ipairs(M.SETTINGS) do a[k] = shot[k] end
  if opts.draft then a.resolution = "480p" end
  if step.gives_frame then a.return_last_frame = true end
  if step.from then
    if #step.members == 0 and not template:find("{{%s*" .. M.LAST_FRAME .. "%s*}}") then
      a.first_frame = opts.frame
    else
      refs[M.LAST_FRAME] = { url = opts.frame, type = "image" }
      if not template:find("{{%s*" .. M.LAST_FRAME .. "%s*}}") then
        a.prompt = "Continuing from {{" .. M.LAST_FRAME .. "}}: " .. template
      end
    end
  end
  return a
end

--- A varied prompt (from retry.vary) as a plan template: expanded and checked like the
-- shot's own; nil and an error when it is not one.
function M.vary(prod, step, text)
  local descriptions = {}
  for name, m in pairs(prod.members) do descriptions[name] = m.describe end
  local texts = {}
  for k, v in pairs(step.shot.refs or {}) do
    if type(v) == "string" and not v:match("^%a+://") then texts[k] = v end
  end
  local expanded, err = render.expand(text, { filters = prod.filters, partials = prod.partials,
                                              descriptions = descriptions }, texts)
  if not expanded then return nil, err end
  for _, name in ipairs(step.members) do expanded = spread(expanded, name, #prod.members[name].refs) end
  return expanded
end

return M
