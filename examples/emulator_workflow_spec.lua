-- Testing your own workflow against the emulator, in busted: the workflow below is the
-- code under test (register a cast, wait until usable, render one shot); the spec starts
-- an emulator once, resets and configures it before each test, injects faults, reads its
-- counters, and stops it at the end. Run it with busted from a checkout after `make`
-- (spec/examples_spec.lua does), or anywhere both rocks are installed:
--   busted examples/emulator_workflow_spec.lua
local seedance = require "seedance"
local emulator = require "seedance.emulator"

-- The workflow under test: what your own code would do against a real service.
local function shoot(client, cdn)
  local cast, err = client:upload_many{
    { url = cdn .. "/hero.png", name = "hero" },
    { url = cdn .. "/friend.jpg", name = "friend" },
  }
  if not cast then return nil, err end
  local ok, werr = seedance.wait_all(cast, { timeout = 10 })
  if not ok then return nil, werr end
  local task, gerr = client:generate{
    prompt = "{{hero}} hands a cup to {{friend}} at dawn.", refs = { hero = cast[1], friend = cast[2] },
    ratio = "16:9", duration = 5, key = "shot-1",
  }
  if not task then return nil, gerr end
  return task:wait{ timeout = 10 }
end

describe("my workflow, on the PiAPI emulator", function()
  local emu, client

  setup(function()
    -- one server for the file; port 0 picks a free port
    emu = assert(emulator.start{ provider = "piapi", api_key = "test-key" })
  end)
  teardown(function() emu:stop() end)

  before_each(function()
    emu:reset()                                   -- no assets, faults or counts from before
    emu:configure{ processing = 0.2, generation = 0.5, faults = {} }
    client = seedance.new{ provider = "piapi", api_key = "test-key", base_url = emu.url,
                           poll = { interval = 0.05, max = 0.1 }, backoff_base = 0.01, backoff_max = 0.05 }
  end)
  after_each(function() client:close() end)

  it("renders a shot", function()
    local task = assert(shoot(client, "https://cdn.example.com"))
    assert.equal("succeeded", task.status)
    local stats = emu:stats()
    assert.equal(3, stats.creates)                 -- two assets and one task, nothing twice
    assert.equal(0, stats.duplicate_creates)
    assert.equal(1, stats.max_in_flight.piapi)     -- tasks running at once
    assert.equal(0, stats.in_flight.piapi)
  end)

  it("rides out rate limits and maintenance, paying for nothing twice", function()
    -- the first two uploads are refused with 429, the task create meets a 455: the service
    -- did nothing, so the client may send them again
    emu:fault{ match = "POST /api/v1/asset/upload", status = 429, retry_after = "0", count = 2 }
    emu:fault{ match = "POST /api/v1/task", status = 455 }
    local task = assert(shoot(client, "https://cdn.example.com"))
    assert.equal("succeeded", task.status)
    local stats = emu:stats()
    assert.equal(3, stats.faults)
    assert.equal(2, stats.by_status["429"])
    assert.equal(3, stats.creates)
    assert.equal(0, stats.duplicate_creates)
  end)

  it("says when a create may have happened, so my code does not pay twice", function()
    -- the task create takes effect, then the connection drops before the answer
    emu:fault{ match = "POST /api/v1/task", close = true, process = true }
    local _, err = shoot(client, "https://cdn.example.com")
    assert.equal("network", err.kind)
    assert.is_true(err.maybe_submitted)
    local stats = emu:stats()
    assert.equal(1, stats.by_route["POST /api/v1/task"])   -- sent once, never repeated
    assert.equal(1, stats.in_flight.piapi)                 -- and running on the service
  end)

  it("reports a rejected reference as the service words it", function()
    local _, err = shoot(client, "https://cdn.example.com/multi-face")
    assert.equal("asset_failed", err.kind)
    assert.equal(2, emu:stats().creates)           -- the two uploads; no task was paid for
  end)

  it("keeps working under random faults", function()
    emu:configure{ faults = { rate_limit = 0.3, retry_after = "0" } }
    local task = assert(shoot(client, "https://cdn.example.com"))
    assert.equal("succeeded", task.status)
    assert.equal(0, emu:stats().duplicate_creates)
  end)
end)
