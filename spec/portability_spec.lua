-- What differs between Lua 5.1, LuaJIT, 5.3 and 5.4 and has bitten here: PUC 5.1 cannot
-- yield out of a for iterator or across pcall, so a wait there inside seedance.run blocks
-- instead of yielding; 5.3+ (and Debian's cjson) hand back floats where 5.1 has plain
-- numbers, which must not reach the wire as "2.0". `make matrix` runs this on each.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local json = require "seedance.wire.json"
local url = require "seedance.wire.url"

describe("portability", function()
  local emu, client

  setup(function()
    emu = assert(emulator.start({ provider = "piapi", processing = 0.05, api_key = "k" }))
  end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    client = seedance.new({ provider = "piapi", api_key = "k", base_url = emu.url,
                            poll = { interval = 0.02, max = 0.05 } })
  end)
  after_each(function() client:close() end)

  it("lists page by page with `for` inside a workflow (a for iterator that waits)", function()
    local n = seedance.run(function()
      assert(client:upload({ url = "https://x/a.png" }))
      assert(client:upload({ url = "https://x/b.png" }))
      local count = 0
      for a in client:assets() do
        assert.is_string(a.id)
        count = count + 1
      end
      assert.is_nil(client:last_error())
      return count
    end)
    assert.equal(2, n)
  end)

  it("waits inside pcall inside a workflow", function()
    local ok, a = seedance.run(function()
      return pcall(function()
        local up = assert(client:upload({ url = "https://x/c.png" }))
        return assert(up:wait({ timeout = 5 }))
      end)
    end)
    assert.is_true(ok)
    assert.equal("active", a.status)
  end)

  it("still interleaves workflows whose waits can yield", function()
    local log = {}
    local r = seedance.run(function()
      local a = assert(client:upload({ url = "https://x/d.png" }))
      log[#log + 1] = "d"
      return assert(a:wait({ timeout = 5 })).status
    end, function()
      local a = assert(client:upload({ url = "https://x/e.png" }))
      log[#log + 1] = "e"
      return assert(a:wait({ timeout = 5 })).status
    end)
    assert.same({ "d", "e" }, log)
    assert.equal("active", r[1][1])
    assert.equal("active", r[2][1])
  end)

  it("writes integral floats as integers on the wire", function()
    assert.equal("2", json.str(2.0))
    assert.equal("page=2&size=100", url.query({ page = 4 / 2, size = 1e2 }))
    assert.equal("12345678901", json.str(json.decode("12345678901")))
    assert.equal('{"n":3}', json.encode({ n = json.decode("3") }))
  end)
end)
