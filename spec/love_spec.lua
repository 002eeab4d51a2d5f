-- LÖVE: examples/love run headless (Debian's love under xvfb-run) against the embedded
-- emulator. The program steps the client from love.update, uploads a cast image, generates
-- three shots and downloads them with task:download_async, then writes a report and quits
-- (SEEDANCE_LOVE_REPORT). The run must end with the emulator's MP4s on disk while frames
-- kept coming: more than 30 of them, none longer than 100 ms.
local helpers = require "helpers"
local sh, capture, read = helpers.sh, helpers.capture, helpers.read
local missing = (not sh("command -v love >/dev/null 2>&1") and "love")
  or (not sh("command -v xvfb-run >/dev/null 2>&1") and "xvfb")
  or (not sh("command -v xauth >/dev/null 2>&1") and "xauth")
  or (not sh("pkg-config --exists luajit") and "libluajit2-5.1-dev")
if missing then
  describe("love", function()
    pending(missing .. " is not installed (scripts/deps.sh --all installs it)")
  end)
  return
end

local sample = require("seedance.emulator").SAMPLE_MP4

describe("love example", function()
  local dir, report

  setup(function()
    -- LÖVE embeds LuaJIT: it loads the C modules of the LuaJIT build, whatever Lua runs busted
    local out = capture("make -s LUA=luajit all")
    assert(sh("test -f build/luajit/seedance/core.so && test -f build/luajit/seedance/emucore.so"),
           "make LUA=luajit all failed:\n" .. out)
    dir = os.tmpname()
    os.remove(dir)
    assert(sh("mkdir -p '" .. dir .. "'"))
    report = dir .. "/report.txt"
  end)
  teardown(function()
    if dir then sh("rm -rf '" .. dir .. "'") end
  end)

  it("finishes with the videos downloaded while frames kept ticking", function()
    -- no key in the environment: the example starts the emulator itself
    local out = capture(("env -u SEEDANCE_API_KEY SEEDANCE_LOVE_REPORT='%s' SEEDANCE_LOVE_OUT='%s/videos' "
      .. "timeout 120 xvfb-run -a love examples/love; echo \"exit=$?\""):format(report, dir))
    local text = read(report)
    assert(text, "no report from the LÖVE program:\n" .. out)
    local r = {}
    for k, v in text:gmatch("([%w_]+)=([^\n]*)") do
      if k ~= "video" then r[k] = v end
    end
    assert.equal("exit=0", out:match("exit=%d+"), out)
    assert.equal("done", r.phase, text)
    assert.equal("", r.error)
    -- frames kept coming the whole time the service worked (about 5 s)
    assert.is_true(tonumber(r.frames) > 30, "frames: " .. r.frames)
    assert.is_true(tonumber(r.max_frame_ms) < 100, "longest frame: " .. r.max_frame_ms .. " ms")
    assert.equal(dir .. "/videos/shot-1.mp4", r.path)
    assert.equal(#sample, tonumber(r.bytes))
    local n = 0
    for path, size in text:gmatch("video=(%S+) (%d+)") do
      n = n + 1
      assert.equal(#sample, tonumber(size))
      assert.equal(sample, read(path), path .. " is not the emulator's MP4")
      assert.is_nil(read(path .. ".part"))
    end
    assert.equal(3, n)
  end)
end)
