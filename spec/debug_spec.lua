-- SEEDANCE_DEBUG=1 (seedance.wire.debug): the requests the C scheduler sends itself (one GET per
-- object, list rounds) show in the log like the client's own, marked "(poll)", with the
-- API key redacted; a child process runs the workflow so its stderr can be read whole.
local emulator = require "seedance.emulator"
local helpers = require "helpers"

local KEY = "sk-debug-0123456789abcdef-SECRET"

describe("SEEDANCE_DEBUG", function()
  local emu
  setup(function()
    emu = assert(emulator.start({ provider = "piapi", processing = 0.4, api_key = KEY }))
  end)
  teardown(function() emu:stop() end)

  local function run(body)
    local script = os.tmpname()
    helpers.write(script, ([[
      local seedance = require "seedance"
      local c = seedance.new({ provider = "piapi", api_key = %q, base_url = %q,
                               poll = { interval = 0.1, max = 0.2, list = { interval = 0.1, max = 0.2 } } })
    ]]):format(KEY, emu.url) .. body)
    local lua = arg and arg[-1] or "lua5.4"
    local out = helpers.capture("SEEDANCE_DEBUG=1 " .. lua .. " " .. script)
    os.remove(script)
    return out
  end

  it("shows the scheduler's GET of one object and its answer, key redacted", function()
    local out = run([[
      local a = assert(c:upload({ url = "https://cdn.example.com/one.png" }))
      assert(a:wait({ timeout = 10 }))
      print("status " .. a.status)
    ]])
    assert.matches("status active", out, 1, true)
    local id = out:match("seedance%[piapi%] > GET [^\n]-/api/v1/asset/([%w%-]+) [^\n]-%(poll%)")
    assert.is_string(id, out)
    id = id:gsub("%-", "%%-") -- a pattern from here on
    assert.matches("X%-API%-Key: %[REDACTED%]", out:match("[^\n]*/api/v1/asset/" .. id .. " [^\n]*%(poll%)"))
    assert.matches("< GET [^\n]-/api/v1/asset/" .. id ..
                   ": HTTP 200 in [%d.]+ s, 1 attempt%(s%) body [^\n]-%(poll%)", out)
    assert.is_nil(out:find(KEY, 1, true), "the key shows in the log")
  end)

  it("shows the list rounds of many pending objects", function()
    local out = run([[
      local list = {}
      for i = 1, 5 do list[i] = { url = "https://cdn.example.com/m" .. i .. ".png" } end
      local all = assert(c:upload_many(list))
      assert(seedance.wait_all(all, { timeout = 10 }))
    ]])
    assert.matches("> GET [^\n]-/api/v1/asset%?[^\n]-status=processing[^\n]-%(poll%)", out)
    assert.matches("< GET [^\n]-/api/v1/asset%?[^\n]-: HTTP 200 in [^\n]-%(poll%)", out)
    assert.is_nil(out:find(KEY, 1, true), "the key shows in the log")
  end)
end)
