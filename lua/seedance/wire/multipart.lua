--- multipart/form-data bodies (RFC 7578), for the providers that take a local file's bytes
-- (AnyFast's CreateAsset). The body is one string: the engine sends it as is.
-- @module seedance.wire.multipart
local M = {}

local MIME = {
  jpeg = "image/jpeg", jpg = "image/jpeg", png = "image/png", webp = "image/webp",
  bmp = "image/bmp", tiff = "image/tiff", tif = "image/tiff", gif = "image/gif",
  heic = "image/heic", heif = "image/heif",
  mp4 = "video/mp4", mov = "video/quicktime", wav = "audio/wav", mp3 = "audio/mpeg",
}

--- The media type for a file name's extension ("application/octet-stream" when unknown).
function M.content_type(name)
  local ext = tostring(name):match("%.([%w]+)$")
  return MIME[ext and ext:lower() or ""] or "application/octet-stream"
end

--- The last component of a path ("a/b/face.png" -> "face.png").
function M.basename(path)
  return (tostring(path):match("([^/\\]+)$")) or tostring(path)
end

--- The whole content of a local file.
-- @return the bytes, or nil and a readable message
function M.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, "cannot open " .. tostring(path) .. ": " .. tostring(err) end
  local data = f:read("*a")
  f:close()
  if not data then return nil, "cannot read " .. tostring(path) end
  return data
end

-- a part's header value may not hold a quote or a line break: they would end it early
local function quoted(s)
  return '"' .. tostring(s):gsub('[\r\n"]', function(c) return c == '"' and "%22" or "" end) .. '"'
end

-- a boundary that varies per body, so a file cannot have been made to contain it
local function new_boundary()
  local hex = {}
  for i = 1, 24 do hex[i] = string.format("%x", math.random(0, 15)) end
  return "----seedance" .. table.concat(hex)
end

--- Encode a list of parts into one body.
-- @tparam table parts list of `{name=, value=}` (a text field) or
--   `{name=, filename=, data=, content_type=}` (a file)
-- @tparam[opt] string boundary fixed boundary (tests); a random one by default
-- @return the body, and the Content-Type header value carrying its boundary
function M.encode(parts, boundary)
  local b = boundary
  while true do
    b = b or new_boundary()
    local clash = false
    for _, p in ipairs(parts) do
      if tostring(p.data or p.value):find(b, 1, true) then clash = true end
    end
    if not clash then break end
    if boundary then error("seedance.wire.multipart: the boundary occurs in a part", 2) end
    b = nil
  end
  local out = {}
  for _, p in ipairs(parts) do
    out[#out + 1] = "--" .. b .. "\r\n"
    if p.filename then
      out[#out + 1] = "Content-Disposition: form-data; name=" .. quoted(p.name) .. "; filename=" ..
        quoted(p.filename) .. "\r\n"
      out[#out + 1] = "Content-Type: " .. (p.content_type or M.content_type(p.filename)) .. "\r\n\r\n"
      out[#out + 1] = p.data
    else
      out[#out + 1] = "Content-Disposition: form-data; name=" .. quoted(p.name) .. "\r\n\r\n"
      out[#out + 1] = tostring(p.value)
    end
    out[#out + 1] = "\r\n"
  end
  out[#out + 1] = "--" .. b .. "--\r\n"
  return table.concat(out), "multipart/form-data; boundary=" .. b
end

return M
