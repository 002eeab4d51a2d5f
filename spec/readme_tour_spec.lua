-- The README's tour runs as written, offline (its emulator twin on loopback), from this
-- checkout with the search paths the README gives for running your own script.
local helpers = require "helpers"

describe("README", function()
  it("the tour runs offline as written, from the checkout's search paths", function()
    local readme = assert(helpers.read(helpers.ROOT .. "/README.md"))
    local from = assert(readme:find("## A tour", 1, true))
    local a = assert(readme:find("```lua\n", from, true)) + 7
    local b = assert(readme:find("\n```", a, true))
    local dir = os.tmpname()
    os.remove(dir)
    assert(helpers.sh("mkdir -p " .. helpers.quote(dir)))
    finally(function() helpers.sh("rm -rf " .. helpers.quote(dir)) end)
    helpers.write(dir .. "/tour.lua", readme:sub(a, b))
    local lua = type(jit) == "table" and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
    local build = type(jit) == "table" and "luajit" or lua
    local root = helpers.ROOT
    local cmd = "cd %s && env -u SEEDANCE_API_KEY LUA_PATH=%s LUA_CPATH=%s timeout 120 %s tour.lua;"
      .. " echo rc=$?"
    local path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;;"
    local cpath = root .. "/build/" .. build .. "/?.so;;"
    local out = helpers.capture(cmd:format(helpers.quote(dir), helpers.quote(path), helpers.quote(cpath), lua))
    assert.matches("rc=0", out)
    assert.truthy(out:find("Image 1 hands Image 2 to Image 3 at dawn.", 1, true), out)
    assert.equal("ftyp", (helpers.read(dir .. "/shot-1.mp4") or ""):sub(5, 8))
  end)
end)
