--- What the provider specs share: an emulator twin per describe block, clients that poll and
-- back off in milliseconds, fixtures, shape checks against the documented examples, secrecy
-- walkers and the download checks every generation spec makes.
--
-- The busted hooks come from `require "busted"`: a spec's globals are not this module's.
-- seedance itself is required only when a client or twin is made, so the specs that run
-- seedance in a child process (LÖVE, nginx, LuaRocks) can use the shell helpers first.
-- @module helpers

local busted = require "busted"
local assert = require "luassert"
local cjson = require "cjson"

local M = {}

--- The checkout's root, so specs find their fixtures whatever the working directory.
M.ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/spec/support/[^/]*$")) or "."

--- One HTTP request over LuaSocket (not seedance's client), a body table sent as JSON:
-- {status=, body=, json=} (json: the decoded body, nil when it is not JSON). A server that
-- does not answer within 5 s fails the spec instead of hanging it.
function M.http_json(method, url, body, headers)
  local http, ltn12 = require "socket.http", require "ltn12"
  http.TIMEOUT = 5
  local chunks, h = {}, {}
  for k, v in pairs(headers or {}) do h[k:lower()] = v end
  if body ~= nil then
    body = type(body) == "string" and body or cjson.encode(body)
    h["content-type"], h["content-length"] = "application/json", tostring(#body)
  end
  local ok, status = http.request{ url = url, method = method, headers = h,
    source = body and ltn12.source.string(body) or nil, sink = ltn12.sink.table(chunks) }
  assert(ok, status)
  local text = table.concat(chunks)
  local decoded_ok, decoded = pcall(cjson.decode, text)
  return { status = status, body = text, json = decoded_ok and decoded or nil }
end

--- A copy of `base` with the fields of `changes` over it (a variant of a spec's table).
-- @tparam table base
-- @tparam table changes
-- @treturn table
function M.merged(base, changes)
  local out = {}
  for k, v in pairs(base) do out[k] = v end
  for k, v in pairs(changes) do out[k] = v end
  return out
end

--- The whole of a file, or nil when there is none (a download that must not have left one).
-- @tparam string path
-- @treturn ?string
function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

--- Whether a file is there (and readable).
-- @tparam string path
-- @treturn boolean
function M.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

--- Whether a shell command succeeds: os.execute says so with true on 5.2+, 0 on 5.1 and LuaJIT.
-- @tparam string cmd
-- @treturn boolean
function M.sh(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

--- All a shell command prints, stderr included.
-- @tparam string cmd
-- @treturn string
function M.capture(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  p:close()
  return out
end

--- Writes `s` as the whole of a file (a partial download, a journal to corrupt).
-- @tparam string path
-- @tparam string s
function M.write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

--- A reader of one provider's fixtures: `fixture(name)` decodes
-- spec/fixtures/<provider>/<name><suffix>, and fails the test when the file is missing.
-- @tparam string provider
-- @tparam[opt] string suffix appended to every name, e.g. ".json"
-- @treturn function
function M.fixtures(provider, suffix)
  return function(name)
    local s = M.read(M.ROOT .. "/spec/fixtures/" .. provider .. "/" .. name .. (suffix or ""))
    assert.is_string(s, name)
    return cjson.decode(s)
  end
end

--- A table's keys, sorted, to compare key sets with `assert.same`.
-- @tparam table t
-- @treturn {string,...}
function M.keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

--- Asserts that `got` has the documented shape of `want`: the same keys with the same JSON
-- types, recursively, a list compared by its first item, and no key the example lacks.
-- @tparam any want the documented example
-- @tparam any got
-- @tparam[opt] table opts `extra_ok`: keys beyond the example are allowed; `null_optional`:
-- a key whose documented value is null may be absent
-- @tparam[opt] string path where in the document (for the message)
function M.same_shape(want, got, opts, path)
  opts, path = opts or {}, path or "$"
  assert.equal(type(want), type(got), path .. ": type")
  if type(want) ~= "table" then return end
  if #want > 0 then
    assert.is_true(#got > 0, path .. ": empty list")
    return M.same_shape(want[1], got[1], opts, path .. "[1]")
  end
  for k, v in pairs(want) do
    if not (opts.null_optional and v == cjson.null) then
      assert.is_not_nil(got[k], path .. "." .. k .. " missing")
      M.same_shape(v, got[k], opts, path .. "." .. k)
    end
  end
  if opts.extra_ok then return end
  for k in pairs(got) do assert.is_not_nil(want[k], path .. "." .. k .. " is not documented") end
end

--- Asserts that every field of a documented example is in `got` with a value of the same JSON
-- type (every list item, not only the first); fields beyond the example are allowed.
-- @tparam table want the documented example
-- @tparam any got
-- @tparam[opt] table opts `null_any`: a documented null stands for a value of any type
-- @tparam[opt] string path
function M.has_fields(want, got, opts, path)
  opts, path = opts or {}, path or "$"
  assert.is_table(got, path .. " is not an object")
  for k, v in pairs(want) do
    local g = got[k]
    assert.is_not_nil(g, path .. "." .. k .. " is missing")
    if type(v) == "table" then M.has_fields(v, g, opts, path .. "." .. k)
    elseif not (opts.null_any and v == cjson.null) then
      assert.equal(type(v), type(g), path .. "." .. k .. " has another type")
    end
  end
end

--- Asserts that `secret` occurs in no string reachable from `v`: keys, values, metatables.
-- @tparam string secret
-- @tparam any v
function M.assert_nowhere(secret, v, seen, path)
  seen, path = seen or {}, path or "$"
  local t = type(v)
  if t == "string" then
    assert.is_nil(v:find(secret, 1, true), "secret found at " .. path)
  elseif t == "table" and not seen[v] then
    seen[v] = true
    for k, x in pairs(v) do
      M.assert_nowhere(secret, k, seen, path .. ".<key>")
      M.assert_nowhere(secret, x, seen, path .. "." .. tostring(k))
    end
    local mt = getmetatable(v)
    if type(mt) == "table" then M.assert_nowhere(secret, mt, seen, path .. ".<mt>") end
  end
end

--- Asserts that no error of the list shows `secret`: not as a whole, in no field, and not in
-- the answer it carries (`raw`), where a provider might have echoed the key back.
-- @tparam string secret
-- @tparam {table,...} errs
function M.assert_errors_hide(secret, errs)
  for _, e in ipairs(errs) do
    assert.is_nil(tostring(e):find(secret, 1, true))
    for _, v in pairs(e) do assert.is_nil(tostring(v):find(secret, 1, true)) end
    if type(e.raw) == "table" then assert.is_nil(cjson.encode(e.raw):find(secret, 1, true)) end
  end
end

--- Asserts that none of the objects shows `secret` when turned into a string.
-- @tparam string secret
-- @param ... clients, assets, groups, sessions, tasks
function M.assert_shown_without(secret, ...)
  for i = 1, select("#", ...) do
    assert.is_nil(tostring((select(i, ...))):find(secret, 1, true))
  end
end

--- Client options that make a spec wait milliseconds: tiny poll intervals and backoff.
-- @tparam string provider
-- @tparam string key the api key
-- @tparam string url the emulator's base URL
-- @tparam[opt] table extra options that win over these
-- @return a seedance client
function M.new_client(provider, key, url, extra)
  local o = { provider = provider, api_key = key, base_url = url, backoff_base = 0.01,
              backoff_max = 0.05, poll = { interval = 0.05, max = 0.1 } }
  for k, v in pairs(extra or {}) do o[k] = v end
  return require("seedance").new(o)
end

local Twin = {}
Twin.__index = Twin

--- One provider's emulator twin for the enclosing describe block: started once (setup),
-- stopped at the end (teardown), reset and configured before each test so no test sees
-- another's assets, faults or counts. `twin.emu` is the emulator once setup has run.
-- @tparam string provider
-- @tparam string key the api key its clients send
-- @tparam table start the `emulator.start` options but the provider (processing, the keys
-- the twin accepts)
-- @tparam table configure what `emu:configure` gets before each test
-- @tparam[opt] table defaults further options of its clients (e.g. Ark's key pair)
-- @return the twin
function M.twin(provider, key, start, configure, defaults)
  local t = setmetatable({ provider = provider, key = key, defaults = defaults or {} }, Twin)
  busted.setup(function()
    local o = { provider = provider }
    for k, v in pairs(start) do o[k] = v end
    t.emu = assert(require("seedance.emulator").start(o))
  end)
  busted.teardown(function() t.emu:stop() end)
  busted.before_each(function()
    t.emu:reset()
    t.emu:configure(configure)
  end)
  return t
end

--- A client of this twin (see `new_client`), sent to the twin's control plane too where it
-- has one of its own (Ark).
-- @tparam[opt] table extra options that win over the twin's defaults
function Twin:client(extra)
  local o = { control_url = self.emu.control_url }
  for k, v in pairs(self.defaults) do o[k] = v end
  for k, v in pairs(extra or {}) do o[k] = v end
  return M.new_client(self.provider, self.key, self.emu.url, o)
end

--- The twin's own state, as its `dump` control op gives it.
-- @treturn table
function Twin:dump()
  return self.emu:control({ op = "dump" })[self.provider]
end

--- The last request the twin received: {method, path, raw_query, headers, body}.
-- @treturn table
function Twin:last_request()
  return self:dump().last_request
end

--- A scratch file path (with `.part`, where a download keeps what it has so far), removed
-- after each test and at the end, so one test's download never resumes in another.
-- @tparam[opt] string ext appended to the temporary name, e.g. ".mp4"
-- @treturn string
function M.scratch(ext)
  local path = os.tmpname()
  if ext then
    os.remove(path)
    path = path .. ext
  end
  local function clean()
    os.remove(path)
    os.remove(path .. ".part")
  end
  busted.after_each(clean)
  busted.teardown(clean)
  return path
end

--- Asserts that a finished task downloads the whole `want` to `path`, reporting progress up
-- to its size, leaving no partial file, and that the result host saw one download and no
-- credential.
-- @param emu the emulator
-- @param task a succeeded task
-- @tparam string path
-- @tparam string want the bytes the result host serves
-- @treturn table the emulator's stats after the download, for further checks
function M.assert_downloads(emu, task, path, want)
  local calls, done = 0, 0
  assert.equal(path, task:download(path, { on_progress = function(n)
    calls, done = calls + 1, n
  end }))
  local got = M.read(path)
  assert.equal(#want, #got)
  assert.equal(want, got)
  assert.equal("ftyp", got:sub(5, 8))
  assert.is_true(calls >= 1)
  assert.equal(#want, done)
  assert.is_nil(M.read(path .. ".part"))
  local st = emu:stats()
  assert.is_nil(st.media_credential_violations)
  assert.equal(1, st.media_downloads)
  return st
end

--- Asserts that a download cut after `cut` bytes fails as a network error keeping those
-- bytes, and that the next try resumes with a range request to the whole `want`, sending
-- no credential. Call it with a task of a client without retries, so the cut is not hidden.
-- @param emu the emulator
-- @param task a succeeded task
-- @tparam string path
-- @tparam string want
-- @tparam number cut
function M.assert_download_resumes(emu, task, path, want, cut)
  emu:fault({ match = "GET /__emulator/media", truncate = cut, count = 1 })
  local ok, err = task:download(path)
  assert.is_nil(ok)
  assert.same({ "network", cut }, { err.kind, err.partial })
  assert.is_nil(M.read(path))
  assert.equal(cut, #(M.read(path .. ".part") or ""))
  assert.equal(path, task:download(path))
  assert.equal(want, M.read(path))
  local st = emu:stats()
  assert.is_true((st.media_ranges or 0) > 0)
  assert.is_nil(st.media_credential_violations)
end

--- `s` quoted for the shell.
-- @tparam string s
-- @treturn string
function M.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- A runner of bin/seedance as a subprocess, by the interpreter running the suite, with
-- stdout and stderr to files (so: piped). Nothing it prints, anywhere, may show `key`.
-- @tparam string key the api key (and any further secret in `secrets`) never to be printed
-- @tparam function defaults () -> the environment every run gets (a variable set to false
-- is unset); called at each run, so it may name an emulator started later
-- @tparam[opt] {string,...} secrets more strings never to be printed (Ark's secret key)
-- @return {command = fn(argv, env) -> shell line, run = fn(argv, env) -> code, stdout, stderr,
-- run_json = fn(argv, env) -> code, document, stderr (with --json and a 0.05 s poll),
-- cleanup = fn()}
function M.cli(key, defaults, secrets)
  local lua = type(jit) == "table" and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
  local out_path, err_path = os.tmpname(), os.tmpname()
  local quote = M.quote
  local r = {}
  function r.command(argv, env)
    local vars = defaults()
    for k, v in pairs(env or {}) do vars[k] = v end
    local parts = { "env" }
    for k in pairs(vars) do parts[#parts + 1] = "-u " .. k end
    for k, v in pairs(vars) do
      if v then parts[#parts + 1] = k .. "=" .. quote(v) end
    end
    parts[#parts + 1] = lua .. " " .. quote(M.ROOT .. "/bin/seedance")
    for _, a in ipairs(argv) do parts[#parts + 1] = quote(a) end
    return table.concat(parts, " ")
  end
  function r.run(argv, env)
    local p = io.popen(r.command(argv, env) .. " >" .. out_path .. " 2>" .. err_path .. "; echo $?")
    local code = tonumber(p:read("*a"):match("%d+"))
    p:close()
    local out, err = M.read(out_path), M.read(err_path)
    local all = { key }
    for _, x in ipairs(secrets or {}) do all[#all + 1] = x end
    for _, secret in ipairs(all) do
      assert.is_nil(out:find(secret, 1, true), "a secret was printed on stdout")
      assert.is_nil(err:find(secret, 1, true), "a secret was printed on stderr")
    end
    return code, out, err
  end
  function r.run_json(argv, env)
    local a = { "--json", "--poll", "0.05" }
    for _, x in ipairs(argv) do a[#a + 1] = x end
    local code, out, err = r.run(a, env)
    local ok, doc = pcall(cjson.decode, out)
    assert.is_true(ok and type(doc) == "table", "stdout was not one JSON document: " .. out .. err)
    return code, doc, err
  end
  function r.cleanup()
    os.remove(out_path)
    os.remove(err_path)
  end
  return r
end

return M
