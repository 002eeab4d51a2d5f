--- The `seedance` command: parses the command line, makes a client from the environment
-- (SEEDANCE_API_KEY, SEEDANCE_PROVIDER, SEEDANCE_BASE_URL) and runs one command on the
-- public API. Exit status: 0 done, 1 an operational failure (a seedance.Error, printed on
-- stderr), 2 misuse (the usage printed). bin/seedance only calls main.
-- @module seedance.cli
local seedance = require "seedance"
local args = require "seedance.cli.args"
local commands = require "seedance.cli.commands"
local output = require "seedance.cli.output"
local view = require "seedance.cli.view"
local json = require "seedance.wire.json"
local errors = require "seedance.error"

local M = {}
local hint

local function global_help()
  return "options (every command):\n"
    .. "  --provider P         " .. table.concat(seedance.providers, ", ") .. " (default $SEEDANCE_PROVIDER)\n"
    .. "  --base-url U         the service's base URL, e.g. an emulator's (default $SEEDANCE_BASE_URL)\n"
    .. "  --json               print one JSON document on stdout and nothing else there\n"
    .. "  --poll S             poll every S seconds while waiting (default: backing off from 2-5 s)\n"
    .. "  -q, --quiet          print only the ids (one a line), for the next command\n"
    .. "  --store S            record what is created in this store (a path, or redis://...;\n"
    .. "                       default $SEEDANCE_STORE; on crun, which cannot list, assets upload|list\n"
    .. "                       use this machine's: $XDG_STATE_HOME/seedance/store.db)\n"
    .. "  --access-key K       ark: the access key that signs the asset library (default $SEEDANCE_ACCESS_KEY)\n"
    .. "  --secret-key S       ark: its secret key (default $SEEDANCE_SECRET_KEY; the variable keeps it out of ps)\n"
    .. "  --control-url U      ark: the asset library's URL (default $SEEDANCE_CONTROL_URL, else the provider's)\n"
    .. "  --region R           ark: the region it signs for (default $SEEDANCE_REGION, else cn-beijing)\n"
    .. "  -h, --help           this help\n"
end

local ENVIRONMENT = "environment: SEEDANCE_API_KEY (required, never printed; on ark only for generation), "
  .. "SEEDANCE_PROVIDER, SEEDANCE_BASE_URL, SEEDANCE_STORE;\n"
  .. "  ark: SEEDANCE_ACCESS_KEY, SEEDANCE_SECRET_KEY (never printed), SEEDANCE_CONTROL_URL, SEEDANCE_REGION\n"
  .. "exit status: 0 done, 1 the service refused or a wait failed, 2 misuse\n"

local function synopsis(c)
  return "seedance " .. c.words .. " " .. c.synopsis
end

--- The usage text: of one command when `c` is given, of a group of commands ("assets")
-- when `group` is, else of the whole program.
function M.usage(c, group)
  if c then
    return "usage: " .. synopsis(c) .. "\n\n" .. c.help .. "\n" .. global_help()
  end
  local lines = {}
  for _, x in ipairs(commands.list) do
    if not group or x.words:match("^(%S+)") == group then lines[#lines + 1] = "  " .. synopsis(x) end
  end
  local head = group and ("usage: seedance " .. group .. " <command> [args]\n\n")
    or "usage: seedance [options] <command> [args]\n\n"
      .. "Seedance 2.0 reference assets and video generation from the shell.\n\n"
  return head .. "commands:\n" .. table.concat(lines, "\n") .. "\n\n" .. global_help() .. "\n" .. ENVIRONMENT
end

-- Picks the command words out of argv (skipping global options and their values);
-- returns the words found and the remaining arguments in order.
local function split_words(argv)
  local words, rest = {}, {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local wanted = (#words == 0 or (#words == 1 and commands.groups[words[1]])) and a ~= "--"
    if wanted and not args.is_option(a) then
      words[#words + 1] = a
    else
      rest[#rest + 1] = a
      local _, needs_value = args.takes_value(a, commands.GLOBAL)
      if needs_value and argv[i + 1] then
        i = i + 1
        rest[#rest + 1] = argv[i]
      end
      if a == "--" then
        for j = i + 1, #argv do rest[#rest + 1] = argv[j] end
        break
      end
    end
    i = i + 1
  end
  return words, rest
end

local function nonempty(s)
  if s == nil or s == "" then return nil end
  return s
end

local Context = {}
Context.__index = Context

-- the store named by --store or $SEEDANCE_STORE, as client options (a redis:// URL is a
-- shared store, anything else a path), and its name; nil when none was named
local function named_store(o)
  local s = o.store or nonempty(os.getenv("SEEDANCE_STORE"))
  if not s then return nil end
  return s:match("^redis://") and { store = s } or { journal = s }, s
end

-- this machine's store: $XDG_STATE_HOME/seedance/store.db (~/.local/state when unset)
local function machine_store()
  local state = nonempty(os.getenv("XDG_STATE_HOME"))
  local home = nonempty(os.getenv("HOME"))
  if not state and not home then
    args.usage_error("crun cannot list assets: name a store with --store or SEEDANCE_STORE "
                     .. "(neither XDG_STATE_HOME nor HOME is set)")
  end
  local dir = (state or (home .. "/.local/state")) .. "/seedance"
  local ok, err = require("seedance.production.takes").mkdir(dir)
  if not ok then args.usage_error(err .. ": name a store with --store or SEEDANCE_STORE") end
  return dir .. "/store.db"
end

--- The record of assets for commands that register or list them: on a service with no list
-- endpoint (crun) the store named (--store, $SEEDANCE_STORE), else this machine's, so that
-- `assets list` shows what `assets upload` registered here; elsewhere nothing (the service
-- lists). Returns client options and the store's name, or nil.
function Context:asset_record()
  if self._record ~= nil then return self._record or nil, self._record_where end
  self._record = false
  local provider = self.opts.provider or nonempty(os.getenv("SEEDANCE_PROVIDER"))
  local ok, d = pcall(require, "seedance.providers." .. tostring(provider))
  if not (ok and type(d) == "table" and d.iterate_assets) then return nil end
  local opts, where = named_store(self.opts)
  if not opts then
    where = machine_store()
    opts = { journal = where }
  end
  self._record, self._record_where = opts, where
  return opts, where
end

--- The client for this run, made on first use (so --help needs no key or provider);
-- `extra` adds client options a command knows (a production's journal or store).
function Context:client(extra)
  if self._client then return self._client end
  local o = self.opts
  local provider = o.provider or nonempty(os.getenv("SEEDANCE_PROVIDER"))
  if not provider then
    args.usage_error("no provider: set SEEDANCE_PROVIDER or pass --provider (one of "
      .. table.concat(seedance.providers, ", ") .. ")")
  end
  local opts = { provider = provider, base_url = o.base_url or nonempty(os.getenv("SEEDANCE_BASE_URL")),
                 poll = o.poll and { interval = o.poll, max = o.poll } or nil }
  if provider == "ark" then
    -- the asset library is signed with a key pair; the api_key is only for generation
    opts.access_key = o.access_key or nonempty(os.getenv("SEEDANCE_ACCESS_KEY"))
    opts.secret_key = o.secret_key or nonempty(os.getenv("SEEDANCE_SECRET_KEY"))
    opts.control_url = o.control_url or nonempty(os.getenv("SEEDANCE_CONTROL_URL"))
    opts.region = o.region or nonempty(os.getenv("SEEDANCE_REGION"))
    if (opts.access_key == nil) ~= (opts.secret_key == nil) then
      args.usage_error("ark needs both --access-key and --secret-key (or SEEDANCE_ACCESS_KEY and "
                       .. "SEEDANCE_SECRET_KEY) for its asset library, or neither")
    end
  else
    for _, k in ipairs({ "access_key", "secret_key", "control_url", "region" }) do
      if o[k] then args.usage_error("--" .. k:gsub("_", "-") .. " is for ark only, not " .. provider) end
    end
  end
  for k, v in pairs(named_store(o) or {}) do opts[k] = v end
  -- a command that registers or lists assets keeps them where a service cannot list them
  if self.command and self.command.records_assets then
    for k, v in pairs(self:asset_record() or {}) do opts[k] = v end
  end
  for k, v in pairs(extra or {}) do opts[k] = v end
  self._client = seedance.new(opts)
  return self._client
end

-- Finds the command (into state.command, so a usage error can name it) and parses its
-- arguments; returns the context, or nil once --help was answered.
local function prepare(state, argv, stdout)
  local words, rest = split_words(argv)
  local c = commands.by_words[table.concat(words, " ")]
  state.command = c
  local options = {}
  for k, v in pairs(commands.GLOBAL) do options[k] = v end
  for k, v in pairs(c and c.options or {}) do options[k] = v end
  local ok, opts, positionals = pcall(args.parse, rest, options)
  if not c then
    local group = commands.groups[words[1] or ""] and words[1] or nil
    state.group = group
    if ok and opts.help and (#words == 0 or group and #words == 1) then
      stdout:write(M.usage(nil, group))
      return nil
    end
    if #words == 0 then args.usage_error("no command given") end
    if group and #words == 1 then args.usage_error("'seedance " .. group .. "' needs a command") end
    args.usage_error("unknown command '" .. table.concat(words, " ") .. "'")
  end
  if not ok then error(opts, 0) end
  if opts.help then
    stdout:write(M.usage(c))
    return nil
  end
  for name in pairs(commands.POSITIVE) do
    local v = opts[name]
    if v ~= nil and v <= 0 then args.usage_error("--" .. name .. " needs a positive number of seconds, got " .. v) end
  end
  for name, allowed in pairs(c.choices or {}) do
    local v = opts[(name:gsub("-", "_"))] -- (options are kept under their names with "_")
    if v ~= nil then
      local known = false
      for _, a in ipairs(allowed) do known = known or a == v end
      if not known then
        args.usage_error(("--%s %s: not one of %s"):format(name, v, table.concat(allowed, ", ")))
      end
    end
  end
  if #positionals < c.min then args.usage_error("missing arguments") end
  if c.max and #positionals > c.max then args.usage_error("too many arguments") end
  return setmetatable({ opts = opts, args = positionals, command = c }, Context)
end

-- An error raised by the library for a wrong argument reads "client:upload: ..." or
-- "seedance.new: ..."; anything else raised is a bug of ours.
local function misuse_message(e)
  local msg = tostring(e):gsub("^[^\n]-:%d+: ", "")
  if msg:match("^[%w_.:]+: ") then return msg end
  return nil
end

-- the library's advice in the CLI's words
local HINTS = {
  group_required = " (on the command line: --group G; make one with 'seedance groups create NAME')",
  type_required = " (on the command line: --type image|video|audio)",
  bad_url = " (on the command line: --type image|video|audio when it really is one)",
}
hint = function(err)
  local h = type(err) == "table" and HINTS[err.code or ""]
  if h and not err.message:find(h, 1, true) then err.message = err.message .. h end
end

-- Whether the command line asks for --json (before any "--"), even one that cannot be parsed.
local function wants_json(argv)
  for _, a in ipairs(argv) do
    if a == "--" then return false end
    if a == "--json" then return true end
  end
  return false
end

local function document(stdout, doc)
  stdout:write(json.encode(doc), "\n")
  stdout:flush()
end

--- Run the command line `argv` (a list of strings, like `arg`).
-- @tparam table argv
-- @tparam[opt] table io_ {stdout=, stderr=} (default the process's)
-- @treturn integer the exit status
function M.main(argv, io_)
  io_ = io_ or {}
  local stdout, stderr = io_.stdout or io.stdout, io_.stderr or io.stderr
  local state, ctx = {}, nil
  local doc, err
  local ok, raised = pcall(function()
    ctx = prepare(state, argv, stdout)
    if not ctx then return end
    ctx.out = output.new({ json = ctx.opts.json, quiet = ctx.opts.quiet, stdout = stdout, stderr = stderr })
    local c = state.command
    -- what the service cannot do is its answer, not the user's misuse: exit 1
    if c.needs and not ctx:client():can(c.needs) then
      err = errors.new({ kind = "validation", code = "unsupported",
        provider = ctx:client().provider, message = ctx:client().provider .. " cannot " .. c.cannot })
      return
    end
    doc, err = c.run(ctx)
  end)
  local c = state.command
  if ctx and ctx._client then ctx._client:close() end
  local json_mode = wants_json(argv)
  if not ok then
    if seedance.is_error(raised) then
      err = raised
    else
      local msg = args.is_usage_error(raised) and raised.message or misuse_message(raised)
      if not msg then
        if json_mode then document(stdout, { error = { kind = "internal", message = tostring(raised) } }) end
        stderr:write("seedance: internal error: ", tostring(raised), "\n")
        return 1
      end
      -- even misuse answers --json with its one document (the usage goes to stderr)
      if json_mode then document(stdout, { error = { kind = "usage", message = msg } }) end
      stderr:write(msg:match("^seedance") and "" or "seedance: ", msg, "\n")
      if c then
        stderr:write("usage: ", synopsis(c), "\n(see 'seedance ", c.words, " --help')\n")
      else
        stderr:write(M.usage(nil, state.group))
      end
      return 2
    end
  end
  if not (ctx and ctx.out) then
    if err and json_mode then document(stdout, { error = view.error_doc(err) }) end
    if err then
      stderr:write(tostring(err), "\n")
      return 1
    end
    return 0
  end
  if err then hint(err) end
  if ctx.out.doc then
    doc = doc or {}
    if err then doc.error = view.error_doc(err) end
    ctx.out:document(doc)
  elseif ctx.opts.quiet and doc then
    for _, id in ipairs(view.ids(doc)) do stdout:write(id, "\n") end
  end
  if err then
    stderr:write(tostring(err), "\n")
    return 1
  end
  return 0
end

return M
