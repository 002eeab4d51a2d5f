--- The production ledger: every shot's state, task ids, attempts, costs and prompt as sent,
-- kept in the client's store (`seedance.new{journal = ...}` / `store = ...`), so a rerun of
-- the same production continues where it stands and several workers can share one.
-- All persistence of a production goes through here: the store is the client's, this
-- module only names the records (`production\n<name>\n<what>`) and keeps the shape.
-- Without a store the ledger lives in memory: a run still works, but nothing survives it.
-- @module seedance.production.ledger
local core = require "seedance.core"

local M = {}
local L = {}
L.__index = L

local KIND = "production"

--- The ledger of production `name` on `client`'s store.
-- @tparam seedance.Client client
-- @tparam string name the production's name (its namespace in the store)
function M.new(client, name)
  -- the client's store is read through its public behaviour only: get/put (and claim,
  -- release where the store offers claims); any store with those works
  local store = client.journal
  return setmetatable({ store = store, provider = client.provider, name = name, memory = {} }, L)
end

--- Whether what the ledger records outlives this process.
function L:durable()
  return self.store ~= nil
end

local function key(self, what)
  return KIND .. "\n" .. self.name .. "\n" .. what
end

--- The record `what` (a shot key, or "cast:<member>"), or nil.
function L:get(what)
  if not self.store then return self.memory[what] end
  local e = self.store:get(key(self, what))
  if type(e) ~= "table" then return nil end
  return e.record
end

--- Record `rec` under `what`. Returns true, or nil and a message (the store could not be
-- written: the caller must not pay for anything it could not record).
function L:put(what, rec)
  if not self.store then
    self.memory[what] = rec
    return true
  end
  return self.store:put(key(self, what), { kind = KIND, provider = self.provider, at = core.time(),
                                           production = self.name, record = rec })
end

--- Claim `what` for this worker for `lease` seconds: true, or false and who holds it.
-- A store without claims (the JSON journal) has one worker: every claim succeeds.
function L:claim(what, lease)
  local s = self.store
  if not (s and s.claim) then return true end
  local got, holder = s:claim(key(self, "claim:" .. what), lease)
  if got == nil and holder then return nil, holder end
  return got and true or false, holder
end

--- Let go of a claim taken with `claim`.
function L:release(what)
  local s = self.store
  if s and s.release then s:release(key(self, "claim:" .. what)) end
end

--- Whether the store lets several workers split a production (it has claims).
function L:shared()
  return self.store ~= nil and self.store.claim ~= nil
end

return M
