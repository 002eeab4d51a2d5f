-- One safety policy (src/safety.c): which outcomes prove a create did nothing, read alike by
-- the engine's retries, the journal's "definite" and the errors' `retryable`.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local core = require "seedance.core"
local journal = require "seedance.store.journal"

describe("the safety policy", function()
  it("says which statuses prove that nothing was done, and which are worth another try", function()
    local want = {
      [400] = { true, false }, [401] = { true, false }, [404] = { true, false }, [408] = { false, true },
      [409] = { true, false }, [422] = { true, false }, [429] = { true, true }, [455] = { true, true },
      [500] = { false, true }, [502] = { false, true }, [503] = { false, true }, [504] = { false, true },
      [505] = { false, false },
    }
    for status, w in pairs(want) do
      assert.same(w, { core.safety(status) }, "status " .. status)
    end
    -- a transport failure: nothing was done only when the request never left
    assert.same({ true, false }, { core.safety(nil, false) })
    assert.same({ false, false }, { core.safety(nil, true) })
  end)

  it("is what the journal reads", function()
    for _, s in ipairs({ 400, 408, 429, 455, 500, 502, 503, 504 }) do
      assert.equal((core.safety(s)), journal.definite({ status = s }), "status " .. s)
    end
    assert.is_true(journal.definite({ request_sent = false }))
    assert.is_false(journal.definite({ kind = "network" }))
    assert.is_false(journal.definite({ status = 200, kind = "protocol" }))
  end)

  describe("is what the engine and the errors follow", function()
    local emu
    setup(function() emu = assert(emulator.start({ provider = "piapi", processing = 0.1 })) end)
    teardown(function() emu:stop() end)

    local function client()
      return seedance.new({ provider = "piapi", api_key = "k", base_url = emu.url, backoff_base = 0.01,
                            backoff_max = 0.02, poll = { interval = 0.05, max = 0.1 } })
    end

    it("a create that met a 503 is never sent again; one that met a 429 is", function()
      emu:reset()
      local c = client()
      emu:fault({ match = "POST /api/v1/task", status = 503, count = 1 })
      local t, err = c:generate({ prompt = "one" })
      assert.is_nil(t)
      assert.is_true(err.retryable)
      assert.is_true(err.maybe_submitted)
      assert.equal(1, emu:stats().by_route["POST /api/v1/task"])
      emu:fault({ match = "POST /api/v1/task", status = 429, retry_after = "0", count = 1 })
      assert(c:generate({ prompt = "two" }))
      assert.equal(3, emu:stats().by_route["POST /api/v1/task"])
      c:close()
    end)

    it("a read that met a 503 is tried again", function()
      emu:reset()
      local c = client()
      local a = assert(c:upload({ url = "https://x/a.png" }))
      emu:fault({ match = "GET /api/v1/asset/", status = 503, count = 1 })
      assert(a:refresh())
      assert.equal(2, emu:stats().by_route["GET /api/v1/asset/{asset_id}"])
      c:close()
    end)
  end)
end)
