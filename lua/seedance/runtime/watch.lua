--- What Lua keeps of the C scheduler (seedance.core, sched.c): who listens. The scheduler
-- keeps the polled objects itself (anchored in C, each marked with its poll's key, so
-- nothing here grows with the number of objects polled); it decides when to look, sends the requests,
-- reads the answers and lets unchanged ones end in C; a change comes here as an event,
-- is parsed by the dialect and applied to the object, and the listeners hear of it.
-- Each kind's shape is data the dialect declares (`poll`, `list_pending`); a request the
-- scheduler cannot build itself (a signed plane) is built here when it is due.
-- @module seedance.runtime.watch
local debug_log = require "seedance.wire.debug"
local http = require "seedance.wire.http"
local json = require "seedance.wire.json"
local object = require "seedance.model.object"
local url = require "seedance.wire.url"

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
  local self = setmetatable({ client = client, core = client.engine.core, listeners = {},
                              classes = { asset = {}, task = {}, session = {} }, dynamic = {},
                              same = { asset = {}, task = {}, session = {} } }, M)
  -- SEEDANCE_DEBUG: the requests the scheduler sends itself are logged like the client's
  if client.debug then self.core:poll_trace(true) end
  return self
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

-- The endpoint of an op that names nothing but the object's id (nil for any other op): two
-- such ops of one endpoint differ only in the id, so they share a class.
local function id_only(op, id)
  if op.method ~= "GET" or op.body or op.query or op.headers or op.base or op.plane then return nil end
  local k = op.params and next(op.params)
  if k ~= "id" or op.params.id ~= id or next(op.params, k) ~= nil then return nil end
  return op.endpoint
end

-- The scheduler's class for `obj`: its GET as a template (url around the id, headers).
-- Once two objects' id-only GETs of one endpoint gave the same template (so the headers
-- do not change from request to request), later ones reuse it without building a request:
-- tracking 10,000 objects would otherwise build 10,000 requests only to throw them away.
function M:_class(obj)
  local kind, client = obj._kind, self.client
  local op, endpoint
  if not self.dynamic[kind] then
    op = obj:_refresh_op()
    endpoint = id_only(op, obj.id)
    if endpoint and self.same[kind][endpoint] then return self.same[kind][endpoint] end
  end
  local p = client.poll[kind]
  local base = { first = p.interval, max = p.max, factor = client.poll.factor, jitter = client.poll.jitter,
                 max_age = MAX_AGE[kind] or 1800, timeout = client.timeout }
  local shape = client.dialect.poll and client.dialect.poll[kind] or {}
  base.status, base.progress = shape.status, shape.progress
  local pre, post, req
  if op then
    req = http.request(client, op)
    pre, post = template(req, obj.id)
  end
  local sig = pre and (pre .. "\0" .. post .. "\0" .. table.concat(req.headers, "\n")) or "dynamic"
  local known = self.classes[kind]
  if known[sig] then
    if endpoint and pre then self.same[kind][endpoint] = known[sig] end
    return known[sig]
  end
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
  return known[sig]
end

--- Poll `obj` until it is terminal; `fresh` objects (just created) are looked at sooner.
-- Returns its poll's key (nil when it is terminal).
function M:add(obj, fresh)
  local key = self.core:poll_key(obj)
  if key or obj:_terminal() then return key end
  local p = self.client.poll[obj._kind]
  local now = self.client.engine:now()
  if not fresh and obj._born and now - obj._born < p.interval then fresh = true end
  key = self.core:poll_add(self:_class(obj), obj, fresh, self:_watched(obj))
  -- the shared in-flight count (client/tasks.lua) renews a task's slot while it is polled
  self.client:_polled(obj)
  return key
end

-- listeners see (obj, err, ended): err when polling hit a hard error, ended when it stops
function M:_notify(obj, err, ended)
  local ls = self.listeners[obj]
  if ls then
    for fn in pairs(ls) do fn(obj, err, ended) end
  end
end

-- `key`: the poll that ends (nil: one the scheduler ended itself, already gone)
function M:_finish(obj, key, err)
  if key and not self.core:poll_remove(key) then return end
  if err then obj._poll_error = err end
  self.client:_polled(obj, true)
  self:_notify(obj, err, true)
  self.listeners[obj] = nil
end

--- Call fn(obj, err, ended) on every change of `obj` and when its polling ends.
function M:listen(obj, fn)
  local key = self:add(obj)
  if not key then return nil end
  local ls = self.listeners[obj]
  if not ls then
    ls = {}
    self.listeners[obj] = ls
  end
  if not ls[fn] then
    ls[fn] = true
    self.core:poll_hold(key, 1)
  end
  return fn
end

--- Drop a listener added with `listen`; polling goes on for any others.
function M:unlisten(obj, fn)
  local key, ls = self.core:poll_key(obj), self.listeners[obj]
  if key and ls and ls[fn] then
    ls[fn] = nil
    self.core:poll_hold(key, -1)
    if next(ls) == nil then self.listeners[obj] = nil end
  end
end

--- Stop polling `obj`.
function M:remove(obj)
  local key = self.core:poll_key(obj)
  if key then
    self.listeners[obj] = nil
    self:_finish(obj, key)
  end
end

-- The number the scheduler watches beside the status word, as the object holds it: the
-- field the dialect's `poll[kind].field` names (Sunra: the queue position), else progress.
function M:_watched(obj)
  local shape = self.client.dialect.poll and self.client.dialect.poll[obj._kind] or {}
  return num(obj[shape.field or "progress"])
end

-- After a change was applied (the object said `status`, `progress` and the watched number
-- `seen` before it): tell the listeners, end when terminal, and move to another class when
-- the object's GET changed with its state (Sunra asks for the result once done).
function M:_changed(o, key, status, progress, seen)
  -- the shared in-flight count (client/tasks.lua) hears of every change, the end included
  self.client:_polled(o)
  if o.raw_status ~= status or o.progress ~= progress or self:_watched(o) ~= seen then self:_notify(o) end
  if self.core:poll_key(o) ~= key then return end
  if o:_terminal() then return self:_finish(o, key) end
  local cls = self:_class(o)
  if cls ~= self.core:poll_class_of(key) then
    local holds = 0
    for _ in pairs(self.listeners[o] or {}) do holds = holds + 1 end
    self.core:poll_remove(key)
    key = self.core:poll_add(cls, o, true, self:_watched(o))
    if holds > 0 then self.core:poll_hold(key, holds) end
  end
end

-- One event from the scheduler (see sched.h).
function M:_event(ev)
  if ev.event == "trace" then return debug_log.poll(self.client, ev) end
  local obj, client, key = ev.obj, self.client, ev.key
  if obj == nil then return end
  -- the scheduler let it go (max_age); unless it is polled again already, listeners hear
  if ev.event == "ended" then
    if not self.core:poll_key(obj) then self:_finish(obj) end
    return
  end
  -- an event of a poll that ended meanwhile (an earlier event of this step ended it)
  if self.core:poll_key(obj) ~= key then return end
  local status, progress, seen = obj.raw_status, obj.progress, self:_watched(obj)
  if ev.event == "build" then
    local ok, req = pcall(http.request, client, (obj:_refresh_op()))
    if ok then ok, req = self.core:poll_submit(ev.key, req) end
    if not ok then
      return self:_finish(obj, key, client:_error({ kind = "validation", message = tostring(req) }))
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
      if not fields then return self:_finish(obj, key, perr) end
    end
    obj:_apply(fields)
    return self:_changed(obj, key, status, progress, seen)
  end
  local op, parse = obj:_refresh_op()
  local body, err = http.response(client, op, ev.result)
  local fields
  if body then
    fields, err = client:_parse(obj._kind == "task" and "task" or "refresh", parse, body, obj)
  end
  client._last_error = err
  -- an answer of the wrong shape (code bad_answer) will not mend by asking again
  if err and (HARD[err.kind] or err.code == "bad_answer") then return self:_finish(obj, key, err) end
  if fields then obj:_apply(fields, object.raw(body, ev.result.body)) end
  if ev.settle then self.core:poll_seen(key, obj.raw_status ~= status, self:_watched(obj)) end
  if fields then return self:_changed(obj, key, status, progress, seen) end
end

--- Objects polled now.
function M:count()
  return self.core:poll_count()
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
