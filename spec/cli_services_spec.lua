-- bin/seedance on every service, against its emulator twin: upload -> wait -> generate with
-- the uploaded asset (named by its id, as a user copies it from the upload) -> download,
-- a group made first where the service keeps assets in groups; Ark's key pair from the
-- environment. Nothing secret is ever printed.
local emulator = require "seedance.emulator"
local seedance = require "seedance"
local sample = require("seedance.emulator").SAMPLE_MP4
local helpers = require "helpers"

local KEY = "sk-cli-services-0123456789"
local AK, SK = "AKLTcliservices01234", "cli-services-secret-key-0123456789"
local NEEDS_GROUP = { orcarouter = true, anyfast = true, ark = true }

for _, provider in ipairs(seedance.providers) do
  describe("bin/seedance on " .. provider, function()
    local dialect = require("seedance.providers." .. provider)
    local emu
    local VIDEO = helpers.scratch(".mp4")
    -- this machine's state folder (crun's record of uploads lives there): a scratch one
    local STATE = os.tmpname()
    local cli = helpers.cli(KEY, function()
      return { SEEDANCE_API_KEY = KEY, SEEDANCE_PROVIDER = provider, SEEDANCE_BASE_URL = emu.url,
               SEEDANCE_ACCESS_KEY = AK, SEEDANCE_SECRET_KEY = SK, SEEDANCE_STORE = false,
               XDG_STATE_HOME = STATE, SEEDANCE_CONTROL_URL = emu.control_url or false, TERM = "dumb" }
    end, { SK })

    setup(function()
      os.remove(STATE)
      emu = assert(emulator.start({ provider = provider, processing = 0.1, api_key = KEY,
                                    access_key = AK, secret_key = SK }))
      emu:configure({ generation = 0.3, region = provider == "ark" and require("cjson").null or nil })
    end)
    teardown(function()
      emu:stop()
      cli.cleanup()
      helpers.sh("rm -rf " .. helpers.quote(STATE))
    end)

    it("uploads, waits, generates with the uploaded asset and downloads the video", function()
      local group = {}
      if NEEDS_GROUP[provider] then
        -- without a group: the error names the option and the command that makes one
        local gcode, gdoc = cli.run_json({ "assets", "upload", "https://example.com/faces/hero.png" })
        assert.equal(1, gcode)
        assert.equal("group_required", gdoc.error.code)
        assert.truthy(gdoc.error.message:find("--group G", 1, true))
        assert.truthy(gdoc.error.message:find("seedance groups create", 1, true))
        local code, doc, err = cli.run_json({ "groups", "create", "cast" })
        assert.equal(0, code, err)
        group = { "--group", doc.group.id }
      end
      local up = { "assets", "upload", "https://example.com/faces/hero.png", "--name", "hero" }
      for _, x in ipairs(group) do up[#up + 1] = x end
      local code, doc, err = cli.run_json(up)
      assert.equal(0, code, err)
      local id = doc.asset.id
      code, doc, err = cli.run_json({ "assets", "wait", id, "--timeout", "10" })
      assert.equal(0, code, err)
      assert.equal("active", doc.assets[1].status)
      local ref = doc.assets[1].ref
      code, doc, err = cli.run_json({ "generate", "{{hero}} waves at {{time}}", "--ref", "hero=" .. id,
                                      "--ref", "time=dawn", "--download", VIDEO, "--timeout", "20" })
      assert.equal(0, code, err)
      local token = (dialect.token or require("seedance.render").default_token)("image", 1)
      assert.equal(token .. " waves at dawn", doc.task.prompt)
      local models = dialect.models_for and dialect.models_for({ base_url = emu.url }) or dialect.models
      assert.equal((dialect.asset_models or models).standard, doc.task.model)
      assert.equal("succeeded", doc.task.status)
      assert.equal(sample, helpers.read(VIDEO))
      assert.is_truthy(ref:match("^asset://"))
    end)
  end)
end

-- crun has no list endpoint: `assets list` shows what this machine's store recorded at
-- upload, and says so (a line on stderr, `source`/`store` in --json); never a silent empty.
describe("bin/seedance assets list on crun", function()
  local emu
  local STATE, OTHER = os.tmpname(), os.tmpname()
  local cli = helpers.cli(KEY, function()
    return { SEEDANCE_API_KEY = KEY, SEEDANCE_PROVIDER = "crun", SEEDANCE_BASE_URL = emu.url,
             SEEDANCE_STORE = false, XDG_STATE_HOME = STATE, TERM = "dumb" }
  end)
  setup(function()
    os.remove(STATE)
    os.remove(OTHER)
    emu = assert(emulator.start({ provider = "crun", processing = 0.1, api_key = KEY }))
  end)
  teardown(function()
    emu:stop()
    cli.cleanup()
    helpers.sh("rm -rf " .. helpers.quote(STATE) .. " " .. helpers.quote(OTHER))
  end)

  it("says where it looked when nothing is recorded", function()
    local code, out, err = cli.run({ "assets", "list" })
    assert.equal(0, code, err)
    assert.equal("", out:gsub("^[^\n]*\n", ""))
    local store = STATE .. "/seedance/store.db"
    assert.truthy(err:find("crun has no list endpoint", 1, true), err)
    assert.truthy(err:find(store, 1, true), err)
    assert.truthy(err:find("no asset is recorded there", 1, true), err)
    local doc
    code, doc = cli.run_json({ "assets", "list" })
    assert.equal(0, code)
    assert.same({}, doc.assets)
    assert.equal("store", doc.source)
    assert.equal(store, doc.store)
  end)

  it("lists what assets upload registered on this machine, by status too", function()
    local code, doc, err = cli.run_json({ "assets", "upload", "https://example.com/faces/hero.png" })
    assert.equal(0, code, err)
    local id = doc.asset.id
    code, doc, err = cli.run_json({ "assets", "upload", "https://example.com/sets/street.png" })
    assert.equal(0, code, err)
    local other = doc.asset.id
    local wcode, _, werr = cli.run_json({ "assets", "wait", id, other, "--timeout", "10" })
    assert.equal(0, wcode, werr)
    code, doc, err = cli.run_json({ "assets", "list" })
    assert.equal(0, code, err)
    assert.equal("store", doc.source)
    local ids = {}
    for _, a in ipairs(doc.assets) do ids[#ids + 1] = a.id end
    table.sort(ids)
    local want = { id, other }
    table.sort(want)
    assert.same(want, ids)
    assert.truthy(err:find("crun has no list endpoint", 1, true), err)
    assert.is_nil(err:find("no asset is recorded", 1, true))
    code, doc = cli.run_json({ "assets", "list", "--status", "failed" })
    assert.equal(0, code)
    assert.same({}, doc.assets)
    -- another store (--store, or $SEEDANCE_STORE) knows nothing of them, and says so
    local code2, out2, err2 = cli.run({ "assets", "list", "--store", OTHER .. ".db" })
    assert.equal(0, code2, err2)
    assert.is_nil(out2:find(id, 1, true))
    assert.truthy(err2:find(OTHER .. ".db", 1, true), err2)
    code, doc = cli.run_json({ "assets", "list" }, { SEEDANCE_STORE = OTHER .. ".db" })
    assert.equal(0, code)
    assert.same({}, doc.assets)
    assert.equal(OTHER .. ".db", doc.store)
    os.remove(OTHER .. ".db")
  end)
end)
