-- Preflight: uploads are probed (local files; URLs by range request, an MP4's moov fetched
-- from its end) and checked against the provider's limits before any request is made.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local media = require "media"

describe("preflight", function()
  local emu, client

  setup(function() emu = assert(emulator.start({ provider = "piapi", processing = 0.1 })) end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    client = seedance.new({ provider = "piapi", api_key = "k", base_url = emu.url, retries = 0 })
  end)
  after_each(function() client:close() end)

  local function uploads() return emu:stats().by_route["POST /api/v1/asset/upload"] or 0 end

  it("refuses a too-small image at once, naming the limit and the measured value", function()
    local u = emu:put_file("small.png", media.png({ width = 200, height = 400 }))
    local a, err = client:upload({ url = u })
    assert.is_nil(a)
    assert.equal("validation", err.kind)
    assert.matches("200 px", err.message)
    assert.matches("300", err.message)
    assert.equal(0, uploads())
    local st = emu:stats()
    assert.is_true(st.file_ranges >= 1)
    -- each fetch of the file is one request in the emulator's count, as in its route's
    assert.equal(st.by_route["GET /__emulator/files/"], st.requests)
  end)

  it("lets a good image through and the provider decides", function()
    local u = emu:put_file("good.png", media.png({ width = 640, height = 480 }))
    assert(client:upload({ url = u }))
    assert.equal(1, uploads())
  end)

  it("reads an MP4 whose moov is at the end with a second range request", function()
    local bytes = media.mp4({ width = 640, height = 480, duration = 20, fps = 24, moov = "end", mdat = 200000 })
    local u = emu:put_file("long.mp4", bytes)
    local _, err = client:upload({ url = u })
    assert.equal("validation", err.kind)
    assert.matches("20", err.message)
    assert.is_true(emu:stats().file_ranges >= 2)
    local ok = emu:put_file("ok.mp4", media.mp4({ width = 1280, height = 720, duration = 5, fps = 24, moov = "end",
                                                  mdat = 200000 }))
    assert(client:upload({ url = ok }))
  end)

  it("does not decide when the server refuses ranges or the URL is unreachable", function()
    local big = media.png({ width = 200, height = 200 }) .. string.rep("\0", 100000)
    local u = emu:put_file("noranges.png", big, { no_ranges = true })
    assert(client:upload({ url = u }))
    assert(client:upload({ url = "http://127.0.0.1:1/nothing.png" }))
  end)

  it("checks local files, and validate = false skips it all", function()
    local path = os.tmpname()
    local f = io.open(path, "wb")
    f:write(media.png({ width = 100, height = 100 }))
    f:close()
    local af = seedance.new({ provider = "anyfast", api_key = "k", base_url = "http://127.0.0.1:1", retries = 0 })
    local _, err = af:upload({ file = path, type = "image", group = "group-20260318033332-ab12c" })
    assert.equal("validation", err.kind)
    assert.matches("100 px", err.message)
    af:close()
    os.remove(path)
    local u = emu:put_file("small2.png", media.png({ width = 200, height = 400 }))
    assert(client:upload({ url = u, validate = false }))
    local lax = seedance.new({ provider = "piapi", api_key = "k", base_url = emu.url, validate = false })
    assert(lax:upload({ url = u }))
    lax:close()
  end)

  it("checks every item of a batch, concurrently, and creates only the good ones", function()
    local good = emu:put_file("g.png", media.png({ width = 640, height = 480 }))
    local bad = emu:put_file("b.png", media.png({ width = 7000, height = 4000 }))
    local out, err = client:upload_many({ { url = good }, { url = bad }, { url = good, name = "again" } })
    assert.equal("validation", err.kind)
    assert.is_true(seedance.is_error(out[2]))
    assert.matches("7000", out[2].message)
    assert.equal("processing", out[1].status)
    assert.equal("processing", out[3].status)
  end)

  it("applies each provider's own limits (crun: 480p/720p video only)", function()
    local u = emu:put_file("hd.mp4", media.mp4({ width = 1920, height = 1080, duration = 5, fps = 24 }))
    local crun = seedance.new({ provider = "crun", api_key = "k", base_url = emu.url, retries = 0 })
    local ok, err = require("seedance.media.preflight").check(crun, { url = u, type = "video" })
    assert.is_nil(ok)
    assert.equal("validation", err.kind)
    crun:close()
    assert(require("seedance.media.preflight").check(client, { url = u, type = "video" }))
  end)
end)
