--- What Lua keeps of the C scheduler (seedance.core, sched.c): which object each poll key
-- stands for, and who listens. The scheduler decides when to look, sends the requests,
-- reads the answers and lets unchanged ones end in C; a change comes here as an event,
-- is parsed by the dialect and applied to the object, and the listeners hear of it.
-- Each kind's shape is data the dialect declares (`poll`, `list_pending`); a request the
-- scheduler cannot build itself (a signed plane) is built here when it is due.
-- @module seedance.watch
local http = require "seedance.http"
local json = require "seedance.json"
local object = require "seedance.object"
local url = require "seedance.url"

local M = {}
M.__index = M

-- errors that polling again cannot fix
local HARD = { not_found = true, auth = true, validation = true, quota = true }
-- a tracked object nobody waits for is let go after this long (reliability.md deadlines)
local MAX_AGE = { asset = 1800, session = 1800, task = 3600 }
-- a kind whose GETs differ in more than the id (signed) gets Lua-built requests instead
local MAX_TEMPLATES = 8
-- stands for the page number while a list request is turned into a template
local PAGE = "987654321"

--- The watcher of one client (the client makes it on first use).
function M.new(client)
  return setmetatable({ client = client, core = client.engine.core, states = {}, by_key = {},
                        classes = { asset = {}, task = {}, session = {} }, dynamic = {},
                        n = 0 }, M)
end

local function word(v)
  return type(v) == "string" and v or nil
end

local function num(v)
  return type(v) == "number" and v or nil
end

-- the parts of a GET that are the same for every object of a kind
local function template(req, id)
  if req.method ~= "GET" or req.body then return nil end
  local esc = url.escape(id)
  local a, b = req.url:find(esc, 1, true)
  if not a or req.url:find(esc, b + 1, true) then return nil end
  return req.url:sub(1, a - 1), req.url:sub(b + 1)
end

-- list rounds: one URL per status (pending first), the page number left as "{page}"
local function list_shape(self, kind, base)
  local d, client = self.client.dialect, self.client
  local spec = d.list_pending and d.list_pending[kind]
  if not (spec and spec.items and spec.statuses) then return nil end
  local urls, headers = {}, nil
  for i, st in ipairs(spec.statuses) do
    local args = {}
    for k, v in pairs(spec.args or {}) do args[k] = v end
    args.status = st
    local req = http.request(client, d[spec.list](args, PAGE))
    if req.method ~= "GET" or req.body then return nil end
    local at = req.url:find(PAGE, 1, true)
    if not at then return nil end
    urls[i] = req.url:sub(1, at - 1) .. "{page}" .. req.url:sub(at + #PAGE)
    headers = req.headers
  end
  base.list = { urls = urls, items = spec.items, id = spec.id, status = spec.status, total = spec.total,
                page_size = (spec.args and spec.args.page_size) or 100, first = client.poll.list.interval,
                max = client.poll.list.max }
  return headers
end

-- The scheduler's class for `obj`, and the signature that picked it.
function M:_class(obj)
  local kind, client = obj._kind, self.client
  local p = client.poll[kind]
  local base = { first = p.interval, max = p.max, factor = client.poll.factor, jitter = client.poll.jitter,
                 max_age = MAX_AGE[kind] or 1800, timeout = client.timeout }
  local shape = client.dialect.poll and client.dialect.poll[kind] or {}
  base.status, base.progress = shape.status, shape.progress
  local pre, post, req
  if not self.dynamic[kind] then
    req = http.request(client, (obj:_refresh_op()))
    pre, post = template(req, obj.id)
  end
  local sig = pre and (pre .. "\0" .. post .. "\0" .. table.concat(req.headers, "\n")) or "dynamic"
  local known = self.classes[kind]
  if known[sig] then return known[sig], sig end
  local n = 0
  for _ in pairs(known) do n = n + 1 end
  if pre and n >= MAX_TEMPLATES then
    self.dynamic[kind] = true
    return self:_class(obj)
  end
  if pre then
    base.url_pre, base.url_post, base.headers = pre, post, req.headers
    -- list rounds go with the class whose GETs the list stands in for
    if not known.listed then
      local lh = list_shape(self, kind, base)
      if lh and table.concat(lh, "\n") ~= table.concat(req.headers, "\n") then base.list = nil end
      known.listed = base.list ~= nil
    end
  end
  known[sig] = self.core:poll_class(base)
  return known[sig], sig
end

--- Poll `obj` until it is terminal; `fresh` objects (just created) are looked at sooner.
function M:add(obj, fresh)
  if self.states[obj] or obj:_terminal() then return self.states[obj] end
  local p = self.client.poll[obj._kind]
  local now = self.client.engine:now()
  if not fresh and obj._born and now - obj._born < p.interval then fresh = true end
  local cls, sig = self:_class(obj)
  local st = { obj = obj, sig = sig, last = obj.raw_status, progress = obj.progress, holds = 0 }
  st.key = self.core:poll_add(cls, obj.id, word(obj.raw_status), num(obj.progress), fresh)
  self.states[obj] = st
  self.by_key[st.key] = st
  self.n = self.n + 1
  return st
end

-- listeners see (obj, err, ended): err when polling hit a hard error, ended when it stops
local function notify(st, err, ended)
  if st.listeners then
    for fn in pairs(st.listeners) do fn(st.obj, err, ended) end
  end
end

function M:_finish(st, err)
  if st.over then return end
  st.over = true
  self.states[st.obj] = nil
  self.by_key[st.key] = nil
  self.n = self.n - 1
  self.core:poll_remove(st.key)
  if err then st.obj._poll_error = err end
  notify(st, err, true)
end

--- Call fn(obj, err, ended) on every change of `obj` and when its polling ends.
function M:listen(obj, fn)
  local st = self.states[obj] or self:add(obj)
  if not st then return nil end
  st.listeners = st.listeners or {}
  if not st.listeners[fn] then
    st.listeners[fn] = true
    self.core:poll_hold(st.key, 1)
  end
  return fn
end

--- Drop a listener added with `listen`; polling goes on for any others.
function M:unlisten(obj, fn)
  local st = self.states[obj]
  if st and st.listeners and st.listeners[fn] then
    st.listeners[fn] = nil
    self.core:poll_hold(st.key, -1)
  end
end

--- Stop polling `obj`.
function M:remove(obj)
  local st = self.states[obj]
  if st then
    st.listeners = nil
    self:_finish(st)
  end
end

-- After a change was applied: tell listeners, end when terminal, and move to another
-- class when the object's GET changed with its state (Sunra asks for the result once done).
function M:_changed(st)
  local o = st.obj
  local changed = o.raw_status ~= st.last or o.progress ~= st.progress
  st.last, st.progress = o.raw_status, o.progress
  if changed then notify(st) end
  if st.over then return end
  if o:_terminal() then return self:_finish(st) end
  local cls, sig = self:_class(o)
  if sig ~= st.sig then
    self.core:poll_remove(st.key)
    self.by_key[st.key] = nil
    st.sig, st.key = sig, self.core:poll_add(cls, o.id, word(o.raw_status), num(o.progress), true)
    self.by_key[st.key] = st
    if st.listeners and next(st.listeners) then
      for _ in pairs(st.listeners) do self.core:poll_hold(st.key, 1) end
    end
  end
end

-- One event from the scheduler (see sched.h).
function M:_event(ev)
  local st = self.by_key[ev.key]
  if not st or st.over then return end
  local obj, client = st.obj, self.client
  if ev.event == "ended" then return self:_finish(st) end
  if ev.event == "build" then
    local ok, req = pcall(http.request, client, (obj:_refresh_op()))
    if ok then ok, req = self.core:poll_submit(ev.key, req) end
    if not ok then
      return self:_finish(st, client:_error({ kind = "validation", message = tostring(req) }))
    end
    return
  end
  if ev.event == "item" then
    local spec = client.dialect.list_pending[obj._kind]
    local fields = { raw_status = ev.status }
    local raw = spec.item and ev.item and json.decode(ev.item)
    if type(raw) == "table" then
      local perr
      fields, perr = client:_parse("refresh", client.dialect[spec.item], raw)
      if not fields then return self:_finish(st, perr) end
    end
    obj:_apply(fields)
    return self:_changed(st)
  end
  local op, parse = obj:_refresh_op()
  local body, err = http.response(client, op, ev.result)
  local fields
  if body then
    fields, err = client:_parse(obj._kind == "task" and "task" or "refresh", parse, body, obj)
  end
  client._last_error = err
  -- an answer of the wrong shape (code bad_answer) will not mend by asking again
  if err and (HARD[err.kind] or err.code == "bad_answer") then return self:_finish(st, err) end
  if fields then obj:_apply(fields, object.raw(body, ev.result.body)) end
  if ev.settle then self.core:poll_seen(ev.key, word(obj.raw_status), num(obj.progress)) end
  if fields then return self:_changed(st) end
end

--- Objects polled now.
function M:count()
  return self.n
end

--- Hand a step's events to the watchers they belong to (engine.lua calls this).
function M:events(list)
  local failure
  for i = 1, #list do
    local ok, e = pcall(self._event, self, list[i])
    if not ok and failure == nil then failure = e end
  end
  if failure ~= nil then error(failure, 0) end
end

return M
