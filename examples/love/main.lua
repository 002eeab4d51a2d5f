-- seedance inside a LÖVE game loop: a cast image is uploaded, three shots generate side by
-- side, each video downloads when ready, and the window draws every stage as progress bars.
-- love.update calls client:step(), which never blocks, so frames keep coming while the
-- service works.
--
--   make LUA=luajit            # LÖVE runs LuaJIT: build the C modules for it
--   love examples/love         # offline: the embedded emulator plays the service
--   SEEDANCE_PROVIDER=piapi SEEDANCE_API_KEY=... SEEDANCE_DEMO_CDN=https://... love examples/love
--
-- Environment: SEEDANCE_LOVE_OUT (folder for the videos, default $TMPDIR/seedance-love),
-- SEEDANCE_LOVE_REPORT (a file: when set, the program writes a report there and quits when
-- done; spec/love_spec.lua uses it), SEEDANCE_LOVE_SCREENSHOT (a .png written when done).
-- luacheck: globals love

-- Modules come from this checkout (lua/ and build/luajit/), two folders up from here.
-- require goes through package.path with absolute paths, so LÖVE's filesystem sandbox
-- (which only sees the game folder and the save folder) does not get in the way.
local function use_checkout()
  local src = love.filesystem.getSource()
  if src:sub(1, 1) ~= "/" then src = (os.getenv("PWD") or ".") .. "/" .. src end
  local root = os.getenv("SEEDANCE_ROOT") or (src .. "/../..")
  local f = io.open(root .. "/lua/seedance/init.lua", "r")
  if not f then return end -- not in a checkout: an installed seedance is used
  f:close()
  package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
  package.cpath = root .. "/build/luajit/?.so;" .. package.cpath
end
use_checkout()

-- LÖVE runs LuaJIT: without the LuaJIT build of the C core, say how to make one (as
-- bin/seedance says how to build for the Lua that runs it)
local loaded, seedance = pcall(require, "seedance")
if not loaded then
  local why = "seedance cannot load its C core for LuaJIT (LÖVE runs LuaJIT):\n" .. tostring(seedance) ..
    "\n\nBuild it from the checkout: sh scripts/deps.sh --all (LuaJIT headers), then make LUA=luajit;"
    .. "\nor set SEEDANCE_ROOT to a checkout that has build/luajit/."
  -- an unattended run (SEEDANCE_LOVE_REPORT) writes it down and quits: LÖVE's error screen
  -- would wait for a person to close it
  local report = os.getenv("SEEDANCE_LOVE_REPORT")
  local f = report and io.open(report, "w")
  if f then
    f:write("phase=failed\nerror=", why, "\n")
    f:close()
    os.exit(1)
  end
  error(why, 0)
end

local SHOTS = {
  { key = "shot-1", prompt = "{{hero}} runs across the rooftop at dusk" },
  { key = "shot-2", prompt = "{{hero}} looks back over one shoulder, rain falling" },
  { key = "shot-3", prompt = "Close-up: {{hero}} smiles as the city lights come on" },
}

local REPORT = os.getenv("SEEDANCE_LOVE_REPORT")
local SCREENSHOT = os.getenv("SEEDANCE_LOVE_SCREENSHOT")
local OUT = os.getenv("SEEDANCE_LOVE_OUT") or ((os.getenv("TMPDIR") or "/tmp") .. "/seedance-love")
local GIVE_UP = 120 -- seconds: an unattended run (REPORT set) never hangs CI
local WARMUP = 3    -- frames drawn before seedance starts

local game = {
  phase = "starting", -- starting, casting, shooting, done, failed
  shots = {},
  frames = 0, max_frame = 0, max_update = 0, busy = 0,
}

local function fail(msg)
  game.phase, game.error = "failed", tostring(msg)
  print("seedance example: " .. game.error)
end

local function file_size(p)
  local f = io.open(p, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

-- The service: a real one when a key is set, else the emulator on its own thread.
local function connect()
  local provider = os.getenv("SEEDANCE_PROVIDER") or "piapi"
  if os.getenv("SEEDANCE_API_KEY") then
    game.mode = provider
    game.cdn = assert(os.getenv("SEEDANCE_DEMO_CDN"), "set SEEDANCE_DEMO_CDN to where your cast image is")
    return seedance.new({ provider = provider, track = true })
  end
  local emulator = require "seedance.emulator"
  local emu = assert(emulator.start({ provider = "piapi", processing = 1.0 }))
  emu:configure({ generation = 2.5 })
  -- a slow result host, so the download bars have something to show
  emu:fault({ match = "GET /__emulator/media", delay = 0.8, count = #SHOTS })
  game.emu, game.mode, game.cdn = emu, "piapi (emulator)", "https://cdn.example.com"
  return seedance.new({ provider = "piapi", api_key = "emulator-key", base_url = emu.url, track = true,
                        poll = { interval = 0.25, max = 0.5 } })
end

function love.load()
  os.execute("mkdir -p '" .. OUT .. "'")
  game.client = connect()
  game.started = love.timer.getTime()
  love.graphics.setBackgroundColor(0.08, 0.09, 0.12)
end

-- One creation per frame at most: a create is one HTTP round trip the frame waits for
-- (milliseconds on loopback); everything after it (polls, downloads) is non-blocking.
local function advance()
  local client = game.client
  if game.phase == "starting" then
    local asset, err = client:upload({ url = game.cdn .. "/cast/hero.png", name = "hero" })
    if not asset then return fail(err) end
    game.cast, game.phase = asset, "casting"
  elseif game.phase == "casting" then
    if game.cast.status == "failed" then
      local e = game.cast.error or {}
      return fail("the cast upload failed: " .. tostring(e.message or e.code or game.cast.raw_status))
    end
    if game.cast.status ~= "active" then return end
    local n = #game.shots + 1
    local task, err = client:generate({ prompt = SHOTS[n].prompt, refs = { hero = game.cast }, key = SHOTS[n].key,
                                        duration = 5, ratio = "16:9" })
    if not task then return fail(err) end
    game.shots[n] = { key = SHOTS[n].key, task = task }
    if n == #SHOTS then game.phase = "shooting" end
  elseif game.phase == "shooting" then
    local finished = 0
    for _, s in ipairs(game.shots) do
      local t = s.task
      if t.status == "succeeded" and not s.download then
        local path = OUT .. "/" .. s.key .. ".mp4"
        local d, err = t:download_async(path, { on_done = function(p, derr)
          s.path, s.error = p, derr and tostring(derr)
        end })
        if not d then s.error = tostring(err) end
        s.download = d
      elseif t.status == "failed" or t.status == "cancelled" or t.status == "expired" then
        s.error = s.error or tostring(t.error and (t.error.message or t.error.code) or t.status)
      end
      if s.path or s.error then finished = finished + 1 end
    end
    if finished == #game.shots then
      game.phase = "done"
      for _, s in ipairs(game.shots) do
        if s.error then return fail(s.key .. ": " .. s.error) end
      end
    end
  end
end

local function write_report()
  local f = assert(io.open(REPORT, "w"))
  local s1 = game.shots[1] or {}
  local lines = {
    "phase=" .. game.phase, "frames=" .. (game.counted or 0),
    ("max_frame_ms=%.1f"):format(game.max_frame * 1000), ("max_update_ms=%.1f"):format(game.max_update * 1000),
    ("warmup_frame_ms=%.1f"):format((game.first_frames or 0) * 1000),
    ("seconds=%.2f"):format(love.timer.getTime() - game.started),
    "videos=" .. #game.shots, "path=" .. tostring(s1.path), "bytes=" .. tostring(s1.path and file_size(s1.path)),
    "error=" .. tostring(game.error or ""),
  }
  for _, s in ipairs(game.shots) do
    lines[#lines + 1] = ("video=%s %s"):format(tostring(s.path), tostring(s.path and file_size(s.path)))
  end
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
end

local function finish_unattended()
  if SCREENSHOT and not game.shot_taken then
    game.shot_taken = true
    love.graphics.captureScreenshot(function(image)
      local fh = io.open(SCREENSHOT, "wb")
      if fh then
        fh:write(image:encode("png"):getString())
        fh:close()
      end
      game.shot_saved = true
    end)
    return
  end
  if SCREENSHOT and not game.shot_saved then return end
  if REPORT then
    write_report()
    love.event.quit(game.phase == "done" and 0 or 1)
  end
end

function love.update(dt)
  local t0 = love.timer.getTime()
  game.frames = game.frames + 1
  -- the first frames warm up (the first draw rasterizes the font and compiles shaders,
  -- ~100-300 ms under Xvfb's software GL): seedance starts, and frame times count, after
  if game.frames <= WARMUP then
    game.first_frames = math.max(game.first_frames or 0, dt)
    return
  end
  game.max_frame = math.max(game.max_frame, dt)
  game.counted = (game.counted or 0) + 1
  local ok, err = pcall(advance)
  if not ok then fail(err) end
  -- the whole integration: drive transfers and polls once, never waiting
  game.busy = game.client:step()
  game.max_update = math.max(game.max_update, love.timer.getTime() - t0)
  if REPORT and love.timer.getTime() - game.started > GIVE_UP and game.phase ~= "failed" then
    fail("gave up after " .. GIVE_UP .. " s")
  end
  if game.phase == "done" or game.phase == "failed" then
    if not game.ended then game.ended = love.timer.getTime() end
    -- a few more frames so the final state is on screen before any screenshot
    if love.timer.getTime() - game.ended > 0.2 then finish_unattended() end
  end
end

-- drawing ---------------------------------------------------------------------------

local COLORS = {
  queued = { 0.45, 0.47, 0.52 }, processing = { 0.45, 0.47, 0.52 }, running = { 0.30, 0.55, 0.95 },
  active = { 0.30, 0.80, 0.45 }, succeeded = { 0.30, 0.80, 0.45 }, failed = { 0.90, 0.30, 0.30 },
  download = { 0.95, 0.65, 0.20 },
}

local function bar(x, y, w, h, frac, color, label)
  love.graphics.setColor(0.18, 0.19, 0.24)
  love.graphics.rectangle("fill", x, y, w, h, 4, 4)
  love.graphics.setColor(color)
  if frac then
    local fill = w * math.max(0, math.min(1, frac))
    if fill >= 8 then love.graphics.rectangle("fill", x, y, fill, h, 4, 4) end
  else
    -- unknown progress: a block sliding back and forth
    local p = (math.sin(love.timer.getTime() * 3) + 1) / 2
    love.graphics.rectangle("fill", x + (w - w / 4) * p, y, w / 4, h, 4, 4)
  end
  love.graphics.setColor(1, 1, 1)
  if label then love.graphics.print(label, x + 8, y + (h - 14) / 2) end
end

local function shot_row(s, y)
  local t = s.task
  love.graphics.setColor(0.85, 0.87, 0.92)
  love.graphics.print(s.key, 24, y + 4)
  local p = t.progress or (t.status == "succeeded" and 100 or 0)
  bar(110, y, 300, 22, p / 100, COLORS[t.status] or COLORS.queued, ("%s %d%%"):format(t.status, p))
  local d = s.download
  if d then
    local b, total = d:progress()
    local label = s.error and "failed" or (d.done and "saved" or "downloading")
    bar(426, y, 270, 22, total and total > 0 and b / total or nil,
        s.error and COLORS.failed or (d.done and COLORS.succeeded or COLORS.download),
        ("%s %s"):format(label, total and ("%.1f/%.1f KB"):format(b / 1024, total / 1024) or ""))
  elseif s.error then
    bar(426, y, 270, 22, 1, COLORS.failed, "no video")
  else
    bar(426, y, 270, 22, 0, COLORS.download, "waiting for the video")
  end
end

function love.draw()
  local g = love.graphics
  g.setColor(1, 1, 1)
  g.print("seedance in a LOVE game loop  -  " .. tostring(game.mode), 24, 18)
  g.setColor(0.6, 0.63, 0.7)
  g.print("generation", 110, 48)
  g.print("download", 426, 48)
  g.setColor(0.85, 0.87, 0.92)
  g.print("cast: hero", 24, 74)
  local cast = game.cast
  if cast then
    local ready = cast.status == "active"
    bar(110, 70, 300, 22, ready and 1 or nil, COLORS[cast.status] or COLORS.processing,
        ("upload %s"):format(cast.status))
  else
    bar(110, 70, 300, 22, 0, COLORS.processing, "uploading")
  end
  for i, s in ipairs(game.shots) do shot_row(s, 90 + 34 * i) end
  g.setColor(0.6, 0.63, 0.7)
  g.print(("frame %d   %d fps   longest frame %.1f ms   client:step() -> %d in motion   %s"):format(
    game.frames, love.timer.getFPS(), game.max_frame * 1000, game.busy, game.phase), 24, 350)
  if game.phase == "done" then
    g.setColor(COLORS.succeeded)
    g.print("all videos saved in " .. OUT, 24, 320)
  elseif game.error then
    g.setColor(COLORS.failed)
    g.printf(game.error, 24, 300, 670)
  end
  g.setColor(0.6, 0.63, 0.7)
  g.print(("%.1f s"):format((game.ended or love.timer.getTime()) - (game.started or 0)), 640, 18)
end

function love.quit()
  if game.client then game.client:close() end
  if game.emu then game.emu:stop() end
end
