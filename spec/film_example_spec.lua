-- examples/film.lua, the production `make demo` runs last, on the Ark twin (which returns
-- last frames): six shots succeed, two continue from the frame before, one is refused by
-- moderation and passes with the varied prompt, and the report is written.
local seedance = require "seedance"
local helpers = require "helpers"

package.path = helpers.ROOT .. "/examples/?.lua;" .. package.path
local film = require "film"

describe("examples/film.lua", function()
  local AK, SK = "AKLTfilm", "ZmlsbS1zZWNyZXQ"
  local twin = helpers.twin("ark", "film-key", { processing = 0.1, access_key = AK, secret_key = SK },
                            { generation = 0.3, processing = 0.1 }, { access_key = AK, secret_key = SK })

  it("runs the film to the end", function()
    local dir = os.tmpname()
    os.remove(dir)
    local client = twin:client()
    local real_write = io.write
    io.write = function() end -- luacheck: ignore 122 (the example narrates; the spec reads the result)
    local ok, r, err = pcall(film.run, client, "https://cdn.example.com", dir, { emulated = true })
    io.write = real_write -- luacheck: ignore 122
    assert.is_true(ok, tostring(r))
    assert.is_table(r, tostring(err))
    assert.equal(6, #r.order)
    for _, k in ipairs(r.order) do
      assert.equal("succeeded", r.shots[k].status, k)
      assert.truthy(helpers.exists(r.shots[k].path), k)
    end
    assert.equal(2, r.shots["s4-watcher"].attempts)
    assert.matches("fully clothed", r.shots["s4-watcher"].prompt)
    assert.equal("s1-arrival", r.shots["s2-turn"].continues)
    assert.equal("s5-standoff", r.shots["s6-exit"].continues)
    assert.truthy(r.cost <= 60)
    assert.truthy(helpers.read(dir .. "/rooftop.html"):find("s6-exit", 1, true))
    client:close()
    assert(seedance.probe(r.shots["s6-exit"].path))
    helpers.sh("rm -rf '" .. dir .. "'")
  end)
end)
