-- `make demo`: the asset flow, the multi-character shots and the film production against
-- the real service when SEEDANCE_API_KEY and SEEDANCE_PROVIDER are set, otherwise against
-- the embedded emulator (no credits spent; the film on the Ark twin, which returns last
-- frames for continuity).
package.path = "examples/?.lua;" .. package.path
local seedance = require "seedance"
local flow = require "assets"
local shots = require "multi_character"
local film = require "film"

local key, provider = os.getenv("SEEDANCE_API_KEY"), os.getenv("SEEDANCE_PROVIDER")
local client, emu
if key and key ~= "" and provider and provider ~= "" then
  print("Using the real " .. provider .. " service (SEEDANCE_API_KEY is set).")
  client = seedance.new({ provider = provider, api_key = key })
else
  local emulator = require "seedance.emulator"
  emu = emulator.start({ provider = "piapi", processing = 1.5 })
  emu:configure({ generation = 4 })
  print("No SEEDANCE_API_KEY: using the embedded piapi emulator at " .. emu.url)
  client = seedance.new({ provider = "piapi", api_key = "demo-key", base_url = emu.url,
                          poll = { interval = 0.25, max = 1 } })
end

local cdn = os.getenv("SEEDANCE_DEMO_CDN") or "https://cdn.example.com"
local ok, err = flow.run(client, cdn)
local outdir = os.getenv("SEEDANCE_DEMO_OUT") or "out"
if ok then
  ok, err = shots.run(client, cdn, outdir)
end
if ok then
  if emu then
    local emulator = require "seedance.emulator"
    local ark = assert(emulator.start({ provider = "ark", processing = 1 }))
    ark:configure({ generation = 3 })
    print("The film on the embedded Ark emulator at " .. ark.url)
    local fc = seedance.new({ provider = "ark", api_key = "demo-key", base_url = ark.url,
                              control_url = ark.control_url, access_key = "AKLTdemo",
                              secret_key = "ZGVtby1zZWNyZXQ", poll = { interval = 0.25, max = 1 } })
    ok, err = film.run(fc, cdn, outdir, { emulated = true })
    fc:close()
    ark:stop()
  else
    ok, err = film.run(client, cdn, outdir)
  end
end
client:close()
if emu then emu:stop() end
if not ok then
  io.stderr:write("demo failed: ", tostring(err), "\n")
  os.exit(1)
end
print("Demo finished.")
