--- Command-line parsing for bin/seedance: GNU-style long options (`--name value`,
-- `--name=value`, flags, repeatable options) mixed freely with positionals, `--` ending
-- the options. Misuse is raised as a usage error, which the CLI turns into exit status 2.
-- @module seedance.cli.args
local M = {}

local UsageError = {}
UsageError.__index = UsageError
UsageError.__tostring = function(e) return e.message end

--- Raise a usage error (caught by the CLI's main, never seen by a Lua caller).
-- @tparam string message what was wrong, for the user
function M.usage_error(message)
  error(setmetatable({ message = message }, UsageError), 0)
end

--- True when `x` was raised by usage_error.
function M.is_usage_error(x)
  return getmetatable(x) == UsageError
end

--- True when `a` looks like an option rather than a positional ("-" alone is a positional).
function M.is_option(a)
  return a:sub(1, 1) == "-" and a ~= "-"
end

-- "--base-url=x" -> "base-url", "x"; "-h" -> "help"
local function split(a)
  if a == "-h" then return "help" end
  if a == "-q" then return "quiet" end
  local name, value = a:match("^%-%-([%w][%w-]*)=(.*)$")
  if name then return name, value end
  return a:match("^%-%-([%w][%w-]*)$")
end

--- The name of the option in `a` and whether it will consume the next argument as its
-- value, per `options` (name -> "flag"|"string"|"number"|"list"); nil for a non-option.
function M.takes_value(a, options)
  if not M.is_option(a) or a == "--" then return nil end
  local name, inline = split(a)
  local kind = name and options[name]
  return name, kind ~= nil and kind ~= "flag" and inline == nil
end

local function store(opts, name, kind, value)
  local key = name:gsub("-", "_")
  if kind == "number" then
    local n = tonumber(value)
    if not n then M.usage_error("--" .. name .. " needs a number, got '" .. value .. "'") end
    opts[key] = n
  elseif kind == "list" then
    opts[key] = opts[key] or {}
    table.insert(opts[key], value)
  else
    opts[key] = value
  end
end

--- Parse `argv` against `options` (name -> "flag"|"string"|"number"|"list").
-- Option names come back with dashes as underscores (`--base-url` -> `base_url`).
-- @tparam table argv list of strings
-- @tparam table options the options this command accepts
-- @return opts table, list of positionals (raises a usage error on unknown options,
-- missing values or non-numbers)
function M.parse(argv, options)
  local opts, positionals = {}, {}
  local i, only_positionals = 1, false
  while i <= #argv do
    local a = argv[i]
    if only_positionals or not M.is_option(a) then
      positionals[#positionals + 1] = a
    elseif a == "--" then
      only_positionals = true
    else
      local name, inline = split(a)
      local kind = name and options[name]
      if not kind then M.usage_error("unknown option '" .. a .. "'") end
      if kind == "flag" then
        if inline ~= nil then M.usage_error("--" .. name .. " takes no value") end
        opts[(name:gsub("-", "_"))] = true
      else
        local value = inline
        if value == nil then
          i = i + 1
          value = argv[i]
          if value == nil then M.usage_error("--" .. name .. " needs a value") end
        end
        store(opts, name, kind, value)
      end
    end
    i = i + 1
  end
  return opts, positionals
end

return M
