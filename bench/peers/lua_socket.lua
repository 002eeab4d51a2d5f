-- The same peer in plain Lua with LuaSocket and cjson: upload each reference, then poll
-- each one at a fixed interval until it is Active or Failed, one after another.
local http = require "socket.http"
local ltn12 = require "ltn12"
local socket = require "socket"
local cjson = require "cjson"

local BASE = assert(os.getenv("BENCH_URL"))
local N = tonumber(os.getenv("BENCH_N") or "200")
local INTERVAL = tonumber(os.getenv("BENCH_INTERVAL") or "2")

local function call(method, path, body)
  local out = {}
  local _, code = http.request({
    url = BASE .. path, method = method, sink = ltn12.sink.table(out),
    headers = { ["X-API-Key"] = "bench-key", ["Content-Type"] = body and "application/json" or nil,
                ["Content-Length"] = body and #body or nil },
    source = body and ltn12.source.string(body) or nil,
  })
  assert(code == 200, "HTTP " .. tostring(code))
  return cjson.decode(table.concat(out))
end

local ids = {}
for i = 1, N do
  ids[i] = call("POST", "/api/v1/asset/upload", cjson.encode({ url = ("https://cdn.example.com/l%d.png"):format(i) })).asset_id
end
local done = 0
for _, id in ipairs(ids) do
  while true do
    local a = call("GET", "/api/v1/asset/" .. id)
    if a.status == "Active" or a.status == "Failed" then
      done = done + 1
      break
    end
    socket.sleep(INTERVAL)
  end
end
print(done)
