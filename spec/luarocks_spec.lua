-- LuaRocks offline, as a new Debian user runs it: `luarocks make` of the two rockspecs (the
-- library, then the emulator rock that depends on it), from a clean copy of the checkout
-- into a temporary tree, installs without fetching anything (apt's lua-cjson stands in for
-- the rock, scripts/luarocks_debian.lua), and that tree alone then serves require "seedance",
-- the embedded PiAPI emulator and the installed bin/ wrappers. The library rock also builds
-- on a machine without libmicrohttpd-dev (hidden in a user+mount namespace), where the
-- emulator rock does not (scripts/rock.sh nomhd|build|check; `make rock` runs all three).
local helpers = require "helpers"
local succeeds, exists = helpers.sh, helpers.exists
local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/spec/[^/]*$")) or "."

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- exit status and everything printed
local function run(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("*a")
  p:close()
  return tonumber(out:match("rc=(%d+)%s*$")), (out:gsub("rc=%d+%s*$", ""))
end

local missing = (not succeeds("command -v luarocks >/dev/null 2>&1") and "luarocks")
  or (not succeeds("command -v lua5.4 >/dev/null 2>&1") and "lua5.4")
if missing then
  describe("luarocks", function()
    pending(missing .. " is not installed (scripts/deps.sh --all installs it)")
  end)
  return
end

describe("luarocks", function()
  local tree
  local rock = "sh " .. quote(ROOT .. "/scripts/rock.sh")

  setup(function()
    tree = os.tmpname()
    os.remove(tree)
  end)
  teardown(function() os.execute("rm -rf " .. quote(tree)) end)

  it("the library rock builds where libmicrohttpd-dev is missing; the emulator rock does not", function()
    if not succeeds("unshare --user --map-root-user --mount true >/dev/null 2>&1") then
      return pending("no unprivileged user+mount namespaces here (unshare)")
    end
    local bare = os.tmpname()
    os.remove(bare)
    local rc, out = run(rock .. " nomhd " .. quote(bare))
    local core_so = bare .. "/lib/lua/5.4/seedance/core.so"
    local linked = helpers.capture("ldd " .. quote(core_so))
    os.execute("rm -rf " .. quote(bare))
    assert.equal(0, rc, out)
    assert.truthy(out:find("libmicrohttpd-dev hidden: /usr/include/microhttpd.h", 1, true), out)
    assert.truthy(out:find("the library rock built without libmicrohttpd-dev", 1, true), out)
    assert.truthy(out:find("the emulator rock needs libmicrohttpd-dev", 1, true), out)
    -- the library's compile and link lines (after the line naming the hidden files)
    local lib_build = out:sub(out:find("hidden:", 1, true), out:find("the library rock built", 1, true))
    assert.falsy(lib_build:gsub("^[^\n]*\n", ""):find("microhttpd", 1, true), lib_build)
    assert.truthy(linked:find("libcurl", 1, true), linked)
    assert.falsy(linked:find("microhttpd", 1, true), linked)
  end)

  it("make installs both rockspecs into a temporary tree and fetches nothing", function()
    local rc, out = run(rock .. " build " .. quote(tree))
    assert.equal(0, rc, out)
    -- the dependency is declared, and satisfied by apt's package rather than a download
    assert.truthy(out:find("depends on lua-cjson (2.1.0-1 provided by VM)", 1, true), out)
    assert.truthy(out:find("seedance scm-1 is now installed", 1, true), out)
    assert.truthy(out:find("seedance-emulator scm-1 is now installed", 1, true), out)
    assert.falsy(out:find("Installing http", 1, true), out)
    for _, f in ipairs({ "lib/lua/5.4/seedance/core.so", "lib/lua/5.4/seedance/emucore.so",
                         "share/lua/5.4/seedance/init.lua", "share/lua/5.4/seedance/emulator/piapi.lua",
                         "share/lua/5.4/seedance/cli/init.lua", "bin/seedance", "bin/seedance-emulator" }) do
      assert.is_true(exists(tree .. "/" .. f), f .. " is missing from the tree\n" .. out)
    end
  end)

  it("the tree alone serves require, the emulator and the bin/ wrappers", function()
    local rc, out = run(rock .. " check " .. quote(tree))
    assert.equal(0, rc, out)
    assert.truthy(out:find("load from " .. tree, 1, true), out)
    assert.truthy(out:find("library upload [^\n]* is active"), out)
    assert.truthy(out:find("bin/seedance upload [^\n]* is active"), out)
  end)
end)
