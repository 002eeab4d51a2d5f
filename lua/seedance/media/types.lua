--- What a file name or URL says about its media: "image", "video" or "audio", from its
-- extension. One map, read by uploads, templates, the dialects and the emulator's twins.
-- @module seedance.media.types
local url = require "seedance.wire.url"

local M = {}

--- The lowercased extensions the services take, and their media type.
M.BY_EXTENSION = {
  jpeg = "image", jpg = "image", png = "image", webp = "image", bmp = "image", tiff = "image",
  tif = "image", gif = "image", heic = "image", heif = "image",
  mp4 = "video", mov = "video", wav = "audio", mp3 = "audio",
}

--- The media type of a URL or file name ("image", "video", "audio"), nil when its
-- extension says nothing.
-- @tparam string u a URL or a file name
function M.of(u)
  return M.BY_EXTENSION[url.extension(u) or ""]
end

return M
