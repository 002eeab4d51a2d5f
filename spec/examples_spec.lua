-- The README's example of testing your own workflow against the emulator runs as a user
-- runs it: busted on examples/emulator_workflow_spec.lua, in a child process of the same Lua,
-- with the checkout's modules on the paths (LUA_PATH and LUA_CPATH from the Makefile).
local helpers = require "helpers"

local function interpreter()
  if type(jit) == "table" then return "luajit" end
  return "lua" .. _VERSION:match("%d+%.%d+")
end

describe("examples/emulator_workflow_spec.lua", function()
  it("passes under busted: start, faults, stats, stop", function()
    local out = helpers.capture("cd " .. helpers.ROOT .. " && " .. interpreter() .. " /usr/bin/busted "
      .. "--output=spec/support/summary.lua examples/emulator_workflow_spec.lua")
    assert.truthy(out:find("5 passed, 0 failed", 1, true), out)
  end)
end)
