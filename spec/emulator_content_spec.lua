-- The content[] checker (seedance.emulator.content) as each generation twin answers it: the
-- same upstream rules, in Ark's data plane's, AnyFast's and OrcaRouter's own words and codes.
-- One case per rule, over HTTP (LuaSocket) against one emulator serving all three; each twin
-- wraps the case's items as its create does (Ark and AnyFast after a text item, OrcaRouter
-- in metadata.content, media only). 200: the twin takes the items (AnyFast has no 12-item
-- limit and no field check inside a media object).
local emulator = require "seedance.emulator"
local cjson = require "cjson"
local helpers = require "helpers"

local KEY = "content-key"

local function post(url, body)
  local r = helpers.http_json("POST", url, body, { authorization = "Bearer " .. KEY })
  return r.status, r.json
end

local function img(u, role)
  return { type = "image_url", image_url = { url = u or "https://x.example/a.png" }, role = role or "reference_image" }
end
local function vid(role) return { type = "video_url", video_url = { url = "https://x.example/v.mp4" }, role = role } end
local AUDIO = { type = "audio_url", audio_url = { url = "https://x.example/a.mp3" }, role = "reference_audio" }
local TEXT = { type = "text", text = "a fox" }
local function many(...)
  local out = {}
  for _, run in ipairs({ ... }) do
    for _ = 1, run[2] do out[#out + 1] = run[1] end
  end
  return out
end

-- name -> the items (after the text item, but where the case is about text)
local ITEMS = {
  ["a non-object item"] = { "x" },
  ["no type"] = { { image_url = { url = "https://x.example/a.png" } } },
  ["an unknown type"] = { { type = "gif_url" } },
  ["an unknown field"] = { { type = "image_url", image_url = { url = "https://x.example/a.png" },
                             role = "reference_image", detail = 1 } },
  ["an unknown field of the media object"] = { { type = "image_url", role = "reference_image",
                                                 image_url = { url = "https://x.example/a.png", detail = 1 } } },
  ["no media object"] = { { type = "video_url", role = "reference_video" } },
  ["no url"] = { { type = "video_url", video_url = {}, role = "reference_video" } },
  ["an ftp url"] = { img("ftp://x.example/a.png") },
  ["a bad role"] = { vid("first_frame") },
  ["no role on a video"] = { vid() },
  ["a missing asset"] = { img("asset://asset-missing") },
  ["out of order"] = { vid("reference_video"), img() },
  ["too many videos"] = many({ vid("reference_video"), 4 }),
  ["frames mixed with references"] = { img(nil, "first_frame"), img() },
  ["two first frames"] = { img(nil, "first_frame"), img(nil, "first_frame") },
  ["a lone last frame"] = { img(nil, "last_frame") },
  ["audio alone"] = { AUDIO },
  ["13 media items"] = many({ img(), 9 }, { vid("reference_video"), 3 }, { AUDIO, 1 }),
  ["a second text item"] = { TEXT, TEXT },
  ["text after an image"] = { img(), TEXT },
  ["text not a string"] = { { type = "text", text = 5 } },
}

-- twin -> {case, status, code, message, param (Ark's)}
local WANT = {
  ark = {
    { "a non-object item", 400, "InvalidParameter", "each content item must be an object in content[1]", "content" },
    { "no type", 400, "MissingParameter", "'type' is required in content[1]", "content.type" },
    { "an unknown type", 400, "InvalidParameter", "unknown content type 'gif_url'", "content.type" },
    { "an unknown field", 400, "InvalidParameter", "unknown field 'detail' in content[1]", "content.detail" },
    { "an unknown field of the media object", 400, "InvalidParameter",
      "unknown field 'detail' in content[1].image_url", "content.image_url.detail" },
    { "no media object", 400, "MissingParameter", "'video_url' is required in content[1]", "content.video_url" },
    { "no url", 400, "MissingParameter", "'video_url.url' is required in content[1]", "content.video_url.url" },
    { "an ftp url", 400, "InvalidParameter",
      "'image_url.url' must be an http(s) URL or asset://<id> in content[1]", "content.image_url.url" },
    { "a bad role", 400, "InvalidParameter",
      "role 'first_frame' is not valid for video_url in content[1]", "content.role" },
    { "no role on a video", 400, "MissingParameter", "'role' is required in content[1]", "content.role" },
    { "a missing asset", 400, "InvalidParameter",
      "asset asset-missing does not exist in this account", "content.image_url.url" },
    { "out of order", 400, "InvalidParameter",
      "content must list one text item first, then images, videos, audios in content[2]", "content" },
    { "too many videos", 400, "InvalidParameter", "at most 3 video items", "content" },
    { "frames mixed with references", 400, "InvalidParameter",
      "first/last frames cannot be mixed with reference media", "content.role" },
    { "two first frames", 400, "InvalidParameter", "at most one first_frame and one last_frame", "content.role" },
    { "a lone last frame", 400, "InvalidParameter", "a last_frame needs a first_frame", "content.role" },
    { "audio alone", 400, "InvalidParameter", "audio needs an image or a video beside it", "content" },
    { "13 media items", 400, "InvalidParameter", "at most 12 media items", "content" },
    { "a second text item", 400, "InvalidParameter",
      "content must list one text item first, then images, videos, audios in content[1]", "content" },
    { "text after an image", 400, "InvalidParameter",
      "content must list one text item first, then images, videos, audios in content[1]", "content" },
    { "text not a string", 400, "InvalidParameter", "'text' in content[0] must be a string", "content.text" },
  },
  anyfast = {
    { "a non-object item", 400, "InvalidParameter", "content[2] must be an object" },
    { "no type", 400, "InvalidParameter", "content[2]: unknown type 'nil'" },
    { "an unknown type", 400, "InvalidParameter", "content[2]: unknown type 'gif_url'" },
    { "an unknown field", 400, "InvalidParameter", "unknown field 'detail' in a image_url item" },
    { "an unknown field of the media object", 200 },
    { "no media object", 400, "InvalidParameter", "video_url.url is required" },
    { "no url", 400, "InvalidParameter", "video_url.url is required" },
    { "an ftp url", 400, "InvalidParameter", "image_url.url must be a public URL, a data URI or asset://<ID>" },
    { "a bad role", 400, "InvalidParameter", "role 'first_frame' is not allowed on video_url items" },
    { "no role on a video", 400, "InvalidParameter", "role 'nil' is not allowed on video_url items" },
    { "a missing asset", 400, "InvalidParameter.AssetNotFound", "asset not found: asset-missing" },
    { "out of order", 400, "InvalidParameter",
      "content items must follow the order image -> video -> audio (images after videos)" },
    { "too many videos", 400, "InvalidParameter", "at most 3 video_url items" },
    { "frames mixed with references", 400, "InvalidParameter",
      "first/last frame items cannot be mixed with reference media" },
    { "two first frames", 400, "InvalidParameter",
      "at most one first_frame, and a last_frame only beside a first_frame" },
    { "a lone last frame", 400, "InvalidParameter",
      "at most one first_frame, and a last_frame only beside a first_frame" },
    { "audio alone", 400, "InvalidParameter", "audio items need an image or a video beside them" },
    { "13 media items", 200 },
    { "a second text item", 400, "InvalidParameter", "the text item must come first in content" },
    { "text after an image", 400, "InvalidParameter", "the text item must come first in content" },
    { "text not a string", 400, "InvalidParameter", "text must be a string" },
  },
  orcarouter = {
    { "a non-object item", 400, "InvalidParameter", "content[1] must be an object" },
    { "no type", 400, "InvalidParameter", "content[1].type must be image_url, video_url or audio_url" },
    { "an unknown type", 400, "InvalidParameter", "content[1].type must be image_url, video_url or audio_url" },
    { "an unknown field", 400, "InvalidParameter", "unknown parameter 'content[1].detail'" },
    { "an unknown field of the media object", 400, "InvalidParameter",
      "unknown parameter 'content[1].image_url.detail'" },
    { "no media object", 400, "InvalidParameter", "content[1].video_url.url is required" },
    { "no url", 400, "InvalidParameter", "content[1].video_url.url is required" },
    { "an ftp url", 400, "InvalidParameter", "content[1]: a URL must be http(s) or asset://" },
    { "a bad role", 400, "InvalidParameter", "content[1].role 'first_frame' is not a role of video_url" },
    { "no role on a video", 400, "InvalidParameter", "content[1].role 'nil' is not a role of video_url" },
    { "a missing asset", 400, "InvalidParameter", "asset asset-missing not found in this account" },
    { "out of order", 400, "InvalidParameter", "metadata.content[] must list images, then videos, then audios" },
    { "too many videos", 400, "InvalidParameter", "at most 3 video_url items" },
    { "frames mixed with references", 400, "InvalidParameter",
      "first/last frames cannot be mixed with reference media" },
    { "two first frames", 400, "InvalidParameter", "one first_frame and one last_frame at most" },
    { "a lone last frame", 400, "InvalidParameter", "a last_frame needs a first_frame" },
    { "audio alone", 400, "InvalidParameter", "reference audio needs a reference image or video beside it" },
    { "13 media items", 400, "InvalidParameter", "at most 12 media items in all" },
    { "a second text item", 400, "InvalidParameter",
      "metadata.content[] takes media items only; the prompt is the top-level 'prompt'" },
    { "text after an image", 400, "InvalidParameter",
      "metadata.content[] takes media items only; the prompt is the top-level 'prompt'" },
    { "text not a string", 400, "InvalidParameter",
      "metadata.content[] takes media items only; the prompt is the top-level 'prompt'" },
  },
}

describe("content[] as each twin checks it", function()
  local emu
  setup(function() emu = assert(emulator.start{ provider = "all", processing = 0, api_key = KEY }) end)
  teardown(function() emu:stop() end)

  local function with_text(name)
    if name:find("text") then return ITEMS[name] end
    local out = { TEXT }
    for _, it in ipairs(ITEMS[name]) do out[#out + 1] = it end
    return out
  end
  local CREATE = {
    ark = function(name)
      return emu.urls.ark .. "/contents/generations/tasks",
             { model = "doubao-seedance-2-0-260128", content = with_text(name) }
    end,
    anyfast = function(name)
      return emu.urls.anyfast .. "/v1/video/generations", { model = "seedance", content = with_text(name) }
    end,
    orcarouter = function(name)
      return emu.urls.orcarouter .. "/video/generations",
             { model = "byteplus/dreamina-seedance-2-0-260128", prompt = "p", metadata = { content = ITEMS[name] } }
    end,
  }

  for _, twin in ipairs({ "ark", "anyfast", "orcarouter" }) do
    it(twin .. ": every rule in its own words", function()
      for _, case in ipairs(WANT[twin]) do
        local name, status, code, message, param = case[1], case[2], case[3], case[4], case[5]
        local got, body = post(CREATE[twin](name))
        assert.equal(status, got, twin .. ", " .. name .. ": " .. cjson.encode(body))
        if status ~= 200 then
          assert.same({ code = code, message = message, param = param },
                      { code = body.error.code, message = body.error.message, param = body.error.param }, name)
        end
      end
    end)
  end
end)
