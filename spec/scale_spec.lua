-- The engine at scale: step() never blocks, workflows interleave, list-based refresh,
-- and thousands of objects finishing correctly.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local core = require "seedance.core"

describe("engine at scale", function()
  local emu

  setup(function() emu = assert(emulator.start({ provider = "piapi", processing = 0.3, quota = 100000 })) end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    emu:configure({ processing = 0.3, generation = 0.5, latency = 0 })
  end)

  local function client(extra)
    local o = { provider = "piapi", api_key = "k", base_url = emu.url, poll = { interval = 0.05, max = 0.2 } }
    for k, v in pairs(extra or {}) do o[k] = v end
    return seedance.new(o)
  end

  it("step() returns at once even while an answer is slow, and tracked objects update", function()
    local c = client({ track = true })
    local a = assert(c:upload({ url = "https://x/a.png" }))
    emu:fault({ match = "GET /api/v1/asset", delay = 0.8, count = 1 })
    local worst, frames = 0, 0
    local t0 = core.now()
    while a.status ~= "active" and core.now() - t0 < 5 do
      local s = core.now()
      c:step()
      worst = math.max(worst, core.now() - s)
      frames = frames + 1
      core.sleep(0.005) -- a 200 fps game loop
    end
    assert.equal("active", a.status)
    assert.is_true(core.now() - t0 >= 0.8, "the slow answer was waited for")
    assert.is_true(worst < 0.05, "a step took " .. worst .. " s")
    assert.is_true(frames > 50)
    c:close()
  end)

  it("interleaves workflow coroutines on one thread", function()
    local c = client()
    local log = {}
    local t0 = core.now()
    local r = seedance.run(function()
      local a = assert(c:upload({ url = "https://x/a.png" }))
      log[#log + 1] = "a uploaded"
      assert(a:wait({ timeout = 5 }))
      log[#log + 1] = "a active"
      return "A"
    end, function()
      local t = assert(c:generate({ prompt = "a shot" }))
      log[#log + 1] = "t created"
      assert(t:wait({ timeout = 5 }))
      log[#log + 1] = "t done"
      return "T"
    end)
    assert.same({ "A" }, { r[1][1] })
    assert.same({ "T" }, { r[2][1] })
    -- both started before either finished
    assert.equal("a uploaded", log[1])
    assert.equal("t created", log[2])
    assert.is_true(core.now() - t0 < 1.5)
    c:close()
  end)

  it("seedance.run returns the results of a single workflow and re-raises its errors", function()
    assert.equal(42, seedance.run(function() return 42 end))
    assert.has_error(function() seedance.run(function() error("boom") end) end)
    assert.has_error(function() seedance.run(42) end)
  end)

  it("refreshes pending assets with one list request per page instead of a GET each", function()
    local c = client()
    local list = {}
    for i = 1, 60 do list[i] = { url = ("https://x/%d.png"):format(i) } end
    list[61] = { url = "https://x/multi-face.png" }
    local assets = assert(c:upload_many(list))
    emu:configure({ processing = 0.6 })
    local ok, err = seedance.wait_all(assets, { timeout = 10 })
    assert.is_nil(ok)
    assert.equal("asset_failed", err.kind)
    assert.equal(1, #err.failed)
    local active = 0
    for _, a in ipairs(assets) do if a.status == "active" then active = active + 1 end end
    assert.equal(60, active)
    local st = emu:stats()
    local lists = st.by_route["GET /api/v1/asset"] or 0
    local gets = st.by_route["GET /api/v1/asset/{asset_id}"] or 0
    assert.is_true(lists >= 1, "list requests: " .. lists)
    assert.is_true((lists + gets) / 61 <= 1.5, ("%d lists + %d gets for 61 assets"):format(lists, gets))
    c:close()
  end)

  it("finishes two thousand objects across assets and tasks", function()
    local c = client({ max_per_host = 16 })
    local list = {}
    for i = 1, 1800 do list[i] = { url = ("https://x/c%d.png"):format(i) } end
    local objs = assert(c:upload_many(list))
    for i = 1, 200 do objs[#objs + 1] = assert(c:generate({ prompt = "shot " .. i })) end
    assert(seedance.wait_all(objs, { timeout = 60 }))
    for _, o in ipairs(objs) do
      assert.is_true(o.status == "active" or o.status == "succeeded")
    end
    assert.equal(0, c.engine:busy())
    c:close()
  end)
end)
