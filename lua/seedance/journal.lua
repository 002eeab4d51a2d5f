--- The journal: a durable record of every asset and task a client created, so a rerun of
-- the same workflow after a crash reuses what exists and never pays twice.
-- The file is one JSON document replaced whole on every change (write to "<path>.tmp",
-- fsync, rename: see src/durable.c), so a crash leaves the old or the new version, never
-- a torn one. An entry is written *before* a create (intent) and completed with the id
-- right after; an intent without an id on a rerun means the outcome is unknown, and the
-- client looks up what exists before creating again. No secret is ever written here.
-- @module seedance.journal
local core = require "seedance.core"
local json = require "seedance.json"

local M = {}
local J = {}
J.__index = J

local FORMAT = 1

--- Open (or start) the journal at `path`. Raises when the file exists but is not a journal:
-- it is left untouched, since it may hold the only record of paid work.
function M.open(path)
  local f = io.open(path, "rb")
  local entries = {}
  if f then
    local text = f:read("*a")
    f:close()
    if text ~= "" then
      local doc = json.decode(text)
      if type(doc) ~= "table" or doc.seedance_journal ~= FORMAT or type(doc.entries) ~= "table" then
        error("seedance.new: journal '" .. path
              .. "' is not a seedance journal (left as it is; move it away to start afresh)", 3)
      end
      for k, v in pairs(doc.entries) do
        if type(v) == "table" then entries[k] = v end
      end
    end
  end
  return setmetatable({ path = path, entries = entries }, J)
end

function J:_save()
  local doc = { seedance_journal = FORMAT, entries = next(self.entries) and self.entries or json.array({}) }
  local ok, err = core.write_durable(self.path, json.encode(doc))
  if not ok then return nil, err end
  return true
end

--- The entry under `key`, or nil.
function J:get(key)
  return self.entries[key]
end

--- Set several entries at once (one durable write); a nil value removes.
-- @return true, or nil and a message
function J:put_many(t)
  for k, v in pairs(t) do
    if v == false then self.entries[k] = nil else self.entries[k] = v end
  end
  return self:_save()
end

--- Set one entry (false removes it).
function J:put(key, entry)
  return self:put_many({ [key] = entry })
end

--- Entries of one kind for one provider.
function J:list(kind, provider)
  local out = {}
  for k, e in pairs(self.entries) do
    if e.kind == kind and e.provider == provider then out[#out + 1] = { key = k, entry = e } end
  end
  table.sort(out, function(a, b) return (a.entry.at or 0) < (b.entry.at or 0) end)
  return out
end

--- The key of an asset: same provider, URL, name and group mean the same registration.
function M.asset_key(provider, a)
  return table.concat({ provider, "asset", a.url or a.file or "", a.name or "", a.group or "" }, "\n")
end

--- The key of a generation: the caller's key, or one derived from everything it sends.
function M.task_key(provider, g)
  if g.key then return provider .. "\ntask\n" .. g.key end
  local parts = { provider, g.model or "", g.prompt or "" }
  for _, list in ipairs({ g.images or {}, g.videos or {}, g.audios or {} }) do
    for _, m in ipairs(list) do parts[#parts + 1] = m.url or "" end
  end
  for _, k in ipairs({ "first_frame", "last_frame" }) do parts[#parts + 1] = g[k] and g[k].url or "" end
  for _, k in ipairs({ "resolution", "ratio", "duration", "audio", "seed", "watermark" }) do
    parts[#parts + 1] = tostring(g[k])
  end
  return provider .. "\ntask\nderived:" .. core.sha256_hex(table.concat(parts, "\n"))
end

--- True when a failed create provably did nothing at the server (so no entry need stay).
function M.definite(err)
  if err.request_sent == false then return true end
  local s = err.status
  -- no status, or a success status whose body we could not read: the server may have acted
  if not s or s < 400 then return false end
  if s == 503 or s == 455 or s == 429 then return true end
  return s < 500 and s ~= 408
end

return M
