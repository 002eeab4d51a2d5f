-- Mistakes caught before anything is sent, on all six services: upload sources no service
-- takes (an extension that is no media's, a scheme other than http(s), no host), uploads
-- without the type or the group a service requires, and generation settings the services
-- refuse, each refused as `validation` naming what is allowed. The clients point at a port
-- where nothing listens and never retry: any request would end as a network error.
local seedance = require "seedance"

local GROUP = "group-20260318033332-ab12c"

local function client_for(provider)
  return seedance.new({ provider = provider, api_key = "k", base_url = "http://127.0.0.1:1", retries = 0,
                        access_key = provider == "ark" and "AK" or nil,
                        secret_key = provider == "ark" and "SK" or nil,
                        control_url = provider == "ark" and "http://127.0.0.1:1" or nil, timeout = 2 })
end

for _, provider in ipairs(seedance.providers) do
  describe("before paying, on " .. provider, function()
    local dialect = require("seedance.providers." .. provider)
    local client
    before_each(function() client = client_for(provider) end)
    after_each(function() client:close() end)

    local function refused(args, code)
      args.group = args.group or GROUP
      local a, err = client:upload(args)
      assert.is_nil(a)
      assert.equal("validation", err.kind, tostring(err))
      assert.equal(code, err.code, tostring(err))
      return err.message
    end

    it("refuses upload URLs no service takes, unless the type is given", function()
      assert.matches("no service takes .xyz files", refused({ url = "https://x.example/a.xyz" }, "bad_url"), 1, true)
      assert.matches('pass type="image"', refused({ url = "https://x.example/doc.pdf" }, "bad_url"), 1, true)
      assert.matches("http:// or https://", refused({ url = "ftp://x.example/a.png" }, "bad_url"), 1, true)
      refused({ url = "file:///tmp/a.png" }, "bad_url")
      assert.matches("has no host", refused({ url = "https:///a.png" }, "bad_url"), 1, true)
      refused({ url = "https://" }, "bad_url")
      refused({ url = "x.example/a.png" }, "bad_url")
      -- told the type, the odd extension is the caller's call: the request is tried
      local _, err = client:upload({ url = "https://x.example/a.xyz", type = "image", group = GROUP,
                                     validate = false })
      assert.equal("network", err.kind)
      -- a bare host is no extension
      local _, e2 = client:upload({ url = "https://x.example.com", type = "image", group = GROUP, validate = false })
      assert.equal("network", e2.kind)
      -- each item of a batch gets its own verdict
      local list, many = client:upload_many({ { url = "https://x.example/a.xyz", group = GROUP },
                                              { url = "ftp://x.example/b.png", group = GROUP } })
      assert.equal("bad_url", list[1].code)
      assert.equal("bad_url", list[2].code)
      assert.matches("2 of 2", many.message)
    end)

    it("never uploads without the type or group the service requires", function()
      local u = "https://x.example/photo?id=1"
      if dialect.requires_type then
        assert.matches(provider .. " needs the asset type", refused({ url = u }, "type_required"), 1, true)
      else
        -- the service infers it (or defaults): the request is tried
        local _, err = client:upload({ url = u, validate = false })
        assert.equal("network", err.kind)
      end
      if dialect.requires_group then
        local a, err = client:upload({ url = "https://x.example/a.png" })
        assert.is_nil(a)
        assert.same({ "validation", "group_required" }, { err.kind, err.code })
        assert.matches("client:create_group", err.message, 1, true)
      end
      if provider == "anyfast" then
        -- inline data is AnyFast's to take
        local _, err = client:upload({ url = "data:image/png;base64,iVBORw0KGgo=", group = GROUP })
        assert.equal("network", err.kind)
      end
    end)

    it("refuses generation settings before any lookup, naming what is allowed", function()
      if not (dialect.capabilities or {}).generate then return end
      local function why(a)
        a.prompt = a.prompt or "{{hero}} waves"
        a.refs = a.refs or { hero = "asset-20260318071009-xy98z" } -- a lookup would be a network error
        local t, err = client:generate(a)
        assert.is_nil(t)
        assert.equal("validation", err.kind, tostring(err))
        return err.message
      end
      local m = why({ duration = 5.5 })
      assert.matches("duration 5.5: whole seconds only (4 to 15 s, or -1 for auto)", m, 1, true)
      assert.is_nil(m:find("outside", 1, true))
      assert.matches("outside 4-15 s", why({ duration = 20 }), 1, true)
      assert.matches("not one of 21:9 16:9 4:3 1:1 3:4 9:16 adaptive", why({ ratio = "5:4" }), 1, true)
      assert.matches("not one of 480p 720p 1080p", why({ resolution = "4k" }), 1, true)
    end)

    it("knows the models it can name", function()
      local known = client:known_models()
      assert.same({ "standard", "fast" }, { known[1], known[2] })
      assert.is_true(#known >= 4)
    end)
  end)
end
