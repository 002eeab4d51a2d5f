--- The `content[]` checker: a generation's text and media items, checked by the upstream's
-- rules (Ark's data plane), which AnyFast and OrcaRouter check again before passing them on,
-- each in its own words and codes, in its own order. A twin declares its `rules`:
--
--     items    content.items(), adapted to the service
--     steps    the checks on each item in the service's order: names of STEPS, or functions
--              of the context `c` (its own checks); a media step skips the other items
--     words    rule -> message, with {placeholders} of the context (i: 1-based index, n:
--              0-based, t: type, kind, Kind, role, id, status, got, max, prev_kind); `fields`
--              and `holder`: T.check words for an item's fields and its media object's. A
--              rule without words is not checked (but for the ones every service has)
--     refuse   fn(rule, message, param): ends the request in the service's way (T.refuse)
--     urls     the URL patterns taken beside asset://<id>
--     typed    fields have JSON types, and null is absent; `nonempty_items`: {} is no item;
--              `nonempty_text`; `limits_last`: the limits per type are checked after all items
-- @module seedance.emulator.content

local T = require "seedance.emulator.twin"

local C = {}

--- The upstream's item types (a fresh table): text first, then images, videos, audios (rank),
-- with their roles and limits.
function C.items()
  return {
    text = {rank = 0},
    image_url = {rank = 1, kind = "image", max = 9, roles = {reference_image = true, first_frame = true,
                                                             last_frame = true}},
    video_url = {rank = 2, kind = "video", max = 3, roles = {reference_video = true}},
    audio_url = {rank = 3, kind = "audio", max = 3, roles = {reference_audio = true}},
  }
end

local function fill(c, w)
  return (w:gsub("{([%a_]+)}", function(k) return tostring(c[k]) end))
end

-- refuses with the words of `rule` (or `msg`)
local function say(c, rule, param, msg)
  c.rules.refuse(rule, fill(c, msg or c.words[rule]), param)
end

-- refuses `t` unless it fits `schema`, in T.check `words` (placeholders filled)
local function fit(c, t, schema, words, param)
  if not words then return end
  local filled = {}
  for rule, w in pairs(words) do filled[rule] = fill(c, w) end
  local msg, _, field = T.check(t, schema, filled)
  if msg then c.rules.refuse("fields", msg, param .. field) end
end

local HOLDER, TYPED_HOLDER = {{"url"}}, {nulls = true, {"url", "string"}}

-- an item's own fields: its type, its text or media object, and a media item's role
local function item_schema(c)
  local rules, t, typed = c.rules, c.t, c.rules.typed
  rules.schemas = rules.schemas or {}
  if not rules.schemas[t] then
    local own = t == "text" and "string" or (typed and "object" or nil)
    rules.schemas[t] = {nulls = typed, {"type"}, {t, own}, c.kind and {"role", typed and "string" or nil} or nil}
  end
  return rules.schemas[t]
end

local STEPS, MEDIA_STEP = {}, {holder = true, url = true, scheme = true, role = true, asset = true, limit = true}

function STEPS.object(c)
  if not T.is_object(c.it) or (c.rules.nonempty_items and next(c.it) == nil) then say(c, "object", "content") end
end

function STEPS.type(c)
  c.t = c.it.type
  if not T.present(c.t) and c.words.type_missing then say(c, "type_missing", "content.type") end
  c.spec = c.rules.items[c.t] or say(c, "type", "content.type")
  if c.spec.refused then say(c, "type", "content.type", c.spec.refused) end
  c.kind, c.Kind = c.spec.kind, T.TYPE[c.spec.kind]
end

function STEPS.fields(c)
  fit(c, c.it, item_schema(c), c.t == "text" and c.words.fields_text or c.words.fields, "content.")
end

function STEPS.order(c)
  if c.t == "text" and c.i > 1 then say(c, c.words.text_first and "text_first" or "order", "content") end
  if c.spec.rank < c.rank then say(c, "order", "content") end
end

function STEPS.text(c)
  if c.t ~= "text" then return end
  local text = c.it.text
  if type(text) ~= "string" or (text == "" and c.rules.nonempty_text) then say(c, "text", "content.text") end
  c.out.text = text
end

-- the media object: there, and its fields
function STEPS.holder(c)
  if c.it[c.t] == nil and c.words.holder_missing then say(c, "holder_missing", "content." .. c.t) end
  fit(c, c.it[c.t], c.rules.typed and TYPED_HOLDER or HOLDER, c.words.holder, "content." .. c.t .. ".")
end

function STEPS.url(c)
  local u = T.is_object(c.it[c.t]) and c.it[c.t].url
  if type(u) ~= "string" or u == "" then say(c, "url", "content." .. c.t .. ".url") end
  c.url, c.id = u, u:match("^asset://(.+)$")
end

function STEPS.scheme(c)
  if c.id then return end
  for _, pattern in ipairs(c.spec.urls or c.rules.urls) do
    if c.url:find(pattern) then return end
  end
  say(c, "scheme", "content." .. c.t .. ".url")
end

function STEPS.role(c)
  c.role = c.it.role
  if c.role == nil and c.words.role_missing then
    -- an image may go without: a lone one is a first frame (see across)
    if not c.spec.roles.first_frame then say(c, "role_missing", "content.role") end
  elseif not c.spec.roles[c.role] then
    say(c, "role", "content.role")
  end
end

-- an asset://<id>: an asset of this account (of `owner`, when given), Active, of the item's type
function STEPS.asset(c)
  if not c.id then return end
  local a, param = c.state.assets[c.id], "content." .. c.t .. ".url"
  if not a or (c.owner and a.owner ~= c.owner) then say(c, "asset_missing", param) end
  local st = T.asset_status(a, c.now)
  c.status, c.got = T.STATUS[st], a.asset_type
  if st ~= "active" then say(c, "asset_status", param) end
  if c.words.asset_type and a.asset_type ~= c.Kind then say(c, "asset_type", param) end
end

function STEPS.limit(c)
  c.max = c.spec.max
  if c.count[c.t] >= c.max then say(c, "limit", "content") end
end

-- The rules across items: roles (frames against references), counts, audio's company.
local function across(c)
  local count, media, roles = c.count, c.out.media, {}
  for _, m in ipairs(media) do
    -- a lone image without a role is a first frame, as in image-to-video (only Ark lets it go)
    if m.role == nil then
      if count.image_url > 1 or count.video_url + count.audio_url > 0 then say(c, "role_lone", "content.role") end
      m.role = "first_frame"
    end
    roles[m.role] = (roles[m.role] or 0) + 1
  end
  local first, last = roles.first_frame or 0, roles.last_frame or 0
  if first + last > 0 and first + last < #media then say(c, "mixed", "content.role") end
  if first > 1 or last > 1 then say(c, "one_each", "content.role") end
  if last > 0 and first == 0 then say(c, "last_alone", "content.role") end
  for _, t in ipairs(c.rules.limits_last and {"image_url", "video_url", "audio_url"} or {}) do
    c.kind, c.max = c.rules.items[t].kind, c.rules.items[t].max
    if count[t] > c.max then say(c, "limit", "content") end
  end
  if c.words.total and #media > 12 then say(c, "total", "content") end
  if count.audio_url > 0 and count.image_url + count.video_url == 0 then say(c, "audio", "content") end
end

--- Checks a request's content[] by a service's `rules`, refusing (T.refuse) as it does.
-- @param rules see above
-- @param list the content[] as decoded
-- @param state the twin's state (its assets)
-- @param now
-- @param[opt] owner the key whose assets asset:// may name (default: any of the account's)
-- @treturn table `{text =, media = {{kind, url, role}, ...}}` (a lone image's role: first_frame)
function C.check(rules, list, state, now, owner)
  local c = {rules = rules, words = rules.words, state = state, now = now, owner = owner, list = list,
             rank = 0, count = {}, out = {media = {}}}
  if c.words.list and not T.is_array(list) then say(c, "list", "content") end
  if c.words.empty and #list == 0 then say(c, "empty", "content") end
  for t in pairs(rules.items) do c.count[t] = 0 end
  for i, it in ipairs(list) do
    c.i, c.n, c.it, c.kind, c.url, c.id = i, i - 1, it, nil, nil, nil
    for _, step in ipairs(rules.steps) do
      if type(step) == "function" then
        step(c)
      elseif c.kind or not MEDIA_STEP[step] then
        STEPS[step](c)
      end
    end
    c.rank, c.prev_kind, c.count[c.t] = c.spec.rank, c.kind, c.count[c.t] + 1
    if c.kind then c.out.media[#c.out.media + 1] = {kind = c.kind, url = c.url, role = it.role} end
  end
  across(c)
  return c.out
end

return C
