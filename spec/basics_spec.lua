-- Pure pieces: errors, statuses, timestamps, URLs, JSON, client options.
local seedance = require "seedance"
local errors = require "seedance.error"
local status = require "seedance.model.status"
local time = require "seedance.model.time"
local url = require "seedance.wire.url"
local json = require "seedance.wire.json"

describe("seedance.Error", function()
  it("formats as in api.md", function()
    local e = errors.new({ kind = "quota", message = "quota exceeded", provider = "piapi", status = 400, code = "Q" })
    assert.equal("seedance: quota: quota exceeded (piapi 400 Q)", tostring(e))
    assert.is_true(seedance.is_error(e))
    assert.is_false(e.retryable)
    assert.is_true(errors.new({ kind = "network" }).retryable)
    assert.equal("seedance: timeout: timeout", tostring(errors.new({ kind = "timeout" })))
  end)
  it("rejects unknown kinds", function()
    assert.has_error(function() errors.new({ kind = "oops" }) end)
  end)
  it("redacts secrets", function()
    assert.equal("key [REDACTED] and [REDACTED]!", errors.redact("key sk-12345 and sk-12345!", { "sk-12345" }))
  end)
end)

describe("status vocabulary", function()
  it("maps every provider word of providers.md", function()
    local task = {
      pending = "queued", queued = "queued", NOT_START = "queued", QUEUED = "queued", IN_QUEUE = "queued",
      submitted = "queued", running = "running", processing = "running", IN_PROGRESS = "running",
      in_progress = "running", succeeded = "succeeded", completed = "succeeded", success = "succeeded",
      SUCCESS = "succeeded", COMPLETED = "succeeded", failed = "failed", FAILURE = "failed", error = "failed",
      cancelled = "cancelled", canceled = "cancelled", expired = "expired",
    }
    for word, want in pairs(task) do assert.equal(want, status.normalize("task", word), word) end
    for word, want in pairs({ Processing = "processing", active = "active", FAILED = "failed" }) do
      assert.equal(want, status.normalize("asset", word))
    end
    assert.equal("succeeded", status.normalize("session", "success"))
    assert.is_nil(status.normalize("task", "weird"))
  end)
  it("treats expired and cancelled as terminal", function()
    assert.is_true(status.is_terminal("task", "expired"))
    assert.is_true(status.is_terminal("task", "cancelled"))
    assert.is_false(status.is_terminal("task", "running"))
  end)
end)

describe("timestamps", function()
  it("parses ISO-8601 and unix seconds", function()
    assert.equal(1780846883, time.parse("2026-06-07T15:41:23Z"))
    assert.equal(1780846883, time.parse("2026-06-07T23:41:23+08:00"))
    assert.equal(1780846883.5, time.parse("2026-06-07T15:41:23.5Z"))
    assert.equal(1780846883, time.parse(1780846883))
    assert.equal(1780846883, time.parse(1780846883000))
    assert.equal(1780846883, time.parse("1780846883"))
    assert.is_nil(time.parse("yesterday"))
    assert.equal("2026-06-07T15:41:23Z", time.iso(1780846883))
  end)
end)

describe("urls", function()
  it("fills templates, escapes, builds sorted queries", function()
    assert.equal("/a/x%2Fy", url.fill("/a/{id}", { id = "x/y" }))
    assert.has_error(function() url.fill("/a/{id}", {}) end)
    assert.equal("page=2&size=20&status=active%2Cprocessing",
                 url.query({ status = { "active", "processing" }, size = 20, page = 2 }))
    assert.equal("png", url.extension("https://x/y/HERO.PNG?sig=1"))
    assert.equal("a.mp4", url.basename("https://x/y/a.mp4?x"))
  end)
end)

describe("json", function()
  it("encodes empty arrays and keeps ids as strings", function()
    assert.equal('{"a":[]}', json.encode({ a = json.array({}) }))
    assert.equal("12345678901", json.str(json.decode("12345678901")))
    assert.is_nil(json.str(json.null))
    local v, err = json.decode("{bad")
    assert.is_nil(v)
    assert.is_string(err)
  end)
end)

describe("seedance.new", function()
  it("raises on misuse, naming the argument", function()
    assert.has_error(function() seedance.new() end)
    assert.has_error(function() seedance.new({ provider = "nope", api_key = "k" }) end,
      "seedance.new: unknown provider 'nope' (one of " .. table.concat(seedance.providers, ", ") .. ")")
    assert.has_error(function() seedance.new({ provider = "piapi", api_key = "k", tmeout = 3 }) end,
      "seedance.new: unknown option 'tmeout'")
    assert.has_error(function() seedance.new({ provider = "piapi", api_key = "k", timeout = "3" }) end,
      "seedance.new: option 'timeout' must be a number, got string")
    assert.has_error(function() seedance.new({ provider = "piapi", api_key = "k", endpoints = { nope = "/x" } }) end,
      "seedance.new: piapi has no endpoint named 'nope'")
  end)
  it("never shows the key", function()
    local c = seedance.new({ provider = "piapi", api_key = "sk-very-secret-1234" })
    assert.is_nil(tostring(c):find("sk-very-secret", 1, true))
    for k, v in pairs(c) do
      assert.is_nil(tostring(v):find("sk-very-secret", 1, true), k)
    end
    c:close()
  end)
  it("knows its version and providers", function()
    assert.matches("^0%.%d+%.%d+$", seedance._VERSION)
    assert.is_true(#seedance.providers >= 1)
  end)
end)
