--- Sunra dialect (https://sunra.ai): the "Ark Assets API", a thin layer over the upstream
-- asset registry. Two ids per asset: Sunra's record `id` (what every path takes, so it is
-- `asset.id`) and the upstream `ark_asset_id` (what generations take, so `asset.ref` is
-- `asset://<ark_asset_id>`). Statuses and asset types are lowercase words.
--
-- Sunra answers its rate limit with HTTP 403, not 429: every operation asks the engine to
-- retry 403 (`retry_on`), and a 403 left after the retries is `rate_limited`, unless its
-- body plainly speaks of credentials or permissions (then `auth`). The docs show no 403
-- body at all, so the rate limit is the default reading of a 403.
--
-- Paths marked [assumed] in providers.md are plain entries of `endpoints`.
-- @module seedance.providers.sunra
local json = require "seedance.json"
local time = require "seedance.time"

local D = {
  name = "sunra",
  base_url = "https://api.sunra.ai",
  endpoints = {
    upload_asset = "/v1/ark/assets",
    get_asset = "/v1/ark/assets/{id}",
    list_assets = "/v1/ark/assets",
    delete_asset = "/v1/ark/assets/{id}",
  },
  page_size = 100,
  capabilities = { assets = true, list = true, delete = true },
  -- the rate limit's status, retried on every operation (a 403 proves nothing was created)
  retry_on = { 403 },
}

-- its queue docs show `Key <key>`, its asset docs `Bearer <key>`
local SCHEMES = { Bearer = true, Key = true }

--- Refuse an auth scheme Sunra does not take, at seedance.new.
-- @treturn string|nil what is wrong
function D.check_options(opts)
  local s = opts.auth_scheme
  if s ~= nil and not SCHEMES[s] then
    return "auth_scheme must be \"Bearer\" or \"Key\" for sunra, got '" .. tostring(s) .. "'"
  end
  return nil
end

--- The Authorization header, in the configured scheme (default Bearer).
function D.auth(key, _, secrets)
  return { "Authorization: " .. (secrets and secrets.auth_scheme or "Bearer") .. " " .. key }
end

local function lower_word(v)
  v = json.val(v)
  return type(v) == "string" and v:lower() or nil
end

-- a failed record's reason: `error` as {code, message} or a bare string [assumed shape]
local function failure(b)
  local e = json.val(b.error)
  if type(e) == "table" then
    return { code = json.str(json.val(e.code)), message = json.val(e.message) }
  end
  local msg = type(e) == "string" and e or json.val(b.error_message)
  local code = json.str(json.val(b.error_code))
  if msg or code then return { code = code, message = msg } end
  return nil
end

--- Normalized asset fields from a Sunra asset record.
function D.parse_asset(b)
  local ark = json.str(b.ark_asset_id)
  local ark_url, source = json.val(b.ark_url), json.val(b.source_url)
  local raw = json.val(b.status)
  return {
    id = json.str(b.id),
    ark_asset_id = ark,
    ref = ark and ("asset://" .. ark) or nil,
    raw_status = raw,
    type = lower_word(b.asset_type),
    name = json.val(b.name),
    url = ark_url or source,
    source_url = source,
    ark_url = ark_url,
    error = (type(raw) == "string" and raw:lower() == "failed") and failure(b) or nil,
    created_at = time.parse(json.val(b.created_at)),
  }
end

--- POST /v1/ark/assets {source_url, name?, asset_type?}.
function D.upload_asset(a)
  return { endpoint = "upload_asset", method = "POST", create = true, retry_on = D.retry_on,
           body = { source_url = a.url, name = a.name, asset_type = a.type } }
end

--- GET /v1/ark/assets/{id} (Sunra refreshes the record from upstream).
function D.get_asset(id)
  return { endpoint = "get_asset", method = "GET", params = { id = id }, idempotent = true,
           retry_on = D.retry_on }
end

--- GET /v1/ark/assets?status=&page=&page_size=. Sunra filters by one status word; a
-- list of several is sent as given and refused there.
function D.list_assets(args, page)
  local st = args.status
  if type(st) == "table" then st = table.concat(st, ",") end
  return { endpoint = "list_assets", method = "GET", idempotent = true, retry_on = D.retry_on,
           query = { status = st, page = page, page_size = args.page_size or D.page_size } }
end

--- Items of one page and whether another page follows.
function D.parse_list(b, page)
  local items = {}
  for i, raw in ipairs(json.val(b.items) or {}) do
    items[i] = D.parse_asset(raw)
    items[i].raw = raw
  end
  local total = json.num(b.total) or 0
  local size = json.num(b.page_size) or D.page_size
  return items, (#items > 0 and page * size < total)
end

--- DELETE /v1/ark/assets/{id}: a soft delete, Sunra forgets the record while the
-- upstream registration stays.
function D.delete_asset(id)
  return { endpoint = "delete_asset", method = "DELETE", params = { id = id }, idempotent = true,
           retry_on = D.retry_on, empty_ok = true }
end

local RATE_WORDS = { "rate limit", "rate_limit", "ratelimit", "too many", "throttl", "slow down" }
local AUTH_WORDS = { "api key", "api_key", "apikey", "unauthor", "forbidden", "permission",
                     "credential", "access denied", "not allowed", "invalid key", "invalid token" }

local function mentions(s, words)
  for _, w in ipairs(words) do
    if s:find(w, 1, true) then return true end
  end
  return false
end

--- 403 is Sunra's rate limit (see the module comment); the rest follows the status.
function D.error_kind(status, _, message, code)
  if status ~= 403 then return nil end
  local s = ((type(code) == "string" and code or "") .. " " .. (type(message) == "string" and message or "")):lower()
  if mentions(s, RATE_WORDS) then return "rate_limited" end
  if mentions(s, AUTH_WORDS) then return "auth" end
  return "rate_limited"
end

--- Prompt token: `@Image1`, `@Video1`, `@Audio1` (position within the type's list).
function D.token(kind, n)
  return "@" .. kind:sub(1, 1):upper() .. kind:sub(2) .. n
end

return D
