-- Productions across processes, against an emulator started here: `seedance produce` as a
-- command (dry run sends nothing, --json, piped lines), a run killed with SIGKILL and
-- rerun on the same store (no second paid task), two workers splitting one production on
-- one store (each shot created once), and the HTML report rendered by headless Chromium
-- (the DOM checked, the screenshot not blank).
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local sample = require("seedance.emulator").SAMPLE_MP4
local cjson = require "cjson"
local helpers = require "helpers"

local KEY = "sk-produce-2718281828"
local ROOT = helpers.ROOT
local LUA = type(jit) == "table" and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
local EPISODE = ROOT .. "/spec/fixtures/production/episode.lua"
local ROUTE = "POST /api/v1/task"

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function scratch_dir()
  local d = os.tmpname()
  os.remove(d)
  assert(helpers.sh("mkdir -p " .. quote(d)))
  return d
end

local function has_command(name) return helpers.sh("command -v " .. name .. " >/dev/null 2>&1") end

local function sleep(s) emulator.sleep(s) end

-- wait until pred() or `limit` seconds pass; returns pred()'s last value
local function eventually(pred, limit)
  local t0 = emulator.now()
  repeat
    local v = pred()
    if v then return v end
    sleep(0.05)
  until emulator.now() - t0 > limit
  return pred()
end

describe("seedance produce", function()
  local emu, dir

  setup(function() emu = assert(emulator.start({ provider = "piapi", processing = 0.1 })) end)
  teardown(function() emu:stop() end)
  before_each(function()
    emu:reset()
    emu:configure({ generation = 0.4, processing = 0.1 })
    dir = scratch_dir()
  end)
  after_each(function() helpers.sh("rm -rf " .. quote(dir)) end)

  -- the command line of one `seedance produce` with the episode's settings
  local function command(argv, env)
    local vars = { SEEDANCE_API_KEY = KEY, SEEDANCE_PROVIDER = "piapi", SEEDANCE_BASE_URL = emu.url,
                   EPISODE_OUT = dir .. "/out", TERM = "dumb" }
    for k, v in pairs(env or {}) do vars[k] = v end
    local parts = { "env" }
    for k, v in pairs(vars) do parts[#parts + 1] = k .. "=" .. quote(v) end
    parts[#parts + 1] = LUA .. " " .. quote(ROOT .. "/bin/seedance") .. " produce " .. quote(EPISODE) .. " --poll 0.05"
    for _, a in ipairs(argv or {}) do parts[#parts + 1] = quote(a) end
    return table.concat(parts, " ")
  end

  -- run to the end; returns exit status, stdout
  local function run(argv, env)
    local outf = dir .. "/stdout"
    local ok = helpers.sh(command(argv, env) .. " > " .. quote(outf) .. " 2> " .. quote(dir .. "/stderr"))
    return ok, helpers.read(outf) or "", helpers.read(dir .. "/stderr") or ""
  end

  -- start in the background; returns the pid and the file its stdout goes to
  local function spawn(name, argv, env)
    local outf, pidf = dir .. "/" .. name .. ".out", dir .. "/" .. name .. ".pid"
    assert(helpers.sh("sh -c " .. quote("echo $$ > " .. quote(pidf) .. "; exec " .. command(argv, env) .. " > "
      .. quote(outf) .. " 2> " .. quote(outf .. ".err")) .. " &"))
    local pid = eventually(function()
      local p = helpers.read(pidf)
      return p and p:match("^(%d+)")
    end, 10)
    return assert(pid), outf
  end

  local function alive(pid) return helpers.sh("kill -0 " .. pid .. " 2>/dev/null") end

  it("--dry-run renders and prices every shot and sends nothing; --json is one document", function()
    local ok, out = run({ "--dry-run", "--json" })
    assert.is_true(ok)
    local doc = cjson.decode(out).production
    assert.is_true(doc.dry_run)
    assert.equal(17, doc.estimate)
    assert.equal("cinematic, 35 mm Image 1 walks in, a tall woman in a red coat.", doc.shots.s1.prompt)
    assert.same({ "s1", "s2", "s3", "s4" }, doc.order)
    assert.truthy(out:find('"takes":[]', 1, true)) -- lists stay lists, even empty
    assert.equal(0, emu:stats().requests)
  end)

  it("runs a production: plain lines per shot when piped, a table at the end, takes on disk", function()
    local ok, out, err = run({ "--report", dir .. "/report.html" })
    assert.is_true(ok, err)
    assert.is_nil(out:find("\27", 1, true))
    assert.truthy(out:find("s1\tqueued\n", 1, true))
    assert.truthy(out:find("s2\tsucceeded\t4\t4\t" .. dir .. "/out/s2/v001.mp4\n", 1, true))
    assert.truthy(out:find("cost 17, estimate 17, ceiling 100", 1, true))
    for i = 1, 4 do assert.equal(sample, helpers.read(dir .. "/out/s" .. i .. "/v001.mp4")) end
    assert.truthy(helpers.read(dir .. "/report.html"):find("<video", 1, true))
    assert.equal(4, emu:stats().by_route[ROUTE])
  end)

  it("a run killed with SIGKILL and run again pays for no task twice", function()
    emu:configure({ generation = 1.5 })
    local db = dir .. "/episode.db"
    local env = { EPISODE_JOURNAL = db }
    local pid, outf = spawn("killed", {}, env)
    -- both first shots created (their tasks exist, the next creates are 1.5 s away): kill
    local seen = eventually(function()
      local o = helpers.read(outf) or ""
      return o:find("s1\tqueued", 1, true) and o:find("s3\tqueued", 1, true)
    end, 20)
    assert.truthy(seen, helpers.read(outf))
    assert(helpers.sh("kill -9 " .. pid))
    assert.truthy(eventually(function() return not alive(pid) end, 5))
    local paid = emu:stats().by_route[ROUTE]
    assert.equal(2, paid)
    local ok, out, err = run({ "--json" }, env)
    assert.is_true(ok, err)
    local doc = cjson.decode(out).production
    for i = 1, 4 do assert.equal("succeeded", doc.shots["s" .. i].status) end
    -- the two tasks of the killed run were found again and waited for, not created anew
    local st = emu:stats()
    assert.equal(4, st.by_route[ROUTE])
    assert.equal(0, st.duplicate_creates)
    assert.equal(1, doc.shots.s1.attempts)
    assert.equal(17, doc.cost)
  end)

  it("two workers on one store split a production: every shot created once", function()
    emu:configure({ generation = 0.8 })
    local env = { EPISODE_JOURNAL = dir .. "/shared.db", EPISODE_SHOTS = "6" }
    local a = spawn("a", { "--json" }, env)
    local b = spawn("b", { "--json" }, env)
    assert.truthy(eventually(function() return not alive(a) and not alive(b) end, 60))
    local docs = {}
    for _, name in ipairs({ "a", "b" }) do
      local text = helpers.read(dir .. "/" .. name .. ".out")
      local ok, d = pcall(cjson.decode, text)
      assert.is_true(ok, tostring(text) .. (helpers.read(dir .. "/" .. name .. ".out.err") or ""))
      docs[name] = d.production
    end
    local own = { a = 0, b = 0 }
    for name, doc in pairs(docs) do
      for i = 1, 6 do
        local s = doc.shots["s" .. i]
        assert.equal("succeeded", s.status, name .. " s" .. i)
        if not s.elsewhere then own[name] = own[name] + 1 end
      end
    end
    assert.equal(6, own.a + own.b)
    assert.truthy(own.a >= 1 and own.b >= 1, ("a made %d, b made %d"):format(own.a, own.b))
    local st = emu:stats()
    assert.equal(6, st.by_route[ROUTE])
    assert.equal(0, st.duplicate_creates)
  end)
end)

describe("the production report in headless Chromium", function()
  local missing = not has_command("chromium") and "chromium" or nil
  if missing then
    pending(missing .. " is not installed (scripts/deps.sh --all installs it)")
    return
  end
  local emu, client, dir
  setup(function()
    emu = assert(emulator.start({ provider = "piapi", processing = 0.1 }))
    emu:configure({ generation = 0.3 })
    client = helpers.new_client("piapi", KEY, emu.url)
    dir = scratch_dir()
  end)
  teardown(function()
    client:close()
    emu:stop()
    helpers.sh("rm -rf " .. quote(dir))
  end)

  -- chromium is not ours to sanitize: make check-asan's preloaded libasan breaks its
  -- launcher script, so it runs without it
  local function chromium(args)
    return helpers.capture("env -u LD_PRELOAD timeout 120 chromium --headless --no-sandbox --disable-gpu "
      .. "--hide-scrollbars " .. args .. " 2>/dev/null")
  end

  it("shows the cast, every shot's prompt as sent, attempts, cost against the ceiling and a player per take", function()
    local prod = seedance.production({ client = client, name = "report", out = dir .. "/out", max_cost = 20,
      concurrency = 1,
      retry = { attempts = 2, vary = function() return "{{hero}} at the beach, fully clothed." end } })
    prod:cast({ hero = { image = "https://cdn.example.com/cast/hero.png", describe = "a <tall> woman" } })
    prod:shot({ key = "s1", prompt = "{{hero}} walks in, {{hero | describe}}.", duration = 5 })
    prod:shot({ key = "s2", prompt = "{{hero}} at the beach [[moderation]].", duration = 5, after = "s1" })
    prod:shot({ key = "s3", prompt = "{{hero}} leaves.", duration = 8 })
    local page = dir .. "/report.html"
    local r = prod:run({ timeout = 60, report = page })
    assert.equal(page, r.report)
    local dom = chromium("--dump-dom " .. quote("file://" .. page))
    assert.truthy(dom:find('<section id="cast">', 1, true), dom)
    assert.truthy(dom:find('src="https://cdn.example.com/cast/hero.png"', 1, true))
    assert.truthy(dom:find("a &lt;tall&gt; woman", 1, true)) -- escaped, not markup
    assert.truthy(dom:find('id="shot-s1" data-status="succeeded"', 1, true))
    assert.truthy(dom:find('id="shot-s2" data-status="succeeded"', 1, true))
    -- s3 would pass the ceiling: 5 + 5 + 5 (s2's moderated first try) + 8 > 20
    assert.truthy(dom:find('id="shot-s3" data-status="over_budget"', 1, true))
    assert.truthy(dom:find("Image 1 walks in, a &lt;tall&gt; woman.", 1, true))
    assert.truthy(dom:find("Image 1 at the beach, fully clothed.", 1, true)) -- the varied prompt as sent
    assert.truthy(dom:find("moderation", 1, true)) -- the first attempt's error
    assert.truthy(dom:find('<video controls="" preload="metadata" src="out/s1/v001.mp4">', 1, true), dom)
    assert.truthy(dom:find('<video controls="" preload="metadata" src="out/s2/v001.mp4">', 1, true))
    assert.truthy(dom:find('<div class="meter"', 1, true))
    local _, videos = dom:gsub("<video", "")
    assert.equal(2, videos)
    -- the screenshot: a page with content, not a blank one (a blank page of the same size
    -- compresses to a small fraction of it)
    local shot, blank = dir .. "/report.png", dir .. "/blank.png"
    helpers.write(dir .. "/blank.html", "<!DOCTYPE html><html><body></body></html>")
    chromium("--window-size=1200,1600 --screenshot=" .. quote(shot) .. " " .. quote("file://" .. page))
    chromium("--window-size=1200,1600 --screenshot=" .. quote(blank) .. " " .. quote("file://" .. dir .. "/blank.html"))
    local info = assert(seedance.probe(shot))
    assert.equal("png", info.format)
    assert.equal(1200, info.width)
    local size, empty = #helpers.read(shot), #helpers.read(blank)
    assert.truthy(size > 4 * empty, ("screenshot %d bytes, blank page %d bytes"):format(size, empty))
  end)
end)
