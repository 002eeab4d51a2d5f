--- The journal's keys and its one rule: what a client records in its store (see
-- seedance.store: SQLite at a path, Redis at a redis:// URL) around every paid create.
-- An entry is written *before* a create (intent) and completed with the id right after;
-- an intent without an id on a rerun means the outcome is unknown, and the client looks up
-- what exists before creating again. No secret is ever written there.
-- @module seedance.journal
local core = require "seedance.core"

local M = {}

--- Open the store at `spec` for a client (seedance.store.open).
function M.open(spec, opts)
  return require("seedance.store").open(spec, opts)
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
