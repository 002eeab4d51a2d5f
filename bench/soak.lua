-- make soak: 1,000 assets and 200 tasks through an emulator that fails 10 % of answers
-- with 5xx, 5 % with 429, resets 2 % of connections, answers 1 % too slowly and 1 % with
-- malformed JSON. Counts, at the server: faults injected, duplicate creates, duplicate
-- tasks, objects lost; at the client: retries, time until everything was terminal.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local core = require "seedance.core"

local N_ASSETS = tonumber(os.getenv("SOAK_ASSETS") or "1000")
local N_TASKS = tonumber(os.getenv("SOAK_TASKS") or "200")
local journal = os.tmpname()
os.remove(journal)

local emu = assert(emulator.start({ provider = "piapi", processing = 1, plan = "enterprise", quota = 100000,
                                    api_key = "soak-key", seed = tonumber(os.getenv("SOAK_SEED") or "7") }))
emu:configure({ processing_max = 3, generation = 2, faults = {
  server_error = 0.10, rate_limit = 0.05, reset = 0.02, slow = 0.01, slow_delay = 2, malformed = 0.01,
  retry_after = "0.2" } })

local c = seedance.new({ provider = "piapi", api_key = "soak-key", base_url = emu.url, journal = journal,
                         timeout = 1, retries = 6, backoff_base = 0.05, backoff_max = 0.5,
                         poll = { list = { interval = 0.25, max = 1 }, task = { interval = 0.5, max = 2 } } })
local t0 = core.now()

-- assets: batches in parallel workflows; whatever failed is asked for again, and the
-- journal plus a lookup by URL make sure "again" never means "twice"
local by_url, unknown_assets = {}, 0
local todo = {}
for i = 1, N_ASSETS do todo[i] = { url = ("https://cdn.example.com/soak/%04d.png"):format(i) } end
for round = 1, 20 do
  if #todo == 0 then break end
  local flows, again = {}, {}
  for first = 1, #todo, 50 do
    flows[#flows + 1] = function()
      local chunk = {}
      for i = first, math.min(first + 49, #todo) do chunk[#chunk + 1] = todo[i] end
      local out = c:upload_many(chunk)
      for j, a in ipairs(chunk) do
        local x = out and out[j]
        if x and not seedance.is_error(x) then by_url[a.url] = x else again[#again + 1] = a end
      end
    end
  end
  seedance.run(table.unpack(flows))
  todo = again
  if round == 20 then unknown_assets = #todo end
end
local assets = {}
for _, a in pairs(by_url) do assets[#assets + 1] = a end
local ok, err = seedance.wait_all(assets, { timeout = 300 })
if not ok then io.stderr:write("soak: assets: ", tostring(err), "\n") end

-- tasks: a definite failure is submitted again; an unknown outcome never is
local tasks, unknown_tasks = {}, 0
local flows = {}
for i = 1, N_TASKS do
  flows[#flows + 1] = function()
    for _ = 1, 20 do
      local t, terr = c:generate({ prompt = ("soak shot %03d"):format(i), key = "soak-" .. i })
      if t then
        tasks[#tasks + 1] = t
        return
      end
      if terr.maybe_submitted or terr.code == "maybe_submitted" then
        unknown_tasks = unknown_tasks + 1
        return
      end
    end
  end
end
seedance.run(table.unpack(flows))
local tok, terr2 = seedance.wait_all(tasks, { timeout = 300 })
if not tok then io.stderr:write("soak: tasks: ", tostring(terr2), "\n") end
local elapsed = core.now() - t0

-- what the server holds, against what the client knows
local stats = emu:stats()
emu:configure({ faults = {} })
local dump = emu:control({ op = "dump" }).piapi
local seen_urls, dup_assets, lost_assets = {}, 0, 0
for _, a in ipairs(dump.assets) do
  if seen_urls[a.url] then dup_assets = dup_assets + 1 end
  seen_urls[a.url] = true
  local mine = by_url[a.url]
  if not mine or mine.id ~= a.asset_id then lost_assets = lost_assets + 1 end
end
local known = {}
for _, t in ipairs(tasks) do known[t.id] = true end
local prompts, dup_tasks, lost_tasks = {}, 0, 0
for _, t in ipairs(dump.tasks) do
  local rec_prompt = t.prompt or t.task_id
  if prompts[rec_prompt] then dup_tasks = dup_tasks + 1 end
  prompts[rec_prompt] = true
  if not known[t.task_id] then lost_tasks = lost_tasks + 1 end
end
local terminal = 0
for _, a in ipairs(assets) do if a.status == "active" or a.status == "failed" then terminal = terminal + 1 end end
for _, t in ipairs(tasks) do if t:_terminal() then terminal = terminal + 1 end end
local est = c.engine.core:stats()

local lines = {}
local print = function(line) -- luacheck: ignore (shadows print to keep the lines for the README)
  io.write(line, "\n")
  lines[#lines + 1] = line
end
print(("soak: %d assets + %d tasks, seed %s"):format(N_ASSETS, N_TASKS, os.getenv("SOAK_SEED") or "7"))
print(("  requests %d, faults injected %d, engine retries %d"):format(stats.requests, stats.faults, est.retries))
print(("  terminal %d of %d, time to all-terminal %.1f s"):format(terminal, #assets + #tasks, elapsed))
print(("  outcome unknown (reported to the caller, never resubmitted): %d assets, %d tasks"):format(
  unknown_assets, unknown_tasks))
-- lost: an object the service holds that the client neither knows nor reported as unknown
local lost = lost_assets + math.max(0, lost_tasks - unknown_tasks)
print(("  objects lost: %d; of the %d unknown task creates, %d did reach the service (PiAPI has no"
       .. " task list to find them by)"):format(lost, unknown_tasks, math.min(lost_tasks, unknown_tasks)))
print(("  duplicate creates: %d"):format(dup_assets))
print(("  duplicate tasks: %d"):format(dup_tasks))
c:close()
emu:stop()
os.remove(journal)
local f = assert(io.open("bench/SOAK.md", "w"))
f:write("```\n", table.concat(lines, "\n"), "\n")
f:close()
