-- "min": only the globals every supported Lua has (5.1-5.4 and LuaJIT), so a 5.3-only
-- table.unpack, math.type, utf8 or bit32 is a warning, not a surprise on another runtime.
-- `jit` is read only to tell LuaJIT apart.
std = "min"
read_globals = { "jit" }
max_line_length = 120
exclude_files = { "build/", "bench/peers/" }
files["spec/"] = { std = "+busted" }
-- the example of testing a workflow against the emulator is a busted spec too
files["examples/emulator_workflow_spec.lua"] = { std = "+busted" }
