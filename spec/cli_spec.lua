-- bin/seedance run as a subprocess against emulators started here (PiAPI for assets and
-- generation, OrcaRouter for groups and verification): every command, --help on each,
-- --json documents decoded, exit statuses (0 done, 1 seedance.Error, 2 misuse), plain
-- piped output without escape sequences, progress bars on a pseudo-terminal, the key
-- never printed, and generate -> wait -> download producing the emulator's MP4.
local emulator = require "seedance.emulator"
local sample = require("seedance.emulator").SAMPLE_MP4
local helpers = require "helpers"
local read = helpers.read

local KEY = "sk-cli-secret-4815162342"
local quote = helpers.quote
local VIDEO = os.tmpname()

local function has_command(name)
  local r = os.execute("command -v " .. name .. " >/dev/null 2>&1")
  return r == true or r == 0
end

describe("bin/seedance", function()
  local emu, orca

  local cli = helpers.cli(KEY, function()
    return { SEEDANCE_API_KEY = KEY, SEEDANCE_PROVIDER = "piapi", SEEDANCE_BASE_URL = emu.url, TERM = "xterm" }
  end)
  local command, run, run_json = cli.command, cli.run, cli.run_json

  local function uploaded(url, name)
    local code, doc = run_json({ "assets", "upload", url, "--name", name })
    assert.equal(0, code)
    return doc.asset
  end

  setup(function()
    emu = assert(emulator.start({ provider = "piapi", processing = 0.2, api_key = KEY }))
    emu:configure({ generation = 0.5 })
    orca = assert(emulator.start({ provider = "orcarouter", processing = 0.2, api_key = KEY }))
  end)
  teardown(function()
    emu:stop()
    orca:stop()
    for _, p in ipairs({ VIDEO, VIDEO .. ".part" }) do os.remove(p) end
    cli.cleanup()
  end)

  describe("usage", function()
    it("answers --help for the program, each group and every command, exit 0", function()
      local commands = require "seedance.cli.commands"
      local code, out = run({ "--help" }, { SEEDANCE_API_KEY = false, SEEDANCE_PROVIDER = false })
      assert.equal(0, code)
      assert.matches("usage: seedance", out)
      for _, c in ipairs(commands.list) do
        assert.truthy(out:find("seedance " .. c.words, 1, true), c.words .. " missing from --help")
        local argv = {}
        for w in c.words:gmatch("%S+") do argv[#argv + 1] = w end
        argv[#argv + 1] = "--help"
        local hcode, hout = run(argv, { SEEDANCE_API_KEY = false })
        assert.equal(0, hcode, c.words)
        assert.truthy(hout:find("usage: seedance " .. c.words, 1, true), c.words)
      end
      code, out = run({ "assets", "-h" })
      assert.equal(0, code)
      assert.truthy(out:find("seedance assets delete", 1, true))
      assert.is_nil(out:find("seedance verify", 1, true))
    end)

    it("exits 2 with the usage on misuse", function()
      local cases = {
        { {}, "no command" },
        { { "frobnicate" }, "unknown command" },
        { { "assets" }, "needs a command" },
        { { "assets", "get" }, "missing arguments" },
        { { "assets", "get", "a", "b" }, "too many arguments" },
        { { "assets", "list", "--bogus" }, "unknown option '--bogus'" },
        { { "assets", "wait", "x", "--timeout" }, "--timeout needs a value" },
        { { "generate", "x", "--duration", "long" }, "needs a number" },
        { { "generate", "x", "--ref", "novalue" }, "name=value" },
        { { "assets", "upload", "no/such/file.png" }, "neither a URL nor a readable file" },
        { { "assets", "upload", "https://x/a.png", "--type", "hologram" }, "not one of image, video, audio" },
        { { "generate", "x", "--model", "ultra" },
          "--model ultra: not a model of piapi; one of: standard, fast, seedance-2" },
        { { "generate", "x", "--download", "/nonexistent-dir-i15/x.mp4" }, "cannot write in /nonexistent-dir-i15" },
        { { "generate", "x", "--timeout=0" }, "--timeout needs a positive number of seconds" },
        { { "generate", "x", "--resolution", "4k" }, "--resolution 4k: not one of 480p, 720p, 1080p" },
        { { "assets", "list", "--status", "done" }, "not one of processing, active, failed" },
      }
      local creates = emu:stats().creates
      finally(function() assert.equal(creates, emu:stats().creates, "a create was sent") end)
      for _, case in ipairs(cases) do
        local code, out, err = run(case[1])
        assert.equal(2, code, case[2])
        assert.equal("", out, case[2])
        assert.truthy(err:find(case[2], 1, true), case[2] .. " not in: " .. err)
        assert.matches("usage: seedance", err)
      end
    end)

    it("says what the service cannot do as an operational error (exit 1, one JSON document)", function()
      for _, case in ipairs({ { { "groups", "list" }, "piapi cannot list groups" },
                              { { "verify" }, "piapi cannot run real-person verification" } }) do
        local code, out, err = run(case[1])
        assert.equal(1, code)
        assert.equal("", out)
        assert.truthy(err:find(case[2], 1, true))
        local jcode, doc = run_json(case[1])
        assert.equal(1, jcode)
        assert.same({ "validation", "unsupported", case[2] }, { doc.error.kind, doc.error.code, doc.error.message })
      end
      -- misuse too answers --json with one document
      local code, doc = run_json({ "assets", "get" })
      assert.equal(2, code)
      assert.same({ "usage", "missing arguments" }, { doc.error.kind, doc.error.message })
    end)

    it("needs a provider and a key from the environment; flags override", function()
      local code, _, err = run({ "assets", "list" }, { SEEDANCE_PROVIDER = false })
      assert.equal(2, code)
      assert.matches("SEEDANCE_PROVIDER", err)
      code, _, err = run({ "assets", "list" }, { SEEDANCE_API_KEY = false })
      assert.equal(2, code)
      assert.matches("SEEDANCE_API_KEY", err)
      code, _, err = run({ "assets", "list", "--provider", "nosuch" })
      assert.equal(2, code)
      assert.matches("unknown provider 'nosuch'", err)
      -- the flags win over the environment
      code = run({ "--provider", "piapi", "--base-url", emu.url, "assets", "list" },
                 { SEEDANCE_PROVIDER = "ark", SEEDANCE_BASE_URL = "http://127.0.0.1:9/nothing" })
      assert.equal(0, code)
    end)

    it("prints a seedance.Error on stderr and exits 1, never the key", function()
      local code, out, err = run({ "assets", "list" }, { SEEDANCE_API_KEY = "sk-wrong-key-000111222" })
      assert.equal(1, code)
      assert.equal("", out)
      assert.matches("^seedance: auth: ", err)
      assert.is_nil(err:find("sk-wrong-key-000111222", 1, true))
      local jcode, doc = run_json({ "assets", "get", "asset-nope" })
      assert.equal(1, jcode)
      assert.equal("not_found", doc.error.kind)
      assert.equal(404, doc.error.status)
      assert.equal("piapi", doc.error.provider)
    end)
  end)

  describe("assets", function()
    before_each(function() emu:reset() end)

    it("uploads, gets, waits (one failing), lists and deletes", function()
      local hero = uploaded("https://x/hero.png", "hero")
      assert.matches("^asset%-", hero.id)
      assert.equal("processing", hero.status)
      assert.equal("image", hero.type)
      assert.equal("asset://" .. hero.id, hero.ref)
      local bad = uploaded("https://x/multi-face.png", "bad")

      local code, doc = run_json({ "assets", "get", hero.id })
      assert.equal(0, code)
      assert.equal(hero.id, doc.asset.id)
      assert.equal("hero", doc.asset.name)

      code, doc = run_json({ "assets", "wait", hero.id })
      assert.equal(0, code)
      assert.equal("active", doc.assets[1].status)
      assert.is_nil(doc.error)

      local err
      code, doc, err = run_json({ "assets", "wait", hero.id, bad.id, "--timeout", "5" })
      assert.equal(1, code)
      assert.equal("asset_failed", doc.error.kind)
      assert.equal("MultiFaceViolation", doc.error.code)
      assert.same({ "active", "failed" }, { doc.assets[1].status, doc.assets[2].status })
      assert.equal("MultiFaceViolation", doc.assets[2].error.code)
      assert.matches("\nseedance: asset_failed: .*%(piapi MultiFaceViolation%)\n$", err)
      -- each id's outcome: the failed one named with its reason, on stderr and in the document
      assert.truthy(err:find(bad.id .. "\t", 1, true))
      assert.same({ bad.id }, { doc.failed[1].id })
      assert.equal(1, #doc.failed)
      -- -q: the ids only, one a line
      local qcode, qout = run({ "-q", "--poll", "0.05", "assets", "wait", hero.id })
      assert.equal(0, qcode)
      assert.equal(hero.id .. "\n", qout)

      code, doc = run_json({ "assets", "list", "--status", "active" })
      assert.equal(0, code)
      assert.equal(1, #doc.assets)
      assert.equal(hero.id, doc.assets[1].id)
      code, doc = run_json({ "assets", "list" })
      assert.equal(0, code)
      assert.equal(2, #doc.assets)

      code, doc = run_json({ "assets", "delete", hero.id, bad.id })
      assert.equal(0, code)
      assert.same({ hero.id, bad.id }, doc.deleted)
      code, doc = run_json({ "assets", "list" })
      assert.equal(0, code)
      assert.same({}, doc.assets)
      code, doc = run_json({ "assets", "delete", hero.id })
      assert.equal(1, code)
      assert.same({}, doc.deleted)
      assert.equal("not_found", doc.error.kind)
    end)

    it("writes plain lines when piped: no escape sequences, tab-separated rows", function()
      -- long enough that the wait, a process started after the upload's, still sees it
      -- processing on a loaded machine
      emu:configure({ processing = 1.5 })
      finally(function() emu:configure({ processing = 0.2 }) end)
      local hero = uploaded("https://x/hero.png", "hero")
      local code, out, err = run({ "--poll", "0.05", "assets", "wait", hero.id })
      assert.equal(0, code)
      assert.equal("", err)
      assert.is_nil(out:find("\27", 1, true))
      assert.truthy(out:find(hero.id .. "\tprocessing\n", 1, true))
      assert.truthy(out:find(hero.id .. "\tactive\n", 1, true))
      code, out = run({ "assets", "list" })
      assert.equal(0, code)
      assert.equal(table.concat({ hero.id, "active", "image", "hero", "asset://" .. hero.id }, "\t") .. "\n", out)
      code, out = run({ "assets", "get", hero.id })
      assert.equal(0, code)
      assert.matches("\nstatus +active\n", out)
      assert.is_nil(out:find("\27", 1, true))
    end)
  end)

  describe("generation", function()
    before_each(function()
      emu:reset()
      emu:configure({ generation = 0.5 })
      os.remove(VIDEO)
    end)

    it("generate --download: waits, saves the MP4, prints the rendered prompt", function()
      local hero = uploaded("https://x/hero.png", "hero")
      assert.equal(0, (run_json({ "assets", "wait", hero.id })))
      local code, doc = run_json({ "generate", "{{hero}} hands {{cup}} over at {{time}}",
        "--ref", "hero=" .. hero.id, "--ref", "cup=https://x/cup.png", "--ref", "time=dawn",
        "--ratio", "16:9", "--duration", "5", "--download", VIDEO })
      assert.equal(0, code)
      assert.equal("succeeded", doc.task.status)
      assert.equal(100, doc.task.progress)
      assert.equal("Image 1 hands Image 2 over at dawn", doc.task.prompt)
      assert.equal("seedance-2-less-restriction", doc.task.model)
      assert.equal(VIDEO, doc.path)
      local bytes = read(VIDEO)
      assert.equal("ftyp", bytes:sub(5, 8))
      assert.equal(sample, bytes)
      assert.is_nil(emu:stats().media_credential_violations)
    end)

    it("generate, then task wait and task download in later runs", function()
      local code, doc = run_json({ "generate", "a quiet shot", "--model", "fast" })
      assert.equal(0, code)
      local id = doc.task.id
      assert.equal("queued", doc.task.status)
      assert.equal("seedance-2-fast", doc.task.model)
      local out, err
      code, out, err = run({ "--poll", "0.05", "task", "wait", id })
      assert.equal(0, code)
      assert.equal("", err)
      assert.is_nil(out:find("\27", 1, true))
      assert.truthy(out:find(id .. "\tsucceeded\n", 1, true))
      assert.matches("\nstatus +succeeded\n", out)
      code, out = run({ "task", "download", id, VIDEO })
      assert.equal(0, code)
      assert.is_nil(out:find("\27", 1, true))
      assert.matches("saved +" .. VIDEO:gsub("%p", "%%%0"), out)
      assert.equal(sample, read(VIDEO))
    end)

    it("exits 1 on a failed task, a refused request and a download with nothing to fetch", function()
      local code, doc, err = run_json({ "generate", "a shot [[fail]]", "--wait" })
      assert.equal(1, code)
      assert.equal("failed", doc.task.status)
      assert.equal("task_failed", doc.error.kind)
      assert.matches("^seedance: task_failed: ", err)
      code, doc = run_json({ "task", "download", doc.task.id, VIDEO })
      assert.equal(1, code)
      assert.equal("task_failed", doc.error.kind)
      assert.is_nil(read(VIDEO))
      code, doc = run_json({ "generate", "a shot", "--duration", "5.5" })
      assert.equal(1, code)
      assert.matches("whole seconds only (4 to 15 s, or -1 for auto)", doc.error.message, 1, true)
      code, doc = run_json({ "generate", "a shot", "--ratio", "5:4" })
      assert.equal(2, code)
      assert.equal("usage", doc.error.kind)
      assert.matches("not one of 21:9, 16:9", doc.error.message)
      code, doc = run_json({ "generate", "{{who}} waves", "--ref", "who=asset-missing" })
      assert.equal(1, code)
      assert.equal("not_found", doc.error.kind)
      code, doc = run_json({ "generate", "x", "--wait", "--timeout", "0.1" })
      assert.equal(1, code)
      assert.equal("timeout", doc.error.kind)
    end)

    it("draws progress bars on a terminal", function()
      if not has_command("script") then
        pending("script(1) is not installed")
        return
      end
      local _, doc = run_json({ "generate", "a shot" })
      local cmd = command({ "--poll", "0.05", "task", "wait", doc.task.id })
      local p = io.popen("script -qec " .. quote(cmd) .. " /dev/null; echo \"rc=$?\"")
      local out = p:read("*a")
      p:close()
      assert.matches("rc=0", out)
      assert.truthy(out:find("\27[2K", 1, true))
      assert.truthy(out:find("] 100%  " .. doc.task.id .. "  succeeded", 1, true))
      assert.is_nil(out:find(KEY, 1, true))
    end)
  end)

  describe("groups and verification (orcarouter)", function()
    local env

    before_each(function()
      orca:reset()
      env = { SEEDANCE_PROVIDER = "orcarouter", SEEDANCE_BASE_URL = orca.url }
    end)

    it("creates and lists groups", function()
      local code, doc = run_json({ "groups", "create", "cast", "--description", "the cast" }, env)
      assert.equal(0, code)
      assert.equal("cast", doc.group.name)
      assert.equal("aigc", doc.group.type)
      local id = doc.group.id
      code, doc = run_json({ "groups", "list", "--type", "aigc" }, env)
      assert.equal(0, code)
      assert.equal(id, doc.groups[1].id)
      code, doc = run_json({ "groups", "list", "--type", "real_human" }, env)
      assert.equal(0, code)
      assert.same({}, doc.groups)
      local out
      code, out = run({ "groups", "list" }, env)
      assert.equal(0, code)
      assert.matches("^" .. id:gsub("%p", "%%%0") .. "\taigc\tcast\t", out)
      code = run({ "groups", "list", "--type", "robots" }, env)
      assert.equal(2, code)
    end)

    it("verify prints the link; --wait prints the new real_human group", function()
      local code, out = run({ "verify", "--return-url", "https://app.example/cb" }, env)
      assert.equal(0, code)
      assert.matches("\nlink +https://", out)
      local doc, err
      code, doc, err = run_json({ "verify", "--wait", "--timeout", "5" }, env)
      assert.equal(0, code)
      assert.equal("succeeded", doc.session.status)
      assert.equal("real_human", doc.group.type)
      assert.equal(doc.session.group_id, doc.group.id)
      -- the person needs the link while the command waits
      assert.truthy(err:find(doc.session.link, 1, true))
      code, doc = run_json({ "groups", "list", "--type", "real_human" }, env)
      assert.equal(0, code)
      assert.equal(1, #doc.groups)
    end)
  end)
end)

describe("seedance.cli internals", function()
  local args = require "seedance.cli.args"
  local output = require "seedance.cli.output"

  it("parses options anywhere, repeats lists, honours --", function()
    local opts, pos = args.parse({ "a", "--ref", "x=1", "--ref=y=2", "--wait", "b", "--", "--c" },
                                 { ref = "list", wait = "flag" })
    assert.same({ ref = { "x=1", "y=2" }, wait = true }, opts)
    assert.same({ "a", "b", "--c" }, pos)
    local ok, e = pcall(args.parse, { "--wait=yes" }, { wait = "flag" })
    assert.is_false(ok)
    assert.is_true(args.is_usage_error(e))
  end)

  it("draws a bar", function()
    assert.equal("[                        ]   0%", output.bar(0))
    assert.equal("[===========>            ]  50%", output.bar(0.5))
    assert.equal("[========================] 100%", output.bar(1.5))
    assert.equal("1.5 MB", output.size(1.5 * 1024 * 1024))
  end)
end)
