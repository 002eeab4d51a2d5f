-- Faithfulness of the emulator's twins, over raw HTTP (LuaSocket, not seedance's client):
-- every documented example in spec/fixtures/<service>/ is an answer the twin must give with
-- every documented member, of the same JSON type, nulls as nulls (helpers.has_fields), in
-- the same situation: success envelopes with their `code`/`message`, errors inside a 200,
-- list totals and page fields, error bodies. One emulator serves all six ("all").
local emulator = require "seedance.emulator"
local cjson = require "cjson"
local helpers = require "helpers"

local KEY = "twin-key"

local request = helpers.http_json

-- asserts the answer has every member of the documented example (and its status); `trim`
-- drops what of the example is not this situation's
local function documented(provider, name, r, status, trim)
  assert.equal(status or 200, r.status, r.body)
  local want = helpers.fixtures(provider, ".json")(name)
  if trim then trim(want) end
  helpers.has_fields(want, r.json)
  return r.json
end

local BEARER = { Authorization = "Bearer " .. KEY }

describe("twins against the documented examples", function()
  local emu

  setup(function()
    emu = assert(emulator.start{ provider = "all", processing = 0, api_key = KEY })
  end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    emu:configure{ processing = 0, generation = 0.3, quota = cjson.null }
  end)

  -- polls `get` until `done(answer)`, for tasks
  local function until_done(get, done)
    for _ = 1, 100 do
      local r = get()
      if done(r) then return r end
      require("seedance.emulator").sleep(0.05)
    end
    error("task never finished")
  end

  describe("piapi", function()
    local function call(method, path, body)
      return request(method, emu.urls.piapi .. path, body, { ["X-API-Key"] = KEY })
    end

    it("assets: upload, batch, get, list with quota, failure, batch delete, errors with data null", function()
      local up = documented("piapi", "upload_response", call("POST", "/api/v1/asset/upload",
        { url = "https://your-cdn.com/example1.png", name = "char-female" }))
      documented("piapi", "upload_batch_response", call("POST", "/api/v1/asset/upload/batch",
        { items = { { url = "https://x/b.png" }, { url = "https://x/c.png" }, { url = "https://x/d.png" },
                    { url = "https://x/e.png" } } }))
      documented("piapi", "get_active", call("GET", "/api/v1/asset/" .. up.asset_id))
      local list = documented("piapi", "list_response", call("GET", "/api/v1/asset?page=1&size=20"))
      assert.same({ 5, 1, 20 }, { list.total, list.page, list.size })
      local heif = call("POST", "/api/v1/asset/upload", { url = "https://x/a.heif" }).json.asset_id
      local failed = documented("piapi", "get_failed", call("GET", "/api/v1/asset/" .. heif))
      assert.equal("ImageFormatNotSupported", failed.error.code)
      local all = {}
      for _, a in ipairs(call("GET", "/api/v1/asset?status=active").json.items) do all[#all + 1] = a.asset_id end
      documented("piapi", "delete_batch_response", call("POST", "/api/v1/asset/delete", { asset_ids = all }))
      local e = documented("piapi", "error_url_required", call("POST", "/api/v1/asset/upload", { name = "x" }), 400)
      assert.equal(cjson.null, e.data)
    end)

    it("tasks: the {code: 200, data, message} envelope, processing, completed with output and meta", function()
      local refs = {}
      for i = 1, 4 do
        local up = call("POST", "/api/v1/asset/upload", { url = "https://x/c" .. i .. ".png" })
        refs[i] = "asset://" .. up.json.asset_id
      end
      local input = { prompt = "A cyber female Image 1 stands in courtyard Image 3.", image_urls = refs,
                      aspect_ratio = "16:9", duration = 5, resolution = "720p" }
      local created = documented("piapi", "task_create_response", call("POST", "/api/v1/task",
        { model = "seedance", task_type = "seedance-2-less-restriction", input = input }))
      local path = "/api/v1/task/" .. created.data.task_id
      local done = until_done(function() return call("GET", path) end,
        function(r) return r.json.data.status ~= "pending" and r.json.data.status ~= "processing" end)
      documented("piapi", "task_completed", done)
    end)
  end)

  describe("sunra", function()
    local function call(method, path, body)
      return request(method, emu.urls.sunra .. path, body, BEARER)
    end

    it("records: create, get active and failed, list page, delete; the 403 rate-limit body", function()
      local r = documented("sunra", "create_response",
        call("POST", "/v1/ark/assets", { source_url = "https://example.com/faces/alice.jpg", name = "alice" }))
      documented("sunra", "get_active", call("GET", "/v1/ark/assets/" .. r.id))
      local f = call("POST", "/v1/ark/assets", { source_url = "https://x/multi-face.png" }).json
      documented("sunra", "get_failed", call("GET", "/v1/ark/assets/" .. f.id))
      local list = documented("sunra", "list_response", call("GET", "/v1/ark/assets?page=1&page_size=20"))
      assert.same({ 2, 1, 20 }, { list.total, list.page, list.page_size })
      documented("sunra", "delete_response", call("DELETE", "/v1/ark/assets/" .. r.id))
      emu:fault{ match = "GET /sunra/v1/ark/assets", status = 403 }
      documented("sunra", "error_rate_limit_403", call("GET", "/v1/ark/assets"), 403)
    end)

    it("the queue: create, IN_QUEUE, COMPLETED, the video or the unsafe_content refusal in a 200", function()
      -- a long generation while the queue is looked at (a task's state reads it live), so a
      -- slow run (valgrind) still finds these requests queued
      emu:configure{ generation = 60 }
      local q = documented("sunra", "queue_create_response", call("POST",
        "/v1/queue/bytedance/seedance-2.0-relay/reference-to-video", { prompt = "A girl waves" }))
      documented("sunra", "queue_status_in_queue", call("GET", "/v1/queue/requests/" .. q.request_id .. "/status"))
      local c = call("POST", "/v1/queue/bytedance/seedance-2.0-relay/reference-to-video", { prompt = "later" }).json
      documented("sunra", "queue_cancel_response", call("PUT", "/v1/queue/requests/" .. c.request_id .. "/cancel"), 202)
      emu:configure{ generation = 0.3 }
      until_done(function() return call("GET", "/v1/queue/requests/" .. q.request_id .. "/status") end,
        function(r) return r.json.status == "COMPLETED" end)
      documented("sunra", "queue_status_completed", call("GET", "/v1/queue/requests/" .. q.request_id .. "/status"))
      documented("sunra", "queue_result_video", call("GET", "/v1/queue/requests/" .. q.request_id))
      local bad = call("POST", "/v1/queue/bytedance/seedance-2.0-relay/reference-to-video",
        { prompt = "[[moderation]] a girl" }).json
      local r = until_done(function() return call("GET", "/v1/queue/requests/" .. bad.request_id) end,
        function(x) return x.status == 200 end)
      assert.is_false(documented("sunra", "queue_result_unsafe", r).success)
    end)
  end)

  describe("orcarouter", function()
    local function call(method, path, body)
      return request(method, emu.urls.orcarouter .. path, body, BEARER)
    end

    it("groups, assets, the list envelope with TotalCount, FaceMismatch, the 403 quota", function()
      local g = documented("orcarouter", "group_create_response", call("POST", "/asset/groups", { Name = "cast" }))
      documented("orcarouter", "group_list_response", call("GET", "/asset/groups?group_type=aigc"))
      local a = documented("orcarouter", "asset_create_response", call("POST", "/asset/files",
        { GroupId = g.Id, URL = "https://example.com/faces/hero.png", AssetType = "Image" }))
      documented("orcarouter", "asset_get_active", call("GET", "/asset/files/" .. a.Id))
      local list = documented("orcarouter", "asset_list_response",
        call("GET", "/asset/files?page_number=1&page_size=10"))
      assert.same({ 1, 1, 10 }, { list.TotalCount, list.PageNumber, list.PageSize })
      emu:configure{ quota = 1 }
      documented("orcarouter", "error_quota_403", call("POST", "/asset/files",
        { GroupId = g.Id, URL = "https://example.com/b.png", AssetType = "Image" }), 403)
    end)

    it("real-person sessions: pending, success with the group, failed", function()
      emu:configure{ processing = 0.2 }
      local s = documented("orcarouter", "session_create_response", call("POST", "/asset/real-human/sessions",
        { return_url = "https://app.example.com/back" }))
      documented("orcarouter", "session_pending", call("GET", "/asset/real-human/sessions/" .. s.session_id))
      local ok = until_done(function() return call("GET", "/asset/real-human/sessions/" .. s.session_id) end,
        function(r) return r.json.status ~= "pending" end)
      documented("orcarouter", "session_success", ok)
      local f = call("POST", "/asset/real-human/sessions", { return_url = "https://app.example.com/verify-fail" }).json
      documented("orcarouter", "session_failed", until_done(function()
        return call("GET", "/asset/real-human/sessions/" .. f.session_id)
      end, function(r) return r.json.status ~= "pending" end))
    end)

    it("video: create, running with error null, succeeded, moderated", function()
      local body = helpers.fixtures("orcarouter", ".json")("video_create_request")
      body.metadata.content[1].image_url.url = "https://example.com/refs/girl.png"  -- no asset here
      local v = documented("orcarouter", "video_create_response", call("POST", "/video/generations", body))
      documented("orcarouter", "video_task_running", call("GET", "/video/generations/" .. v.task_id))
      documented("orcarouter", "video_task_succeeded", until_done(function()
        return call("GET", "/video/generations/" .. v.task_id)
      end, function(r) return r.json.status == "succeeded" end))
      body.prompt = "[[moderation]] " .. body.prompt
      local m = call("POST", "/video/generations", body).json
      documented("orcarouter", "video_task_moderated", until_done(function()
        return call("GET", "/video/generations/" .. m.task_id)
      end, function(r) return r.json.status == "failed" end))
    end)
  end)

  describe("crun", function()
    local P = "/api/v1/client/job/"
    local function call(method, path, body)
      return request(method, emu.urls.crun .. P .. path, body, { ["x-api-key"] = KEY })
    end

    it("assets and sessions in the {code, message, data} envelope; both time forms; 402", function()
      local up = documented("crun", "upload_response", call("POST", "asset-upload",
        helpers.fixtures("crun", ".json")("upload_request")))
      documented("crun", "asset_info_iso", call("GET", "asset-info?asset_id=" .. up.data.AssetId))
      local second = call("POST", "asset-upload", { name = "b", asset_type = "Image", asset_url = "https://x/b.png" })
      documented("crun", "asset_info_unix", call("GET", "asset-info?asset_id=" .. second.json.data.AssetId))
      local s = documented("crun", "session_response", call("POST", "visual-validate-session",
        { callback_url = "https://app.example.com/cb" }))
      documented("crun", "result_response", call("GET", "visual-validate-result?byted_token=" .. s.data.BytedToken))
      emu:configure{ quota = 2 }
      documented("crun", "insufficient_credits", call("POST", "asset-upload",
        { name = "c", asset_type = "Image", asset_url = "https://x/c.png" }), 402)
    end)

    it("tasks: create, running with null members, success, a failure answered 501", function()
      local body = helpers.fixtures("crun", ".json")("create_task_request")
      body.callback_url = nil  -- the documented TaskInfo example has none
      local t = documented("crun", "create_task_response", call("POST", "CreateTask", body))
      -- the TaskInfo page's example is another model's task: its input is not this one's
      documented("crun", "task_info_running", call("GET", "TaskInfo?task_id=" .. t.data.task_id), 200,
        function(want) want.data.param.input = nil end)
      documented("crun", "task_info_success", until_done(function()
        return call("GET", "TaskInfo?task_id=" .. t.data.task_id)
      end, function(r) return r.json.data.status ~= "pending" and r.json.data.status ~= "running" end))
      body.input.prompt = "[[fail]] " .. body.input.prompt
      local f = call("POST", "CreateTask", body).json
      documented("crun", "task_info_failed", until_done(function()
        return call("GET", "TaskInfo?task_id=" .. f.data.task_id)
      end, function(r) return r.status == 501 end), 501)
    end)
  end)

  describe("anyfast", function()
    local function call(method, path, body)
      return request(method, emu.urls.anyfast .. path, body, BEARER)
    end

    it("groups, assets, the list envelope, sessions: bare results", function()
      local g = documented("anyfast", "create_group_response", call("POST", "/volc/asset/CreateAssetGroup",
        { model = "volc-asset", Name = "cast" }))
      local a = documented("anyfast", "create_asset_response", call("POST", "/volc/asset/CreateAsset",
        { model = "volc-asset", GroupId = g.Id, Name = "hero", AssetType = "Image", URL = "https://x/hero.png" }))
      documented("anyfast", "get_asset_response", call("POST", "/volc/asset/GetAsset", { Id = a.Id }))
      local list = documented("anyfast", "list_assets_response", call("POST", "/volc/asset/ListAssets",
        { Filter = { GroupIds = { g.Id } }, PageNumber = 1, PageSize = 10 }))
      assert.same({ 1, 1, 10 }, { list.TotalCount, list.PageNumber, list.PageSize })
      documented("anyfast", "session_response", call("POST", "/volc/asset/CreateVisualValidateSession",
        { CallbackURL = "https://app.example.com/cb" }))
    end)

    it("video: create, SUCCESS with code \"success\" and message \"\", FAILURE at 100%", function()
      local body = helpers.fixtures("anyfast", ".json")("create_task_request")
      local t = documented("anyfast", "create_task_response", call("POST", "/v1/video/generations", body))
      local ok = documented("anyfast", "task_success", until_done(function()
        return call("GET", "/v1/video/generations/" .. t.id)
      end, function(r) return r.json.data.status == "SUCCESS" or r.json.data.status == "FAILURE" end))
      assert.same({ "success", "" }, { ok.code, ok.message })
      body.content[1].text = "[[moderation]] " .. body.content[1].text
      local m = call("POST", "/v1/video/generations", body).json
      documented("anyfast", "task_failure", until_done(function()
        return call("GET", "/v1/video/generations/" .. m.id)
      end, function(r) return r.json.data.status == "FAILURE" end))
    end)
  end)

  -- a body the route's schema refuses answers in the service's own error shape, with the code
  -- the service gives a bad request (not the name of the broken rule)
  it("a body refused by its schema carries the service's code", function()
    local sunra = request("POST", emu.urls.sunra .. "/v1/ark/assets", {}, BEARER)
    assert.same({ 400, "invalid_request" }, { sunra.status, sunra.json.error.code })
    local anyfast = request("POST", emu.urls.anyfast .. "/volc/asset/GetAsset", {}, BEARER)
    assert.same({ 400, "InvalidParameter" }, { anyfast.status, anyfast.json.error.code })
    local orca = request("POST", emu.urls.orcarouter .. "/asset/groups", { Name = "x", name = "y" }, BEARER)
    assert.same({ 400, "InvalidParameter" }, { orca.status, orca.json.error.code })
    orca = request("POST", emu.urls.orcarouter .. "/asset/groups", {}, BEARER)
    assert.same({ 400, "MissingParameter" }, { orca.status, orca.json.error.code })
  end)

  describe("ark data plane", function()
    local function call(method, path, body)
      return request(method, emu.urls.ark .. "/contents/generations/tasks" .. path, body, BEARER)
    end

    it("create, list with total, succeeded with error null and usage, failed, the error shape", function()
      local body = helpers.fixtures("ark")("task_create_request.json")
      body.return_last_frame = true
      body.content[2].image_url.url = "https://cdn.example.com/girl.png"  -- no asset here
      local t = documented("ark", "task_create_response",
        call("POST", "", body))
      documented("ark", "task_list_response", call("GET", "?page_num=1&page_size=10"))
      local ok = documented("ark", "task_get_succeeded", until_done(function() return call("GET", "/" .. t.id) end,
        function(r) return r.json.status == "succeeded" end))
      assert.equal(cjson.null, ok.error)
      body.content[1].text = "[[fail]] " .. body.content[1].text
      local f = call("POST", "", body).json
      documented("ark", "task_get_failed", until_done(function() return call("GET", "/" .. f.id) end,
        function(r) return r.json.status == "failed" end))
      body.model = "no-such-model"
      documented("ark", "error_data_plane", call("POST", "", body), 400)
    end)
  end)
end)
