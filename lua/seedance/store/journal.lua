--- The journal's keys and its one rule: what a client records in its store (see
-- seedance.store: SQLite at a path, Redis at a redis:// URL) around every paid create.
-- An entry is written *before* a create (intent) and completed with the id right after;
-- an intent without an id on a rerun means the outcome is unknown, and the client looks up
-- what exists before creating again. No secret is ever written there.
-- @module seedance.store.journal
local core = require "seedance.core"

local M = {}

--- Open the store at `spec` for a client (seedance.store.open).
function M.open(spec, opts)
  return require("seedance.store").open(spec, opts)
end

--- How long a claim on a create lasts: long enough for any create (every retry and
-- backoff), short enough that a crashed worker's share is taken up soon after.
-- @tparam seedance.Client client
-- @treturn number seconds
function M.lease(client)
  return math.max(60, client.timeout * 4)
end

--- A pause that is a wait like any other: it yields inside seedance.run and under nginx,
-- and the client's other transfers and polls go on meanwhile.
-- @tparam seedance.Client client
-- @tparam number seconds
local function pause(client, seconds)
  local woke = false
  client.engine:after(seconds, function() woke = true end)
  require("seedance.runtime.block").until_done({ client.engine }, function() return woke end, core.now() + seconds + 1)
end

--- Create the thing recorded under `key` at most once across every process sharing the
-- client's store. `resolve(entry)` says what an entry found there stands for: the object
-- (created before, by anyone), false (nothing: gone), or nil and an error (an intent whose
-- outcome is unknown, a store failure). The create runs under a claim on `key` (a lease),
-- so when two workers ask for the same key at once, one creates and the other waits for
-- its record and gets the same object; a worker killed mid-create leaves a lease that runs
-- out, and then `resolve` decides (an intent without an id is never created again blindly).
-- With `intent`, the claim and the intent are one durable write: `create(true)` is then
-- called with the intent already recorded (else `create(false)` records its own); a create
-- that ends its claim with its id (`put(key, entry, true)`) saves the release.
-- @tparam seedance.Client client (with a journal)
-- @tparam string key
-- @tparam function resolve
-- @tparam function create called with the claim held; returns what the caller returns
-- @tparam[opt] table intent the entry to record before the create, when there is none
-- @return what resolve or create returns
function M.once(client, key, resolve, create, intent)
  local j = client.journal
  local e, gerr = j:get(key)
  if e == nil then return client:_journal_error(gerr) end
  if e and e.id then
    local found, err = resolve(e)
    if found ~= false then return found, err end -- else: gone (deleted, failed), create anew
  end
  local lease = M.lease(client)
  local deadline = core.now() + lease + 10
  local wait = 0.02
  while true do
    local got, cur = j:claim_entry(key, lease, intent)
    if got == nil then return client:_journal_error(cur) end
    if got then
      if cur then
        local found, err = resolve(cur)
        if found ~= false then
          j:release(key)
          return found, err
        end
      end
      local a, b = create(intent ~= nil and cur == false)
      j:release(key)
      return a, b
    end
    if core.now() > deadline then
      return nil, client:_error({ kind = "conflict", code = "claimed", retryable = true,
        message = "another worker (" .. tostring(cur) .. ") is creating this and has not finished" })
    end
    pause(client, wait)
    wait = math.min(wait * 2, 0.5)
    e, gerr = j:get(key)
    if e == nil then return client:_journal_error(gerr) end
    if e and e.id then
      local found, err = resolve(e)
      if found ~= false then return found, err end
    end
  end
end

M.pause = pause

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
  -- settings that make another video; only when set, so keys made before them stay the same
  for _, k in ipairs({ "draft", "draft_task", "frames", "service_tier" }) do
    if g[k] ~= nil then parts[#parts + 1] = k .. "=" .. tostring(g[k]) end
  end
  return provider .. "\ntask\nderived:" .. core.sha256_hex(table.concat(parts, "\n"))
end

--- True when a failed create provably did nothing at the server (so no entry need stay):
-- the one safety policy (src/safety.c), which the engine's retries follow too.
function M.definite(err)
  local s = err.status
  -- a success status whose body we could not read: the server may well have acted
  if s and s < 400 then return false end
  return (core.safety(s, err.request_sent ~= false))
end

return M
