-- OpenResty: examples/openresty run by a real nginx (Debian's nginx + libnginx-mod-http-lua)
-- against the emulator. /shot drives a whole generation through seedance's ngx driver
-- (cosockets, light threads); /ping on the same worker must be answered at once while the
-- shot waits, which a blocking libcurl call inside the worker would make impossible.
local helpers = require "helpers"
local exists, sh, capture, read = helpers.exists, helpers.sh, helpers.capture, helpers.read
local MODULES = "/usr/lib/nginx/modules/"

local has_socket, socket = pcall(require, "socket")
local missing = (not sh("command -v nginx >/dev/null 2>&1") and "nginx")
  or (not exists(MODULES .. "ngx_http_lua_module.so") and "libnginx-mod-http-lua")
  or (not sh("pkg-config --exists luajit") and "libluajit2-5.1-dev")
  or (not has_socket and "lua-socket")
if missing then
  describe("openresty", function()
    pending(missing .. " is not installed (scripts/deps.sh --all installs it)")
  end)
  return
end

local emulator = require "seedance.emulator"
local sample = require("seedance.emulator").SAMPLE_MP4
local json = require "cjson"

local function free_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

-- HTTP/1.0, so nginx answers without chunking and closes when done
local function send(port, path)
  local c = assert(socket.tcp())
  c:settimeout(60)
  assert(c:connect("127.0.0.1", port))
  assert(c:send("GET " .. path .. " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"))
  return c
end

local function answer(c)
  local data = c:receive("*a") or ""
  c:close()
  local body = data:match("\r\n\r\n(.*)$") or ""
  local ok, t = pcall(json.decode, body)
  return tonumber(data:match("^HTTP/1%.%d (%d+)")), ok and t or body
end

describe("openresty example (nginx cosockets)", function()
  local emu, dir, conf, port, started

  local function log_tail()
    return "\n--- nginx error.log ---\n" .. (read(dir .. "/error.log") or "(none)"):sub(-3000)
  end

  setup(function()
    -- nginx runs LuaJIT: the C core must be built for it
    local out = capture("make -s LUA=luajit all")
    assert(exists("build/luajit/seedance/core.so"), "make LUA=luajit all failed:\n" .. out)
    emu = assert(emulator.start({ provider = "piapi", processing = 0.5 }))
    emu:configure({ generation = 1.5 })
    dir = os.tmpname()
    os.remove(dir)
    assert(sh("mkdir -p '" .. dir .. "/out' && chmod 777 '" .. dir .. "/out'"))
    port = free_port()
    local text = assert(read("examples/openresty/nginx.conf"))
    local n
    text, n = text:gsub("listen 127%.0%.0%.1:8089;", "listen 127.0.0.1:" .. port .. ";")
    assert.equal(1, n)
    conf = dir .. "/nginx.conf"
    local f = assert(io.open(conf, "wb"))
    f:write(text)
    f:close()
    -- from the repository root: the example's Lua paths are relative to it
    local cmd = ("SEEDANCE_BASE_URL='%s' SEEDANCE_API_KEY=openresty-key SEEDANCE_PROVIDER=piapi "
      .. "SEEDANCE_OUT='%s/out' nginx -p '%s' -e '%s/error.log' -c '%s'"):format(emu.url, dir, dir, dir, conf)
    out = capture(cmd)
    started = true
    local up = false
    for _ = 1, 100 do
      local c = socket.tcp()
      c:settimeout(0.1)
      up = c:connect("127.0.0.1", port) ~= nil
      c:close()
      if up then break end
      socket.sleep(0.05)
    end
    assert(up, "nginx did not start: " .. out .. log_tail())
  end)

  teardown(function()
    if started then
      sh(("nginx -p '%s' -c '%s' -s stop >/dev/null 2>&1"):format(dir, conf))
      -- nginx removes its pid file on exit; a worker that will not go is killed
      for _ = 1, 50 do
        if not exists(dir .. "/nginx.pid") then break end
        socket.sleep(0.1)
      end
      local pid = read(dir .. "/nginx.pid")
      if pid and pid:match("^%d+") then sh("kill -9 " .. pid:match("^%d+") .. " 2>/dev/null") end
    end
    if emu then emu:stop() end
    if dir then sh("rm -rf '" .. dir .. "'") end
  end)

  it("answers /ping at once", function()
    local t = socket.gettime()
    local status, body = answer(send(port, "/ping"))
    assert.equal(200, status, log_tail())
    assert.is_true(body.ok)
    assert.is_true(socket.gettime() - t < 0.2)
  end)

  it("generates and downloads in /shot while /ping on the same worker stays quick", function()
    -- the download breaks once: the driver must resume it with a Range request
    emu:fault({ match = "GET /__emulator/media", truncate = 3000, count = 1 })
    local t0 = socket.gettime()
    local shot = send(port, "/shot")
    local pings, pid = {}, nil
    socket.sleep(0.3)
    for _ = 1, 5 do
      local t = socket.gettime()
      local status, body = answer(send(port, "/ping"))
      pings[#pings + 1] = socket.gettime() - t
      assert.equal(200, status, log_tail())
      pid = body.pid
      socket.sleep(0.15)
    end
    -- every ping came back while the shot was still waiting: nothing on its connection yet
    local readable = socket.select({ shot }, nil, 0)
    assert.equal(0, #readable, "the shot finished before the pings: nothing was shown")
    local status, res = answer(shot)
    local took = socket.gettime() - t0
    assert.equal(200, status, (type(res) == "table" and json.encode(res) or tostring(res)) .. log_tail())
    assert.is_true(res.ok)
    assert.equal("ngx", res.driver)
    assert.equal(pid, res.pid, "ping and shot were served by different workers")
    assert.is_true(took > 1.5, ("the shot took only %.2f s"):format(took))
    table.sort(pings)
    assert.is_true(pings[#pings] < 0.2, ("slowest /ping %.3f s during the shot"):format(pings[#pings]))
    assert.equal(#sample, res.bytes)
    assert.equal(sample, read(res.path))
    assert.is_nil(read(res.path .. ".part"))
    local st = emu:stats()
    assert.is_true((st.media_ranges or 0) >= 1, "the interrupted download was not resumed by range")
    assert.is_nil(st.media_credential_violations)
    assert.is_nil(read(dir .. "/error.log"):match("%[error%]"), log_tail())
  end)
end)
