-- A worker process for spec/store_fleet_spec.lua: one client on a shared store (STORE)
-- against an emulator (URL). MODE "all": register the shared cast, generate shots 1..N
-- (keys "shot-<i>"), print "<key> <id> <resumed>" per shot. MODE "hang": claim the shot
-- "shot-1" for LEASE seconds, generate it, print its id, then hang as a worker killed mid-
-- poll would (the spec kills it with SIGKILL). MODE "cap": N tasks (keys "<WORKER>-<i>")
-- under max_in_flight = CAP, shared with the other workers, then a wait for all.
local seedance = require "seedance"
io.stdout:setvbuf("no")
local env = os.getenv
local c = seedance.new({ provider = "piapi", api_key = env("KEY"), base_url = env("URL"), store = env("STORE"),
                         retries = 0, poll = { interval = 0.05, max = 0.1 }, track = env("MODE") == "cap",
                         max_in_flight = tonumber(env("CAP") or "") })
if env("MODE") == "cap" then
  -- N tasks as fast as the shared cap lets them be created, then wait for all of them
  local tasks = {}
  for i = 1, tonumber(env("N")) do
    tasks[i] = assert(c:generate({ prompt = "capped " .. env("WORKER") .. " " .. i, key = env("WORKER") .. "-" .. i }))
    print(("%s-%d %s"):format(env("WORKER"), i, tasks[i].id))
  end
  assert(seedance.wait_all(tasks, { timeout = 60 }))
  os.exit(0)
end
if env("MODE") == "hang" then
  assert(c.journal:claim("shot:shot-1", tonumber(env("LEASE"))))
  local t = assert(c:generate({ prompt = "shot 1", key = "shot-1" }))
  print("shot-1 " .. t.id)
  while true do require("seedance.core").sleep(1) end
end
local hero = assert(c:upload({ url = "https://x/hero.png", name = "hero" }))
assert(hero:wait({ timeout = 10 }))
print("asset " .. hero.id)
for i = 1, tonumber(env("N")) do
  local t = assert(c:generate({ prompt = "{{hero}} shot " .. i, refs = { hero = hero }, key = "shot-" .. i }))
  print(("shot-%d %s %s"):format(i, t.id, tostring(t.resumed == true)))
end
c:close()
