--- A production's cast: each member (a face, an outfit, a place, a voice) with one or
-- several references, registered once per store (the client's journal reuses an asset
-- registered before from the same URL and name, on any run or worker), in one group per
-- member where the service has groups, and waited for concurrently with the shots.
-- @module seedance.production.cast
local media_types = require "seedance.media.types"

local M = {}

local MEDIA = { "image", "video", "audio" }
local FIELDS = { image = true, video = true, audio = true, describe = true }

--- Check and normalize one member definition; raises on misuse, naming the member.
-- @return {name=, refs = {{url=, type=}, ...}, describe=}
function M.member(name, def, who)
  if type(name) ~= "string" or not name:match("^[%a_][%w_%-]*$") then
    error(who .. ": cast names must be identifiers (letters, digits, _ and -), got '" .. tostring(name) .. "'", 3)
  end
  if type(def) == "string" then def = { image = def } end
  if type(def) ~= "table" then error(who .. ": cast member '" .. name .. "' must be a table {image=, ...}", 3) end
  for k in pairs(def) do
    if not FIELDS[k] then error(who .. ": cast member '" .. name .. "': unknown field '" .. tostring(k) .. "'", 3) end
  end
  if def.describe ~= nil and type(def.describe) ~= "string" then
    error(who .. ": cast member '" .. name .. "': 'describe' must be a string", 3)
  end
  local m = { name = name, refs = {}, describe = def.describe }
  for _, kind in ipairs(MEDIA) do
    local v = def[kind]
    if type(v) == "string" then v = { v } end
    if v ~= nil and type(v) ~= "table" then
      error(who .. ": cast member '" .. name .. "': '" .. kind .. "' must be a URL or a list of URLs", 3)
    end
    for _, u in ipairs(v or {}) do
      if type(u) ~= "string" or u == "" then
        error(who .. ": cast member '" .. name .. "': '" .. kind .. "' must hold URLs", 3)
      end
      local t = media_types.of(u)
      if t and t ~= kind then
        error(("%s: cast member '%s': %s looks like a%s %s, not a%s %s"):format(who, name, u,
          t == "image" and "n" or "", t, kind == "image" and "n" or "", kind), 3)
      end
      m.refs[#m.refs + 1] = { url = u, type = kind }
    end
  end
  if #m.refs == 0 then error(who .. ": cast member '" .. name .. "' has no image, video or audio", 3) end
  return m
end

-- the group of a member, where the service has groups: made once, its id kept in the ledger
local function group_of(prod, ledger, name)
  local client = prod.client
  if not client.dialect.capabilities.groups then return nil end
  local rec = ledger:get("cast:" .. name)
  if rec and rec.group then return rec.group end
  local g, err = client:create_group({ name = (prod.name .. "-" .. name):sub(1, 64),
                                      description = "seedance production " .. prod.name })
  if not g then return nil, err end
  local ok, werr = ledger:put("cast:" .. name, { group = g.id })
  if not ok then return nil, werr end
  return g.id
end

--- Register the members named in `names` (each once): returns a table name ->
-- {assets = {...}, status = "processing" | "active" | "failed", error =}. The assets are
-- left to be waited for with the shots (see `settle`).
function M.register(prod, ledger, names)
  local client = prod.client
  local state, uploads, owners = {}, {}, {}
  for _, name in ipairs(names) do
    local m = prod.members[name]
    local st = { name = name, assets = {}, status = "processing" }
    state[name] = st
    local group, gerr = group_of(prod, ledger, name)
    if gerr then
      st.status, st.error = "failed", gerr
    else
      for i, r in ipairs(m.refs) do
        uploads[#uploads + 1] = { url = r.url, type = r.type, group = group,
                                  name = i == 1 and name or (name .. "-" .. i) }
        owners[#uploads] = { st = st, index = i }
      end
    end
  end
  if #uploads > 0 then
    local assets, err = client:upload_many(uploads)
    for i, o in ipairs(owners) do
      local a = assets and assets[i]
      if not assets or require("seedance").is_error(a) then
        o.st.status, o.st.error = "failed", o.st.error or (assets and a) or err
      else
        o.st.assets[o.index] = a
      end
    end
  end
  for _, name in ipairs(names) do M.settle(state[name]) end
  return state
end

--- Bring a member's status up to date from its assets: failed as soon as one failed,
-- active once all are. Returns true when the status changed.
function M.settle(st)
  if st.status ~= "processing" then return false end
  local all = true
  for _, a in ipairs(st.assets) do
    if a.status == "failed" then
      st.status = "failed"
      st.error = st.error or a.error
      return true
    end
    if a.status ~= "active" then all = false end
  end
  if all then
    st.status = "active"
    return true
  end
  return false
end

--- The assets of a member still processing (to wait for).
function M.pending(st)
  local out = {}
  if st.status == "processing" then
    for _, a in ipairs(st.assets) do
      if a.status ~= "active" and a.status ~= "failed" then out[#out + 1] = a end
    end
  end
  return out
end

--- A member's references as a shot's refs take them: in a run its assets; in a dry run
-- its URLs.
function M.refs(prod, name, st)
  if st then return st.assets end
  local out = {}
  for i, r in ipairs(prod.members[name].refs) do out[i] = { url = r.url, type = r.type } end
  return out
end

return M
