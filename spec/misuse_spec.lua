-- Caller mistakes that used to slip through (issue 12): each raises at once, naming the call
-- and the argument, before any request: NaN and sub-millisecond timeouts, poll intervals
-- under the floor, NUL bytes in paths, options of the wrong type.
local seedance = require "seedance"
local helpers = require "helpers"
local core = require "seedance.core"

local KEY = "sk-misuse-0001"
local NAN = 0 / 0

-- `fn` raises at once with a message naming `name`
local function refuses(name, fn)
  local t0 = core.now()
  local ok, msg = pcall(fn)
  assert.is_false(ok, name .. " was taken")
  assert.is_string(msg, name)
  assert.is_truthy(msg:find("'" .. name .. "'", 1, true), ("%s: the message does not name it: %s"):format(name, msg))
  assert.is_nil(msg:find("attempt to", 1, true), msg)
  assert.is_true(core.now() - t0 < 0.5, name .. " took " .. (core.now() - t0) .. " s to refuse")
end

local function new(extra)
  local o = { provider = "piapi", api_key = KEY, base_url = "http://127.0.0.1:9" }
  for k, v in pairs(extra) do o[k] = v end
  return seedance.new(o)
end

describe("caller mistakes", function()
  local emu, client, task, dir
  setup(function()
    emu = require("seedance.emulator").start({ provider = "piapi", processing = 0.05, api_key = KEY })
    client = helpers.new_client("piapi", KEY, emu.url)
    task = assert(client:generate({ prompt = "a cat" }))
    assert(task:wait({ timeout = 10 }))
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
  end)
  teardown(function()
    client:close()
    emu:stop()
    os.execute("rm -rf " .. dir)
  end)

  it("a NaN or sub-millisecond timeout, anywhere", function()
    for _, v in ipairs({ NAN, 0.0001, 0, -1 }) do
      refuses("timeout", function() new({ timeout = v }) end)
      refuses("connect_timeout", function() new({ connect_timeout = v }) end)
      refuses("timeout", function() task:wait({ timeout = v }) end)
      refuses("timeout", function() seedance.wait_all({ task }, { timeout = v }) end)
      refuses("timeout", function() task:download(dir .. "/v.mp4", { timeout = v }) end)
      refuses("timeout", function() task:download_async(dir .. "/v.mp4", { timeout = v }) end)
      refuses("timeout", function() client:assets({ timeout = v }) end)
      refuses("timeout", function() client:generate_with_retry({ prompt = "x" }, { timeout = v }) end)
    end
  end)

  it("poll intervals under the floor, or not numbers", function()
    for _, v in ipairs({ 1e-9, 0, -1, NAN, math.huge }) do
      refuses("poll.interval", function() new({ poll = { interval = v } }) end)
      refuses("poll.max", function() new({ poll = { max = v } }) end)
      refuses("poll.task.interval", function() new({ poll = { task = { interval = v } } }) end)
      refuses("poll.list.max", function() new({ poll = { list = { max = v } } }) end)
    end
    refuses("poll.task.interval", function() new({ poll = { task = { interval = "1" } } }) end)
    refuses("poll.factor", function() new({ poll = { factor = 0 } }) end)
    refuses("poll.jitter", function() new({ poll = { jitter = NAN } }) end)
  end)

  it("a NUL byte in a download or journal path", function()
    refuses("path", function() task:download(dir .. "/a\0b.mp4") end)
    refuses("path", function() task:download_async(dir .. "/a\0b.mp4") end)
    refuses("journal", function() new({ journal = dir .. "/j\0.json" }) end)
    refuses("store", function() new({ store = dir .. "/s\0.db" }) end)
    assert.is_nil(helpers.read(dir .. "/a"))
    assert.is_nil(helpers.read(dir .. "/a.part"))
  end)

  it("options of odd types or values name the option", function()
    refuses("retries", function() new({ retries = math.huge }) end)
    refuses("retries", function() new({ retries = NAN }) end)
    refuses("max_per_host", function() new({ max_per_host = NAN }) end)
    refuses("max_per_host", function() new({ max_per_host = 0 }) end)
    refuses("backoff_base", function() new({ backoff_base = -1 }) end)
    refuses("page_size", function() client:assets({ page_size = "10" }) end)
    refuses("max_pages", function() client:groups({ max_pages = "x" }) end)
    refuses("attempts", function() client:generate_with_retry({ prompt = "x" }, { attempts = "3" }) end)
    refuses("backoff", function() client:generate_with_retry({ prompt = "x" }, { backoff = NAN }) end)
    refuses("max_bytes", function() task:download(dir .. "/v.mp4", { max_bytes = "1" }) end)
    refuses("id", function() client:task("a\nb") end)
    refuses("base_url", function() new({ base_url = "file:///etc" }) end)
  end)
end)
