-- One worker of the fleet soak (bench/fleet.lua): shots 1..SHOTS of one workflow, shared
-- with the other workers through the store (STORE). A shot is claimed for LEASE seconds
-- (renewed while its task runs), generated with its key, waited for, and marked done in
-- the store; a shot another live worker holds is left to it; a worker killed mid-shot
-- leaves a lease that runs out, and whoever claims the shot next resumes its task (the
-- store has the id) instead of creating it again. Exits when every shot is marked.
local seedance = require "seedance"
local core = require "seedance.core"
io.stdout:setvbuf("no")
local env = os.getenv
local me, n, lease = tonumber(env("WORKER")), tonumber(env("SHOTS")), tonumber(env("LEASE"))
local c = seedance.new({ provider = "piapi", api_key = env("KEY"), base_url = env("URL"), store = env("STORE"),
                         retries = 2, poll = { interval = 0.1, max = 0.3 } })
local s = c.journal

local function shot(i)
  local k = "shot-" .. i
  local mark = "fleet:" .. k
  local got = s:claim(mark, lease)
  if not got then return end
  local t, err = c:generate({ prompt = "fleet shot " .. i, key = k })
  if t then
    -- the lease is renewed every time the task is polled
    t:wait({ timeout = 120, on_update = function() s:claim(mark, lease) end })
    s:put(mark, { kind = "shot", provider = "piapi", status = t.status, id = t.id, worker = me,
                  resumed = t.resumed == true })
    print(("worker %d: %s %s %s%s"):format(me, k, t.id, t.status, t.resumed and " (resumed)" or ""))
  elseif err.code == "maybe_submitted" then
    -- killed between the intent and the id: the outcome is unknown and seedance will not pay
    -- twice; the soak reports these as shots needing a look
    s:put(mark, { kind = "shot", provider = "piapi", status = "unknown", worker = me })
    print(("worker %d: %s unknown (%s)"):format(me, k, tostring(err)))
  else
    print(("worker %d: %s later (%s)"):format(me, k, tostring(err)))
  end
  s:release(mark)
end

while true do
  local left = 0
  for j = 0, n - 1 do
    local i = (j + me * 11) % n + 1
    local done = s:get("fleet:shot-" .. i)
    if done == nil or (done and done.status == nil) then left = left + 1 end
    if done == false then
      left = left + 1
      shot(i)
    end
  end
  if left == 0 then break end
  core.sleep(0.1)
end
c:close()
