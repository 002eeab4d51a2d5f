-- Prompt templating and generation validation (no request is made for any of these).
local seedance = require "seedance"
local asset = require "seedance.model.asset"

local function fake_asset(client, id, t, st)
  return asset.new(client, { id = id, ref = "asset://" .. id, type = t, raw_status = st or "Active" })
end

describe("seedance.render", function()
  local client
  setup(function() client = seedance.new({ provider = "piapi", api_key = "k", base_url = "http://127.0.0.1:1" }) end)
  teardown(function() client:close() end)

  it("numbers media per type in first-mention order, images before videos before audios", function()
    local hero, friend = fake_asset(client, "a1", "image"), fake_asset(client, "a2", "image")
    local r = assert(seedance.render("{{theme}} {{hero}} meets {{friend}} in {{clip}}; {{hero}} smiles at {{time}}.", {
      hero = hero, friend = friend, clip = "https://x/clip.mp4", theme = { url = "https://x/t.mp3", type = "audio" },
      time = "dawn",
    }))
    assert.equal("[Audio 1] [Image 1] meets [Image 2] in [Video 1]; [Image 1] smiles at dawn.", r.prompt)
    assert.equal("asset://a1", r.images[1].url)
    assert.equal("asset://a2", r.images[2].url)
    assert.equal("hero", r.images[1].name)
    assert.equal("https://x/clip.mp4", r.videos[1].url)
    assert.equal("https://x/t.mp3", r.audios[1].url)
  end)

  it("uses each provider's notation", function()
    local refs = { a = "https://x/a.png", v = "https://x/v.mp4" }
    local want = { piapi = "Image 1 Video 1" }
    for _, p in ipairs(seedance.providers) do
      local r = assert(seedance.render("{{a}} {{v}}", refs, p))
      if want[p] then assert.equal(want[p], r.prompt) end
      assert.is_nil(r.prompt:find("{{", 1, true))
    end
    assert.equal("[Image 1] [Video 1]", seedance.render("{{a}} {{v}}", refs).prompt)
  end)

  it("refuses what the services would refuse", function()
    local function why(prompt, refs)
      local r, err = seedance.render(prompt, refs)
      assert.is_nil(r)
      assert.equal("validation", err.kind)
      return err.message
    end
    assert.matches("unknown placeholder {{who}}", why("{{who}}", {}))
    assert.matches("not used in the prompt: extra", why("{{a}}", { a = "https://x/a.png", extra = "https://x/b.png" }))
    assert.matches("audio references need", why("{{m}}", { m = "https://x/m.mp3" }))
    assert.matches("cannot tell the media type", why("{{m}}", { m = "https://x/m.bin" }))
    local ten, p = {}, {}
    for i = 1, 10 do ten["i" .. i] = "https://x/" .. i .. ".png"; p[#p + 1] = "{{i" .. i .. "}}" end
    assert.matches("10 images referenced; at most 9", why(table.concat(p, " "), ten))
    local four, q = {}, {}
    for i = 1, 4 do four["v" .. i] = "https://x/" .. i .. ".mp4"; q[#q + 1] = "{{v" .. i .. "}}" end
    assert.matches("4 videos referenced; at most 3", why(table.concat(q, " "), four))
    local many, r = {}, {}
    for i = 1, 9 do many["i" .. i] = "https://x/" .. i .. ".png"; r[#r + 1] = "{{i" .. i .. "}}" end
    for i = 1, 3 do many["v" .. i] = "https://x/" .. i .. ".mov"; r[#r + 1] = "{{v" .. i .. "}}" end
    many.m = "https://x/m.wav"; r[#r + 1] = "{{m}}"
    assert.matches("13 files referenced; at most 12", why(table.concat(r, " "), many))
    assert.matches("not active", why("{{a}}", { a = fake_asset(client, "p1", "image", "Processing") }))
  end)

  it("passes text through as is", function()
    assert.equal("at 5 o'clock", seedance.render("at {{n}} o'clock", { n = 5 }).prompt)
  end)

  it("raises on misuse", function()
    assert.has_error(function() seedance.render(nil, {}) end)
    assert.has_error(function() seedance.render("x", "y") end)
    assert.has_error(function() seedance.render("x", {}, "nowhere") end)
    assert.has_error(function() seedance.render("{{a}}", { a = function() end }) end)
  end)
end)

describe("client:generate validation", function()
  local client
  setup(function()
    client = seedance.new({ provider = "piapi", api_key = "k", base_url = "http://127.0.0.1:1", retries = 0 })
  end)
  teardown(function() client:close() end)

  local function refused(args)
    local t, err = client:generate(args)
    assert.is_nil(t)
    assert.equal("validation", err.kind)
    return err.message
  end

  it("checks duration, ratio, resolution and model combinations", function()
    assert.matches("duration 3 s", refused({ prompt = "x", duration = 3 }))
    assert.matches("duration 16 s", refused({ prompt = "x", duration = 16 }))
    assert.matches("ratio 2:1", refused({ prompt = "x", ratio = "2:1" }))
    assert.matches("resolution 4k", refused({ prompt = "x", resolution = "4k" }))
    assert.matches("1080p is only available", refused({ prompt = "x", model = "fast", resolution = "1080p" }))
    assert.matches("does not take 'seed'", refused({ prompt = "x", seed = 7 }))
  end)

  it("refuses first/last frames mixed with references", function()
    assert.matches("cannot be mixed", refused({ prompt = "{{a}}", refs = { a = "https://x/a.png" },
                                                 first_frame = "https://x/f.png" }))
    assert.matches("needs a first_frame", refused({ prompt = "x", last_frame = "https://x/f.png" }))
  end)

  it("raises on misuse", function()
    assert.has_error(function() client:generate({}) end, "client:generate: 'prompt' must be a non-empty string")
    assert.has_error(function() client:generate({ prompt = "x", colour = 1 }) end,
                     "client:generate: unknown field 'colour'")
    assert.has_error(function() client:generate({ prompt = "x", duration = "5" }) end)
    assert.has_error(function() client:generate({ prompt = "x", model = "ultra-hd-9000x" .. "" , audio = 1 }) end)
  end)
end)
