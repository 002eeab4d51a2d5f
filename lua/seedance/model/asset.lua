--- Asset: a registered reference (image, video or audio) in a provider's library.
-- Fields: id, status, raw_status, type, name, url, ref ("asset://<upstream id>"),
-- group_id, error, created_at, expires_at, raw.
-- @classmod seedance.Asset
local object = require "seedance.model.object"
local errors = require "seedance.error"
local wait = require "seedance.runtime.wait"

local Asset = object.class("asset")
local M = { class = Asset }

--- New asset object owned by `client` from normalized fields.
-- @static
function M.new(client, fields, raw)
  return object.new("asset", client, fields, raw)
end

--- Whether `v` is an Asset object.
-- @static
function M.is(v)
  return object.kind(v) == "asset"
end

function Asset:_refresh_op()
  local d = self._client.dialect
  return d.get_asset(self.id, self), d.parse_asset
end

--- The error an asset carries once it failed (kind "asset_failed", provider's code).
function Asset:_failure()
  local e = self.error or {}
  return errors.new({
    kind = "asset_failed", provider = self._client.provider, code = e.code,
    message = ("asset %s failed: %s"):format(tostring(self.id), e.message or e.code or "no reason given"),
    object = self,
  })
end

--- Wait until the asset is active.
-- @tparam[opt] table opts `timeout` seconds (default 600), `on_update` function(asset)
-- @return the asset, or nil and a seedance.Error (`asset_failed` when it failed, `timeout`)
function Asset:wait(opts)
  local ok, err = wait.all({ self }, opts, "seedance: asset:wait")
  if not ok then return nil, err end
  return self
end

--- Delete the asset at the provider (where the provider can).
-- @return true, or nil and a seedance.Error
function Asset:delete()
  local d = self._client.dialect
  self._client:_require("delete", "delete assets")
  local body, err = self._client:_call(d.delete_asset(self.id, self))
  if not body then return nil, err end
  self.deleted = true
  return true
end

return M
