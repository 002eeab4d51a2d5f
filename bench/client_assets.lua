-- seedance's side of the peers run: register N references and wait for all of them.
local seedance = require "seedance"
local N = tonumber(os.getenv("BENCH_N") or "200")
local c = seedance.new({ provider = "piapi", api_key = "bench-key", base_url = assert(os.getenv("BENCH_URL")) })
local list = {}
for i = 1, N do list[i] = { url = ("https://cdn.example.com/s%d.png"):format(i) } end
local assets = assert(c:upload_many(list))
assert(seedance.wait_all(assets, { timeout = 120 }))
print(#assets)
