-- Per-host admission stays a loop however many queued requests fail at start (issue 12):
-- requests that the driver refuses at once (a download file that cannot be opened) used to
-- hand their place to the next in line from inside the completion, one C frame per request.
local core = require "seedance.core"
local helpers = require "helpers"

-- a path whose directory does not exist: curl_start cannot open it and refuses the request
local BAD = "/nonexistent-seedance-dir/x.mp4"
-- port 1 on loopback refuses the connection: the first request ends in the next perform
local URL = "http://127.0.0.1:1/"

-- One in flight on the only slot, then n downloads queued behind it that all fail at start.
local function queue_and_drain(n)
  local e = core.engine({ max_per_host = 1, retries = 0 })
  e:submit({ url = URL .. "first", retries = 0 })
  for i = 1, n do e:submit({ url = URL .. i, file = BAD, retries = 0 }) end
  local got, files, t0 = 0, 0, core.now()
  while got < n + 1 and core.now() - t0 < 60 do
    e:step()
    e:wait(0.05)
    for _, r in ipairs(e:collect()) do
      got = got + 1
      if r.error == "file" then files = files + 1 end
    end
  end
  e:close()
  return got, files
end

describe("admission", function()
  it("admits 10^5 queued downloads that fail at start, one after another", function()
    local got, files = queue_and_drain(100000)
    assert.equal(100001, got)
    assert.equal(100000, files)
  end)

  it("keeps a constant C stack: 10^5 failures behind one slot on a 1 MB stack", function()
    -- recursion would need one frame group per queued request; a small stack shows it at 10^5
    -- where the default 8 MB one shows it only near 10^6
    local lua = arg and arg[-1] or "lua5.4"
    local script = os.tmpname()
    helpers.write(script, ([[
      local core = require "seedance.core"
      local e = core.engine({ max_per_host = 1, retries = 0 })
      e:submit({ url = %q, retries = 0 })
      for i = 1, 100000 do e:submit({ url = %q .. i, file = %q, retries = 0 }) end
      local got, t0 = 0, core.now()
      while got < 100001 and core.now() - t0 < 60 do
        e:step(); e:wait(0.05); got = got + #e:collect()
      end
      io.write("collected ", got, "\n")
    ]]):format(URL .. "first", URL, BAD))
    local out = helpers.capture("ulimit -s 1024 && " .. lua .. " " .. script)
    os.remove(script)
    assert.matches("collected 100001", out)
  end)
end)
