--- Session: a real-person verification. The person opens `session.link`, passes the face
-- check, and the provider creates a real_human group; session:wait() returns it.
-- Fields: id, link, status (pending|succeeded|failed|expired), raw_status, group_id,
-- expires_at, raw.
-- @classmod seedance.Session
local object = require "seedance.model.object"
local errors = require "seedance.error"
local wait = require "seedance.runtime.wait"
local group = require "seedance.model.group"
local core = require "seedance.core"

local Session = object.class("session")
local M = { class = Session }

--- New session object owned by `client` from normalized fields.
-- @static
function M.new(client, fields, raw)
  return object.new("session", client, fields, raw)
end

local base_apply = Session._apply
function Session:_apply(fields, raw)
  base_apply(self, fields, raw)
  -- a result that names a group is a success whatever word came with it
  if self.group_id and self.status == "pending" then self.status = "succeeded" end
  if self.status == "pending" and self.expires_at and core.time() > self.expires_at then
    self.status = "expired"
  end
  return self
end

function Session:_refresh_op()
  local d = self._client.dialect
  return d.get_session(self.id, self), d.parse_session
end

function Session:_failure()
  local e = self.error or {}
  local kind = "asset_failed"
  return errors.new({ kind = kind, provider = self._client.provider, code = e.code or self.status,
    message = ("verification session %s %s: %s"):format(tostring(self.id), self.status,
      e.message or (self.status == "expired" and "the link expired before the check finished" or "no reason given")),
    object = self })
end

--- Wait until the person finished the check.
-- @tparam[opt] table opts {timeout=600, on_update=fn}
-- @return the new Group, or nil and a seedance.Error
function Session:wait(opts)
  local ok, err = wait.all({ self }, opts, "seedance: session:wait")
  if not ok then return nil, err end
  return group.new(self._client, { id = self.group_id, type = "real_human" }, nil)
end

return M
