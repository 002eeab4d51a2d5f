-- task.queue_position: where a service reports one (Sunra's queue: `queue_position` in the
-- status answer while IN_QUEUE, the requests ahead of this one), over real HTTP against the
-- twins; nil on the five services that report none, and nil again once the task left the
-- queue. It reaches the object both by refresh and by the C poll scheduler (a position that
-- moves while the status stays IN_QUEUE is a change).
local emulator = require "seedance.emulator"
local helpers = require "helpers"

local KEY = "sk-queue-0123456789"

describe("task.queue_position", function()
  it("reads Sunra's queue_position while queued, nil in any other status answer", function()
    local sunra = require "seedance.providers.sunra"
    assert.equal(2, sunra.parse_task({ status = "IN_QUEUE", queue_position = 2 }).queue_position)
    assert.equal(0, sunra.parse_task({ status = "IN_QUEUE", queue_position = 0 }).queue_position)
    assert.is_nil(sunra.parse_task({ status = "IN_QUEUE" }).queue_position)
    assert.is_nil(sunra.parse_task({ status = "IN_PROGRESS", queue_position = 3 }).queue_position)
  end)

  describe("on Sunra's twin", function()
    local emu, client
    setup(function()
      emu = assert(emulator.start({ provider = "sunra", processing = 0.05, api_key = KEY }))
    end)
    teardown(function() emu:stop() end)
    before_each(function()
      emu:reset()
      -- 2 s in the queue, then 8 s running: positions hold still long enough to read
      emu:configure({ generation = 10 })
      client = helpers.new_client("sunra", KEY, emu.url)
    end)
    after_each(function() client:close() end)

    it("counts the requests ahead, and follows them out of the queue", function()
      local t = {}
      for i = 1, 3 do t[i] = assert(client:generate({ prompt = "shot " .. i .. " of a quiet street" })) end
      for i = 1, 3 do
        assert(t[i]:refresh())
        assert.equal("queued", t[i].status)
        assert.equal(i - 1, t[i].queue_position)
      end
      -- the first leaves the queue: the last moves up
      assert(t[1]:cancel())
      assert(t[3]:refresh())
      assert.equal(1, t[3].queue_position)
      -- out of the queue, no position
      emu:advance(2.5)
      assert(t[3]:refresh())
      assert.equal("running", t[3].status)
      assert.is_nil(t[3].queue_position)
    end)

    it("reaches a waiting task through the poll scheduler", function()
      local first = assert(client:generate({ prompt = "the first of two shots" }))
      local second = assert(client:generate({ prompt = "the second of two shots" }))
      assert(second:refresh())
      assert.equal(1, second.queue_position)
      assert(first:cancel())
      -- the position moves (1 -> 0) while the status stays IN_QUEUE: only the poller sees it
      local ok, err = second:wait({ timeout = 0.6 })
      assert.is_nil(ok)
      assert.equal("timeout", err.kind)
      assert.equal("queued", second.status)
      assert.equal(0, second.queue_position)
      emu:advance(10)
      assert(second:wait({ timeout = 5, on_update = function(task)
        if task.status ~= "queued" then assert.is_nil(task.queue_position) end
      end }))
    end)
  end)

  for _, provider in ipairs({ "orcarouter", "crun", "anyfast", "piapi", "ark" }) do
    it("is nil on " .. provider .. ", which reports none", function()
      local emu = assert(emulator.start({ provider = provider, processing = 0.05, api_key = KEY }))
      emu:configure({ generation = 10 })
      local c = helpers.new_client(provider, KEY, emu.url)
      local t = assert(c:generate({ prompt = "a quiet street at dawn" }))
      assert(t:refresh())
      assert.equal("queued", t.status)
      assert.is_nil(t.queue_position)
      c:close()
      emu:stop()
    end)
  end
end)
