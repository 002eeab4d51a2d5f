-- Checks a seedance rock installed by `luarocks make --tree TREE`, using nothing but that tree:
--   eval "$(luarocks --lua-version 5.4 path --tree TREE)"; cd /tmp; lua5.4 rock_smoke.lua TREE
-- Run it from outside the checkout, so `./?.lua` cannot find the repo's lua/ instead.
-- It requires seedance from the tree, uploads to the embedded PiAPI emulator until the asset
-- is active, then runs the installed bin/ wrappers with LUA_PATH unset: LuaRocks' wrappers
-- must find the tree by themselves. Prints one line per check; exits 1 on the first failure.
local tree = assert(arg[1], "usage: rock_smoke.lua TREE")
local KEY = "rock-smoke-key"

local function fail(msg)
  io.stderr:write("rock smoke: FAILED: ", msg, "\n")
  os.exit(1)
end

-- raises, so the emulator below is stopped whatever fails
local function check(cond, msg)
  if not cond then error(msg, 0) end
  return cond
end

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function starts(s, prefix)
  return s ~= nil and s:sub(1, #prefix) == prefix
end

-- package.searchpath is 5.2+; the tree's Lua is whatever luarocks --lua-version picked
local function search(name, path)
  local file = name:gsub("%.", "/")
  for template in path:gmatch("[^;]+") do
    local candidate = template:gsub("%?", file)
    local f = io.open(candidate, "rb")
    if f then
      f:close()
      return candidate
    end
  end
end

-- 1. the modules come from the tree, not from a checkout
local loaded, seedance = pcall(require, "seedance")
if not loaded then fail(tostring(seedance)) end
local emulator = require "seedance.emulator"
for _, m in ipairs({ { "seedance", package.path }, { "seedance.core", package.cpath },
                     { "seedance.emucore", package.cpath } }) do
  local found = search(m[1], m[2])
  if not starts(found, tree) then fail(m[1] .. " comes from " .. tostring(found) .. ", not " .. tree) end
end
print("rock smoke: seedance, seedance.core and seedance.emucore load from " .. tree)

-- 2. the library: upload to the embedded emulator and wait until active
local emu = emulator.start({ provider = "piapi", processing = 0.2, api_key = KEY })
if not emu then fail("emulator.start failed") end
local client = seedance.new({ provider = "piapi", api_key = KEY, base_url = emu.url,
                              poll = { interval = 0.05, max = 0.1 } })
local lib_ok, lib_err = pcall(function()
  local asset, err = client:upload({ url = "https://cdn.example.com/rock-hero.png", name = "hero" })
  check(asset, "upload: " .. tostring(err))
  local waited, werr = asset:wait({ timeout = 10 })
  check(waited, "wait: " .. tostring(werr))
  check(asset.status == "active", "asset status " .. tostring(asset.status))
  print("rock smoke: library upload " .. asset.id .. " is " .. asset.status)
end)
client:close()
emu:stop()
if not lib_ok then fail(tostring(lib_err)) end

-- 3. the installed wrappers, with no LUA_PATH to lean on
local bin = tree .. "/bin/"
local scratch = os.tmpname()
local clean_env = "env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 -u LUA_INIT "

local function run(cmdline)
  local p = io.popen(cmdline .. " 2>" .. scratch .. ".err; echo \"rc=$?\"")
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return rc, out:gsub("rc=%d+%s*$", ""), read(scratch .. ".err") or ""
end

local log, pidfile = scratch .. ".emu", scratch .. ".pid"
os.execute(clean_env .. quote(bin .. "seedance-emulator") .. " --port 0 --processing 0.2 --api-key "
           .. KEY .. " >" .. log .. " 2>&1 & echo $! >" .. pidfile)
local pid = (read(pidfile) or ""):match("%d+")
local url
for _ = 1, 100 do
  url = (read(log) or ""):match("^(http://[^\n]+)\n")
  if url then break end
  os.execute("sleep 0.1")
end

local function stop_emulator()
  -- only the process started above, by its id; SIGINT is its clean stop
  if pid then os.execute("kill -INT " .. pid .. " 2>/dev/null") end
  for _, f in ipairs({ log, pidfile, scratch, scratch .. ".err" }) do os.remove(f) end
end

local function wrapped(name, cmdargs)
  local parts = { clean_env, "SEEDANCE_API_KEY=" .. KEY, "SEEDANCE_PROVIDER=piapi",
                  "SEEDANCE_BASE_URL=" .. quote(url), quote(bin .. name) }
  for _, a in ipairs(cmdargs) do parts[#parts + 1] = quote(a) end
  return run(table.concat(parts, " "))
end

local ok, why = pcall(function()
  check(url, "bin/seedance-emulator printed no URL: " .. tostring(read(log)))
  print("rock smoke: bin/seedance-emulator serves " .. url)
  local cjson = require "cjson"
  local rc, out, errs = wrapped("seedance", { "assets", "upload", "https://cdn.example.com/rock-cli.png",
                                              "--json" })
  check(rc == 0, "bin/seedance assets upload exited " .. tostring(rc) .. ": " .. errs)
  local id = check(cjson.decode(out).asset, "no asset in: " .. out).id
  rc, out, errs = wrapped("seedance", { "assets", "wait", id, "--json", "--poll", "0.1", "--timeout", "10" })
  check(rc == 0, "bin/seedance assets wait exited " .. tostring(rc) .. ": " .. errs)
  check(out:find('"active"', 1, true), "not active: " .. out)
  print("rock smoke: bin/seedance upload " .. id .. " is active")
end)
stop_emulator()
if not ok then fail(tostring(why)) end
print("rock smoke: ok")
