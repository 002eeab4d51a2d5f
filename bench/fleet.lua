-- Fleet soak (issue 13): 4 worker processes (bench/fleet_worker.lua) run one workflow of
-- SHOTS shots against the emulator, sharing one store: SQLite, then Redis (restarted
-- mid-run). Every 0.5 to 1.5 s one worker is killed with SIGKILL at a random point and
-- started again. Prints shots, creates, duplicate tasks, lost shots and the time until
-- every shot was terminal. Run by `make soak`; SHOTS and KILLS from the environment.
package.path = "spec/support/?.lua;" .. package.path
local emulator = require "seedance.emulator"
local store = require "seedance.store"
local core = require "seedance.core"
local redis_server = require "redis_server"

local LUA = os.getenv("LUA") or "lua5.4"
local SHOTS = tonumber(os.getenv("SHOTS") or "100")
local WORKERS, LEASE = 4, 2
local KEY = "fleet-soak-key"
io.stdout:setvbuf("no")
math.randomseed(os.time())

local emu = assert(emulator.start({ provider = "piapi", processing = 0.1, api_key = KEY, latency = 0.01 }))

local function sh(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

local function spawn(spec, w, logdir)
  local p = io.popen(("(exec env KEY=%s URL=%s STORE='%s' WORKER=%d SHOTS=%d LEASE=%d %s bench/fleet_worker.lua"
    .. " >> %s/worker%d.log 2>&1) & echo $!"):format(KEY, emu.url, spec, w, SHOTS, LEASE, LUA, logdir, w))
  local pid = tonumber(p:read("*l"))
  p:close()
  return pid
end

local function alive(pid)
  return sh("kill -0 " .. pid .. " 2>/dev/null")
end

local function run(name, spec, on_half)
  emu:reset()
  emu:configure({ processing = 0.1, generation = 0.6 })
  local logdir = os.tmpname()
  os.remove(logdir)
  sh("mkdir -p " .. logdir)
  local watch = store.open(spec, { secret = KEY })
  local pids = {}
  local t0 = core.now()
  for w = 1, WORKERS do pids[w] = spawn(spec, w, logdir) end
  local kills, next_kill, halved = 0, core.now() + 1 + math.random() * 2, false
  local marks
  while true do
    marks = watch:list("shot", "piapi")
    local terminal = 0
    for _, m in ipairs(marks) do
      if m.entry.status then terminal = terminal + 1 end
    end
    if terminal >= SHOTS then break end
    if not halved and terminal >= SHOTS / 2 and on_half then
      halved = true
      on_half()
    end
    if core.now() >= next_kill then
      local w = math.random(WORKERS)
      if alive(pids[w]) then
        sh("kill -KILL " .. pids[w])
        kills = kills + 1
      end
      pids[w] = spawn(spec, w, logdir)
      next_kill = core.now() + 0.5 + math.random()
    end
    if core.now() - t0 > 300 then
      print(name .. ": gave up after 300 s")
      break
    end
    core.sleep(0.05)
  end
  local elapsed = core.now() - t0
  for w = 1, WORKERS do
    if alive(pids[w]) then sh("kill -KILL " .. pids[w]) end
  end
  local st = emu:stats()
  local creates = st.by_route["POST /api/v1/task"] or 0
  local done, unknown, resumed, ids = 0, 0, 0, {}
  for _, m in ipairs(marks) do
    if m.entry.status == "succeeded" then done = done + 1 end
    if m.entry.status == "unknown" then unknown = unknown + 1 end
    if m.entry.resumed then resumed = resumed + 1 end
    if m.entry.id then ids[m.entry.id] = true end
  end
  local distinct = 0
  for _ in pairs(ids) do distinct = distinct + 1 end
  print(("%-6s %d shots, %d workers, %d SIGKILLs%s: %d task creates, %d duplicate tasks, %d succeeded,"
    .. " %d resumed after a kill, %d unknown (killed between intent and id), %d lost; all terminal in %.1f s")
    :format(name, SHOTS, WORKERS, kills, on_half and ", redis restarted mid-run" or "", creates,
      creates - distinct - unknown, done, resumed, unknown, SHOTS - #marks, elapsed))
  watch:close()
  sh("rm -rf " .. logdir)
  return creates - distinct - unknown
end

local path = os.tmpname()
os.remove(path)
local dup = run("sqlite", path)
for _, s in ipairs({ "", "-wal", "-shm" }) do os.remove(path .. s) end
if redis_server.available() then
  local srv = assert(redis_server.start())
  dup = dup + run("redis", srv.url, function() srv:restart() end)
  srv:destroy()
else
  print("redis  skipped: redis-server is not installed (sh scripts/deps.sh --all)")
end
emu:stop()
os.exit(dup == 0 and 0 or 1)
