-- make bench: seedance against its peers and its own floors, side by side in one run, on
-- the emulator (in this process, on its own threads); every client runs as a child
-- process measured by bench/measure.py. Prints one table and writes bench/RESULTS.md.
local emulator = require "seedance.emulator"
local cjson = require "cjson"

local LAT = 0.08
local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  return out
end

local function measure(env, cmd)
  local parts = {}
  for k, v in pairs(env) do parts[#parts + 1] = k .. "=" .. string.format("%q", tostring(v)) end
  local out = sh("env " .. table.concat(parts, " ") .. " /usr/bin/python3 bench/measure.py " .. cmd)
  local m = cjson.decode(out)
  if m.rc ~= 0 then error(cmd .. " failed: " .. m.err .. m.out) end
  return m
end

local function pct(list, p)
  table.sort(list)
  if #list == 0 then return 0 end
  return list[math.max(1, math.ceil(#list * p))]
end

local lua = os.getenv("LUA") or "lua5.4"
local emu = assert(emulator.start({ provider = "piapi", latency = LAT, processing = 2, plan = "enterprise",
                                    quota = 1000000, api_key = "bench-key" }))
emu:configure({ processing_max = 6, generation = 5 })
local url = emu.url
io.stderr:write("bench: emulator at ", url, " (", LAT * 1000, " ms per answer)\n")

-- BENCH_ONLY=peers,fleet,raw,memory runs a subset (the table then has only those rows)
local only = os.getenv("BENCH_ONLY")
local function want(name) return not only or only:find(name, 1, true) ~= nil end

local rows = {}
local function row(...) rows[#rows + 1] = { ... } end

-- peers: 200 assets, processing spread over 2-6 s
local N = 200
local peers = not want("peers") and {} or {
  { "seedance", lua .. " bench/client_assets.lua" },
  { "python requests (peer)", "/usr/bin/python3 bench/peers/python_requests.py" },
  { "lua + luasocket (peer)", lua .. " bench/peers/lua_socket.lua" },
}
local peer = {}
for _, p in ipairs(peers) do
  emu:reset()
  io.stderr:write("bench: peers run, ", p[1], "\n")
  local m = measure({ BENCH_URL = url, BENCH_N = N }, p[2])
  m.requests = emu:stats().requests
  peer[p[1]] = m
end
local s = peer.seedance
if s then
for _, p in ipairs(peers) do
  local m = peer[p[1]]
  row("peers " .. N .. " assets", p[1], ("%.1f s"):format(m.wall), ("%d"):format(m.requests),
      ("%.2f s"):format(m.cpu), ("%.0f MiB"):format(m.rss_kb / 1024),
      -- CPU for the whole job, not per request: seedance does the job in far fewer requests
      p[1] == "seedance" and "" or ("seedance %.1fx faster, %.1fx less CPU for the job"):format(
        m.wall / s.wall, m.cpu / s.cpu))
end
local creates = 4 -- 200 assets in batches of 50
row("", "requests per asset beyond its create", ("%.2f"):format((s.requests - creates) / N), "", "", "", "target <= 1.5")
end

-- fleet: 1000 assets + 100 tasks, against the floor (when the last of them was ready), once
-- with processing spread over 2-6 s and once with every asset ready after 1 s (a batch
-- finishing together leaves the pending list at once: the list round must find it elsewhere)
local function fleet_run(label, processing, processing_max)
  emu:configure({ processing = processing, processing_max = processing_max })
  emu:reset()
  io.stderr:write("bench: fleet run, ", label, "\n")
  local out = os.tmpname()
  local fm = measure({ BENCH_URL = url, BENCH_N = 1000, BENCH_TASKS = 100, BENCH_OUT = out }, lua .. " bench/client_fleet.lua")
  local ff = assert(io.open(out))
  local fleet = cjson.decode(ff:read("*a"))
  ff:close()
  os.remove(out)
  local dump = emu:control({ op = "dump" }).piapi
  local last, lat, lat_a, lat_t = 0, {}, {}, {}
  for _, a in ipairs(dump.assets) do
    last = math.max(last, a.ready_at)
    if fleet.seen[a.asset_id] then
      lat[#lat + 1] = fleet.seen[a.asset_id] - a.ready_at
      lat_a[#lat_a + 1] = lat[#lat]
    end
  end
  for _, t in ipairs(dump.tasks) do
    last = math.max(last, t.changed_at)
    if fleet.seen[t.task_id] then
      lat[#lat + 1] = fleet.seen[t.task_id] - t.changed_at
      lat_t[#lat_t + 1] = lat[#lat]
    end
  end
  local fwall, ffloor = fleet.finish - fleet.start, last - fleet.start
  local fstats = emu:stats()
  row("fleet 1000 assets + 100 tasks, " .. label, "seedance", ("%.2f s"):format(fwall), ("%d"):format(fstats.requests),
      ("%.2f s"):format(fm.cpu), ("%.0f MiB"):format(fm.rss_kb / 1024),
      ("floor %.2f s: %.3fx (target <= 1.05)"):format(ffloor, fwall / ffloor))
  row("latency, " .. label, "change seen after", ("p50 %.0f ms"):format(pct(lat, 0.5) * 1000),
      ("p95 %.0f ms"):format(pct(lat, 0.95) * 1000), "", "",
      ("%d changes (target p95 <= 1 s); assets p95 %.0f ms, tasks p95 %.0f ms"):format(#lat,
        pct(lat_a, 0.95) * 1000, pct(lat_t, 0.95) * 1000))
end
if want("fleet") then
  fleet_run("processing 2-6 s", 2, 6)
  fleet_run("all ready after 1 s", 1, 0)
  emu:configure({ processing = 2, processing_max = 6 })
end

-- raw: small keep-alive GETs, seedance's engine vs wrk, same server, no latency
if want("raw") then
emu:configure({ latency = 0 })
emu:reset()
io.stderr:write("bench: raw run\n")
local raw = measure({ BENCH_URL = url, BENCH_CONC = 32, BENCH_SECS = 5 }, lua .. " bench/client_raw.lua")
local seed_rps, raw_us = raw.out:match("(%d+) ([%d%.]+)")
seed_rps, raw_us = tonumber(seed_rps), tonumber(raw_us)
local wrk_out = sh("wrk -t1 -c32 -d5s -H 'X-API-Key: bench-key' " .. url .. "/api/v1/asset/asset-none 2>&1")
local wrk_rps = tonumber(wrk_out:match("Requests/sec:%s+([%d%.]+)")) or 0
row("raw GETs/s (32 conns)", "seedance engine", ("%.0f/s"):format(seed_rps), "", ("%.2f s"):format(raw.cpu), "",
    ("wrk %.0f/s: %.0f%% of wrk (target >= 70%%); %.1f us of client CPU per GET"):format(wrk_rps,
      100 * seed_rps / math.max(wrk_rps, 1), raw_us))
-- status checks: the whole client (scheduler, answers read in C) against the raw engine
emu:configure({ generation = 100000 })
emu:reset()
io.stderr:write("bench: status checks run\n")
local chk = measure({ BENCH_URL = url, BENCH_TASKS = 200, BENCH_SECS = 5 }, lua .. " bench/client_checks.lua")
local ccpu, cn = chk.out:match("([%d%.]+) (%d+)")
local check_us = tonumber(ccpu) / tonumber(cn) * 1e6
row("status checks (200 tasks, 20 ms)", "seedance client", ("%d checks"):format(tonumber(cn)), "",
    ("%.2f s"):format(tonumber(ccpu)), "",
    ("%.1f us of client CPU per check: %.2fx the raw engine's per GET (target <= 1.5)"):format(check_us,
      check_us / raw_us))
emu:configure({ generation = 5 })
end

-- memory: 10,000 pending objects
if want("memory") then
emu:configure({ processing = 100000, processing_max = 0 })
emu:reset()
io.stderr:write("bench: memory run\n")
local mem = measure({ BENCH_URL = url, BENCH_N = 10000, BENCH_SECS = 10 }, lua .. " bench/client_memory.lua")
local tracked, grew, pending = mem.out:match("(%-?%d+) (%-?%d+) (%d+)")
row("memory", "10,000 pending objects", ("%.1f MiB"):format(tonumber(tracked) / 1024), pending .. " pending", "", "",
    ("RSS growth once created and tracked (target <= 3 MiB); %.1f MiB after 10 s of list polling (target <= 6 MiB)"):format(
      tonumber(grew) / 1024))
end
emu:stop()

-- the table
local cpu = sh("grep -m1 'model name' /proc/cpuinfo"):gsub("^.-:%s*", ""):gsub("%s+$", "")
local header = { "run", "client", "wall", "requests", "CPU", "peak RSS", "notes" }
local lines = { "| " .. table.concat(header, " | ") .. " |", "|" .. ("---|"):rep(#header) }
for _, r in ipairs(rows) do
  local cells = {}
  for i = 1, #header do cells[i] = r[i] or "" end
  lines[#lines + 1] = "| " .. table.concat(cells, " | ") .. " |"
end
local machine = ("%s, %s cores, %s, %s"):format(cpu, sh("nproc"):gsub("%s+$", ""), _VERSION, os.date("!%Y-%m-%d"))
local text = table.concat(lines, "\n") .. "\n\nMachine: " .. machine ..
  "\nEmulator latency " .. (LAT * 1000) .. " ms per answer; peers poll every 2 s, one asset after another.\n"
io.write(text)
if not only then
  local f = io.open("bench/RESULTS.md", "w")
  f:write("# make bench, latest run\n\n", text)
  f:close()
  package.path = "bench/?.lua;" .. package.path
  require("readme").update("bench", text)
end
