--- What assets, groups, tasks and sessions share. The objects are userdata made by the C
-- core (`seedance.core`, src/object.c): identity, normalized fields in a C struct, the raw
-- body kept as given (JSON text is decoded on first read), and a metatable per kind
-- (`seedance.Asset`, `seedance.Group`, `seedance.Session`, `seedance.Task`). The methods
-- are Lua: each kind's module fills the methods table the core looks in after the fields.
-- Waiting on one and on a thousand is the same code path (seedance.runtime.wait).
--
-- Fields: reading a field the object does not have gives nil. Assigning a field that is
-- not one of the objects' fields raises naming it, unless the name starts with "_"
-- (the library's own bookkeeping, kept with the object). A dialect's extra fields (Sunra's
-- `ark_asset_id`) come in through `_apply` and read back like the others.
-- @module seedance.model.object
local core = require "seedance.core"
local status = require "seedance.model.status"

local M = {}

--- The kind of `v` ("asset", "group", "session" or "task") when it is an object, else nil.
function M.kind(v)
  return core.object_kind(v)
end

--- What an object keeps as `raw` for an answer: its JSON text when there is one (smaller
-- than the decoded table; decoded again on first read of `obj.raw`), else `body` as given.
-- @param body the decoded answer
-- @param[opt] text the answer's bytes
function M.raw(body, text)
  if type(body) == "table" and type(text) == "string" and text ~= "" then return text end
  return body
end

-- the status a task or session has before its service names one
local FIRST = { task = "queued", session = "pending" }

--- A new object of `kind` owned by `client`; with `fields` (normalized, from a dialect)
-- it takes them and `raw`, the answer they came from, starting from the kind's first status.
function M.new(kind, client, fields, raw)
  local o = core.object_new(kind, client)
  if fields == nil then return o end
  o.status = FIRST[kind]
  return o:_apply(fields, raw)
end

--- The methods table of `kind`, with what groups have too: close() (also __close and
-- __gc: one idempotent cleanup that stops the client tracking the object and frees its
-- fields) and _assign(fields).
function M.methods(kind)
  local C = core.object_methods(kind)

  --- Stop the client refreshing the object (called by close() and __close, before the
  -- object's fields are freed).
  function C:_release()
    local c = self._client
    if c and c.untrack then c:untrack(self) end
  end
  return C
end

--- The methods table of `kind` with the methods assets, tasks and sessions share: fields
-- merged from the provider, terminal test, refresh (sync and async), close.
function M.class(kind)
  local C = M.methods(kind)

  --- Merge normalized fields from the provider into the object; `raw` is the answer (a
  -- decoded table, or its JSON text, decoded on first read of `obj.raw`).
  function C:_apply(fields, raw)
    self:_assign(fields)
    -- a queue position is only as current as the answer that gave it: one without it
    -- (the task left the queue, or the service never says) clears it
    if kind == "task" and fields.queue_position == nil and self.queue_position ~= nil then
      self.queue_position = nil
    end
    -- a dialect may give the normalized status itself where the provider's word alone
    -- does not tell (Sunra's queue says COMPLETED before its result says how it ended)
    if fields.raw_status ~= nil then
      self.status = fields.status or status.normalize(kind, fields.raw_status) or self.status or
        FIRST[kind] or "processing"
    end
    if raw ~= nil then self.raw = raw end
    return self
  end

  --- True once the object reached a state that ends a wait.
  function C:_terminal()
    return status.is_terminal(kind, self.status)
  end

  --- Fetch the current state from the provider (async): cb(self) or cb(nil, err).
  function C:_refresh_async(cb)
    local op, parse = self:_refresh_op()
    return self._client:_op_async(op, function(body, err, text)
      if not body then return cb(nil, err) end
      local fields, perr = self._client:_parse(kind == "task" and "task" or "refresh", parse, body, self)
      if not fields then return cb(nil, perr) end
      self:_apply(fields, M.raw(body, text))
      return cb(self)
    end)
  end

  --- Fetch the current state from the provider.
  -- @return the object, or nil and a seedance.Error
  function C:refresh()
    local op, parse = self:_refresh_op()
    local body, err, text = self._client:_call(op)
    if not body then return nil, err end
    local fields, perr = self._client:_parse(kind == "task" and "task" or "refresh", parse, body, self)
    if not fields then return nil, perr end
    return self:_apply(fields, M.raw(body, text))
  end

  return C
end

return M
