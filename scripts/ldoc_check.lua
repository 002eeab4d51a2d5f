--- LDoc filter behind `make docs`: every public function of the public modules has a doc
-- comment. LDoc itself skips an undocumented function without a word, so this compares
-- what LDoc parsed (run as `ldoc --filter ldoc_check.run .`) with the definitions in the
-- sources: a top-level `function M.name`, `function Class:name` or `M.name = function`
-- whose name does not start with `_`.
-- @script ldoc_check
local lfs = require "lfs"

local M = {}

-- the public face, as config.ld lists it; a new module here that config.ld lacks shows up
-- as undocumented functions
local function public_files()
  local files = {}
  for name in lfs.dir("lua/seedance") do
    if name:match("%.lua$") then files[#files + 1] = "lua/seedance/" .. name end
  end
  table.sort(files)
  files[#files + 1] = "lua/seedance/emulator/init.lua"
  return files
end

local function definitions(path)
  local defs, n = {}, 0
  for line in io.lines(path) do
    n = n + 1
    local name = line:match("^function%s+[%w_]+[.:]([%a][%w_]*)%s*%(")
      or line:match("^[%a_][%w_]*%.([%a][%w_]*)%s*=%s*function%s*%(")
    if name then defs[#defs + 1] = { name = name, line = n } end
  end
  return defs
end

--- The filter: `modules` is LDoc's module list (item files are stripped by then, so an
-- item is matched by its short name and line).
function M.run(modules)
  local documented = {}
  for _, mod in ipairs(modules) do
    for _, item in ipairs(mod.items) do
      local short = tostring(item.name):match("([%w_]+)$")
      if short and item.lineno then documented[short .. "@" .. item.lineno] = true end
    end
  end
  local missing, total = 0, 0
  for _, path in ipairs(public_files()) do
    for _, d in ipairs(definitions(path)) do
      total = total + 1
      if not documented[d.name .. "@" .. d.line] then
        missing = missing + 1
        io.stderr:write(("%s:%d: public function '%s' has no LDoc comment (or config.ld does not list %s)\n")
          :format(path, d.line, d.name, path))
      end
    end
  end
  if missing > 0 then
    io.stderr:write(("ldoc_check: %d of %d public functions undocumented\n"):format(missing, total))
    os.exit(1)
  end
  -- stderr, like every ldoc message worth reading (its stdout is progress chatter)
  io.stderr:write(("ldoc_check: %d public functions, all documented\n"):format(total))
end

return M
