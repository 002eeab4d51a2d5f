--- Prompt templating: `{{name}}` placeholders become the provider's reference tokens
-- (`[Image 1]`, `[Image1]`, `@Image1`, `@image1`, `Image 1`), media numbered per type in
-- first-mention order, and the media lists the request carries, ordered images, videos,
-- audios. Everything that the services would reject is caught here, before any request.
-- @module seedance.render
local errors = require "seedance.error"
local client_mod = require "seedance.client"

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

local function is_url(s)
  return s:match("^https?://") or s:match("^asset://") or s:match("^data:")
end

-- What a reference value is: media {type=, url=, asset=} or text; nil + message if neither.
local function classify(name, v)
  local tv = type(v)
  if tv == "table" and v._kind == "asset" then
    if v.status ~= "active" then
      return nil, ("reference '%s' is asset %s, which is %s, not active")
        :format(name, tostring(v.id), tostring(v.status))
    end
    if not TYPES[v.type or ""] then
      return nil, ("reference '%s' is asset %s of unknown type"):format(name, tostring(v.id))
    end
    return { type = v.type, url = v.ref, asset = v }
  elseif tv == "table" and v.url ~= nil then
    if type(v.url) ~= "string" then return nil, ("reference '%s': url must be a string"):format(name) end
    local t = v.type or client_mod.media_type(v.url)
    if not TYPES[t or ""] then
      return nil, ("reference '%s': type must be image, video or audio"):format(name)
    end
    return { type = t, url = v.url }
  elseif tv == "string" and is_url(v) then
    local t = client_mod.media_type(v)
    if not t then
      return nil, ("reference '%s': cannot tell the media type of %s; pass {url=, type=}"):format(name, v)
    end
    return { type = t, url = v }
  elseif tv == "string" or tv == "number" then
    return { text = tostring(v) }
  end
  error(("seedance.render: reference '%s' must be an asset, a URL, {url=, type=} or text"):format(name), 4)
end

--- Render `prompt` with `refs` for `provider` (a provider name or a dialect table).
-- @return {prompt=, images={...}, videos={...}, audios={...}} (each media item
-- {url=, type=, name=, asset=}), or nil and a seedance.Error of kind "validation"
function M.render(prompt, refs, provider)
  if type(prompt) ~= "string" then error("seedance.render: 'prompt' must be a string", 2) end
  if refs ~= nil and type(refs) ~= "table" then error("seedance.render: 'refs' must be a table", 2) end
  refs = refs or {}
  local dialect = provider
  if type(provider) == "string" then
    local ok, d = pcall(require, "seedance.providers." .. provider)
    if not ok then error("seedance.render: unknown provider '" .. provider .. "'", 2) end
    dialect = d
  end
  local pname = dialect and dialect.name
  local token = dialect and dialect.token or M.default_token

  local kinds = {}
  for name, v in pairs(refs) do
    if type(name) ~= "string" then error("seedance.render: reference names must be strings", 2) end
    local k, msg = classify(name, v)
    if not k then return invalid(pname, msg) end
    kinds[name] = k
  end

  local out = { images = {}, videos = {}, audios = {} }
  local counts = { image = 0, video = 0, audio = 0 }
  local used, tokens, problem = {}, {}, nil
  local text = prompt:gsub("{{%s*([^{}]-)%s*}}", function(name)
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
    if not k.text and not used[name] then unused[#unused + 1] = name end
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
