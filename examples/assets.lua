-- The reference-asset flow on any provider: register a small cast, wait until every
-- member is usable, list the library, then clean up. Run through `make demo`, or:
--   SEEDANCE_PROVIDER=piapi SEEDANCE_API_KEY=... lua5.4 examples/assets.lua
local seedance = require "seedance"

local M = {}

local function say(fmt, ...) io.write(string.format(fmt, ...), "\n") io.flush() end

--- Runs the flow on `client`; `cdn` is where the reference images live.
function M.run(client, cdn)
  say("== seedance %s on %s", seedance._VERSION, tostring(client))

  local cast = {
    { url = cdn .. "/cast/hero.png", name = "hero" },
    { url = cdn .. "/cast/friend.jpg", name = "friend" },
    { url = cdn .. "/cast/rooftop.webp", name = "rooftop" },
    { url = cdn .. "/cast/crowd-multi-face.png", name = "crowd" }, -- several faces: rejected
  }
  say("-> registering %d references", #cast)
  local assets, err = client:upload_many(cast)
  if not assets then return nil, err end
  for i, a in ipairs(assets) do
    if seedance.is_error(a) then say("   %-8s refused: %s", cast[i].name, tostring(a))
    else say("   %-8s %s  %s", a.name, a.id, a.status) end
  end

  say("-> waiting until they are active")
  local t0 = os.time()
  local ok, werr = seedance.wait_all(assets, {
    timeout = 120,
    on_update = function(a) say("   %-8s %s", a.name, a.status) end,
  })
  if ok then
    say("   all active after ~%ds", os.time() - t0)
  else
    say("   %s", tostring(werr))
    for _, a in ipairs(werr.failed or {}) do
      say("   %-8s failed: %s %s", a.name, a.error and a.error.code or "?", a.error and a.error.message or "")
    end
  end

  say("-> the library now")
  local n = 0
  for a in client:assets() do
    n = n + 1
    say("   %-28s %-8s %-10s %s", a.id, a.type or "?", a.status, a.ref)
  end
  if client:last_error() then say("   listing stopped: %s", tostring(client:last_error())) end
  local q = client:quota()
  if q then say("   %d assets, quota %d/%d, idle TTL %d days", n, q.used, q.limit, q.ttl_days) end

  say("-> cleaning up")
  local mine = {}
  for _, a in ipairs(assets) do
    if not seedance.is_error(a) then mine[#mine + 1] = a end
  end
  local done, derr = client:delete_many(mine)
  if done then say("   deleted %d assets", #mine) else say("   %s", tostring(derr)) end
  return true
end

return M
