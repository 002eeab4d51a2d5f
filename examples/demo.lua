-- `make demo`: the asset flow against the real service when SEEDANCE_API_KEY and
-- SEEDANCE_PROVIDER are set, otherwise against the embedded emulator (no credits spent).
package.path = "examples/?.lua;" .. package.path
local seedance = require "seedance"
local flow = require "assets"
local shots = require "multi_character"

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
if ok then
  ok, err = shots.run(client, cdn, os.getenv("SEEDANCE_DEMO_OUT") or "out")
end
client:close()
if emu then emu:stop() end
if not ok then
  io.stderr:write("demo failed: ", tostring(err), "\n")
  os.exit(1)
end
print("Demo finished.")
