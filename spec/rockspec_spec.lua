-- The rockspecs list every source file: regenerate them with scripts/rockspec.lua. The
-- library's must not need libmicrohttpd: that is the emulator rock's alone.
local function generated(what)
  local p = io.popen("lua5.4 scripts/rockspec.lua " .. what)
  local want = p:read("*a")
  p:close()
  return want
end

local function committed(name)
  local f = assert(io.open(name))
  local have = f:read("*a")
  f:close()
  return have
end

describe("the rockspecs", function()
  it("seedance-scm-1.rockspec is up to date with the tree", function()
    assert.equal(generated(""), committed("seedance-scm-1.rockspec"),
                 "run: lua5.4 scripts/rockspec.lua > seedance-scm-1.rockspec")
  end)

  it("seedance-emulator-scm-1.rockspec is up to date with the tree", function()
    assert.equal(generated("emulator"), committed("seedance-emulator-scm-1.rockspec"),
                 "run: lua5.4 scripts/rockspec.lua emulator > seedance-emulator-scm-1.rockspec")
  end)

  it("the library builds nothing of the emulator; the emulator rock depends on the library", function()
    local lib, emu = committed("seedance-scm-1.rockspec"), committed("seedance-emulator-scm-1.rockspec")
    for _, word in ipairs({ "microhttpd", "MICROHTTPD", "src/emulator/", "seedance.emulator", "emucore",
                            "seedance-emulator\"]" }) do
      assert.is_nil(lib:find(word, 1, true), word)
    end
    assert.truthy(emu:find('dependencies = { "lua >= 5.1", "seedance" }', 1, true))
    assert.truthy(emu:find('["seedance-emulator"] = "bin/seedance-emulator"', 1, true))
    assert.truthy(emu:find('"src/emulator/httpd.c"', 1, true))
  end)
end)
