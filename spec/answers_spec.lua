-- Answers read as documented, in every dialect: an answer that went well may carry an
-- empty or zero-valued error object ({"code": 0, "message": ""}, {}, nulls), which is no
-- error; null members are absent; an error that says something is still read.
local cjson = require "cjson"
local null = cjson.null

local EMPTY_ERRORS = {
  { code = 0, message = "" }, { code = "", message = "" }, {}, { code = null, message = null }, null,
  { code = "0", message = "", raw_message = "", detail = null },
}

local function dialect(name) return require("seedance.providers." .. name) end

describe("answers that went well", function()
  it("ark and orcarouter: a succeeded task with an empty error object has no error", function()
    for _, p in ipairs({ "ark", "orcarouter" }) do
      for i, e in ipairs(EMPTY_ERRORS) do
        local f = dialect(p).parse_task({ id = "cgt-1", status = "succeeded", error = e,
                                           content = { video_url = "https://v.example/1.mp4", last_frame_url = null } })
        assert.is_nil(f.error, p .. " #" .. i)
        assert.equal("https://v.example/1.mp4", f.video_url)
        assert.is_nil(f.last_frame_url)
      end
      local bad = dialect(p).parse_task({ id = "cgt-1", status = "failed",
                                          error = { code = "OutputVideoSensitiveContentDetected", message = "no" } })
      assert.same({ code = "OutputVideoSensitiveContentDetected", message = "no" }, bad.error)
    end
  end)

  it("piapi: a completed task whose error object is all zero and empty has no error", function()
    for i, e in ipairs(EMPTY_ERRORS) do
      local f = dialect("piapi").parse_task({ code = 200, message = "success", data = {
        task_id = "t-1", status = "completed", output = { video = "https://v.example/1.mp4" }, error = e } })
      assert.is_nil(f.error, "#" .. i)
      assert.equal("https://v.example/1.mp4", f.video_url)
    end
    local bad = dialect("piapi").parse_task({ code = 200, data = { task_id = "t", status = "failed",
                                                                   error = { code = 10000, message = "boom" } } })
    assert.same({ code = "10000", message = "boom" }, bad.error)
  end)

  it("crun, anyfast, sunra: success answers with empty error members are no errors", function()
    for _, e in ipairs(EMPTY_ERRORS) do
      local c = dialect("crun").parse_task({ code = 200, message = "success", data = {
        task_id = "t", status = "success", result = { video_url = "https://v.example/c.mp4" }, error = e } })
      assert.is_nil(c.error)
      local s = dialect("sunra").parse_task({ video = { url = "https://v.example/s.mp4" }, error = e })
      assert.equal("succeeded", s.status)
      assert.is_nil(s.error)
      local a = dialect("anyfast").parse_task({ code = "success", message = "", data = { status = "SUCCESS",
        result_url = "https://v.example/a.mp4", fail_reason = "https://v.example/a.mp4", progress = "100%",
        data = { status = "succeeded", error = e, content = { video_url = "https://v.example/a.mp4" } } } })
      assert.is_nil(a.error)
    end
  end)

  it("assets and sessions: an empty error beside an active record is no failure", function()
    for _, e in ipairs(EMPTY_ERRORS) do
      local up = { Id = "asset-1", Status = "Active", AssetType = "Image", URL = "https://x/a.png",
                   Error = type(e) == "table" and { Code = e.code, Message = e.message } or e }
      assert.is_nil(dialect("orcarouter").parse_asset(up).error)
      assert.is_nil(dialect("ark").parse_asset({ ResponseMetadata = { RequestId = "r" }, Result = up }).error)
      assert.is_nil(dialect("anyfast").parse_asset(up).error)
      assert.is_nil(dialect("piapi").parse_asset({ asset_id = "asset-1", status = "Active", error = e }).error)
      assert.is_nil(dialect("orcarouter").parse_session({ session_id = "s", status = "pending", error = e }).error)
      local s = dialect("anyfast").parse_session({ BytedToken = "tok", H5Link = "https://h5", error = e })
      assert.equal("pending", s.raw_status)
    end
    assert.same({ code = "FaceMismatch", message = "not the same person" },
      dialect("orcarouter").parse_asset({ Id = "a", Status = "Failed",
                                          Error = { Code = "FaceMismatch", Message = "not the same person" } }).error)
  end)

  it("ark's control plane: an empty ResponseMetadata.Error in a 200 is no error", function()
    local ark = dialect("ark")
    for _, e in ipairs({ { Code = "", Message = "" }, {}, null, { Code = null, Message = null } }) do
      assert.is_nil((ark.classify(200, { ResponseMetadata = { RequestId = "r", Error = e }, Result = { Id = "x" } },
                                  { endpoint = "get_asset" })))
    end
    assert.equal("validation", (ark.classify(200, { ResponseMetadata = { Error = { Code = "InvalidParameter",
                                                                                    Message = "x" } } }, {})))
  end)
end)

describe("task.usage", function()
  it("is what each service reports, nil where it reports nothing", function()
    local ark = require("seedance.providers.ark").parse_task({ id = "cgt", status = "succeeded",
      usage = { completion_tokens = 108900, total_tokens = 108900 } })
    assert.same({ completion_tokens = 108900, total_tokens = 108900 }, ark.usage)
    local pi = require("seedance.providers.piapi").parse_task({ code = 200, data = { task_id = "t",
      status = "completed", meta = { usage = { type = "point", consume = 10000000 } } } })
    assert.same({ type = "point", consume = 10000000 }, pi.usage)
    assert.is_nil(require("seedance.providers.piapi").parse_task({ code = 200, data = { status = "pending" } }).usage)
    assert.is_nil(require("seedance.providers.ark").parse_task({ id = "c", status = "queued", usage = null }).usage)
    assert.is_nil(require("seedance.providers.crun").parse_task({ code = 200, data = { status = "success" } }).usage)
    assert.is_nil(require("seedance.providers.sunra").parse_task({ status = "IN_QUEUE" }).usage)
  end)

  it("reaches the Task object over HTTP (PiAPI's twin reports meta.usage)", function()
    local helpers = require "helpers"
    local emu = assert(require("seedance.emulator").start({ provider = "piapi", processing = 0.05, api_key = "k" }))
    emu:configure({ generation = 0.2 })
    local c = helpers.new_client("piapi", "k", emu.url)
    local t = assert(c:generate({ prompt = "a quiet shot" }))
    assert(t:wait({ timeout = 10 }))
    assert.is_table(t.usage)
    assert.is_number(t.usage.consume)
    c:close()
    emu:stop()
  end)
end)
