--- Prompt templating: `{{name}}` placeholders become the provider's reference tokens
-- (`[Image 1]`, `[Image1]`, `@Image1`, `@image1`, `Image 1`), media numbered per type in
-- first-mention order, and the media lists the request carries, ordered images, videos,
-- audios. Everything that the services would reject is caught here, before any request.
-- @module seedance.render
local errors = require "seedance.error"
local registry = require "seedance.providers"
local media_types = require "seedance.media.types"
local asset_mod = require "seedance.model.asset"

local M = {}

M.LIMITS = { image = 9, video = 3, audio = 3, total = 12 }
local PLURAL = { image = "images", video = "videos", audio = "audios" }
local TYPES = { image = true, video = true, audio = true }

--- The upstream notation, used when a dialect does not define its own `token`.
function M.default_token(kind, n)
  return "[" .. kind:sub(1, 1):upper() .. kind:sub(2) .. " " .. n .. "]"
end

local function invalid(provider, msg)
  return nil, errors.new({ kind = "validation", provider = provider, message = msg })
end

-- the URLs a media reference may have (an asset's is asset://)
local function is_url(s)
  return s:match("^https?://[^/?#]") or s:match("^data:")
end

-- the upstream's asset ids look like "asset-20260318071009-xy98z"; any one word that
-- begins "asset-" is taken for one (a text like it would be a costly typo)
local function upstream_id(s)
  return s:match("^asset%-%w[%w%-_]*$") ~= nil
end

--- Whether a string is one of the forms a user holds for an asset: "asset://<id>" (form
-- "ref"), the upstream's asset id, or an asset id of the service's own (form "id", for a
-- dialect whose `is_asset_id` says so: Sunra's record ids). Such a string is never text.
-- @return "ref" or "id" and the id, or nil
function M.asset_form(s, dialect)
  if type(s) ~= "string" then return nil end
  if s:sub(1, 8) == "asset://" then return "ref", s:sub(9) end
  if upstream_id(s) or (dialect and dialect.is_asset_id and dialect.is_asset_id(s)) then return "id", s end
  return nil
end

-- how to give an asset reference's type, for the message that refuses to guess it
local TYPE_HINT = 'give its type: {url = "%s", type = "image"|"video"|"audio"}, or pass the Asset object'

local function unknown_type(name, shown, why)
  return nil, ("reference '%s' is asset %s, whose media type %s; " .. TYPE_HINT)
    :format(name, shown, why or "is not known here", shown), "reference_type"
end

-- an Asset object: its ref and type, once active
local function from_asset(name, a, ctx, want)
  if a.status ~= "active" then
    return nil, ("reference '%s' is asset %s, which is %s, not active")
      :format(name, tostring(a.id), tostring(a.status))
  end
  if type(a.ref) ~= "string" then
    return nil, ("reference '%s': asset %s carries no asset:// reference"):format(name, tostring(a.id))
  end
  local t = a.type
  if not TYPES[t or ""] then
    if want then return { type = want, url = a.ref, asset = a } end
    if ctx.resolve and not ctx.looked_up then
      -- its record may say what this object does not know yet: ask once
      local found, err = ctx.resolve("id", a.id)
      if found then return from_asset(name, found, { looked_up = true }) end
      if err then return nil, err end
    end
    return unknown_type(name, a.ref)
  end
  if want and want ~= t then
    return nil, ("reference '%s' is a%s %s asset, not %s"):format(name, t == "image" and "n" or "", t, want)
  end
  return { type = t, url = a.ref, asset = a }
end

-- "asset://<id>" or an asset id, with its type when the caller gave one: what it stands for
-- (looked up once through ctx.resolve where the type is not given or the id is the
-- service's own), never text
local function from_form(name, form, id, want, ctx)
  if id == "" then return nil, ("reference '%s': 'asset://' names no asset"):format(name) end
  local ref = "asset://" .. id
  local own = form == "id" and not upstream_id(id) -- a service's own id (Sunra) is not the ref's
  if want and not own then return { type = want, url = ref } end
  if not ctx.resolve then
    if own then
      return nil, ("reference '%s' is %s's asset id %s: pass the Asset object, or generate through a client, "
                   .. "which looks it up"):format(name, tostring(ctx.provider), id), "reference_type"
    end
    return unknown_type(name, ref, "cannot be told without asking " .. (ctx.provider or "the service"))
  end
  local a, err = ctx.resolve(form, id)
  if a then return from_asset(name, a, { looked_up = true }, want) end
  if err then return nil, err end
  return unknown_type(name, ref, "cannot be looked up on " .. tostring(ctx.provider))
end

-- What a reference value is: media {type=, url=, asset=} or text; nil + message (and a
-- code) or nil + seedance.Error (a lookup failed) if neither.
local function classify(name, v, ctx)
  local tv = type(v)
  if asset_mod.is(v) then return from_asset(name, v, ctx) end
  if tv == "table" and v.url ~= nil then
    if type(v.url) ~= "string" then return nil, ("reference '%s': url must be a string"):format(name) end
    if v.type ~= nil and not TYPES[v.type] then
      return nil, ("reference '%s': type must be image, video or audio"):format(name)
    end
    local form, id = M.asset_form(v.url, ctx.dialect)
    if form then return from_form(name, form, id, v.type, ctx) end
    if not is_url(v.url) then
      return nil, ("reference '%s': url %s is neither http(s)://, data: nor asset://"):format(name, v.url)
    end
    local t = v.type or media_types.of(v.url)
    if not TYPES[t or ""] then
      return nil, ("reference '%s': type must be image, video or audio"):format(name)
    end
    return { type = t, url = v.url }
  elseif tv == "string" then
    local form, id = M.asset_form(v, ctx.dialect)
    if form then return from_form(name, form, id, nil, ctx) end
    if is_url(v) then
      local t = media_types.of(v)
      if not t then
        return nil, ("reference '%s': cannot tell the media type of %s; pass {url=, type=}"):format(name, v)
      end
      return { type = t, url = v }
    end
    return { text = v }
  elseif tv == "number" then
    return { text = tostring(v) }
  end
  error(("seedance.render: reference '%s' must be an asset, a URL, {url=, type=} or text"):format(name), 4)
end

--- One reference value as media ({type=, url=, asset=}) or text ({text=}), by the rules of
-- M.render (a first or last frame goes through here too).
-- @tparam string name what the caller calls it (for messages)
-- @param v the value
-- @tparam table ctx {dialect=, provider=, resolve=function(form, id) -> Asset | nil, err}
-- @return the classification, or nil and a message (and a code) or a seedance.Error
function M.reference(name, v, ctx)
  return classify(name, v, ctx)
end

-- Templating: `{{> partial}}` pieces and `{{name | filter | ...}}` chains, expanded to
-- text before references are rendered. A filtered placeholder always renders as text.
-- `mentions` (optional) collects the names filter chains start from.
local BUILTIN = {
  describe = function(_, name, ctx)
    local d = ctx.descriptions and ctx.descriptions[name]
    if type(d) ~= "string" then return nil, ("{{%s | describe}}: '%s' has no description"):format(name, name) end
    return d
  end,
  name = function(_, name) return name end,
}
local MAX_PARTIAL_DEPTH = 8
local TEMPLATE_OPTS = { filters = true, partials = true, descriptions = true }

local function check_template_opts(opts, who)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(who .. ": options must be a table", 3) end
  for k, v in pairs(opts) do
    if not TEMPLATE_OPTS[k] then error(who .. ": unknown option '" .. tostring(k) .. "'", 3) end
    if type(v) ~= "table" then error(who .. ": '" .. k .. "' must be a table", 3) end
  end
  for k, f in pairs(opts.filters or {}) do
    if type(k) ~= "string" or type(f) ~= "function" then
      error(who .. ": filters must map names to functions ('" .. tostring(k) .. "')", 3)
    end
  end
  for k, v in pairs(opts.partials or {}) do
    if type(k) ~= "string" or type(v) ~= "string" then
      error(who .. ": partials must map names to strings ('" .. tostring(k) .. "')", 3)
    end
  end
  return opts
end

-- One `{{...}}` body: a partial (`> name`), a plain name (left for the reference
-- renderer), or a filter chain, which becomes text. Returns the replacement, or nil + why.
local function expand_one(body, opts, texts, depth, mentions)
  local partial = body:match("^>%s*(.-)%s*$")
  if partial then
    if depth >= MAX_PARTIAL_DEPTH then return nil, ("{{> %s}}: partials nested too deep (a cycle?)"):format(partial) end
    local text = opts.partials and opts.partials[partial]
    if not text then return nil, ("unknown partial {{> %s}}"):format(partial) end
    return M._expand(text, opts, texts, depth + 1, mentions)
  end
  if not body:find("|", 1, true) then
    if not body:match("^[%w_%.%-]+$") then return nil, ("bad placeholder {{%s}}"):format(body) end
    return "{{" .. body .. "}}"
  end
  local parts = {}
  for piece in (body .. "|"):gmatch("(.-)|") do parts[#parts + 1] = piece:match("^%s*(.-)%s*$") end
  local name = parts[1]
  if not name:match("^[%w_%.%-]+$") then return nil, ("bad placeholder {{%s}}"):format(body) end
  if mentions then mentions[name] = true end
  -- the chain starts from a text reference's value, or from the reference's name
  local value = texts and texts[name] or name
  for i = 2, #parts do
    local fname = parts[i]
    local f = opts.filters and opts.filters[fname] or BUILTIN[fname]
    if fname == "" then return nil, ("bad placeholder {{%s}}: empty filter"):format(body) end
    if not f then return nil, ("unknown filter '%s' in {{%s}}"):format(fname, body) end
    local ok, out, why = pcall(f, value, name, opts)
    if not ok then return nil, ("filter '%s' in {{%s}} failed: %s"):format(fname, body, tostring(out)) end
    if out == nil and why then return nil, tostring(why) end
    if type(out) ~= "string" and type(out) ~= "number" then
      return nil, ("filter '%s' in {{%s}} returned %s, not text"):format(fname, body, type(out))
    end
    value = tostring(out)
  end
  return value
end

function M._expand(template, opts, texts, depth, mentions)
  local problem
  local out = template:gsub("{{%s*([^{}]-)%s*}}", function(body)
    if problem then return "" end
    local r, why = expand_one(body, opts, texts, depth, mentions)
    if not r then problem = why return "" end
    return r
  end)
  if problem then return nil, problem end
  if depth == 0 then
    local rest = out:gsub("{{%s*[^{}]-%s*}}", "")
    if rest:find("{{", 1, true) then return nil, "unclosed placeholder: '{{' without '}}'" end
  end
  return out
end

--- Expand a template's partials and filters, leaving plain `{{name}}` placeholders for
-- `render` to turn into reference tokens.
-- @tparam string template
-- @tparam[opt] table opts {filters = {name = fn(value, ref_name, opts) -> text},
-- partials = {name = "text"}, descriptions = {ref_name = "text"} (what `describe` gives)}
-- @tparam[opt] table texts text values of references (the start of a filter chain)
-- @return the expanded template, or nil and a seedance.Error of kind "validation"
function M.expand(template, opts, texts)
  if type(template) ~= "string" then error("seedance.render.expand: 'template' must be a string", 2) end
  opts = check_template_opts(opts, "seedance.render.expand")
  local out, why = M._expand(template, opts, texts, 0)
  if not out then return invalid(nil, why) end
  return out
end

--- Render `prompt` with `refs` for `provider` (a provider name or a dialect table).
-- The prompt is a template: `{{name}}`, `{{name | filter}}` (built-in `describe` and
-- `name`, plus `opts.filters`), `{{> partial}}` (from `opts.partials`).
-- A reference that names an asset by its id or `asset://` and not its type is looked up
-- through `resolve` (client:generate passes one); without it, it is refused with a
-- message saying how to give the type. It is never substituted as text.
-- @tparam string prompt
-- @tparam[opt] table refs name -> value
-- @param[opt] provider a provider name or dialect
-- @tparam[opt] table opts {filters=, partials=, descriptions=} (see expand)
-- @tparam[opt] function resolve function(form, id) -> Asset, or nil and an error, or false
-- when the service cannot look it up (see M.asset_form)
-- @return {prompt=, images={...}, videos={...}, audios={...}} (each media item
-- {url=, type=, name=, asset=}), or nil and a seedance.Error of kind "validation"
function M.render(prompt, refs, provider, opts, resolve)
  if type(prompt) ~= "string" then error("seedance.render: 'prompt' must be a string", 2) end
  if refs ~= nil and type(refs) ~= "table" then error("seedance.render: 'refs' must be a table", 2) end
  refs = refs or {}
  opts = check_template_opts(opts, "seedance.render")
  local dialect = provider
  if type(provider) == "string" then
    dialect = registry.get(provider)
    if not dialect then error("seedance.render: unknown provider '" .. provider .. "'", 2) end
  end
  local pname = dialect and dialect.name
  local token = dialect and dialect.token or M.default_token

  local kinds, texts = {}, {}
  local ctx = { dialect = dialect, provider = pname, resolve = resolve }
  for name, v in pairs(refs) do
    if type(name) ~= "string" then error("seedance.render: reference names must be strings", 2) end
    local k, msg, code = classify(name, v, ctx)
    if not k then
      if errors.is(msg) then return nil, msg end
      return nil, errors.new({ kind = "validation", provider = pname, message = msg, code = code })
    end
    kinds[name] = k
    texts[name] = k.text
  end
  -- a reference named only through a filter ({{hero | describe}}) counts as used, as text
  local filtered = {}
  local expanded, why = M._expand(prompt, opts, texts, 0, filtered)
  if not expanded then return invalid(pname, why) end

  local out = { images = {}, videos = {}, audios = {} }
  local counts = { image = 0, video = 0, audio = 0 }
  local used, tokens, problem = {}, {}, nil
  local text = expanded:gsub("{{%s*([^{}]-)%s*}}", function(name)
    if problem then return "" end
    local k = kinds[name]
    if not k then
      problem = ("unknown placeholder {{%s}}"):format(name)
      return ""
    end
    used[name] = true
    if k.text then return k.text end
    if not tokens[name] then
      counts[k.type] = counts[k.type] + 1
      local list = out[PLURAL[k.type]]
      list[#list + 1] = { url = k.url, type = k.type, name = name, asset = k.asset }
      tokens[name] = token(k.type, counts[k.type])
    end
    return tokens[name]
  end)
  if problem then return invalid(pname, problem) end
  local unused = {}
  for name, k in pairs(kinds) do
    if not k.text and not used[name] and not filtered[name] then unused[#unused + 1] = name end
  end
  if #unused > 0 then
    table.sort(unused)
    return invalid(pname, "reference not used in the prompt: " .. table.concat(unused, ", "))
  end
  for kind, max in pairs({ image = M.LIMITS.image, video = M.LIMITS.video, audio = M.LIMITS.audio }) do
    if counts[kind] > max then
      return invalid(pname, ("%d %s referenced; at most %d per generation"):format(counts[kind], PLURAL[kind], max))
    end
  end
  local total = counts.image + counts.video + counts.audio
  if total > M.LIMITS.total then
    return invalid(pname, ("%d files referenced; at most %d per generation"):format(total, M.LIMITS.total))
  end
  if counts.audio > 0 and counts.image + counts.video == 0 then
    return invalid(pname, "audio references need an image or a video beside them")
  end
  out.prompt = text
  return out
end

return M
