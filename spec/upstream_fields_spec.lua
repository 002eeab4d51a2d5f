-- The upstream's generation fields seedance relays (issue 15): `callback_url`,
-- `service_tier = "flex"` with `execution_expires_after`, draft tasks and the video from a
-- draft (`draft`, `draft_task`), `frames`. On the wire where a service relays them (Ark
-- all; crun callback_url, beside CreateTask's input), checked before anything is paid
-- (misuse raises naming the argument; a field a service does not relay, or a model that
-- does not take it, is a validation error with code "unsupported", and nothing is sent),
-- and acted on by the Ark twin as the ModelArk video generation API documents: a flex task
-- that did not run within execution_expires_after is `expired`; a draft (480p) is what a
-- `draft_task` item generates the video from; frames stand in for duration; each change of
-- a task with a callback_url is POSTed there, shaped as the task's GET answer.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local ark = require "seedance.providers.ark"
local sample = require("seedance.emulator").SAMPLE_MP4
local helpers = require "helpers"
local cjson = require "cjson"
local sleep = require("seedance.emucore").sleep

local KEY = "sk-upstream-fields-0123456789"
local V15, V10 = "doubao-seedance-1-5-pro-251215", "doubao-seedance-1-0-pro-250528"

describe("upstream generation fields", function()
  describe("the Ark dialect", function()
    local g = { prompt = "a lighthouse at dusk", images = {}, videos = {}, audios = {}, model = V15 }
    local function with(t)
      return helpers.merged(g, t)
    end

    it("sends each field as documented, only when set", function()
      local body = ark.create_task(with({ callback_url = "https://app.example/cb", service_tier = "flex",
                                          execution_expires_after = 7200, draft = true })).body
      assert.equal("https://app.example/cb", body.callback_url)
      assert.equal("flex", body.service_tier)
      assert.equal(7200, body.execution_expires_after)
      assert.is_true(body.draft)
      assert.is_nil(ark.create_task(g).body.frames)
      assert.equal(57, ark.create_task(with({ model = V10, frames = 57 })).body.frames)
    end)

    it("generates from a draft with the draft_task item alone", function()
      local body = ark.create_task(with({ prompt = nil, draft_task = "cgt-20260101000000-abcde" })).body
      assert.same({ { type = "draft_task", draft_task = { id = "cgt-20260101000000-abcde" } } }, body.content)
    end)

    it("knows which model takes which", function()
      assert.is_nil(ark.generation_problem(with({ draft = true })))
      assert.is_nil(ark.generation_problem(with({ service_tier = "flex" })))
      assert.is_nil(ark.generation_problem(with({ model = V10, frames = 29 })))
      assert.is_nil(ark.generation_problem(with({ model = V10, frames = 289 })))
      assert.matches("seedance 1.5 pro does %(model = \"doubao%-seedance%-1%-5%-pro%-251215\"%)",
                     ark.generation_problem(with({ model = "doubao-seedance-2-0-260128", draft = true })))
      assert.matches("model = \"seedance%-1%-5%-pro%-251215\"",
                     ark.generation_problem(with({ model = "dreamina-seedance-2-0-260128", draft = true })))
      assert.matches("no flex tier", ark.generation_problem(with({ model = "doubao-seedance-2-0-fast-260128",
                                                                   service_tier = "flex" })))
      assert.matches("does not take frames", ark.generation_problem(with({ frames = 57 })))
      assert.matches("25 %+ 4n", ark.generation_problem(with({ model = V10, frames = 30 })))
      assert.matches("25 %+ 4n", ark.generation_problem(with({ model = V10, frames = 293 })))
      assert.matches("480p only", ark.generation_problem(with({ draft = true, resolution = "720p" })))
      assert.matches("no reference media",
                     ark.generation_problem(with({ images = { { url = "https://x.example/a.png" } } })))
      -- an id seedance does not know is the service's to judge
      assert.is_nil(ark.generation_problem(with({ model = "doubao-seedance-9-0-991231", frames = 30 })))
    end)
  end)

  describe("on the Ark twin", function()
    local twin = helpers.twin("ark", KEY, { processing = 0.05, api_key = KEY },
                              { generation = 0.4, flex_queue = 0, faults = {} })
    local emu, client
    local VIDEO = helpers.scratch(".mp4")
    before_each(function()
      emu, client = twin.emu, twin:client()
    end)
    after_each(function() client:close() end)

    local function creates() return emu:stats().creates end

    it("refuses misuse at once, naming the argument", function()
      local function raises(a, name)
        local ok, e = pcall(client.generate, client, a)
        assert.is_false(ok)
        assert.matches("'" .. name .. "'", tostring(e))
      end
      raises({ prompt = "x", draft = "yes" }, "draft")
      raises({ prompt = "x", frames = "57" }, "frames")
      raises({ prompt = "x", callback_url = 42 }, "callback_url")
      raises({ prompt = "x", service_tier = true }, "service_tier")
      raises({ prompt = "x", execution_expires_after = "1h" }, "execution_expires_after")
      raises({ draft_task = 5 }, "draft_task")
      raises({ draft_task = "cgt-1", prompt = "x" }, "prompt")
      raises({ draft_task = "cgt-1", refs = {} }, "refs")
      raises({ model = V15 }, "prompt")
      assert.equal(0, creates())
    end)

    it("refuses what a model does not take before anything is sent", function()
      local function invalid(a, pattern, code)
        local t, err = client:generate(a)
        assert.is_nil(t)
        assert.equal("validation", err.kind)
        if code then assert.equal(code, err.code) end
        assert.matches(pattern, err.message)
      end
      invalid({ prompt = "x", draft = true }, "makes no drafts", "unsupported")
      invalid({ prompt = "x", service_tier = "flex", model = "fast" }, "no flex tier", "unsupported")
      invalid({ prompt = "x", frames = 57 }, "does not take frames", "unsupported")
      invalid({ prompt = "x", model = V10, frames = 58 }, "25 %+ 4n")
      invalid({ prompt = "x", model = V10, frames = 57, duration = 5 }, "duration or frames")
      invalid({ prompt = "x", model = V15, draft = true, resolution = "720p" }, "480p only")
      invalid({ prompt = "x", service_tier = "slow" }, "not one of default flex")
      invalid({ prompt = "x", execution_expires_after = 60 }, "3600 to 259200")
      invalid({ prompt = "x", execution_expires_after = 3600.5 }, "whole seconds")
      invalid({ prompt = "x", callback_url = "ftp://hooks.example/x" }, "http%(s%) URL")
      invalid({ prompt = "x", callback_url = "https:///nohost" }, "http%(s%) URL")
      invalid({ model = V15, draft_task = "cgt-1", draft = true }, "made from a draft")
      invalid({ prompt = "x", model = V10, audio = true }, "makes no audio")
      assert.equal(0, creates())
    end)

    it("expires a flex task that did not run within execution_expires_after", function()
      emu:configure({ flex_queue = 7200 })
      local t = assert(client:generate({ prompt = "a slow night shot", model = V15, service_tier = "flex",
                                         execution_expires_after = 3600 }))
      assert(t:refresh())
      assert.equal("queued", t.status)
      assert.equal("flex", t.raw.service_tier)
      assert.equal(3600, t.raw.execution_expires_after)
      emu:advance(3599)
      assert(t:refresh())
      assert.equal("queued", t.status)
      emu:advance(2)
      local ok, err = t:wait({ timeout = 5 })
      assert.is_nil(ok)
      assert.equal("expired", t.status)
      assert.equal("expired", t.raw_status)
      assert.equal("task_failed", err.kind)
      assert.equal("expired", err.code)
      -- within its time, a flex task runs to the end
      emu:configure({ flex_queue = 0.2 })
      local fast = assert(client:generate({ prompt = "a quick flex shot", model = V15, service_tier = "flex" }))
      assert(fast:wait({ timeout = 10 }))
      assert.equal("succeeded", fast.status)
      assert.equal(172800, fast.raw.execution_expires_after)
    end)

    it("makes a 480p draft, then the video from it", function()
      local draft = assert(client:generate({ prompt = "a fox crosses a snowy field", model = V15, draft = true }))
      assert(draft:wait({ timeout = 10 }))
      assert.is_true(draft.raw.draft)
      assert.equal("480p", draft.raw.resolution)
      local final = assert(client:generate({ draft_task = draft, model = V15, resolution = "720p" }))
      assert.same({ { type = "draft_task", draft_task = { id = draft.id } } },
                  cjson.decode(twin:last_request().body).content)
      assert(final:wait({ timeout = 10 }))
      assert.is_false(final.raw.draft)
      assert.equal("720p", final.raw.resolution)
      assert.equal(VIDEO, final:download(VIDEO))
      assert.equal(sample, helpers.read(VIDEO))
      -- by id too; a task that is no draft is refused by the service
      local again = assert(client:generate({ draft_task = draft.id, model = V15, resolution = "1080p" }))
      assert.not_equal(final.id, again.id)
      local _, err = client:generate({ draft_task = final.id, model = V15 })
      assert.equal("validation", err.kind)
      assert.matches("is not a draft", err.message)
    end)

    it("shows frames instead of duration where frames were given", function()
      local t = assert(client:generate({ prompt = "a wave breaks", model = V10, frames = 57 }))
      assert(t:wait({ timeout = 10 }))
      assert.equal(57, t.raw.frames)
      assert.is_nil(t.raw.duration)
      assert.is_number(t.usage.completion_tokens)
    end)

    it("POSTs each change of the task to its callback_url, shaped as the task's GET", function()
      local url = emu.callback_url .. "shot-1"
      local t = assert(client:generate({ prompt = "a kite over the dunes", callback_url = url }))
      assert.equal(url, cjson.decode(twin:last_request().body).callback_url)
      assert(t:wait({ timeout = 10 }))
      -- the last callback may come a tick after the task ended
      local got, deadline = nil, os.time() + 5
      repeat
        local cb = emu:callbacks()
        for _, r in ipairs(cb.received) do
          -- (a delivery's outcome is taken in on the twin's tick after the receiver had it)
          if r.body.status == "succeeded" and #cb.sent == #cb.received then got = cb end
        end
        if not got then sleep(0.05) end
      until got or os.time() > deadline
      assert(got, "no callback told of the end")
      local statuses = {}
      for _, r in ipairs(got.received) do
        assert.equal("shot-1", r.name)
        assert.matches("^application/json", r.content_type)
        assert.equal(t.id, r.body.id)
        statuses[#statuses + 1] = r.body.status
      end
      -- each status once, in the order the task went through them (a short one may pass
      -- before the twin's next look), the end last
      local order, last_rank = { queued = 1, running = 2, succeeded = 3 }, 0
      for _, st in ipairs(statuses) do
        assert.is_true(order[st] > last_rank, table.concat(statuses, " "))
        last_rank = order[st]
      end
      assert.equal("succeeded", statuses[#statuses])
      local last = got.received[#got.received].body
      assert.equal(t.video_url, last.content.video_url)
      helpers.same_shape(t.raw, last, { extra_ok = true })
      for _, s in ipairs(got.sent) do
        assert.equal(url, s.url)
        assert.equal(200, s.status)
        assert.equal(t.id, s.id)
        assert.is_string(s.task_status)
      end
      assert.equal(#got.received, #got.sent)
    end)

    it("tells a callback_url of a cancelled task, and of nothing after", function()
      emu:configure({ generation = 20 })
      local url = emu.callback_url .. "cancelled"
      local t = assert(client:generate({ prompt = "a cancelled shot", callback_url = url }))
      assert(t:cancel())
      local got, deadline = nil, os.time() + 5
      repeat
        for _, r in ipairs(emu:callbacks().received) do
          if r.body.status == "cancelled" then got = r end
        end
        if not got then sleep(0.05) end
      until got or os.time() > deadline
      assert(got, "no callback told of the cancel")
      assert.equal(t.id, got.body.id)
    end)
  end)

  describe("where the service does not relay them", function()
    local FIELDS = {
      callback_url = "https://app.example/cb", service_tier = "flex", execution_expires_after = 7200,
      draft = true, frames = 57,
    }
    for _, provider in ipairs(seedance.providers) do
      if provider ~= "ark" then
        it("refuses them on " .. provider .. " before any request", function()
          local emu = assert(emulator.start({ provider = provider, processing = 0.05, api_key = KEY }))
          local c = helpers.new_client(provider, KEY, emu.url)
          local relayed = require("seedance.providers." .. provider).generate_fields
          for k, v in pairs(FIELDS) do
            if not relayed[k] then
              local t, err = c:generate({ prompt = "a quiet street", [k] = v })
              assert.is_nil(t, k)
              assert.equal("validation", err.kind)
              assert.equal("unsupported", err.code)
              assert.matches(provider .. " does not take '" .. k .. "'", err.message)
            end
          end
          local t, err = c:generate({ draft_task = "cgt-1" })
          assert.is_nil(t)
          assert.equal("unsupported", err.code)
          assert.equal(0, emu:stats().creates)
          -- asking for what the service does anyway is no reason to refuse
          assert(c:generate({ prompt = "a quiet street", draft = false, service_tier = "default" }))
          assert.equal(1, emu:stats().creates)
          c:close()
          emu:stop()
        end)
      end
    end

    it("sends crun's callback_url beside CreateTask's input; crun POSTs the task there when it ends", function()
      local emu = assert(emulator.start({ provider = "crun", processing = 0.05, api_key = KEY }))
      emu:configure({ generation = 0.4 })
      local c = helpers.new_client("crun", KEY, emu.url)
      local url = emu.callback_url .. "crun-shot"
      local t = assert(c:generate({ prompt = "a quiet street", callback_url = url }))
      local req = emu:control({ op = "dump" }).crun.last_request
      local body = cjson.decode(req.body)
      assert.equal(url, body.callback_url)
      assert.is_nil(body.input.callback_url)
      assert(t:wait({ timeout = 10 }))
      local got, deadline = nil, os.time() + 5
      repeat
        local cb = emu:callbacks()
        if #cb.received > 0 and #cb.sent == #cb.received then got = cb end
        if not got then sleep(0.05) end
      until got or os.time() > deadline
      assert(got, "no callback from crun's twin")
      -- once, at the end, as TaskInfo shows the task
      assert.equal(1, #got.received)
      local told = got.received[1].body
      assert.equal(200, told.code)
      assert.equal(t.id, told.data.task_id)
      assert.equal("success", told.data.status)
      assert.equal(t.video_url, told.data.result.video_url)
      assert.equal(200, got.sent[1].status)
      c:close()
      emu:stop()
    end)
  end)
end)

-- bin/seedance generate passes them (--seed, --last-frame, --callback-url, --service-tier,
-- --expires-after, --draft, --from-draft, --frames); a service that does not relay one
-- says so (exit 1, code unsupported), misuse is exit 2.
describe("upstream generation fields from the CLI", function()
  local emu, provider
  local cli = helpers.cli(KEY, function()
    return { SEEDANCE_API_KEY = KEY, SEEDANCE_PROVIDER = provider, SEEDANCE_BASE_URL = emu.url,
             SEEDANCE_STORE = false, TERM = "dumb" }
  end)
  teardown(function() cli.cleanup() end)
  after_each(function()
    if emu then emu:stop() end
    emu = nil
  end)
  local function start(p)
    provider = p
    emu = assert(emulator.start({ provider = p, processing = 0.05, api_key = KEY }))
    emu:configure({ generation = 0.3 })
  end

  it("makes a draft on Ark, then the video from it", function()
    start("ark")
    local code, doc, err = cli.run_json({ "generate", "a fox crosses a snowy field", "--model", V15, "--draft",
                                          "--seed", "7", "--last-frame", "--expires-after", "7200",
                                          "--callback-url", emu.callback_url .. "cli", "--wait", "--timeout", "10" })
    assert.equal(0, code, err)
    assert.equal("succeeded", doc.task.status)
    assert.is_string(doc.task.last_frame_url)
    local sent = cjson.decode(emu:control({ op = "dump" }).ark.last_create.body)
    assert.is_true(sent.draft)
    assert.equal(7, sent.seed)
    assert.equal(7200, sent.execution_expires_after)
    local draft = doc.task.id
    code, doc, err = cli.run_json({ "generate", "--from-draft", draft, "--model", V15, "--resolution", "720p",
                                    "--service-tier", "flex", "--wait", "--timeout", "10" })
    assert.equal(0, code, err)
    assert.equal("succeeded", doc.task.status)
    sent = cjson.decode(emu:control({ op = "dump" }).ark.last_create.body)
    assert.same({ { type = "draft_task", draft_task = { id = draft } } }, sent.content)
    assert.equal("flex", sent.service_tier)
    code, doc = cli.run_json({ "generate", "a wave", "--model", V10, "--frames", "57" })
    assert.equal(0, code)
    assert.equal("queued", doc.task.status)
    assert.equal(57, cjson.decode(emu:control({ op = "dump" }).ark.last_create.body).frames)
  end)

  it("says what a service does not relay, and refuses misuse", function()
    start("piapi")
    local code, doc = cli.run_json({ "generate", "a quiet street", "--callback-url", "https://app.example/cb" })
    assert.equal(1, code)
    assert.equal("unsupported", doc.error.code)
    assert.matches("piapi does not take 'callback_url'", doc.error.message)
    code = cli.run_json({ "generate", "a quiet street", "--from-draft", "cgt-1" })
    assert.equal(2, code)
    code = cli.run_json({ "generate", "a quiet street", "--service-tier", "slow" })
    assert.equal(2, code)
    code = cli.run_json({ "generate" })
    assert.equal(2, code)
    assert.equal(0, emu:stats().creates)
  end)
end)
