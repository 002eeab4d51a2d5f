-- Productions against the emulator, in this process: dry runs send nothing, the cap on
-- tasks in flight holds (counted by the emulator), the cost ceiling refuses before paying,
-- moderation failures are retried with a varied prompt and failed tasks with backoff,
-- continued shots carry the previous shot's last frame (Ark), a failing cast member stops
-- only its shots, every take is downloaded and checked and never overwritten, a rerun on
-- the same store pays for nothing twice, and every change is an event.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local sample = require("seedance.emulator").SAMPLE_MP4
local helpers = require "helpers"
local cjson = require "cjson"

local KEY = "sk-production-6502"
local CDN = "https://cdn.example.com/cast/"

local function scratch_dir()
  local d = os.tmpname()
  os.remove(d)
  assert(helpers.sh("mkdir -p '" .. d .. "'"))
  return d
end

local function creates(emu, route)
  return emu:stats().by_route[route] or 0
end

describe("seedance.production on piapi", function()
  local emu, client, out
  local ROUTE = "POST /api/v1/task"

  setup(function()
    emu = assert(emulator.start({ provider = "piapi", processing = 0.1 }))
  end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    emu:configure({ generation = 0.3, processing = 0.1 })
    client = helpers.new_client("piapi", KEY, emu.url)
    out = scratch_dir()
  end)
  after_each(function()
    client:close()
    helpers.sh("rm -rf '" .. out .. "'")
  end)

  local function production(extra)
    local o = { client = client, name = "ep", out = out, concurrency = 2, retry = { attempts = 3, backoff = 0.05 } }
    for k, v in pairs(extra or {}) do o[k] = v end
    local prod = seedance.production(o)
    prod:cast({ hero = { image = CDN .. "hero.png", describe = "a tall woman in a red coat" },
                friend = { image = { CDN .. "friend-front.png", CDN .. "friend-full.png" } },
                theme = { audio = CDN .. "theme.mp3" } })
    return prod
  end

  it("dry run: validates, renders every prompt and prices the run, sending nothing", function()
    local prod = production({ partials = { look = "cinematic, 35 mm" }, filters = { upper = string.upper },
                              max_cost = 12 })
    prod:shot({ key = "s1", prompt = "{{> look}} {{hero}} walks in, {{hero | describe}}.", duration = 5 })
    prod:shot({ key = "s2", prompt = "{{friend}} answers {{hero | name | upper}} over {{theme}}.", after = "s1" })
    prod:shot({ key = "s3", prompt = "{{hero}} leaves.", duration = 4 })
    local events = {}
    local r = assert(prod:run({ dry_run = true, on_event = function(ev) events[#events + 1] = ev end }))
    assert.equal(14, r.estimate)
    assert.equal("cinematic, 35 mm Image 1 walks in, a tall woman in a red coat.", r.shots.s1.prompt)
    -- a member with two references is named by both; text-only mentions send nothing
    assert.equal("Image 1 (Image 2) answers HERO over Audio 1.", r.shots.s2.prompt)
    assert.equal("planned", r.shots.s1.status)
    assert.equal("over_budget", r.shots.s3.status) -- 5 + 5 + 4 > 12
    assert.equal(3, #events)
    assert.equal(0, emu:stats().requests)

    -- a bad template anywhere: every problem reported, still nothing sent
    local bad = production()
    bad:shot({ key = "a", prompt = "{{hero | nosuch}}" })
    bad:shot({ key = "b", prompt = "{{> missing}} {{hero}}" })
    bad:shot({ key = "c", prompt = "{{ghost}} walks" })
    bad:shot({ key = "d", prompt = "{{hero}}", after = "zz" })
    local none, err = bad:run({ dry_run = true })
    assert.is_nil(none)
    assert.equal("validation", err.kind)
    assert.equal(4, #err.problems)
    assert.matches("unknown filter 'nosuch'", err.problems[1].message, 1, true)
    assert.matches("unknown partial {{> missing}}", err.problems[2].message, 1, true)
    assert.matches("unknown placeholder {{ghost}}", err.problems[3].message, 1, true)
    assert.matches("waits for 'zz', which is not a shot", err.problems[4].message, 1, true)
    -- and a real run of it refuses the same way, before any request
    local again, rerr = bad:run()
    assert.is_nil(again)
    assert.equal("validation", rerr.kind)
    -- a continued shot on a service that returns no last frame is refused up front
    local cont = production()
    cont:shot({ key = "a", prompt = "{{hero}} sits." })
    cont:shot({ key = "b", prompt = "{{hero}} stands.", continue = true })
    local _, cerr = cont:run({ dry_run = true })
    assert.matches("piapi does not return a task's last frame", cerr.message, 1, true)
    assert.equal(0, emu:stats().requests)
  end)

  it("runs a cast and its shots to the end: takes downloaded, checked, recorded; events for each change", function()
    local prod = production()
    prod:shot({ key = "s1", prompt = "{{hero}} walks in.", duration = 5 })
    prod:shot({ key = "s2", prompt = "{{friend}} answers {{hero}}.", after = "s1", duration = 4 })
    local events = {}
    local r, err = prod:run({ timeout = 30, on_event = function(ev) events[#events + 1] = ev end })
    assert.is_nil(err)
    for _, k in ipairs({ "s1", "s2" }) do
      local s = r.shots[k]
      assert.equal("succeeded", s.status)
      assert.equal(out .. "/" .. k .. "/v001.mp4", s.path)
      assert.equal(sample, helpers.read(s.path))
      assert.equal(1, s.attempts)
      assert.is_string(s.task)
    end
    assert.equal("Image 1 (Image 2) answers Image 3.", r.shots.s2.prompt)
    -- PiAPI reports what it charged (meta.usage): recorded beside the estimate
    assert.equal("point", r.shots.s2.tries[1].usage.type)
    assert.equal(9, r.cost)
    -- s2 waited for s1: it was created after s1's take was saved
    local at = {}
    for _, ev in ipairs(events) do
      assert.is_string(ev.kind)
      if ev.kind == "take" then at["take " .. ev.shot] = ev.at end
      if ev.kind == "attempt" then at["attempt " .. ev.shot] = ev.at end
    end
    assert.truthy(at["attempt s2"] >= at["take s1"])
    local kinds = {}
    for _, ev in ipairs(events) do kinds[ev.kind] = true end
    for _, k in ipairs({ "run", "cast", "attempt", "progress", "take", "shot" }) do assert.truthy(kinds[k], k) end
    -- the cast was registered once: three members, four references
    -- hero and friend's two references (theme is not used by any shot), then two tasks
    assert.equal(2, creates(emu, ROUTE))
    assert.equal(3 + 2, emu:stats().creates)
  end)

  it("never has more than `concurrency` tasks in flight (the emulator's count)", function()
    local prod = production({ concurrency = 2 })
    for i = 1, 6 do prod:shot({ key = "s" .. i, prompt = "{{hero}} pose " .. i .. "." }) end
    local most, samples = 0, 0
    local function in_flight()
      local n = 0
      for _, t in ipairs(emu:control({ op = "dump" }).piapi.tasks) do
        if t.status == "queued" or t.status == "running" then n = n + 1 end
      end
      return n
    end
    local r = assert(prod:run({ timeout = 30, on_event = function(ev)
      -- in flight only grows at a create: sampling after each one sees every peak
      if ev.kind == "attempt" or ev.kind == "progress" then
        samples = samples + 1
        local n = in_flight()
        assert.truthy(n <= 2, "in flight: " .. n)
        if n > most then most = n end
      end
    end }))
    for i = 1, 6 do assert.equal("succeeded", r.shots["s" .. i].status) end
    assert.equal(2, most)
    assert.truthy(samples >= 6)
    assert.equal(6, creates(emu, ROUTE))
  end)

  it("refuses a shot that would pass the cost ceiling, before paying for it", function()
    local prod = production({ max_cost = 12, concurrency = 1,
                              cost = function(shot) return shot.duration * 1.0 end })
    prod:shot({ key = "s1", prompt = "{{hero}} one.", duration = 5 })
    prod:shot({ key = "s2", prompt = "{{hero}} two.", duration = 5 })
    prod:shot({ key = "s3", prompt = "{{hero}} three.", duration = 4 })
    prod:shot({ key = "s4", prompt = "{{hero}} four.", duration = 4, after = "s3" })
    local budget = {}
    local r, err = prod:run({ timeout = 30, on_event = function(ev)
      if ev.kind == "budget" then budget[#budget + 1] = ev.shot end
    end })
    assert.equal("task_failed", err.kind)
    assert.equal("succeeded", r.shots.s1.status)
    assert.equal("succeeded", r.shots.s2.status)
    assert.equal("over_budget", r.shots.s3.status)
    assert.matches("over its ceiling of 12", r.shots.s3.error, 1, true)
    assert.equal("skipped", r.shots.s4.status) -- it waited for s3
    assert.same({ "s3" }, budget)
    assert.equal(10, r.cost)
    assert.equal(2, creates(emu, ROUTE))
  end)

  it("retries a moderated shot with the varied prompt, and a failed task after a backoff", function()
    local varied = {}
    local prod = production({ retry = { attempts = 3, backoff = 0.2, vary = function(shot, err, n)
      varied[#varied + 1] = { shot = shot.key, kind = err.kind, n = n }
      return shot.prompt:gsub(" %[%[moderation%]%]", "") .. " (fully clothed)"
    end } })
    prod:shot({ key = "m", prompt = "{{hero}} at the beach [[moderation]]." })
    prod:shot({ key = "f", prompt = "{{hero}} falls [[fail]]." })
    local tries = {}
    local r, err = prod:run({ timeout = 30, on_event = function(ev)
      if ev.kind == "attempt" then tries[#tries + 1] = { shot = ev.shot, at = ev.at, n = ev.attempt } end
    end })
    assert.equal("task_failed", err.kind)
    local m = r.shots.m
    assert.equal("succeeded", m.status)
    assert.equal(2, m.attempts)
    assert.same({ { shot = "m", kind = "moderation", n = 1 } }, varied)
    assert.equal("Image 1 at the beach. (fully clothed)", m.prompt)
    assert.equal("moderation", m.tries[1].status == "failed" and "moderation" or m.tries[1].status)
    assert.matches("moderation", m.tries[1].error)
    -- the plain failure: three attempts, each after a longer pause, then failed
    local f = r.shots.f
    assert.equal("failed", f.status)
    assert.equal(3, f.attempts)
    local at = {}
    for _, t in ipairs(tries) do if t.shot == "f" then at[t.n] = t.at end end
    assert.truthy(at[2] - at[1] >= 0.2 + 0.3, "first backoff")
    assert.truthy(at[3] - at[2] >= 0.4 + 0.3, "second backoff doubles")
    -- the service saw the varied prompt
    local prompts = {}
    for _, t in ipairs(emu:control({ op = "dump" }).piapi.tasks) do prompts[t.prompt] = true end
    assert.truthy(prompts["Image 1 at the beach. (fully clothed)"])
    assert.equal(2 + 3, creates(emu, ROUTE))
  end)

  it("a failing cast member stops only the shots that use it", function()
    local prod = seedance.production({ client = client, name = "ep", out = out, concurrency = 3 })
    prod:cast({ hero = CDN .. "hero.png", crowd = CDN .. "multi-face-crowd.png" })
    prod:shot({ key = "a", prompt = "{{hero}} alone." })
    prod:shot({ key = "b", prompt = "{{hero}} in {{crowd}}." })
    prod:shot({ key = "c", prompt = "{{hero}} after the crowd.", after = "b" })
    prod:shot({ key = "d", prompt = "{{hero}} again.", after = "a" })
    local cast_events = {}
    local r, err = prod:run({ timeout = 30, on_event = function(ev)
      if ev.kind == "cast" then cast_events[#cast_events + 1] = ev.member .. " " .. ev.status end
    end })
    assert.equal("task_failed", err.kind)
    assert.equal("succeeded", r.shots.a.status)
    assert.equal("succeeded", r.shots.d.status)
    assert.equal("skipped", r.shots.b.status)
    assert.matches("cast member 'crowd' failed", r.shots.b.error, 1, true)
    assert.equal("skipped", r.shots.c.status)
    assert.matches("shot 'b' it waits for is skipped", r.shots.c.error, 1, true)
    assert.equal("failed", r.cast.crowd.status)
    assert.truthy(table.concat(cast_events, ","):find("crowd failed", 1, true))
    assert.equal(2, creates(emu, ROUTE))
  end)

  it("keeps every take: a changed shot is a new take beside the old, never over it", function()
    local prod = production()
    prod:shot({ key = "s1", prompt = "{{hero}} walks in." })
    assert(prod:run({ timeout = 30 }))
    local first = out .. "/s1/v001.mp4"
    helpers.write(first, sample .. "mine") -- an edit the user made must survive
    local again = production()
    again:shot({ key = "s1", prompt = "{{hero}} walks in slowly." })
    local r = assert(again:run({ timeout = 30 }))
    assert.equal(out .. "/s1/v002.mp4", r.shots.s1.path)
    assert.equal(sample .. "mine", helpers.read(first))
    assert.equal(sample, helpers.read(r.shots.s1.path))
    -- a draft run is a take of its own, at the lowest resolution
    local draft = production()
    draft:shot({ key = "s1", prompt = "{{hero}} walks in slowly." })
    local d = assert(draft:run({ timeout = 30, draft = true }))
    assert.equal(out .. "/s1/v003.mp4", d.shots.s1.path)
    assert.equal("480p", d.shots.s1.settings.resolution)
    local last = emu:control({ op = "dump" }).piapi.tasks
    local found = false
    for _, t in ipairs(last) do found = found or t.prompt == "Image 1 walks in slowly." end
    assert.truthy(found)
  end)

  it("a rerun on the same store continues where it stands and pays for nothing twice", function()
    local db = os.tmpname()
    os.remove(db)
    local function journaled()
      local c = helpers.new_client("piapi", KEY, emu.url, { journal = db })
      local prod = seedance.production({ client = c, name = "ep", out = out, concurrency = 2 })
      prod:cast({ hero = CDN .. "hero.png" })
      prod:shot({ key = "s1", prompt = "{{hero}} one." })
      prod:shot({ key = "s2", prompt = "{{hero}} two." })
      prod:shot({ key = "s3", prompt = "{{hero}} three [[fail]].", duration = 4 })
      return prod, c
    end
    local prod, c = journaled()
    prod.retry.attempts = 1
    local r = prod:run({ timeout = 30 })
    c:close()
    assert.equal("succeeded", r.shots.s1.status)
    assert.equal("failed", r.shots.s3.status)
    local paid = creates(emu, ROUTE)
    assert.equal(3, paid)
    local uploads = emu:stats().creates
    -- the rerun: the finished shots are read from the ledger, the failed one tried anew
    local prod2, c2 = journaled()
    prod2.retry.attempts = 1
    local r2 = prod2:run({ timeout = 30 })
    c2:close()
    assert.equal("succeeded", r2.shots.s1.status)
    assert.truthy(r2.shots.s1.resumed)
    assert.equal(r.shots.s1.path, r2.shots.s1.path)
    assert.equal(r.shots.s1.task, r2.shots.s1.task)
    assert.equal(2, r2.shots.s3.attempts) -- attempt 2: a new, deliberate, paid task
    assert.equal(paid + 1, creates(emu, ROUTE))
    assert.equal(uploads, emu:stats().creates - 1) -- s3's task only: the cast was reused
    -- the one repeat the service saw is s3's deliberate second attempt (same prompt)
    assert.equal(1, emu:stats().duplicate_creates)
    assert.equal(5 + 5 + 4 + 4, r2.cost) -- what all runs spent
    os.remove(db)
  end)

  it("raises on misuse, naming the argument", function()
    assert.has_error(function() seedance.production({ name = "x" }) end, "seedance.production: 'client' is required")
    assert.has_error(function() seedance.production({ client = client, name = "a b" }) end)
    assert.has_error(function() seedance.production({ client = client, name = "x", concurrency = 0 }) end,
                     "seedance.production: 'concurrency' must be a positive integer")
    assert.has_error(function() seedance.production({ client = client, name = "x", colour = 1 }) end,
                     "seedance.production: unknown option 'colour'")
    local prod = seedance.production({ client = client, name = "x" })
    assert.has_error(function() prod:cast({ hero = { image = CDN .. "a.mp3" } }) end)
    assert.has_error(function() prod:cast({ hero = { picture = "x" } }) end,
                     "prod:cast: cast member 'hero': unknown field 'picture'")
    prod:shot({ key = "s1", prompt = "x" })
    assert.has_error(function() prod:shot({ key = "s1", prompt = "y" }) end, "prod:shot: a shot 's1' already exists")
    assert.has_error(function() prod:shot({ key = "s2" }) end, "prod:shot: 'prompt' must be a non-empty string")
    assert.has_error(function() prod:run({ dryrun = true }) end, "prod:run: unknown option 'dryrun'")
  end)
end)

describe("seedance.production on ark", function()
  local AK, SK = "AKLTproduction", "c2stcHJvZHVjdGlvbg"
  local emulated = helpers.twin("ark", KEY, { processing = 0.1, api_key = KEY, access_key = AK, secret_key = SK },
                                { generation = 0.3, processing = 0.1 }, { access_key = AK, secret_key = SK })
  local out

  before_each(function() out = scratch_dir() end)
  after_each(function() helpers.sh("rm -rf '" .. out .. "'") end)

  it("continuity: a continued shot's request carries the last frame of the shot before it", function()
    local client = emulated:client()
    local prod = seedance.production({ client = client, name = "ep", out = out, concurrency = 2 })
    prod:cast({ hero = { image = CDN .. "hero.png" } })
    prod:shot({ key = "s1", prompt = "{{hero}} opens the door.", duration = 5 })
    prod:shot({ key = "s2", prompt = "{{hero}} steps through.", after = "s1", continue = true })
    prod:shot({ key = "s3", prompt = "The door swings shut.", continue = true })
    -- each shot's create as the service received it (creates are made one at a time, and
    -- the attempt event follows its create at once)
    local sent = {}
    local r, err = prod:run({ timeout = 30, on_event = function(ev)
      if ev.kind == "attempt" then sent[ev.shot] = { request = cjson.decode(emulated:dump().last_create.body) } end
    end })
    assert.is_nil(err)
    local s1, s2, s3 = sent.s1, sent.s2, sent.s3
    assert.is_true(s1.request.return_last_frame)
    assert.is_true(s2.request.return_last_frame)
    -- the frame s1 returned, as the service gave it
    local t1 = assert(client:task(r.shots.s1.task))
    local frame1 = assert(t1.last_frame_url)
    local t2 = assert(client:task(r.shots.s2.task))
    -- s2 names a cast member: the frame comes as a reference image, named in the prompt
    local roles = {}
    for _, item in ipairs(s2.request.content) do
      if item.type == "image_url" then roles[item.image_url.url] = item.role end
    end
    assert.equal("reference_image", roles[frame1])
    assert.equal("Continuing from [Image 1]: [Image 2] steps through.", r.shots.s2.prompt)
    -- s3 has no media of its own: it starts from s2's last frame
    local first
    for _, item in ipairs(s3.request.content) do
      if item.role == "first_frame" then first = item.image_url.url end
    end
    assert.equal(t2.last_frame_url, first)
    assert.is_nil(s3.request.return_last_frame)
    -- Ark reports what it charged: recorded beside the estimate
    assert.is_number(r.shots.s1.tries[1].usage.total_tokens)
    client:close()
  end)
end)
