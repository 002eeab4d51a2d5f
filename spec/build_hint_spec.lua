-- Without the C core built for the Lua that runs them, bin/seedance and the LÖVE example say
-- how to build it: bin/seedance names the make for its own Lua (`make`, `make LUA=lua5.1`,
-- `make LUA=luajit`), LÖVE (which embeds LuaJIT) names `make LUA=luajit` and the LuaJIT
-- headers. Each runs from a scratch checkout that has lua/ but no build/, with the default
-- search paths pointed away, so no installed seedance can stand in.
local helpers = require "helpers"
local sh, capture, read, quote = helpers.sh, helpers.capture, helpers.read, helpers.quote

local NOWHERE = "LUA_PATH='/nonexistent/?.lua' LUA_CPATH='/nonexistent/?.so' "
  .. "LUA_PATH_5_4='/nonexistent/?.lua' LUA_CPATH_5_4='/nonexistent/?.so' "

describe("how to build, said by what cannot load the C core", function()
  local root

  setup(function()
    root = os.tmpname()
    os.remove(root)
    assert(sh(("mkdir -p %s/bin && ln -s %s/lua %s/lua && cp %s/bin/seedance %s/bin/seedance")
      :format(quote(root), quote(helpers.ROOT), quote(root), quote(helpers.ROOT), quote(root))))
  end)
  teardown(function()
    if root then sh("rm -rf " .. quote(root)) end
  end)

  -- the Lua interpreters to try, with the make each one needs
  local LUAS = {
    { "lua5.4", "Lua 5.4: make (" },
    { "lua5.3", "Lua 5.3: make LUA=lua5.3" },
    { "lua5.1", "Lua 5.1: make LUA=lua5.1" },
    { "luajit", "LuaJIT: make LUA=luajit" },
  }
  for _, l in ipairs(LUAS) do
    local lua, want = l[1], l[2]
    local name = "bin/seedance under " .. lua .. " names " .. want:match("make[^(]*")
    local test = sh("command -v " .. lua .. " >/dev/null 2>&1") and it or pending
    test(name, function()
      local out = capture(("cd %s && env %s %s bin/seedance --help 2>&1; echo \"exit=$?\"")
        :format(quote(root), NOWHERE, lua))
      assert.equal("exit=1", out:match("exit=%d+"), out)
      assert.truthy(out:find("seedance: cannot load the modules: build them for this " .. want, 1, true), out)
      assert.truthy(out:find("sh scripts/deps.sh", 1, true), out)
      -- the reason comes too: the module that was not found
      assert.truthy(out:find("seedance.core", 1, true), out)
    end)
  end

  local missing = (not sh("command -v love >/dev/null 2>&1") and "love")
    or (not sh("command -v xvfb-run >/dev/null 2>&1") and "xvfb")
    or (not sh("command -v xauth >/dev/null 2>&1") and "xauth")
  local love_test = missing and pending or it
  love_test("the LÖVE example names make LUA=luajit and the LuaJIT headers"
            .. (missing and (" (" .. missing .. " is not installed)") or ""), function()
    local report = root .. "/report.txt"
    -- unattended (a report file), the program writes the message there and quits
    local out = capture(("env %s SEEDANCE_ROOT=%s SEEDANCE_LOVE_REPORT=%s timeout 60 xvfb-run -a love %s 2>&1; "
      .. "echo \"exit=$?\""):format(NOWHERE, quote(root), quote(report), quote(helpers.ROOT .. "/examples/love")))
    assert.equal("exit=1", out:match("exit=%d+$") or out:match("exit=%d+"), out)
    local text = read(report)
    assert(text, "no report from the LÖVE program:\n" .. out)
    assert.truthy(text:find("^phase=failed\n"), text)
    assert.truthy(text:find("seedance cannot load its C core for LuaJIT (LÖVE runs LuaJIT)", 1, true), text)
    assert.truthy(text:find("sh scripts/deps.sh --all (LuaJIT headers), then make LUA=luajit", 1, true), text)
    assert.truthy(text:find("SEEDANCE_ROOT", 1, true), text)
    assert.truthy(text:find("seedance.core", 1, true), text)
  end)
end)
