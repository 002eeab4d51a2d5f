-- Sunra conformance: the Ark Assets API over real HTTP against the emulator twin, checked
-- against the documented examples in spec/fixtures/sunra: what goes on the wire (paths with
-- Sunra's record id, the configurable auth scheme, body field names), what Lua sees (the
-- reference built from ark_asset_id, lowercase statuses), the soft delete, and the 403
-- rate limit retried on every operation and reported as rate limiting.
local emulator = require "seedance.emulator"
local dialect = require "seedance.providers.sunra"
local cjson = require "cjson"
local helpers = require "helpers"

local KEY = "sk-sunra-test-0123456789"
local fixture = helpers.fixtures("sunra")
local same_shape, keys = helpers.same_shape, helpers.keys

describe("sunra", function()
  local emulated = helpers.twin("sunra", KEY, { processing = 0.2, api_key = KEY },
                                { processing = 0.2, faults = {} })
  local emu, client
  local function new_client(extra) return emulated:client(extra) end
  local function last() return emulated:last_request() end

  before_each(function()
    emu, client = emulated.emu, new_client()
  end)
  after_each(function() client:close() end)

  describe("parsers, on the documented examples", function()
    it("reads a created record: Sunra's id for paths, ark_asset_id for the reference", function()
      local f = dialect.parse_asset(fixture("create_response.json"))
      assert.equal("sunra-20260318071009-k3m9p", f.id)
      assert.equal("asset://asset-20260318071009-xy98z", f.ref)
      assert.equal("asset-20260318071009-xy98z", f.ark_asset_id)
      assert.equal("processing", f.raw_status)
      assert.equal("image", f.type)
      assert.equal("alice", f.name)
      assert.equal("https://example.com/faces/alice.jpg", f.url)
      assert.equal(1773817809, f.created_at)
      assert.is_nil(f.error)
    end)

    it("reads ark_url once active, and a failed record's reason", function()
      local a = dialect.parse_asset(fixture("get_active.json"))
      assert.equal("active", a.raw_status)
      assert.matches("^https://ark%-assets%.example%.com/", a.url)
      assert.equal("https://example.com/faces/alice.jpg", a.source_url)
      local f = dialect.parse_asset(fixture("get_failed.json"))
      assert.same({ code = "MultiFaceViolation",
                    message = "The image contains multiple faces; exactly one face is allowed" }, f.error)
    end)

    it("reads a list page and knows when it is the last", function()
      local items, more = dialect.parse_list(fixture("list_response.json"), 1)
      assert.equal(2, #items)
      assert.is_false(more)
      assert.equal("failed", items[1].raw_status)
      assert.equal("asset://asset-20260318071009-xy98z", items[2].ref)
      local b = fixture("list_response.json")
      b.total = 45
      local _, again = dialect.parse_list(b, 2)
      assert.is_true(again)
    end)

    it("reads the 403s: rate limit unless the body speaks of permissions", function()
      local m, c = require("seedance.wire.http").describe_body(fixture("error_rate_limit_403.json"))
      assert.equal("rate_limited", dialect.error_kind(403, nil, m, c))
      m, c = require("seedance.wire.http").describe_body(fixture("error_forbidden_403.json"))
      assert.equal("auth", dialect.error_kind(403, nil, m, c))
      assert.equal("rate_limited", dialect.error_kind(403, nil, nil, nil))
      assert.is_nil(dialect.error_kind(401, nil, "bad key", nil))
    end)

    it("names references @Image1, @Video1, @Audio1", function()
      assert.equal("@Image1", dialect.token("image", 1))
      assert.equal("@Image2", dialect.token("image", 2))
      assert.equal("@Video1", dialect.token("video", 1))
      assert.equal("@Audio3", dialect.token("audio", 3))
    end)
  end)

  describe("on the wire", function()
    it("uploads: POST /v1/ark/assets with the documented fields, Bearer auth", function()
      local a = assert(client:upload({ url = "https://example.com/faces/alice.jpg", name = "alice" }))
      local r = last()
      assert.equal("POST", r.method)
      assert.equal("/v1/ark/assets", r.path)
      assert.equal("Bearer " .. KEY, r.headers.authorization)
      assert.matches("^application/json", r.headers["content-type"])
      assert.same(keys(fixture("create_request.json")), keys(cjson.decode(r.body)))
      assert.same({ source_url = "https://example.com/faces/alice.jpg", name = "alice", asset_type = "image" },
                  cjson.decode(r.body))
      same_shape(fixture("create_response.json"), a.raw)
      assert.matches("^sunra%-", a.id)
      assert.equal("asset://" .. a.raw.ark_asset_id, a.ref)
      assert.are_not.equal(a.raw.ark_asset_id, a.id)
      assert.equal("processing", a.status)
      assert.equal("processing", a.raw_status)
      assert.equal("image", a.type)
      assert.equal(1, emu:stats().creates)
    end)

    it("sends only source_url when nothing else is known", function()
      assert(client:upload({ url = "https://example.com/face" }))
      assert.same({ source_url = "https://example.com/face" }, cjson.decode(last().body))
    end)

    it("fetches by Sunra's record id and sees ark_url once active", function()
      local a = assert(client:upload({ url = "https://example.com/v.mp4" }))
      assert.equal("video", a.type)
      assert.equal(a, a:wait({ timeout = 5 }))
      assert.equal("active", a.status)
      local r = last()
      assert.equal("GET", r.method)
      assert.equal("/v1/ark/assets/" .. a.id, r.path)
      same_shape(fixture("get_active.json"), a.raw)
      assert.equal(a.raw.ark_url, a.url)
      local b = assert(client:asset(a.id))
      assert.equal(a.ref, b.ref)
      assert.equal("active", b.status)
      assert.equal("v.mp4", b.name)
    end)

    it("sends the Key scheme when configured, and refuses any other at seedance.new", function()
      local c = new_client({ auth_scheme = "Key" })
      assert(c:upload({ url = "https://example.com/a.png" }))
      assert.equal("Key " .. KEY, last().headers.authorization)
      c:close()
      local b = new_client({ auth_scheme = "Bearer" })
      assert(b:upload({ url = "https://example.com/a.png" }))
      assert.equal("Bearer " .. KEY, last().headers.authorization)
      b:close()
      for _, bad in ipairs({ "Token", "bearer", "Basic", "" }) do
        assert.has_error(function() new_client({ auth_scheme = bad }) end,
          "seedance.new: auth_scheme must be \"Bearer\" or \"Key\" for sunra, got '" .. bad .. "'")
      end
      assert.has_error(function() new_client({ auth_scheme = 1 }) end)
    end)

    it("lists every page with the documented query, and filters by one status", function()
      for i = 1, 5 do assert(client:upload({ url = ("https://example.com/%d.png"):format(i) })) end
      assert(client:upload({ url = "https://example.com/crowd-multi-face.png" }))
      local n = 0
      for a in client:assets({ page_size = 4 }) do
        n = n + 1
        assert.matches("^asset://asset%-", a.ref)
      end
      assert.equal(6, n)
      assert.equal(2, emu:stats().by_route["GET /v1/ark/assets"])
      assert.equal("page=2&page_size=4", last().raw_query)
      emulator.sleep(0.3)
      local failed = {}
      for a in client:assets({ status = "failed" }) do failed[#failed + 1] = a end
      assert.equal(1, #failed)
      assert.equal("failed", failed[1].status)
      assert.equal("MultiFaceViolation", failed[1].error.code)
      assert.equal("page=1&page_size=100&status=failed", last().raw_query)
      same_shape(fixture("list_response.json").items[1], failed[1].raw)
      local body = assert(client:_call(dialect.list_assets({}, 1)))
      same_shape(fixture("list_response.json"), body)
    end)

    it("ends a listing by several statuses with the service's refusal", function()
      assert(client:upload({ url = "https://example.com/a.png" }))
      local n = 0
      for _ in client:assets({ status = { "active", "processing" } }) do n = n + 1 end
      assert.equal(0, n)
      assert.equal("validation", client:last_error().kind)
      assert.equal(400, client:last_error().status)
    end)

    it("soft-deletes by record id: gone from get and list", function()
      local a = assert(client:upload({ url = "https://example.com/a.png" }))
      local b = assert(client:upload({ url = "https://example.com/b.png" }))
      assert.is_true(a:delete())
      local r = last()
      assert.equal("DELETE", r.method)
      assert.equal("/v1/ark/assets/" .. a.id, r.path)
      local _, err = client:asset(a.id)
      assert.equal("not_found", err.kind)
      assert.equal(404, err.status)
      local ids = {}
      for x in client:assets() do ids[#ids + 1] = x.id end
      assert.same({ b.id }, ids)
      local dump = emu:control({ op = "dump" }).sunra.assets
      assert.equal(2, #dump)
      assert.is_true(dump[1].deleted)
      local body = assert(client:_call(dialect.delete_asset(b.id)))
      same_shape(fixture("delete_response.json"), body)
    end)
  end)

  describe("lifecycle", function()
    it("reports a failed asset as asset_failed with the provider's code", function()
      local a = assert(client:upload({ url = "https://example.com/crowd-multi-face.jpg" }))
      local ok, err = a:wait({ timeout = 5 })
      assert.is_nil(ok)
      assert.equal("asset_failed", err.kind)
      assert.equal("MultiFaceViolation", err.code)
      assert.equal("failed", a.status)
      same_shape(fixture("get_failed.json"), a.raw)
      -- (the client refuses .txt unless told the type: told, the twin gets to refuse it)
      local t = assert(client:upload({ url = "https://example.com/notes.txt", type = "image" }))
      local _, terr = t:wait({ timeout = 5 })
      assert.equal("UnsupportedFormat", terr.code)
      local h = assert(client:upload({ url = "https://example.com/x.heif" }))
      local _, herr = h:wait({ timeout = 5 })
      assert.equal("ImageFormatNotSupported", herr.code)
    end)

    it("runs the whole api.md workflow: upload, wait, fail, list, delete", function()
      local good = assert(client:upload({ url = "https://example.com/hero.png", name = "hero" }))
      local bad = assert(client:upload({ url = "https://example.com/multi-face.png" }))
      assert(good:wait({ timeout = 5 }))
      local _, err = bad:wait({ timeout = 5 })
      assert.equal("asset_failed", err.kind)
      local seen = 0
      for _ in client:assets({ status = "active" }) do seen = seen + 1 end
      assert.equal(1, seen)
      assert(good:delete())
      assert(bad:delete())
      for _ in client:assets() do seen = seen + 1 end
      assert.equal(1, seen)
    end)
  end)

  describe("403 is the rate limit", function()
    it("is retried on every operation, creating nothing twice", function()
      emu:fault({ match = "POST /v1/ark/assets", status = 403, count = 2 })
      local a = assert(client:upload({ url = "https://example.com/a.png" }))
      assert.equal(1, emu:stats().creates)
      emu:fault({ match = "GET /v1/ark/assets/", status = 403, count = 2 })
      assert(client:asset(a.id))
      emu:fault({ match = "GET /v1/ark/assets", status = 403, count = 2 })
      for _ in client:assets() do end
      assert.is_nil(client:last_error())
      emu:fault({ match = "DELETE /v1/ark/assets/", status = 403, count = 2 })
      assert.is_true(a:delete())
      assert.equal(8, emu:stats().by_status["403"])
      assert.equal(1, emu:stats().creates)
    end)

    it("honours Retry-After on a 403", function()
      emu:fault({ match = "GET /v1/ark/assets", status = 403, retry_after = "0.3", count = 1 })
      local t0 = emulator.now()
      for _ in client:assets() do end
      assert.is_true(emulator.now() - t0 >= 0.28)
    end)

    it("answers 403 with the rate-limit body, reported as rate_limited once retries run out", function()
      emu:fault({ match = "GET /v1/ark/assets", status = 403, count = 10 })
      local c = new_client({ retries = 2 })
      local _, err = c:asset("sunra-1")
      assert.equal("rate_limited", err.kind)
      assert.equal(403, err.status)
      assert.equal("rate_limit_exceeded", err.code)
      assert.is_true(err.retryable)
      assert.equal(3, err.attempts)
      same_shape(fixture("error_rate_limit_403.json"), err.raw)
      c:close()
    end)

    it("is what the emulator's rate_limit fault sends for sunra", function()
      emu:configure({ faults = { rate_limit = 1 } })
      local c = new_client({ retries = 0 })
      local _, err = c:asset("sunra-1")
      assert.equal(403, err.status)
      assert.equal("rate_limited", err.kind)
      c:close()
    end)

    it("tells a 403 about permissions apart: auth", function()
      local body = cjson.encode(fixture("error_forbidden_403.json"))
      emu:fault({ match = "GET /v1/ark/assets", status = 403, body = body, count = 10 })
      local c = new_client({ retries = 1 })
      local _, err = c:asset("sunra-1")
      assert.equal("auth", err.kind)
      assert.equal(403, err.status)
      c:close()
    end)
  end)

  describe("the twin refuses what Sunra refuses", function()
    local function post(body, ct)
      return client:_call({ endpoint = "upload_asset", method = "POST", body = body, content_type = ct })
    end

    it("a missing source_url, an unknown field, a bad asset_type, a non-JSON body", function()
      local _, e1 = post({ name = "x" })
      assert.equal("validation", e1.kind)
      assert.matches("source_url", e1.message)
      local _, e2 = post({ url = "https://example.com/a.png" })
      assert.equal(400, e2.status)
      assert.matches("unknown field 'url'", e2.message)
      local _, e3 = post({ source_url = "https://example.com/a.png", assetType = "image" })
      assert.matches("unknown field 'assetType'", e3.message)
      local _, e4 = post({ source_url = "https://example.com/a.png", asset_type = "Image" })
      assert.matches("asset_type", e4.message)
      local _, e5 = post("source_url=https://example.com/a.png", "application/x-www-form-urlencoded")
      assert.equal(400, e5.status)
      assert.equal(0, emu:stats().creates)
    end)

    it("a wrong key or scheme: 401, auth", function()
      local c = new_client({ api_key = "sk-wrong-000000" })
      local _, err = c:asset("sunra-1")
      assert.equal("auth", err.kind)
      assert.equal(401, err.status)
      c:close()
      local _, e2 = client:_call({ endpoint = "get_asset", method = "GET", params = { id = "x" },
                                   headers = { "Authorization: Token " .. KEY } })
      assert.equal(401, e2.status)
    end)
  end)

  it("never shows the key", function()
    local errs = {}
    emu:fault({ match = "GET /v1/ark/assets", status = 500, count = 10,
                body = '{"error":{"code":"echo","message":"bad header Bearer ' .. KEY .. '"}}' })
    local c = new_client({ retries = 0 })
    local _, e1 = c:asset("sunra-1")
    errs[#errs + 1] = e1
    assert.equal("bad header Bearer [REDACTED]", e1.message)
    emu:reset()
    emu:fault({ match = "GET /v1/ark/assets", status = 403, count = 10 })
    local _, e2 = c:asset("sunra-1")
    errs[#errs + 1] = e2
    local w = new_client({ api_key = "sk-another-wrong-key" })
    local _, e3 = w:asset("sunra-1")
    errs[#errs + 1] = e3
    helpers.assert_errors_hide(KEY, errs)
    emu:reset()
    local a = assert(client:upload({ url = "https://example.com/a.png" }))
    helpers.assert_shown_without(KEY, a, client)
    c:close()
    w:close()
  end)

  it("is served under /sunra by the emulator's 'all' mode", function()
    local all = assert(emulator.start({ provider = "all", processing = 0.05 }))
    assert.equal(all.url .. "/sunra", all.urls.sunra)
    local c = helpers.new_client("sunra", KEY, all.urls.sunra)
    local a = assert(c:upload({ url = "https://example.com/a.png" }))
    assert(a:wait({ timeout = 5 }))
    assert.equal(1, all:stats().by_route["POST /sunra/v1/ark/assets"])
    c:close()
    all:stop()
  end)
end)
