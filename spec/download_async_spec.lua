-- task:download_async: returns at once and completes from client:step(), the way a game
-- loop drives it; the same file rules as task:download (.part, resume, rename when whole,
-- no credential to the result host, url_expired), cancel, callbacks that raise.
local seedance = require "seedance"
local emulator = require "seedance.emulator"
local core = require "seedance.core"
local sample = require("seedance.emulator").SAMPLE_MP4
local helpers = require "helpers"
local read = helpers.read

local KEY = "pk-async-secret-1122334455"
local TMP = os.tmpname()
local TMP2 = os.tmpname()

local function clean()
  for _, p in ipairs({ TMP, TMP2 }) do
    os.remove(p)
    os.remove(p .. ".part")
  end
end

-- a frame loop: step, note the longest step, sleep a little, until `done()` or 10 s
local function frames(client, done)
  local n, longest, t0 = 0, 0, core.now()
  while not done() do
    assert(core.now() - t0 < 10, "frames: nothing finished within 10 s")
    local s = core.now()
    client:step()
    longest = math.max(longest, core.now() - s)
    n = n + 1
    core.sleep(0.002)
  end
  return n, longest
end

describe("task:download_async", function()
  local emu, client

  setup(function()
    emu = assert(emulator.start({ provider = "piapi", processing = 0.2, api_key = KEY }))
  end)
  teardown(function()
    emu:stop()
    clean()
  end)
  before_each(function()
    emu:reset()
    emu:configure({ generation = 0.5, processing = 0.2 })
    client = seedance.new({ provider = "piapi", api_key = KEY, base_url = emu.url, backoff_base = 0.01,
                            poll = { interval = 0.05, max = 0.1 }, track = true })
    clean()
  end)
  after_each(function()
    client:close()
    clean()
  end)

  local function finished_task(prompt)
    local t = assert(client:generate({ prompt = prompt or "a shot" }))
    assert(t:wait({ timeout = 10 }))
    return t
  end

  it("returns at once, completes from step() with progress, a whole MP4 and no credential", function()
    local t = finished_task()
    emu:fault({ match = "GET /__emulator/media", delay = 0.3 })
    local progress, done_calls, got, got_err = {}, 0, nil, nil
    local t0 = core.now()
    local d = assert(t:download_async(TMP, {
      on_progress = function(b, total) progress[#progress + 1] = { b, total } end,
      on_done = function(p, err) done_calls, got, got_err = done_calls + 1, p, err end }))
    assert.is_true(core.now() - t0 < 0.05)
    assert.is_false(d.done)
    assert.equal(TMP, d.path)
    assert.is_nil(read(TMP))
    local n, longest = frames(client, function() return done_calls > 0 end)
    assert.is_true(n > 20, "frames kept ticking while the host was slow: " .. n)
    assert.is_true(longest < 0.05, "a step blocked for " .. longest .. " s")
    assert.equal(1, done_calls)
    assert.is_nil(got_err)
    assert.equal(TMP, got)
    assert.is_true(d.done)
    assert.is_nil(d.error)
    assert.equal(#sample, d.bytes)
    assert.equal(sample, read(TMP))
    assert.is_nil(read(TMP .. ".part"))
    assert.same({ #sample, #sample }, progress[#progress])
    for i = 2, #progress do assert.is_true(progress[i][1] >= progress[i - 1][1]) end
    local st = emu:stats()
    assert.is_nil(st.media_credential_violations)
    assert.equal(1, st.media_downloads)
    -- nothing left in motion once the file is there (the task is terminal, not tracked)
    for _ = 1, 3 do client:step() end
    assert.equal(0, client:step())
    assert.equal(#sample, select(1, d:progress()))
    assert.matches("done", tostring(d))
  end)

  it("runs alongside tracked generations: several downloads in one loop", function()
    local ts = {}
    for i = 1, 3 do ts[i] = assert(client:generate({ prompt = "shot " .. i })) end
    local ds, paths = {}, { TMP, TMP2, TMP .. "-3" }
    frames(client, function()
      for i, t in ipairs(ts) do
        if t.status == "succeeded" and not ds[i] then ds[i] = assert(t:download_async(paths[i])) end
      end
      for i = 1, #ts do
        if not (ds[i] and ds[i].done) then return false end
      end
      return true
    end)
    for i = 1, 3 do
      assert.is_nil(ds[i].error)
      assert.equal(sample, read(paths[i]))
    end
    os.remove(paths[3])
  end)

  it("resumes an interrupted download with a range request", function()
    local t = finished_task()
    emu:fault({ match = "GET /__emulator/media", truncate = 3000, count = 1 })
    local c = seedance.new({ provider = "piapi", api_key = KEY, base_url = emu.url, retries = 0 })
    local tc = assert(c:task(t.id))
    local err
    local d = assert(tc:download_async(TMP, { on_done = function(_, e) err = e end }))
    frames(c, function() return d.done end)
    assert.equal("network", err.kind)
    assert.equal(3000, err.partial)
    assert.equal(err, d.error)
    assert.is_nil(read(TMP))
    local d2 = assert(tc:download_async(TMP))
    assert.equal(3000, d2.bytes)
    assert.equal(TMP, d2:wait({ timeout = 5 }))
    assert.equal(sample, read(TMP))
    assert.is_true(emu:stats().media_ranges >= 1)
    c:close()
  end)

  it("says url_expired when the host refuses, and resumes after a refresh", function()
    local t = finished_task()
    emu:control({ op = "expire_media" })
    local d = assert(t:download_async(TMP))
    local p, err = d:wait({ timeout = 5 })
    assert.is_nil(p)
    assert.equal("not_found", err.kind)
    assert.equal("url_expired", err.code)
    assert.equal(403, err.status)
    emu:control({ op = "expire_media", expired = false })
    assert(t:refresh())
    assert.equal(TMP, assert(t:download_async(TMP)):wait({ timeout = 5 }))
    assert.equal(sample, read(TMP))
  end)

  it("cancels: on_done gets code 'cancelled', the .part stays for a later resume", function()
    local t = finished_task()
    emu:fault({ match = "GET /__emulator/media", delay = 0.5 })
    local got, err
    local d = assert(t:download_async(TMP, { on_done = function(p, e) got, err = p or false, e end }))
    client:step()
    assert.is_true(d:cancel())
    frames(client, function() return got ~= nil end)
    assert.is_false(got)
    assert.equal("cancelled", err.code)
    assert.is_true(d.done)
    assert.is_false(d:cancel())
    assert.equal(TMP, assert(t:download_async(TMP)):wait({ timeout = 5 }))
    assert.equal(sample, read(TMP))
  end)

  it("lets a raising on_done out of step() without losing another download", function()
    local t = finished_task()
    local other
    local d1 = assert(t:download_async(TMP, { on_done = function() error("boom from on_done") end }))
    local d2 = assert(t:download_async(TMP2, { on_done = function(p) other = p end }))
    local raised
    local t0 = core.now()
    -- frames() steps unprotected, so this test steps on its own: the raise may come in any step
    while not (d1.done and d2.done and raised ~= nil and other ~= nil) do
      assert(core.now() - t0 < 10, "nothing finished within 10 s")
      local ok, e = pcall(client.step, client)
      if not ok then raised = e end
      core.sleep(0.002)
    end
    assert.matches("boom from on_done", raised)
    assert.equal(TMP2, other)
    assert.equal(sample, read(TMP))
    assert.equal(sample, read(TMP2))
  end)

  it("refuses misuse at once and a task with no video with task_failed", function()
    local t = finished_task()
    assert.has_error(function() t:download_async(nil) end, "task:download_async: 'path' must be a file path")
    assert.has_error(function() t:download_async(TMP, { bogus = 1 }) end,
      "task:download_async: unknown option 'bogus'")
    assert.has_error(function() t:download_async(TMP, { on_done = 1 }) end,
      "task:download_async: 'on_done' must be a function")
    assert.has_error(function() t:download_async(TMP, { timeout = -1 }) end,
      "task:download_async: 'timeout' must be a positive number of seconds")
    local f = assert(client:generate({ prompt = "[[fail]] a shot" }))
    f:wait({ timeout = 10 })
    local d, err = f:download_async(TMP)
    assert.is_nil(d)
    assert.equal("task_failed", err.kind)
    assert.is_nil(tostring(err):find(KEY, 1, true))
  end)
end)
