-- The provider registry and the dialect contract: one list of services that every part
-- reads, and a dialect that breaks the contract fails when it loads, naming the field.
local registry = require "seedance.providers"
local base = require "seedance.providers.base"
local seedance = require "seedance"

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

describe("the provider registry", function()
  it("is the one list: the client, the limits, the emulator and the README table read it", function()
    assert.same(registry.NAMES, seedance.providers)
    assert.equal(registry.NAMES, require("seedance.media.limits").providers)
    assert.equal(registry.NAMES, require("seedance.emulator.app").PROVIDERS)
    local readme = assert(io.open("README.md")):read("*a")
    -- the rows of the per-provider table, in order, up to the blank line that ends it
    local start = assert(readme:find("| provider | auth | prompt token", 1, true))
    local body = readme:sub(start):match("^(.-)\n\n")
    local rows = {}
    for name in body:gmatch("\n| `(%w+)` |") do rows[#rows + 1] = name end
    assert.same(registry.NAMES, rows)
  end)

  it("loads every dialect through the contract, and knows nothing else", function()
    for _, name in ipairs(registry.NAMES) do
      local D = assert(registry.get(name))
      assert.is_nil(base.problem(D), name)
      assert.equal(name, D.name)
      assert.is_number(D.batch_size) -- a default the contract fills in
    end
    assert.is_nil(registry.get("nope"))
    assert.is_false(registry.known("shared")) -- a helper module, never a provider
    -- a module in providers/ is not a provider because it is there
    assert.is_false(registry.has("shared"))
    assert.is_false(registry.has("base"))
    for _, name in ipairs(registry.NAMES) do assert.is_true(registry.has(name), name) end
    assert.has_error(function() seedance.new({ provider = "shared", api_key = "k" }) end)
    assert.has_error(function() seedance.render("x", {}, "base") end, "seedance.render: unknown provider 'base'")
  end)
end)

describe("the dialect contract", function()
  local piapi = require "seedance.providers.piapi"

  local function broken(change)
    local D = copy(piapi)
    D.capabilities = copy(piapi.capabilities)
    change(D)
    return D
  end

  it("names a missing or mistyped required field", function()
    local ok, err = pcall(base.check, broken(function(D) D.auth = nil end), "piapi")
    assert.is_false(ok)
    assert.equal("seedance: the piapi dialect breaks the contract: 'auth' must be a function (is nil)", err)
    assert.matches("'base_url' must be a string", base.problem(broken(function(D) D.base_url = 42 end)))
    assert.matches("'page_size' must be a number when given",
                   base.problem(broken(function(D) D.page_size = "100" end)))
  end)

  it("names the function a claimed capability needs", function()
    assert.equal("capability 'generate' needs function 'parse_created_task'",
                 base.problem(broken(function(D) D.parse_created_task = nil end)))
    assert.equal("capability 'list' needs function 'list_assets or iterate_assets'",
                 base.problem(broken(function(D) D.list_assets = nil end)))
    -- a capability switched off needs nothing
    assert.is_nil(base.problem(broken(function(D) D.capabilities.quota = false; D.quota = nil end)))
  end)

  it("refuses an unknown capability (a typo would otherwise read as 'cannot')", function()
    assert.equal("unknown capability 'gnerate'", base.problem(broken(function(D) D.capabilities.gnerate = true end)))
  end)

  it("refuses a dialect loaded under another name", function()
    assert.has_error(function() base.check(broken(function() end), "sunra") end,
      "seedance: the sunra dialect breaks the contract: 'name' is 'piapi', loaded as 'sunra'")
  end)
end)
