-- PiAPI conformance: every asset operation over real HTTP against the emulator twin,
-- retries (429 + Retry-After, 5xx, 409), timeouts, misuse and error kinds, and secrecy.
local seedance = require "seedance"
local core = require "seedance.core"
local helpers = require "helpers"

local KEY = "pk-test-secret-0123456789"

describe("piapi", function()
  local emulated = helpers.twin("piapi", KEY, { processing = 0.2, api_key = KEY },
                                { plan = "premium", processing = 0.2, quota = 500 })
  local emu, client
  local function new_client(extra) return emulated:client(extra) end

  before_each(function()
    emu, client = emulated.emu, new_client()
  end)
  after_each(function() client:close() end)

  it("uploads: POST /api/v1/asset/upload with the documented fields", function()
    local a = assert(client:upload({ url = "https://cdn.example.com/hero.png", name = "hero" }))
    assert.matches("^asset%-%d+%-%w+$", a.id)
    assert.equal("processing", a.status)
    assert.equal("Processing", a.raw_status)
    assert.equal("asset://" .. a.id, a.ref)
    assert.equal("image", a.type)
    assert.equal("hero", a.name)
    assert.is_number(a.expires_at)
    assert.equal(1, emu:stats().by_route["POST /api/v1/asset/upload"])
  end)

  it("waits until active, refreshes and fetches", function()
    local a = assert(client:upload({ url = "https://cdn.example.com/v.mp4" }))
    assert.equal("video", a.type)
    local seen = {}
    assert.equal(a, a:wait({ timeout = 5, on_update = function(x) seen[#seen + 1] = x.status end }))
    assert.equal("active", a.status)
    assert.equal("active", seen[#seen])
    assert.equal(a, a:refresh())
    local b = assert(client:asset(a.id))
    assert.equal(a.id, b.id)
    assert.equal("active", b.status)
    assert.equal("v.mp4", b.name)
  end)

  it("reports a failed asset as asset_failed with the provider's code", function()
    local a = assert(client:upload({ url = "https://cdn.example.com/crowd-multi-face.png" }))
    local ok, err = a:wait({ timeout = 5 })
    assert.is_nil(ok)
    assert.equal("asset_failed", err.kind)
    assert.equal("MultiFaceViolation", err.code)
    assert.equal("failed", a.status)
    assert.same({ a }, err.failed)
    local h = assert(client:upload({ url = "https://cdn.example.com/x.heif" }))
    local _, herr = h:wait({ timeout = 5 })
    assert.equal("ImageFormatNotSupported", herr.code)
  end)

  it("batch uploads and waits for all concurrently", function()
    local list = {}
    for i = 1, 20 do list[i] = { url = ("https://cdn.example.com/c%02d.jpg"):format(i) } end
    local assets = assert(client:upload_many(list))
    assert.equal(20, #assets)
    assert.equal(1, emu:stats().by_route["POST /api/v1/asset/upload/batch"])
    local t0 = core.now()
    assert(seedance.wait_all(assets, { timeout = 10 }))
    -- one after another would take 20 x 0.2 s at least
    assert.is_true(core.now() - t0 < 2.0)
    for _, a in ipairs(assets) do assert.equal("active", a.status) end
  end)

  it("reports per-item failures of a batch without losing the rest", function()
    local out, err = client:upload_many({ { url = "https://x/a.png" }, { url = "https://x/b.txt" } })
    assert.equal("validation", err.kind)
    assert.equal("processing", out[1].status)
    assert.is_true(seedance.is_error(out[2]))
  end)

  it("lists every page, with a status filter, lazily", function()
    local list = {}
    for i = 1, 7 do list[i] = { url = ("https://x/%d.png"):format(i) } end
    list[8] = { url = "https://x/multi-face.png" }
    assert(client:upload_many(list))
    local n = 0
    for a in client:assets({ page_size = 3 }) do
      n = n + 1
      assert.is_string(a.id)
    end
    assert.equal(8, n)
    assert.equal(3, emu:stats().by_route["GET /api/v1/asset"])
    core.sleep(0.3)
    local failed = 0
    for a in client:assets({ status = "failed" }) do
      failed = failed + 1
      assert.equal("failed", a.status)
    end
    assert.equal(1, failed)
    local active = 0
    for _ in client:assets({ status = { "active", "processing" } }) do active = active + 1 end
    assert.equal(7, active)
  end)

  it("reports the quota", function()
    assert(client:upload({ url = "https://x/a.png" }))
    local q = assert(client:quota())
    assert.equal(1, q.used)
    assert.equal(500, q.limit)
    assert.equal(15, q.ttl_days)
  end)

  it("deletes one and many", function()
    local a = assert(client:upload({ url = "https://x/a.png" }))
    assert(a:wait({ timeout = 5 }))
    assert.is_true(a:delete())
    local _, err = client:asset(a.id)
    assert.equal("not_found", err.kind)
    assert.equal(404, err.status)
    local many = assert(client:upload_many({ { url = "https://x/1.png" }, { url = "https://x/2.png" } }))
    assert(seedance.wait_all(many, { timeout = 5 }))
    assert.is_true(client:delete_many(many))
    assert.is_true(many[1].deleted)
    assert.equal(1, emu:stats().by_route["POST /api/v1/asset/delete"])
  end)

  it("retries 409 'still processing', then reports a conflict", function()
    local a = assert(client:upload({ url = "https://x/a.png" }))
    local c = new_client({ retries = 1 })
    emu:configure({ processing = 30 })
    local ok, err = c:asset(a.id):delete()
    assert.is_nil(ok)
    assert.equal("conflict", err.kind)
    assert.equal(409, err.status)
    assert.equal(2, err.attempts)
    c:close()
  end)

  it("maps the documented errors to kinds", function()
    emu:configure({ quota = 1 })
    assert(client:upload({ url = "https://x/a.png" }))
    local _, err = client:upload({ url = "https://x/b.png" })
    assert.equal("quota", err.kind)
    assert.equal(400, err.status)
    assert.matches("quota exceeded", err.message)
    local _, verr = client:upload({ url = "https://x/notes.txt" })
    assert.equal("validation", verr.kind)
    local bad = new_client({ api_key = "wrong-key-000" })
    local _, aerr = bad:asset("asset-1")
    assert.equal("auth", aerr.kind)
    assert.equal(401, aerr.status)
    bad:close()
    emu:configure({ plan = "free" })
    local _, perr = client:upload({ url = "https://x/c.png" })
    assert.equal("auth", perr.kind)
    assert.equal(403, perr.status)
  end)

  it("retries 429 honouring Retry-After", function()
    emu:fault({ match = "GET /api/v1/asset", status = 429, retry_after = "0.3", count = 2 })
    local a = assert(client:upload({ url = "https://x/a.png" }))
    local t0 = core.now()
    assert(client:asset(a.id))
    local waited = core.now() - t0
    assert.is_true(waited >= 0.55, "waited " .. waited)
    assert.equal(2, emu:stats().by_status["429"])
  end)

  it("reports rate limiting when Retry-After is beyond what we wait", function()
    emu:fault({ match = "GET /api/v1/asset", status = 429, retry_after = "3600", count = 1 })
    local _, err = client:asset("asset-x")
    assert.equal("rate_limited", err.kind)
    assert.equal(3600, err.retry_after)
    assert.is_true(err.retryable)
  end)

  it("retries 5xx on safe requests and gives up after `retries`", function()
    emu:fault({ match = "GET /api/v1/asset", status = 503, count = 2 })
    local a = assert(client:upload({ url = "https://x/a.png" }))
    assert(client:asset(a.id))
    emu:fault({ match = "GET /api/v1/asset", status = 500, count = 10 })
    local c = new_client({ retries = 2 })
    local _, err = c:asset(a.id)
    assert.equal("provider", err.kind)
    assert.equal(500, err.status)
    assert.equal(3, err.attempts)
    c:close()
  end)

  it("never repeats an upload answered with 502", function()
    emu:fault({ match = "POST /api/v1/asset/upload", status = 502, count = 1 })
    local _, err = client:upload({ url = "https://x/a.png" })
    assert.equal("provider", err.kind)
    assert.equal(1, emu:stats().by_route["POST /api/v1/asset/upload"])
  end)

  it("fires the per-request timeout on a slow answer", function()
    emu:fault({ match = "GET /api/v1/asset", delay = 2, count = 5 })
    local c = new_client({ timeout = 0.3, retries = 1 })
    local t0 = core.now()
    local _, err = c:asset("asset-1")
    assert.equal("timeout", err.kind)
    assert.is_true(core.now() - t0 < 1.5)
    c:close()
  end)

  it("ends a wait at its deadline", function()
    emu:configure({ processing = 30 })
    local a = assert(client:upload({ url = "https://x/a.png" }))
    local t0 = core.now()
    local _, err = a:wait({ timeout = 0.3 })
    assert.equal("timeout", err.kind)
    assert.same({ a }, err.pending)
    assert.is_true(core.now() - t0 < 1)
  end)

  it("reports a refused connection as network", function()
    local c = seedance.new({ provider = "piapi", api_key = KEY, base_url = "http://127.0.0.1:1", retries = 1,
                             backoff_base = 0.01 })
    local _, err = c:asset("a")
    assert.equal("network", err.kind)
    assert.is_true(err.retryable)
    c:close()
  end)

  it("reports a body that is not JSON as protocol", function()
    emu:fault({ match = "GET /api/v1/asset", status = 200, body = "<html>oops</html>", count = 1 })
    local _, err = client:asset("asset-1")
    assert.equal("protocol", err.kind)
  end)

  it("raises on bad arguments", function()
    assert.has_error(function() client:upload() end)
    assert.has_error(function() client:upload({}) end, "client:upload: 'url' is required")
    assert.has_error(function() client:upload({ url = "https://x/a.png", kind = "image" }) end,
      "client:upload: unknown field 'kind'")
    assert.has_error(function() client:upload({ url = "https://x/a.png", type = "picture" }) end)
    assert.has_error(function() client:asset(42) end)
    assert.has_error(function() client:assets({ colour = "red" }) end)
    assert.has_error(function() seedance.wait_all({ {} }) end)
    local a = assert(client:upload({ url = "https://x/a.png" }))
    assert.has_error(function() a:wait({ timeout = -1 }) end)
    assert.has_error(function() a:wait({ tiemout = 1 }) end)
    assert.has_error(function() client:create_group({ name = "x" }) end, "seedance: piapi cannot create groups")
  end)

  it("sends the key only in X-API-Key and never shows it", function()
    local errs = {}
    emu:fault({ match = "GET /api/v1/asset", status = 500, count = 10,
                body = '{"code":500,"message":"bad key ' .. KEY .. '"}' })
    local c = new_client({ retries = 0 })
    local _, e1 = c:asset("asset-1")
    errs[#errs + 1] = e1
    assert.equal("bad key [REDACTED]", e1.message)
    assert.equal("bad key [REDACTED]", e1.raw.message)
    emu:reset()
    local _, e2 = new_client({ api_key = "another-wrong-key" }):asset("a")
    errs[#errs + 1] = e2
    helpers.assert_errors_hide(KEY, errs)
    emu:reset()
    local a = assert(client:upload({ url = "https://x/a.png" }))
    helpers.assert_shown_without(KEY, a, client)
    c:close()
  end)

  it("follows a patched endpoint", function()
    local c = new_client({ endpoints = { get_asset = "/api/v1/nowhere/{id}" } })
    local _, err = c:asset("asset-1")
    assert.equal("not_found", err.kind)
    assert.equal(1, emu:stats().by_route["GET /api/v1/nowhere/asset-1"] or emu:stats().requests)
    c:close()
  end)
end)
