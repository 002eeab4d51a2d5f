--- The poller behind every wait and every step(): each client tracks its pending assets,
-- tasks and sessions and refreshes them when due. Polls back off while nothing changes,
-- snap back when something does, start sooner right after a create, honour Retry-After,
-- and carry jitter so thousands of objects never poll in lockstep. Where the provider can
-- list by status, one list request per page refreshes every pending object of a kind at
-- once and only the objects that left the list are fetched one by one.
-- @module seedance.tracker
local core = require "seedance.core"

local M = {}
M.__index = M

-- errors that polling again cannot fix
local HARD = { not_found = true, auth = true, validation = true, quota = true }
-- list-based refresh pays off from this many pending objects of one kind
M.LIST_THRESHOLD = 3
M.PAGE_FANOUT = 8
-- a tracked object nobody waits for is let go after this long (reliability.md deadlines)
local MAX_AGE = { asset = 1800, session = 1800, task = 3600 }

--- The tracker of one client (the client makes it on first use).
function M.new(client)
  return setmetatable({ client = client, states = {}, pending = { asset = 0, task = 0, session = 0 },
                        rounds = {} }, M)
end

local function jitter(self, d)
  local j = self.client.poll.jitter
  return d * (1 - j + 2 * j * math.random())
end

-- listeners see (obj, err, ended): err when polling hit a hard error, ended when tracking stops
local function notify(st, err, ended)
  if st.listeners then
    for fn in pairs(st.listeners) do fn(st.obj, err, ended) end
  end
end

function M:_finish(st, err)
  if st.over then return end
  st.over = true
  self.states[st.obj] = nil
  self.pending[st.obj._kind] = self.pending[st.obj._kind] - 1
  local eng = self.client.engine
  if st.timer then eng:cancel_timer(st.timer) end
  if st.req then eng:cancel(st.req) end
  st.timer, st.req = nil, nil
  if err then st.obj._poll_error = err end
  notify(st, err, true)
end

-- After a refresh answer: notify on change, finish when terminal, else plan the next poll.
function M:_settle(st, changed)
  if changed then notify(st) end
  if st.over then return end
  if st.obj:_terminal() then return self:_finish(st) end
  local cfg = self:_cfg(st.obj._kind)
  if core.now() - st.since > cfg.max_age and (st.listeners == nil or next(st.listeners) == nil) then
    return self:_finish(st)
  end
  if changed then st.interval = cfg.first
  else st.interval = math.min(st.interval * cfg.factor, cfg.max) end
  local delay = st.interval
  -- a task reporting progress tells when it will finish: poll then, not a full interval later
  local p, now = st.obj.progress, core.now()
  if type(p) == "number" then
    if st.p_v and p > st.p_v and p < 100 then
      local eta = (100 - p) * (now - st.p_t) / (p - st.p_v)
      delay = math.max(math.min(st.interval, eta), 0.05)
    end
    if st.p_v ~= p then st.p_v, st.p_t = p, now end
  end
  return delay
end

function M._changed(_, st)
  local o = st.obj
  local changed = o.raw_status ~= st.last or o.progress ~= st.progress
  st.last, st.progress = o.raw_status, o.progress
  return changed
end

-- One object's own poll: GET it, then plan the next.
function M:_poll(st)
  st.timer = nil
  st.req = st.obj:_refresh_async(function(_, err)
    st.req = nil
    if st.over then return end
    if err then
      -- an answer of the wrong shape (code bad_answer) will not mend by asking again
      if HARD[err.kind] or err.code == "bad_answer" then return self:_finish(st, err) end
      local cfg = self:_cfg(st.obj._kind)
      st.interval = math.min(st.interval * cfg.factor, cfg.max)
      return self:_schedule(st, err.retry_after or st.interval)
    end
    local delay = self:_settle(st, self:_changed(st))
    if not st.over then self:_schedule(st, delay or st.interval) end
  end)
end

function M:_uses_list(kind)
  local d = self.client.dialect
  return d.list_pending and d.list_pending[kind] and self.pending[kind] >= M.LIST_THRESHOLD
end

function M:_schedule(st, delay)
  if st.over then return end
  local kind = st.obj._kind
  -- an object with neither a timer nor a request in flight is waiting for its kind's list round
  if self:_uses_list(kind) then return self:_round_due(kind, delay) end
  st.timer = self.client.engine:after(jitter(self, delay), function() self:_poll(st) end)
end

-- A list round for `kind` is due within `delay` (the earliest asked wins).
function M:_round_due(kind, delay)
  local r = self.rounds[kind]
  if not r then
    r = { interval = self.client.poll.list.interval }
    self.rounds[kind] = r
  end
  local due = core.now() + jitter(self, delay)
  if r.timer and r.due <= due then return end
  if r.timer then self.client.engine:cancel_timer(r.timer) end
  r.due = due
  r.timer = self.client.engine:after(due - core.now(), function()
    r.timer = nil
    self:_round(kind, r)
  end)
end

-- One list round: page through what is still pending at the provider; objects missing
-- from it changed, so fetch those one by one.
function M:_round(kind, r)
  if r.busy then return end
  local d, client = self.client.dialect, self.client
  local spec = d.list_pending[kind]
  local members = {}
  for obj, st in pairs(self.states) do
    if obj._kind == kind and not st.timer and not st.req then members[#members + 1] = st end
  end
  if #members == 0 then return end
  r.busy = true
  local still = {}
  local function done(err)
    r.busy = false
    if err then
      r.interval = math.min(r.interval * client.poll.factor, client.poll.list.max)
      return self:_round_due(kind, err.retry_after or r.interval)
    end
    local any = false
    for _, st in ipairs(members) do
      if not st.over then
        local fresh = still[st.obj.id]
        if fresh then
          st.obj:_apply(type(fresh) == "table" and fresh or { raw_status = fresh })
          local changed = self:_changed(st)
          any = any or changed
          self:_settle(st, changed)
        else
          any = true
          self:_poll(st)
        end
      end
    end
    if any then r.interval = client.poll.list.interval
    else r.interval = math.min(r.interval * client.poll.factor, client.poll.list.max) end
    if self.pending[kind] > 0 then self:_round_due(kind, r.interval) end
  end
  -- pages are fetched side by side (at most PAGE_FANOUT at a time, so ten thousand pending
  -- objects do not decode a hundred pages at once), as many as the pending count needs and
  -- more only if the last says so: a round costs about one round trip
  local size = (spec.args and spec.args.page_size) or 100
  local want = math.min(math.max(1, math.ceil(#members / size)), 50)
  local outstanding, failure, next_page = 0, nil, 1
  local page
  local function launch()
    while outstanding < M.PAGE_FANOUT and next_page <= want and not failure do
      page(next_page)
      next_page = next_page + 1
    end
    if outstanding == 0 then return done(failure) end
  end
  page = function(n)
    outstanding = outstanding + 1
    client:_op_async(d[spec.list](spec.args, n), function(body, err)
      outstanding = outstanding - 1
      if not body then
        failure = failure or err
      else
        local more, perr
        if spec.brief then
          -- ids and status words only: a round over ten thousand pending objects must not
          -- build ten thousand full records to throw away
          more, perr = client:_parse("brief", spec.brief, body, n, still)
        else
          local items
          items, more = client:_parse("list", d[spec.parse], body, n)
          if items then
            for _, f in ipairs(items) do still[f.id] = { raw_status = f.raw_status } end
          else
            perr, more = more, nil
          end
        end
        if perr then failure = failure or perr end
        if more and n == want and want < 50 then want = want + 1 end
      end
      return launch()
    end)
  end
  launch()
end

-- what every tracked object of a kind shares (one table per kind, not per object: ten
-- thousand pending objects must stay small)
function M:_cfg(kind)
  self.cfgs = self.cfgs or {}
  local c = self.cfgs[kind]
  if not c then
    local p = self.client.poll[kind]
    c = { first = p.interval, max = p.max, factor = self.client.poll.factor, max_age = MAX_AGE[kind] or 1800 }
    self.cfgs[kind] = c
  end
  return c
end

--- Track `obj` until it is terminal; `fresh` objects (just created) are checked sooner.
function M:add(obj, fresh)
  if self.states[obj] or obj:_terminal() then return self.states[obj] end
  local cfg = self:_cfg(obj._kind)
  if not fresh and obj._born and core.now() - obj._born < cfg.first then fresh = true end
  -- four fields for an asset: ten thousand pending must stay small
  local st = { obj = obj, interval = cfg.first, last = obj.raw_status, progress = obj.progress,
               since = core.now() }
  self.states[obj] = st
  self.pending[obj._kind] = self.pending[obj._kind] + 1
  self:_schedule(st, fresh and cfg.first / 2 or cfg.first)
  return st
end

--- Call fn(obj, err) on every change of `obj` and when its tracking ends; returns a handle.
function M:listen(obj, fn)
  local st = self.states[obj] or self:add(obj)
  if not st then return nil end
  st.listeners = st.listeners or {}
  st.listeners[fn] = true
  return fn
end

--- Drop a listener added with `listen`; tracking goes on for any others.
function M:unlisten(obj, fn)
  local st = self.states[obj]
  if st and st.listeners then st.listeners[fn] = nil end
end

--- Stop tracking `obj` (its in-flight refresh is cancelled).
function M:remove(obj)
  local st = self.states[obj]
  if st then
    st.listeners = nil
    self:_finish(st)
  end
end

--- Objects tracked now.
function M:count()
  return self.pending.asset + self.pending.task + self.pending.session
end

return M
