-- Deadlines, not just timeouts: a client's `deadline` bounds every blocking call, a call's
-- `timeout` bounds all it does, waits nest inside on_update, and a workflow that
-- seedance.run abandoned hears of nothing more.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local core = require "seedance.core"

describe("deadlines", function()
  local emu
  setup(function() emu = assert(emulator.start({ provider = "piapi", processing = 0.2 })) end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    emu:configure({ processing = 0.2, generation = 0.3 })
  end)

  local function client(extra)
    local o = { provider = "piapi", api_key = "k", base_url = emu.url, poll = { interval = 0.05, max = 0.1 } }
    for k, v in pairs(extra or {}) do o[k] = v end
    return seedance.new(o)
  end

  it("seedance.new{deadline=} bounds a request the server sits on", function()
    local c = client({ deadline = 0.3 })
    emu:fault({ match = "GET /api/v1/asset/", delay = 4, count = 1 })
    local t0 = core.now()
    local a, err = c:asset("asset-1")
    assert.is_nil(a)
    assert.equal("timeout", err.kind)
    -- the server answers after 4 s; the call ended by its deadline, long before
    assert.is_true(core.now() - t0 < 3, "took " .. (core.now() - t0) .. " s")
    c:close()
  end)

  it("seedance.new{deadline=} is the default bound of a wait", function()
    local c = client({ deadline = 0.3 })
    emu:configure({ processing = 60 })
    local a = assert(c:upload({ url = "https://x/slow.png" }))
    local ok, err = a:wait()
    assert.is_nil(ok)
    assert.equal("timeout", err.kind)
    assert.matches("after 0.3 s", err.message)
    c:close()
  end)

  it("a call's timeout bounds its create too (generate_with_retry)", function()
    local c = client()
    emu:fault({ match = "POST /api/v1/task", delay = 4, count = 1 })
    local t0 = core.now()
    local t, err = c:generate_with_retry({ prompt = "slow" }, { timeout = 0.3 })
    assert.is_nil(t)
    assert.equal("timeout", err.kind)
    assert.is_true(core.now() - t0 < 3, "took " .. (core.now() - t0) .. " s")
    c:close()
  end)

  it("a wait started inside on_update works", function()
    local c = client()
    local a1 = assert(c:upload({ url = "https://x/one.png" }))
    local a2 = assert(c:upload({ url = "https://x/two.png" }))
    local inner
    assert(a1:wait({ timeout = 5, on_update = function()
      if inner == nil then inner = { a2:wait({ timeout = 5 }) } end
    end }))
    assert.equal(a2, inner[1])
    assert.same({ "active", "active" }, { a1.status, a2.status })
    c:close()
  end)

  it("a workflow seedance.run abandoned stops receiving callbacks", function()
    local c = client()
    emu:configure({ processing = 0.6 })
    local a = assert(c:upload({ url = "https://x/abandoned.png" }))
    local heard = 0
    assert.has_error(function()
      seedance.run(function()
        a:wait({ timeout = 5, on_update = function() heard = heard + 1 end })
      end, function()
        error("second workflow fails")
      end)
    end, "second workflow fails")
    local before = heard
    assert(a:wait({ timeout = 5 }))
    assert.equal("active", a.status)
    assert.equal(before, heard)
    c:close()
  end)
end)
