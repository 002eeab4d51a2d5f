-- References on all six services, against their emulator twins: every form a user can hold
-- for an asset (the Asset object, its id, "asset://<id>", {url = "asset://...", type =})
-- renders as that asset's token and goes to the model that takes assets; where the type is
-- not given the asset is looked up (once), or refused with a message saying how to give it;
-- a text that looks like an asset reference is never substituted as text.
local seedance = require "seedance"
local cjson = require "cjson"
local helpers = require "helpers"

local KEY = "refs-secret-key-0123456789"
local AK, SK = "AKLTrefs0123456789", "refs-secret-access-key-0123456789"

-- what each service needs to hold an asset: a group where uploads go into one
local NEEDS_GROUP = { orcarouter = true, anyfast = true, ark = true }

for _, provider in ipairs(seedance.providers) do
  describe("references on " .. provider, function()
    local dialect = require("seedance.providers." .. provider)
    local ark = provider == "ark"
    local emulated = helpers.twin(provider, KEY,
      { processing = 0.05, api_key = KEY, access_key = ark and AK or nil, secret_key = ark and SK or nil },
      { processing = 0.05, generation = 0.4 },
      ark and { access_key = AK, secret_key = SK } or nil)
    local client, group

    local function upload(u, c)
      c = c or client
      local a = assert(c:upload({ url = u, group = group }))
      return assert(a:wait({ timeout = 5 }))
    end

    -- the model a generation with assets goes to on this service
    local function asset_model(c)
      local models = dialect.models_for and dialect.models_for(c or client) or dialect.models
      return (dialect.asset_models or models).standard
    end

    -- the create request's body as the twin got it (PiAPI's twin keeps no last request:
    -- its task answer echoes the input, as documented)
    local function sent(t)
      local last = emulated:last_request()
      if type(last) == "table" then return last.body end
      assert(t:refresh())
      return (cjson.encode(t.raw):gsub("\\/", "/"))
    end

    local function requests()
      return emulated.emu:stats().requests
    end

    before_each(function()
      client = emulated:client()
      group = NEEDS_GROUP[provider] and assert(client:create_group({ name = "cast" })).id or nil
    end)
    after_each(function() client:close() end)

    it("renders every form of an asset as its token and routes it to the asset model", function()
      local hero = upload("https://example.com/faces/hero.png")
      local token = (dialect.token or require("seedance.render").default_token)("image", 1)
      local forms = { object = hero, id = hero.id, ref = hero.ref, typed = { url = hero.ref, type = "image" },
                      typed_id = { url = hero.id, type = "image" } }
      if provider == "sunra" then forms.upstream_id = hero.ark_asset_id end
      for how, form in pairs(forms) do
        local t, err = client:generate({ prompt = "{{hero}} waves", refs = { hero = form } })
        assert(t, how .. ": " .. tostring(err))
        assert.equal(token .. " waves", t.prompt, how)
        assert.equal(asset_model(), t.model, how)
        local body = sent(t)
        assert.is_truthy(body:find(hero.ref, 1, true), how .. ": the reference is not in the request")
        assert.is_nil(body:find("{{", 1, true), how)
        if how ~= "object" and how ~= "typed" then
          -- an id is never sent as text
          assert.is_nil(t.prompt:find(hero.id, 1, true), how)
        end
      end
    end)

    it("finds out the type of an asset named by id or asset:// (looking it up once)", function()
      local clip = upload("https://example.com/refs/walk.mp4")
      local hero = upload("https://example.com/faces/hero.png")
      local before = requests()
      local t = assert(client:generate({ prompt = "{{hero}} walks like {{walk}}; {{again}}",
                                         refs = { hero = hero.ref, walk = clip.id, again = clip.id } }))
      local tok = dialect.token or require("seedance.render").default_token
      assert.equal(tok("image", 1) .. " walks like " .. tok("video", 1) .. "; " .. tok("video", 2), t.prompt)
      local looked = requests() - before - 1 -- all but the create
      assert.is_truthy(sent(t):find(clip.ref, 1, true))
      -- one lookup per distinct reference (Sunra finds an asset:// in its listing)
      assert.is_true(looked >= 1 and looked <= 2, "lookups: " .. looked)
    end)

    it("never substitutes a text that looks like an asset as text", function()
      for _, v in ipairs({ "asset-20990101000000-nope0", "asset://asset-20990101000000-nope0",
                           { url = "asset://asset-20990101000000-nope0" } }) do
        local t, err = client:generate({ prompt = "{{hero}} waves", refs = { hero = v } })
        assert.is_nil(t)
        assert.equal("not_found", err.kind)
        assert.matches("asset%-20990101000000%-nope0", err.message)
      end
      -- seedance.render has no client to ask: it says how to give the type
      local r, err = seedance.render("{{hero}}", { hero = "asset://asset-20260318071009-xy98z" }, provider)
      assert.is_nil(r)
      assert.equal("reference_type", err.code)
      assert.matches('type = "image"|"video"|"audio"', err.message, 1, true)
      local ok = assert(seedance.render("{{hero}}", { hero = { url = "asset://asset-20260318071009-xy98z",
                                                              type = "image" } }, provider))
      assert.equal("asset://asset-20260318071009-xy98z", ok.images[1].url)
      -- a {url=} that is no URL is refused, not sent
      local _, e2 = client:generate({ prompt = "{{h}}", refs = { h = { url = "dawn", type = "image" } } })
      assert.equal("validation", e2.kind)
    end)

    if ark then
      it("without the key pair, says how to give the type instead of looking up", function()
        local hero = upload("https://example.com/faces/hero.png")
        local plain = seedance.new({ provider = "ark", api_key = KEY, base_url = emulated.emu.url,
                                     poll = { interval = 0.05, max = 0.1 } })
        local t, err = plain:generate({ prompt = "{{hero}}", refs = { hero = hero.id } })
        assert.is_nil(t)
        assert.equal("validation", err.kind)
        assert.equal("reference_type", err.code)
        assert.matches(hero.ref, err.message, 1, true)
        local ok = assert(plain:generate({ prompt = "{{hero}}", refs = { hero = { url = hero.id, type = "image" } } }))
        assert.equal("[Image 1]", ok.prompt)
        -- a first frame named by its id
        local f = assert(plain:generate({ prompt = "it starts", first_frame = hero.ref }))
        assert.is_truthy(cjson.decode(sent(f)).content[2].image_url.url == hero.ref)
        assert.equal("queued", f.status)
        plain:close()
      end)
    end
  end)
end
