--- What assets, tasks and sessions share: identity, normalized fields, the raw body, and
-- refresh/wait handed to the client's engine. Waiting on one and on a thousand is the
-- same code path (seedance.wait).
-- @module seedance.object
local status = require "seedance.status"

local M = {}

--- Install the shared methods into class table `C` for object kind `kind`.
function M.class(C, kind)
  C.__index = C
  C._kind = kind

  --- Merge normalized fields from the provider into the object.
  function C:_apply(fields, raw)
    for k, v in pairs(fields) do
      if v ~= nil then self[k] = v end
    end
    -- a dialect may give the normalized status itself where the provider's word alone
    -- does not tell (Sunra's queue says COMPLETED before its result says how it ended)
    if fields.raw_status ~= nil then
      self.status = fields.status or status.normalize(kind, fields.raw_status) or self.status or
        (kind == "task" and "queued" or kind == "session" and "pending" or "processing")
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
    return self._client:_op_async(op, function(body, err)
      if not body then return cb(nil, err) end
      self:_apply(parse(body, self), body)
      return cb(self)
    end)
  end

  --- Fetch the current state from the provider.
  -- @return the object, or nil and a seedance.Error
  function C:refresh()
    local op, parse = self:_refresh_op()
    local body, err = self._client:_call(op)
    if not body then return nil, err end
    return self:_apply(parse(body, self), body)
  end

  function C:__tostring()
    return ("seedance.%s(%s %s %s)"):format(kind, self._client.provider, tostring(self.id),
                                            tostring(self.status))
  end
  return C
end

return M
