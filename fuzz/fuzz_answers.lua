-- The Lua half of fuzz/fuzz_answers.c: returns function(bytes) that hands one answer body to
-- a dialect's parse functions (through the guard, http.parse, as the library calls them) and
-- to the response path (http.response); the input's length picks the dialect and the status.
-- It raises, which the C side turns into a crash, when a promise breaks: a Lua error from
-- inside the library, a result without a non-empty string id, an error that is not a
-- seedance.Error of a known kind, a key shown by an error.
local seedance = require "seedance"
local http = require "seedance.wire.http"
local json = require "seedance.wire.json"
local errors = require "seedance.error"
local asset = require "seedance.model.asset"
local task = require "seedance.model.task"
local session = require "seedance.model.session"
local group = require "seedance.model.group"

local KEY = "sk-fuzz-secret-0000-abcdef"
local STATUSES = { 200, 201, 400, 401, 404, 409, 429, 500, 502, 302 }

local function client_for(provider)
  local o = { provider = provider, api_key = KEY, base_url = "http://127.0.0.1:9", retries = 0 }
  if provider == "ark" then
    o.control_url, o.access_key, o.secret_key = "http://127.0.0.1:9", "AKfuzz", "SKfuzz-secret-0000"
  end
  return seedance.new(o)
end

local UPLOAD = { url = "https://x/a.png", type = "image", name = "n", group = "g-1" }
local GEN = { prompt = "a cat", model = "m", images = {}, videos = {}, audios = {} }

-- what each parse function is called with, the shape the guard checks, the object it makes
local PARSERS = {
  { "parse_asset", "object", asset, function() return end },
  { "parse_upload", "object", asset, function(c) return UPLOAD, c end },
  { "parse_list", "list", asset, function() return 1 end },
  { "parse_group", "object", group, function() return { name = "g" } end },
  { "parse_group_list", "list", group, function() return 2 end },
  { "parse_session", "object", session, function() return end },
  { "parse_created_task", "object", task, function() return GEN end },
  { "parse_task", "task", nil, function(c) return task.new(c, { id = "t-1" }, nil) end },
  { "parse_cancel", "refresh", nil, function(c) return task.new(c, { id = "t-1" }, nil) end },
  { "parse_upload_batch", "batch", nil, function() return { UPLOAD, UPLOAD } end },
  { "parse_delete_batch", "outcomes", nil, function() return { "a-1", "a-2" } end },
  { "parse_task_list", "list", task, function() return 1, 10 end },
}

local function fail(what, ...)
  local parts = { what }
  for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
  error("broken promise: " .. table.concat(parts, " "), 0)
end

local function is_id(v) return type(v) == "string" and v ~= "" end

local function check_error(where, err)
  if not errors.is(err) then fail(where, "gave an error that is not a seedance.Error:", err) end
  if not errors.kinds[err.kind] then fail(where, "unknown kind", err.kind) end
  if type(err.message) ~= "string" then fail(where, "message is", type(err.message)) end
  local s = tostring(err)
  if s:find(KEY, 1, true) then fail(where, "shows the key:", s) end
  for _, k in ipairs({ "code", "request_id" }) do
    if err[k] ~= nil and type(err[k]) ~= "string" then fail(where, k, "is", type(err[k])) end
  end
end

local function check_fields(where, f, need_id)
  if type(f) ~= "table" then fail(where, "fields are", type(f)) end
  if (need_id or f.id ~= nil) and not is_id(f.id) then fail(where, "id is", type(f.id)) end
  for _, k in ipairs({ "raw_status", "status" }) do
    if f[k] ~= nil and type(f[k]) ~= "string" then fail(where, k, "is", type(f[k])) end
  end
  for _, k in ipairs({ "video_url", "last_frame_url" }) do
    if f[k] ~= nil and not http.is_http_url(f[k]) then fail(where, k, "is not http(s):", f[k]) end
  end
end

local clients, ops = {}, {}
for _, p in ipairs(seedance.providers) do
  local c = client_for(p)
  clients[#clients + 1] = c
  local d, list = c.dialect, {}
  if d.get_asset then list[#list + 1] = d.get_asset("a-1") end
  if d.get_task and (d.capabilities or {}).generate then list[#list + 1] = d.get_task("t-1") end
  if d.list_assets then list[#list + 1] = d.list_assets({}, 1) end
  for i, op in ipairs(list) do list[i] = { op = op, req = http.request(c, op) } end
  ops[c] = list
end

local function parse_all(c, body, raw)
  local d = c.dialect
  for _, p in ipairs(PARSERS) do
    local name, shape, class, args = p[1], p[2], p[3], p[4]
    local fn = d[name]
    if fn then
      local where = c.provider .. "." .. name
      local a, b = c:_parse(shape, fn, body, args(c))
      if a == nil then
        check_error(where, b)
      elseif shape == "object" then
        check_fields(where, a, true)
        local obj = class.new(c, a, raw)
        if obj.id ~= a.id then fail(where, "object id differs") end
        tostring(obj)
      elseif shape == "task" or shape == "refresh" then
        check_fields(where, a, false)
        local t = task.new(c, { id = "t-1" }, nil)
        t:_apply(a, raw)
        t:_terminal()
      elseif shape == "list" then
        for i, f in ipairs(a) do
          check_fields(where .. "[" .. i .. "]", f, true)
          tostring(class.new(c, f, f.raw))
        end
        if b ~= nil and type(b) ~= "boolean" then fail(where, "more is", type(b)) end
      elseif shape == "batch" then
        for i, f in ipairs(a) do
          local refused = type(f) == "table" and f.error ~= nil and f.id == nil
          if not refused then check_fields(where .. "[" .. i .. "]", f, true) end
        end
      elseif shape == "outcomes" then
        for i, r in ipairs(a) do
          if r ~= true and type(r) ~= "string" then fail(where .. "[" .. i .. "]", "is", type(r)) end
        end
      end
    end
  end
  for kind, spec in pairs(d.list_pending or {}) do
    if spec.brief then
      local out = {}
      local more, err = c:_parse("brief", spec.brief, body, 1, out)
      if more == nil and err then check_error(c.provider .. ".brief." .. kind, err) end
    end
  end
end

-- the input's length picks the status and the dialect (one dialect an input: six times the
-- inputs a second, and a mutation that changes the length moves the body to another)
return function(bytes)
  local body = json.decode(bytes)
  local status = STATUSES[#bytes % #STATUSES + 1]
  local c = clients[math.floor(#bytes / #STATUSES) % #clients + 1]
  do
    parse_all(c, body == nil and bytes or body, bytes)
    for _, o in ipairs(ops[c]) do
      local r = { status = status, body = bytes, attempts = 1,
                  headers = { ["x-request-id"] = bytes:sub(1, 64), location = "http://elsewhere/" } }
      local got, err = http.response(c, o.op, r, o.req)
      if got == nil then
        check_error(c.provider .. " response " .. status, err)
      elseif type(got) ~= "table" then
        fail(c.provider .. " response " .. status, "gave a body that is", type(got))
      end
    end
  end
end
