-- The crash-resume test: the demo workflow (a cast, four shots, downloads) is killed with
-- SIGKILL at 20 random moments and rerun each time with the same journal; at the end the
-- emulator counts how many tasks and assets were created more than once.
local emulator = require "seedance.emulator"
local core = require "seedance.core"

local KILLS = tonumber(os.getenv("CRASH_KILLS") or "20")
local lua = os.getenv("LUA") or "lua5.4"
local journal, out = os.tmpname(), os.tmpname()
os.remove(journal)
os.remove(out)
local emu = assert(emulator.start({ provider = "piapi", processing = 0.4, api_key = "crash-key" }))
emu:configure({ generation = 3 })
math.randomseed(tonumber(os.getenv("CRASH_SEED") or "5"))

local cmd = ("BENCH_URL=%s BENCH_JOURNAL=%s BENCH_OUT=%s %s bench/crash_workflow.lua >/dev/null 2>&1")
  :format(emu.url, journal, out, lua)
local function spawn()
  local p = io.popen("(" .. cmd .. " & echo $!; wait $!; echo exit $?) 2>/dev/null")
  return p, tonumber(p:read("*l"))
end

-- five workflows from scratch, each killed four times at random moments then run to the end
local CYCLES = 5
local per = math.ceil(KILLS / CYCLES)
local kills, finished_early, completed = 0, 0, 0
local dup_tasks, dup_assets, n_tasks, n_assets = 0, 0, 0, 0
for _ = 1, CYCLES do
  emu:reset()
  os.remove(journal)
  for _ = 1, per do
    local p, pid = spawn()
    core.sleep(0.05 + math.random() * 1.15)
    os.execute("kill -9 " .. pid .. " 2>/dev/null")
    local rest = p:read("*a")
    p:close()
    if rest:match("exit 0") then finished_early = finished_early + 1 else kills = kills + 1 end
  end
  local p = io.popen(cmd .. "; echo exit $?")
  if p:read("*a"):match("exit 0") then completed = completed + 1 end
  p:close()
  local dump = emu:control({ op = "dump" }).piapi
  local prompts, urls = {}, {}
  for _, t in ipairs(dump.tasks) do
    if prompts[t.prompt] then dup_tasks = dup_tasks + 1 end
    prompts[t.prompt] = true
  end
  for _, a in ipairs(dump.assets) do
    if urls[a.url] then dup_assets = dup_assets + 1 end
    urls[a.url] = true
  end
  n_tasks, n_assets = n_tasks + #dump.tasks, n_assets + #dump.assets
end
local lines = {}
local function say(line)
  io.write(line, "\n")
  lines[#lines + 1] = line
end
say(("crash-resume: %d runs killed with SIGKILL mid-work (%d more finished before their kill), "
       .. "%d of %d workflows then completed"):format(kills, finished_early, completed, CYCLES))
say(("  tasks on the emulator %d for %d shots: duplicate tasks %d; assets %d for %d: duplicate creates %d"):format(
  n_tasks, 4 * CYCLES, dup_tasks, n_assets, 4 * CYCLES, dup_assets))
emu:stop()
os.remove(journal)
-- the soak wrote its half of the block; this closes it and puts both in the README
local f = io.open("bench/SOAK.md", "a")
if f then
  f:write(table.concat(lines, "\n"), "\n```\n")
  f:close()
  f = io.open("bench/SOAK.md")
  local text = f:read("*a")
  f:close()
  local machine = io.popen("grep -m1 'model name' /proc/cpuinfo"):read("*l"):gsub("^.-:%s*", "")
  package.path = "bench/?.lua;" .. package.path
  require("readme").update("soak", text .. "\nMachine: " .. machine .. ", " .. os.date("!%Y-%m-%d") .. "\n")
end
os.execute("rm -rf " .. out)
