-- The nginx driver's glue, outside nginx: a fake `ngx` (spec/support/fake_ngx.lua) with
-- LuaSocket cosockets, against the emulator. Driver choice, a whole generation with a
-- resumed download, keep-alive, the phase guard; and what the C engine's outbox gives an
-- external driver for downloads. The real nginx run is openresty_spec.lua.
local core = require "seedance.core"
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local sample = require("seedance.emulator").SAMPLE_MP4
local fake = require "fake_ngx"
local helpers = require "helpers"
local read, write = helpers.read, helpers.write

local KEY = "pk-ngx-driver-key"
local TMP = os.tmpname()

describe("core engine outbox for an external driver", function()
  after_each(function()
    os.remove(TMP)
  end)

  it("gives downloads their file, resume offset, redirects and deadline; takes progress back", function()
    local e = core.engine({ driver = "external", max_body = 1000 })
    write(TMP, "12345")
    local id = e:submit({ url = "http://h/v.mp4", file = TMP, resume = true, follow = true, deadline = 30 })
    e:step()
    local a = e:outbox()[1]
    assert.equal(TMP, a.file)
    assert.equal(5, a.resume)
    assert.is_true(a.follow)
    assert.is_true(a.deadline > 29 and a.deadline <= 30)
    assert.equal(1000, a.max_body)
    e:progress(id, 3, 10, 5)
    assert.same({ 8, 10 }, { e:progress(id) })
    e:progress(id, 4, 4, 0) -- the host ignored Range: the file starts over
    assert.same({ 4, 4 }, { e:progress(id) })
    e:feed(id, { error = "file", message = "disk full" })
    local r = e:collect()[1]
    assert.equal("file", r.error)
    assert.equal("disk full", r.message)
    local plain = e:submit({ url = "http://h/a" })
    e:step()
    a = e:outbox()[1]
    assert.is_nil(a.file)
    assert.is_nil(a.resume)
    assert.is_nil(a.follow)
    assert.is_nil(a.deadline)
    e:feed(plain, { status = 200 })
    e:close()
    local c = core.engine({ driver = "curl" })
    assert.has_error(function() c:progress(1, 1) end, "progress: only an external driver reports progress")
    c:close()
  end)

  it("starts a download afresh without resume", function()
    local e = core.engine({ driver = "external" })
    write(TMP, "12345")
    e:submit({ url = "http://h/v.mp4", file = TMP })
    e:step()
    assert.equal(0, e:outbox()[1].resume)
    e:close()
  end)
end)

describe("seedance.wire.ngx (fake nginx)", function()
  local emu

  setup(function()
    emu = assert(emulator.start({ provider = "piapi", processing = 0.1, api_key = KEY }))
  end)
  teardown(function()
    emu:stop()
  end)
  before_each(function()
    emu:reset()
    emu:configure({ generation = 0.3, processing = 0.1 })
    fake.install()
  end)
  after_each(function()
    fake.remove()
    os.remove(TMP)
    os.remove(TMP .. ".part")
  end)

  local function client(extra)
    local opts = { provider = "piapi", api_key = KEY, base_url = emu.url, backoff_base = 0.01,
                   poll = { interval = 0.05, max = 0.1 } }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return seedance.new(opts)
  end

  it("is chosen inside nginx, curl outside; either can be asked for", function()
    local c = client()
    assert.equal("ngx", c.engine.driver)
    assert.equal("ngx", c.engine.core:stats().driver)
    c:close()
    c = client({ driver = "curl" })
    assert.equal("curl", c.engine.driver)
    c:close()
    fake.remove()
    c = client()
    assert.equal("curl", c.engine.driver)
    c:close()
    assert.has_error(function() client({ driver = "ngx" }) end,
      "seedance.new: cannot start the engine: the ngx driver runs only inside nginx (lua-nginx-module)")
    assert.has_error(function() client({ driver = "libuv" }) end, 'seedance.new: \'driver\' must be "curl" or "ngx"')
  end)

  it("uploads, generates and downloads, resuming a broken download by range", function()
    local c = client()
    local hero = assert(c:upload({ url = "https://x/hero.png", name = "hero" }))
    assert(hero:wait({ timeout = 5 }))
    assert.equal("active", hero.status)
    local t = assert(c:generate({ prompt = "{{hero}} waves", refs = { hero = hero } }))
    assert(t:wait({ timeout = 10 }))
    emu:fault({ match = "GET /__emulator/media", truncate = 3000, count = 1 })
    local seen = {}
    assert.equal(TMP, t:download(TMP, { on_progress = function(done, total) seen[#seen + 1] = { done, total } end }))
    assert.equal(sample, read(TMP))
    assert.same({ #sample, #sample }, seen[#seen])
    local st = emu:stats()
    assert.is_true(st.media_ranges >= 1)
    assert.is_nil(st.media_credential_violations)
    -- one connection per host served every API call
    assert.is_true(fake.stats.reuses > fake.stats.connects)
    c:close()
  end)

  it("answers errors of the service as the curl driver does", function()
    local c = client({ api_key = "wrong-key" })
    local _, err = c:upload({ url = "https://x/hero.png" })
    assert.equal("auth", err.kind)
    assert.equal(401, err.status)
    c:close()
  end)

  it("refuses to open sockets where nginx cannot, without leaving the request stuck", function()
    local c = client()
    fake.phase = "log"
    assert.has_error(function() c:upload({ url = "https://x/hero.png" }) end,
      "seedance: nginx cannot open sockets in the 'log' phase; use a rewrite/access/content handler or ngx.timer.at")
    fake.phase = "content"
    assert.equal(0, c:step())
    assert(c:upload({ url = "https://x/hero.png" }))
    c:close()
  end)
end)
