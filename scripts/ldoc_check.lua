--- LDoc filter behind `make docs`: every public function of the public modules has a doc
-- comment. LDoc itself skips an undocumented function without a word, so this compares
-- what LDoc parsed (run as `ldoc --filter ldoc_check.run .`) with the definitions in the
-- sources: a top-level `function M.name`, `function Class:name` or `M.name = function`
-- whose name does not start with `_`.
-- @script ldoc_check
local lfs = require "lfs"

local M = {}

-- the public face, as config.ld lists it: every module under lua/seedance/ but the CLI, the
-- dialects and the emulator's twins (implementation), plus the registry, the dialect
-- contract and the emulator's front door; a module here that config.ld lacks shows up as
-- undocumented functions
local PRIVATE_DIRS = { cli = true, emulator = true, providers = true }
local EXTRA = { "lua/seedance/emulator/init.lua", "lua/seedance/providers/init.lua",
                "lua/seedance/providers/base.lua" }

local function public_files()
  local files = {}
  local function walk(dir, top)
    for name in lfs.dir(dir) do
      local path = dir .. "/" .. name
      if name:match("%.lua$") then
        files[#files + 1] = path
      elseif name ~= "." and name ~= ".." and lfs.attributes(path, "mode") == "directory"
          and not (top and PRIVATE_DIRS[name]) then
        walk(path, false)
      end
    end
  end
  walk("lua/seedance", true)
  table.sort(files)
  for _, f in ipairs(EXTRA) do files[#files + 1] = f end
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
