--- Running a production: shots start as soon as their cast is active and the shots they
-- wait for have succeeded, at most `concurrency` at once; each paid create is priced
-- against the ceiling first and recorded in the ledger around it; moderation failures go
-- through `retry.vary`, failed tasks back off and retry; every take is downloaded at once.
-- Built on the public API only (generate with a key, wait_all, task:wait, download), so it
-- keeps working whatever the objects are made of.
-- @module seedance.production.schedule
local seedance = require "seedance"
local core = require "seedance.core"
local errors = require "seedance.error"
local plan_mod = require "seedance.production.plan"
local cast_mod = require "seedance.production.cast"
local takes = require "seedance.production.takes"

local M = {}

-- how long one round of waiting lasts at most: the delay between a task ending and the
-- next shot starting
local SLICE = 0.1
-- claims on shots (stores that have them) last this long, renewed while a shot is live
local LEASE = 60

local TERMINAL = { succeeded = true, failed = true, skipped = true, over_budget = true }

local function now() return core.now() end

local function message_of(e)
  if e == nil then return nil end
  if type(e) == "table" then return e.message or e.code or tostring(e) end
  return tostring(e)
end

-- what the ledger keeps of a shot (plain data: strings, numbers, lists)
local function record_of(st)
  local attempts = {}
  for i, a in ipairs(st.attempts) do
    attempts[i] = { n = a.n, key = a.key, task = a.task, status = a.status, error = a.error,
                    cost = a.cost, prompt = a.prompt, usage = a.usage, at = a.at, template = a.template }
  end
  local tk = {}
  for i, t in ipairs(st.takes) do tk[i] = t end
  return { status = st.status, digest = st.digest, attempts = attempts, takes = tk, cost = st.cost,
           prompt = st.prompt, path = st.path, task = st.task_id, last_frame = st.last_frame,
           error = st.error_message, mode = st.mode }
end

--- Run `plan` of `prod` with `opts` ({timeout=, draft=, only=, emit=}); returns the result.
function M.run(prod, plan, ledger, opts)
  local client = prod.client
  local emit = opts.emit
  local deadline = now() + (opts.timeout or 3600)
  local mode = opts.draft and "draft" or "final"
  local retry = prod.retry
  local shots, order = {}, plan.order
  local result = { shots = {}, estimate = 0, cost = 0, max_cost = prod.max_cost, mode = mode,
                   name = prod.name, provider = client.provider, order = order }

  -- earlier runs' spending counts against the ceiling
  local spent_before = 0
  for _, k in ipairs(order) do
    local rec = ledger:get(k)
    if rec and rec.cost then spent_before = spent_before + rec.cost end
  end
  local spent = spent_before

  local function save(st)
    local ok, err = ledger:put(st.key, record_of(st))
    if not ok then
      st.store_error = err
      return nil, err
    end
    return true
  end

  local function finish(st, status, err)
    st.status = status
    if err then
      st.error = err
      st.error_message = message_of(err)
    end
    st.ended = now()
    save(st)
    if st.claimed then ledger:release(st.key) end
    emit({ kind = "shot", shot = st.key, status = status, attempt = st.n, error = st.error_message,
           cost = st.cost, path = st.path })
  end

  -- state of each shot, resumed from the ledger where an earlier run left it
  for _, k in ipairs(order) do
    local step = plan.shots[k]
    local digest = core.sha256_hex(table.concat({ mode, step.template, tostring(step.from),
      table.concat(step.members, ","), prod.settings_of(step.shot) }, "\n")):sub(1, 12)
    local st = { key = k, step = step, status = "waiting", attempts = {}, takes = {}, cost = 0, n = 0,
                 digest = digest, mode = mode, prompt_template = step.template, events = {} }
    shots[k] = st
    local rec = ledger:get(k)
    if rec then
      st.cost = rec.cost or 0
      st.takes = rec.takes or {}
      st.attempts = rec.attempts or {}
      st.n = #st.attempts
      if rec.digest == digest then
        st.last_frame = rec.last_frame
        if rec.status == "succeeded" and rec.path and takes.check(rec.path) then
          st.status, st.path, st.prompt, st.task_id = "succeeded", rec.path, rec.prompt, rec.task
          st.resumed = true
        elseif rec.status == "running" and st.attempts[st.n] then
          -- a task of this production may exist: the same key finds it, never a second one
          st.resume_attempt = st.attempts[st.n]
        end
      else
        st.n = 0 -- a changed shot starts its own attempts (its keys carry the new digest)
        for _, a in ipairs(st.attempts) do
          if a.key and a.key:find("/" .. digest .. "#", 1, true) then st.n = math.max(st.n, a.n or 0) end
        end
      end
    end
    if opts.only and not opts.only[k] and st.status ~= "succeeded" then
      st.status, st.skipped_by_choice = "skipped", true
      st.error_message = "not chosen for this run"
    end
  end

  -- the cast members the shots to run need, registered once, waited for with the shots
  local needed, seen = {}, {}
  for _, k in ipairs(order) do
    local st = shots[k]
    if not TERMINAL[st.status] then
      for _, m in ipairs(st.step.members) do
        if not seen[m] then
          seen[m] = true
          needed[#needed + 1] = m
        end
      end
    end
  end
  table.sort(needed)
  emit({ kind = "run", status = "started", cost = spent_before, estimate = plan.estimate })
  local cast = cast_mod.register(prod, ledger, needed)
  for _, m in ipairs(needed) do
    emit({ kind = "cast", member = m, status = cast[m].status, error = message_of(cast[m].error) })
  end

  local function live_count()
    local n = 0
    for _, k in ipairs(order) do
      if shots[k].task and shots[k].status == "running" then n = n + 1 end
    end
    return n
  end

  -- why `st` can never run, or nil
  local function blocked(st)
    for _, m in ipairs(st.step.members) do
      if cast[m] and cast[m].status == "failed" then
        return "cast member '" .. m .. "' failed: " .. tostring(message_of(cast[m].error))
      end
    end
    for _, d in ipairs(st.step.deps) do
      local ds = shots[d].status
      if ds == "failed" or ds == "skipped" or ds == "over_budget" then
        return "shot '" .. d .. "' it waits for is " .. ds
      end
    end
  end

  local function ready(st)
    for _, m in ipairs(st.step.members) do
      if not cast[m] or cast[m].status ~= "active" then return false end
    end
    for _, d in ipairs(st.step.deps) do
      if shots[d].status ~= "succeeded" then return false end
    end
    return true
  end

  local function attempt_key(st, n)
    return ("%s/%s/%s#%d"):format(prod.name, st.key, st.digest, n)
  end

  -- one paid create (or the resumption of one already paid): true when a task runs
  local function start(st)
    local resuming = st.resume_attempt
    st.resume_attempt = nil
    local n = resuming and resuming.n or (st.n + 1)
    if not resuming then
      local cost = st.step.cost
      if prod.max_cost and spent + cost > prod.max_cost + 1e-9 then
        emit({ kind = "budget", shot = st.key, cost = cost, error = ("%g + %g would pass the ceiling of %g")
          :format(spent, cost, prod.max_cost) })
        finish(st, "over_budget", errors.new({ kind = "quota", code = "over_budget", provider = client.provider,
          message = ("shot '%s' (cost %g) would take the production to %g, over its ceiling of %g")
            :format(st.key, cost, spent + cost, prod.max_cost) }))
        return false
      end
    end
    local frame
    if st.step.from then
      frame = shots[st.step.from].last_frame
      if not frame then
        finish(st, "failed", errors.new({ kind = "task_failed", provider = client.provider, code = "no_last_frame",
          message = "shot '" .. st.step.from .. "' returned no last frame to continue from" }))
        return false
      end
    end
    local refs = {}
    for _, m in ipairs(st.step.members) do refs[m] = cast_mod.refs(prod, m, cast[m]) end
    local args = plan_mod.args(st.step, refs, { key = attempt_key(st, n), frame = frame, draft = opts.draft,
                                                      prompt = resuming and resuming.template or st.prompt_template })
    -- the intent first: a crash after the create finds this attempt and resumes it
    local a = resuming or { n = n, key = args.key, status = "creating", at = core.time(),
                            template = args.prompt, cost = 0 }
    if not resuming then
      st.attempts[#st.attempts + 1] = a
      st.n = n
      st.status = "running"
      local ok, werr = save(st)
      if not ok then
        st.attempts[#st.attempts] = nil
        finish(st, "failed", errors.new({ kind = "network", provider = client.provider,
          message = "cannot write the production ledger: " .. tostring(werr) }))
        return false
      end
    end
    st.status = "running"
    local t, err = client:generate(args)
    if not t then
      a.status, a.error = "refused", message_of(err)
      -- a create that provably did nothing costs nothing; one of unknown outcome stays in
      -- the ledger as "creating", and a rerun asks the store before paying again
      if err.maybe_submitted then a.status = "unknown" end
      finish(st, "failed", err)
      return false
    end
    if not resuming then
      a.cost = st.step.cost
      st.cost = st.cost + a.cost
      spent = spent + a.cost
    end
    a.task, a.status, a.prompt = t.id, "running", t.prompt
    st.task, st.task_id, st.prompt, st.started = t, t.id, t.prompt, st.started or now()
    save(st)
    emit({ kind = "attempt", shot = st.key, status = t.status, attempt = n, task = t.id, cost = a.cost,
           prompt = t.prompt, resumed = t.resumed or (resuming and true) or nil })
    return true
  end

  -- a task ended: download its take, or decide what the next attempt is
  local function ended(st)
    local t = st.task
    local a = st.attempts[#st.attempts]
    st.task = nil
    if t.status == "succeeded" then
      a.status = "succeeded"
      -- what the service reports it charged, beside the estimate (task.usage, where it says)
      if type(t.usage) == "table" then a.usage = t.usage end
      st.last_frame = t.last_frame_url
      local take, err = takes.fetch(t, prod.out, st.key, math.max(1, deadline - now()))
      if not take then
        a.error = message_of(err)
        return finish(st, "failed", err)
      end
      take.task, take.attempt, take.mode = t.id, a.n, mode
      st.takes[#st.takes + 1] = take
      st.path = take.path
      emit({ kind = "take", shot = st.key, status = "succeeded", path = take.path, attempt = a.n,
             task = t.id, bytes = take.bytes })
      return finish(st, "succeeded")
    end
    local _, err = t:wait({ timeout = 1 })
    err = err or errors.new({ kind = "task_failed", provider = client.provider, message = "task " .. tostring(t.id)
                              .. " ended " .. tostring(t.status) })
    a.status, a.error = t.status, message_of(err)
    local n = a.n
    if n >= retry.attempts then return finish(st, "failed", err) end
    if err.kind == "moderation" then
      if not retry.vary then return finish(st, "failed", err) end
      local ok, text = pcall(retry.vary, st.step.shot, err, n)
      if not ok then return finish(st, "failed", errors.new({ kind = "validation", provider = client.provider,
        message = "retry.vary failed: " .. tostring(text) })) end
      if text == nil then return finish(st, "failed", err) end
      if type(text) ~= "string" then
        return finish(st, "failed", errors.new({ kind = "validation", provider = client.provider,
          message = "retry.vary returned " .. type(text) .. ", not a prompt" }))
      end
      local varied, verr = plan_mod.vary(prod, st.step, text)
      if not varied then return finish(st, "failed", verr) end
      st.prompt_template = varied
      st.status = "waiting"
      st.not_before = now()
    elseif err.kind == "task_failed" and t.status ~= "cancelled" then
      st.status = "waiting"
      st.not_before = now() + retry.backoff * 2 ^ (n - 1)
    else
      return finish(st, "failed", err)
    end
    save(st)
    emit({ kind = "retry", shot = st.key, status = "waiting", attempt = n, error = a.error,
           at = st.not_before })
  end

  local function watch_elsewhere(st)
    local rec = ledger:get(st.key)
    if rec and rec.digest == st.digest and (rec.status == "succeeded" or rec.status == "failed"
        or rec.status == "over_budget" or rec.status == "skipped") then
      st.status, st.path, st.prompt, st.task_id, st.last_frame = rec.status, rec.path, rec.prompt, rec.task,
        rec.last_frame
      st.cost, st.takes, st.attempts, st.elsewhere = rec.cost or 0, rec.takes or {}, rec.attempts or {}, true
      st.error_message = rec.error
      emit({ kind = "shot", shot = st.key, status = st.status, error = st.error_message, cost = st.cost,
             path = st.path, elsewhere = true })
      return true
    end
    return false
  end

  -- claims: a shot another worker holds is theirs; its outcome is read from the ledger
  local function take_claim(st)
    if not ledger:shared() then return true end
    local got = ledger:claim(st.key, LEASE)
    if not got then return false end
    st.claimed, st.renewed = true, now()
    -- another worker may have worked on it before its lease ran out: carry on from there
    local rec = ledger:get(st.key)
    if rec and rec.digest == st.digest and rec.status == "succeeded" then
      -- finished by another worker meanwhile
      ledger:release(st.key)
      st.claimed = false
      watch_elsewhere(st)
      return false
    end
    if rec and rec.digest == st.digest and not st.task then
      st.attempts, st.cost, st.takes = rec.attempts or {}, rec.cost or 0, rec.takes or {}
      st.n = #st.attempts
      if rec.status == "running" and st.attempts[st.n] then st.resume_attempt = st.attempts[st.n] end
    end
    return true
  end

  local shown = {}
  local function on_update(obj)
    for _, k in ipairs(order) do
      local st = shots[k]
      if st.task == obj then
        local mark = tostring(obj.status) .. ":" .. tostring(obj.progress)
        if shown[k] ~= mark then
          shown[k] = mark
          emit({ kind = "progress", shot = k, status = obj.status, progress = obj.progress, attempt = st.n,
                 task = obj.id })
        end
      end
    end
  end

  local last_look = 0
  while true do
    local open = 0
    -- cast members whose assets settled
    for _, m in ipairs(needed) do
      if cast_mod.settle(cast[m]) then
        emit({ kind = "cast", member = m, status = cast[m].status, error = message_of(cast[m].error) })
      end
    end
    -- tasks that ended
    for _, k in ipairs(order) do
      local st = shots[k]
      if st.task and st.task.status ~= "queued" and st.task.status ~= "running" then
        local s = st.task.status
        if s == "succeeded" or s == "failed" or s == "cancelled" or s == "expired" then ended(st) end
      end
    end
    -- what can start, in declaration order, within the cap
    local t_now = now()
    local look_elsewhere = t_now - last_look > 0.5
    if look_elsewhere then last_look = t_now end
    for _, k in ipairs(order) do
      local st = shots[k]
      if st.status == "waiting" or st.status == "elsewhere" then
        local why = blocked(st)
        if why then
          finish(st, "skipped", errors.new({ kind = "validation", provider = client.provider, code = "skipped",
                                             message = "shot '" .. k .. "' skipped: " .. why }))
        elseif st.status == "elsewhere" and look_elsewhere and watch_elsewhere(st) then -- luacheck: ignore 542
        elseif ready(st) and (not st.not_before or st.not_before <= t_now) and live_count() < prod.concurrency then
          if take_claim(st) then
            start(st)
          elseif st.status == "waiting" then
            st.status = "elsewhere"
            emit({ kind = "shot", shot = k, status = "elsewhere" })
          end
        end
      end
      if st.claimed and st.status == "running" and t_now - (st.renewed or 0) > LEASE / 3 then
        ledger:claim(st.key, LEASE)
        st.renewed = t_now
      end
      if not TERMINAL[st.status] then open = open + 1 end
    end
    if open == 0 then break end
    if now() >= deadline then
      for _, k in ipairs(order) do
        local st = shots[k]
        if not TERMINAL[st.status] then
          -- the ledger keeps a running attempt as running: a rerun resumes that task
          local keep = st.status
          st.status = "failed"
          st.error = errors.new({ kind = "timeout", provider = client.provider,
                                  message = "shot '" .. k .. "' did not finish within the run's timeout" })
          st.error_message = st.error.message
          emit({ kind = "shot", shot = k, status = "failed", error = st.error_message, attempt = st.n })
          if keep == "waiting" or keep == "elsewhere" then save(st) end
          if st.claimed then ledger:release(k) end
        end
      end
      break
    end
    -- wait: for the tasks and assets in motion, one slice at a time
    local pending = {}
    for _, k in ipairs(order) do
      if shots[k].task then pending[#pending + 1] = shots[k].task end
    end
    for _, m in ipairs(needed) do
      for _, a in ipairs(cast_mod.pending(cast[m])) do pending[#pending + 1] = a end
    end
    if #pending > 0 then
      local _, err = seedance.wait_all(pending, { timeout = SLICE, on_update = on_update })
      if err and err.kind ~= "timeout" and err.failed then
        -- an object whose polling hit a hard error (gone, refused) ends as failed
        for _, obj in ipairs(err.failed) do
          local s = obj.status
          if s ~= "failed" and s ~= "succeeded" and s ~= "cancelled" and s ~= "expired" and s ~= "active" then
            for _, k in ipairs(order) do
              local st = shots[k]
              if st.task == obj then
                st.task = nil
                st.attempts[#st.attempts].status = "lost"
                finish(st, "failed", err)
              end
            end
            for _, m in ipairs(needed) do
              for _, a in ipairs(cast[m].assets) do
                if a == obj and cast[m].status == "processing" then
                  cast[m].status, cast[m].error = "failed", err
                  emit({ kind = "cast", member = m, status = "failed", error = message_of(err) })
                end
              end
            end
          end
        end
      end
    else
      core.sleep(SLICE)
    end
  end

  for _, k in ipairs(order) do
    local st = shots[k]
    local attempts = {}
    for i, a in ipairs(st.attempts) do
      attempts[i] = { n = a.n, task = a.task, status = a.status, error = a.error, cost = a.cost,
                      prompt = a.prompt, usage = a.usage }
    end
    result.shots[k] = {
      key = k, status = st.status, task = st.task_id, path = st.path, takes = st.takes, attempts = #st.attempts,
      tries = attempts, cost = st.cost, prompt = st.prompt, error = st.error_message, after = st.step.deps,
      members = st.step.members, settings = prod.settings_table(st.step.shot, opts.draft),
      resumed = st.resumed, elsewhere = st.elsewhere, continues = st.step.from, estimate = st.step.cost,
    }
    result.estimate = result.estimate + st.step.cost
  end
  result.cost = spent
  result.cast = {}
  for _, m in ipairs(needed) do
    local ids = {}
    for i, a in ipairs(cast[m].assets) do ids[i] = a.id end
    result.cast[m] = { status = cast[m].status, error = message_of(cast[m].error), assets = ids }
  end
  emit({ kind = "run", status = "finished", cost = spent, estimate = result.estimate })
  return result
end

return M
