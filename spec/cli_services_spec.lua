-- bin/seedance on every service, against its emulator twin: upload -> wait -> generate with
-- the uploaded asset (named by its id, as a user copies it from the upload) -> download,
-- a group made first where the service keeps assets in groups; Ark's key pair from the
-- environment. Nothing secret is ever printed.
local emulator = require "seedance.emulator"
local seedance = require "seedance"
local sample = require "seedance.emulator.sample_mp4"
local helpers = require "helpers"

local KEY = "sk-cli-services-0123456789"
local AK, SK = "AKLTcliservices01234", "cli-services-secret-key-0123456789"
local NEEDS_GROUP = { orcarouter = true, anyfast = true, ark = true }

for _, provider in ipairs(seedance.providers) do
  describe("bin/seedance on " .. provider, function()
    local dialect = require("seedance.providers." .. provider)
    local emu
    local VIDEO = helpers.scratch(".mp4")
    local cli = helpers.cli(KEY, function()
      return { SEEDANCE_API_KEY = KEY, SEEDANCE_PROVIDER = provider, SEEDANCE_BASE_URL = emu.url,
               SEEDANCE_ACCESS_KEY = AK, SEEDANCE_SECRET_KEY = SK,
               SEEDANCE_CONTROL_URL = emu.control_url or false, TERM = "dumb" }
    end, { SK })

    setup(function()
      emu = assert(emulator.start({ provider = provider, processing = 0.1, api_key = KEY,
                                    access_key = AK, secret_key = SK }))
      emu:configure({ generation = 0.3, region = provider == "ark" and require("cjson").null or nil })
    end)
    teardown(function()
      emu:stop()
      cli.cleanup()
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
