-- Prompt templates: partials, filter chains and the validation errors they raise before
-- anything is sent (no request is made here).
local seedance = require "seedance"

describe("seedance.render templates", function()
  local opts = {
    filters = { upper = string.upper, shout = function(v) return v .. "!" end },
    partials = { look = "cinematic, 35 mm, {{time}}", scene = "{{> look}} on {{place}}", loop = "{{> loop}}" },
    descriptions = { hero = "a tall woman in a red coat" },
  }
  local refs = { hero = "https://x/hero.png", friend = "https://x/friend.png", time = "dawn" }

  it("expands partials (nested, with placeholders inside) and filter chains", function()
    local r = assert(seedance.render("{{> look}}: {{hero}} walks in, {{hero | describe}}. {{friend | name | upper}}"
      .. " meets {{hero}} at {{time | upper | shout}}.", refs, "ark", opts))
    assert.equal("cinematic, 35 mm, dawn: [Image 1] walks in, a tall woman in a red coat. FRIEND meets [Image 1]"
      .. " at DAWN!.", r.prompt)
    -- friend is named only as text: it is used, and not sent as a medium
    assert.equal(1, #r.images)
    assert.equal("https://x/hero.png", r.images[1].url)
    local n = assert(seedance.render("{{> scene}}", { place = "https://x/roof.png", time = "noon" }, "piapi", opts))
    assert.equal("cinematic, 35 mm, noon on Image 1", n.prompt)
  end)

  it("keeps plain templates working without options, and expands on its own", function()
    local plain = seedance.render("{{hero}} at {{time}}", { hero = refs.hero, time = "dawn" })
    assert.equal("[Image 1] at dawn", plain.prompt)
    local render = require "seedance.render"
    assert.equal("cinematic, 35 mm, {{time}} {{hero}}: a tall woman in a red coat",
                 render.expand("{{> look}} {{hero}}: {{hero | describe}}", opts))
  end)

  it("refuses a bad filter, partial or placeholder as a validation error", function()
    local function why(prompt)
      local r, err = seedance.render(prompt, refs, "ark", opts)
      assert.is_nil(r)
      assert.equal("validation", err.kind)
      return err.message
    end
    assert.matches("unknown partial {{> nope}}", why("{{hero}} {{> nope}}"), 1, true)
    assert.matches("unknown filter 'nope'", why("{{hero | nope}}"), 1, true)
    assert.matches("empty filter", why("{{hero | }}"), 1, true)
    assert.matches("bad placeholder {{a b}}", why("{{hero}} {{ a b }}"), 1, true)
    assert.matches("nested too deep", why("{{hero}} {{> loop}}"), 1, true)
    assert.matches("unclosed placeholder", why("{{hero}} and {{friend"), 1, true)
    assert.matches("'friend' has no description", why("{{hero}} {{friend | describe}}"), 1, true)
    assert.matches("unknown placeholder {{ghost}}", why("{{hero}} {{ghost}}"), 1, true)
    local bad = { filters = { broken = function() error("boom") end, num = function() return {} end } }
    local _, e1 = seedance.render("{{time | broken}}", { time = "x" }, "ark", bad)
    assert.matches("filter 'broken' in {{time | broken}} failed", e1.message, 1, true)
    local _, e2 = seedance.render("{{time | num}}", { time = "x" }, "ark", bad)
    assert.matches("returned table, not text", e2.message, 1, true)
  end)

  it("raises on misuse of the options, naming them", function()
    assert.has_error(function() seedance.render("x", {}, "ark", { filter = {} }) end,
                     "seedance.render: unknown option 'filter'")
    assert.has_error(function() seedance.render("x", {}, "ark", { filters = { up = "UP" } }) end,
                     "seedance.render: filters must map names to functions ('up')")
    assert.has_error(function() seedance.render("x", {}, "ark", { partials = { p = 1 } }) end,
                     "seedance.render: partials must map names to strings ('p')")
  end)

  it("a bad template makes generate fail before any request", function()
    local emulator = require "seedance.emulator"
    local emu = assert(emulator.start({ provider = "piapi" }))
    local client = seedance.new({ provider = "piapi", api_key = "k", base_url = emu.url })
    local t, err = client:generate({ prompt = "{{> look}} {{hero}}", refs = { hero = refs.hero } })
    assert.is_nil(t)
    assert.equal("validation", err.kind)
    assert.equal(0, emu:stats().requests)
    client:close()
    emu:stop()
  end)
end)
