--- Preflight: before an upload, find out what the reference really is (seedance.probe over
-- a local file, or over the first bytes of a URL fetched with a range request, plus the
-- tail of an MP4 whose moov is at the end) and check it against the provider's limits, so
-- a reference the provider would reject fails at once, with the reason, at no cost.
-- Only a measured violation is an error: an unreachable URL, a server that refuses ranges
-- or bytes seedance cannot read leave the decision to the provider.
-- @module seedance.media.preflight
local core = require "seedance.core"
local limits = require "seedance.media.limits"
local block = require "seedance.runtime.block"
local errors = require "seedance.error"

local M = {}

M.HEAD_BYTES = 64 * 1024
M.MAX_FETCH = 4 * 1024 * 1024 -- total bytes fetched for one URL
M.TIMEOUT = 5                 -- seconds for one URL, all rounds

local function violation(client, msg, args)
  return errors.new({ kind = "validation", provider = client.provider, code = "media_limit",
    message = (args.url or args.file or "reference") .. ": " .. msg })
end

local function judge(client, info, args)
  if not info then return true end
  local ok, msg = limits.check(client.provider, info, args.type)
  if ok then return true end
  return nil, violation(client, msg, args)
end

local function content_total(r)
  local cr = r.headers and r.headers["content-range"]
  return cr and tonumber(cr:match("/(%d+)%s*$"))
end

-- Probe a URL asynchronously; cb(info_or_nil) once it knows (nil: cannot tell).
local function probe_url(client, url, cb)
  local eng = client.engine
  local started = core.now()
  local head, total, pieces, fetched = nil, nil, {}, 0
  local function get(from, to, k)
    fetched = fetched + (to - from + 1)
    -- no credential of ours goes to a media host: headers are only the range
    eng:submit({ method = "GET", url = url, headers = { ("Range: bytes=%d-%d"):format(from, to) },
                 follow = true, idempotent = true, retries = 1, timeout = M.TIMEOUT,
                 deadline = math.max(0.1, M.TIMEOUT - (core.now() - started)), max_body = (to - from + 1) + 1024 },
               k)
  end
  local function again(round)
    local opts = { data = true, size = total, partial = total == nil or nil, pieces = pieces }
    local info, _, need = core.probe(head, opts)
    if info then return cb(info) end
    if not need or round >= 4 or not total then return cb(nil) end
    local size = math.min(math.max(need.size, need.hint or 0), M.MAX_FETCH - fetched)
    if size < need.size then return cb(nil) end
    get(need.offset, need.offset + size - 1, function(r)
      if r.error or r.status ~= 206 then return cb(nil) end
      pieces[#pieces + 1] = { offset = need.offset, data = r.body }
      return again(round + 1)
    end)
  end
  get(0, M.HEAD_BYTES - 1, function(r)
    if r.error then return cb(nil) end
    if r.status == 206 then
      head, total = r.body, content_total(r)
    elseif r.status == 200 and #r.body <= M.HEAD_BYTES then
      head, total = r.body, #r.body -- a small file sent whole
    else
      return cb(nil) -- refused ranges, or an error page: the provider decides
    end
    return again(1)
  end)
end

--- Check many upload argument tables concurrently.
-- @return a list with true or a seedance.Error for each
function M.check_many(client, list)
  local out, pending = {}, 0
  for i, args in ipairs(list) do
    if args.file then
      local fh = io.open(args.file, "rb")
      if fh then fh:close() end
      local info = fh and core.probe(args.file)
      if not fh then
        out[i] = violation(client, "cannot open the file", args)
      elseif not info then
        out[i] = violation(client, "not an image, video or audio file seedance can read", args)
      else
        local ok, err = judge(client, info, args)
        out[i] = ok or err
      end
    elseif type(args.url) == "string" and args.url:match("^https?://") then
      pending = pending + 1
      probe_url(client, args.url, function(info)
        local ok, err = judge(client, info, args)
        out[i] = ok or err
        pending = pending - 1
      end)
    else
      out[i] = true -- data URIs, asset:// and the like: nothing to fetch
    end
  end
  if pending > 0 then
    block.until_done({ client.engine }, function() return pending == 0 end, core.now() + M.TIMEOUT + 5)
  end
  for i = 1, #list do
    if out[i] == nil then out[i] = true end
  end
  return out
end

--- Check one upload: true, or nil and a seedance.Error of kind "validation".
function M.check(client, args)
  local r = M.check_many(client, { args })[1]
  if r == true then return true end
  return nil, r
end

return M
