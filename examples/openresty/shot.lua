--- Handlers of the OpenResty example (nginx.conf beside this file).
-- /shot drives one generation with seedance from inside nginx: upload a reference image,
-- wait until it is Active, generate a shot that names it, wait, download the video.
-- Each wait yields to nginx, so /ping on the same worker is answered meanwhile.
-- luacheck: globals ngx
local seedance = require "seedance"
local cjson = require "cjson"

local M = {}

local function reply(status, t)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  t.pid = ngx.worker.pid()
  ngx.say(cjson.encode(t))
end

local function file_size(p)
  local f = io.open(p, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

local function run(client)
  local hero, err = client:upload({ url = "https://cdn.example.com/cast/hero.png", name = "hero" })
  if not hero then return nil, err end
  local ok
  ok, err = hero:wait({ timeout = 120 })
  if not ok then return nil, err end
  local task
  task, err = client:generate({ prompt = "{{hero}} waves at the camera, golden hour",
                                refs = { hero = hero }, duration = 5 })
  if not task then return nil, err end
  ok, err = task:wait({ timeout = 600 })
  if not ok then return nil, err end
  local out = os.getenv("SEEDANCE_OUT") or "."
  local path = out .. "/" .. tostring(task.id):gsub("[^%w%-_]", "_") .. ".mp4"
  ok, err = task:download(path, { timeout = 300 })
  if not ok then return nil, err end
  return { ok = true, asset = hero.id, task = task.id, path = path, bytes = file_size(path) }
end

--- GET /shot: one generation end to end; answers JSON with the downloaded file.
function M.shot()
  ngx.update_time()
  local started = ngx.now()
  -- a client per request: an nginx cosocket belongs to the request that opened it
  local client = seedance.new({
    provider = os.getenv("SEEDANCE_PROVIDER") or "piapi",
    api_key = os.getenv("SEEDANCE_API_KEY") or "emulator-key",
    base_url = os.getenv("SEEDANCE_BASE_URL"),
    poll = { interval = 0.2, max = 1 },
  })
  local ok, res, err = pcall(run, client)
  local driver = client.engine.driver
  client:close()
  ngx.update_time()
  if not ok then return reply(500, { ok = false, error = tostring(res) }) end
  if not res then return reply(502, { ok = false, kind = err.kind, error = tostring(err) }) end
  res.driver, res.seconds = driver, ngx.now() - started
  return reply(200, res)
end

--- GET /ping: answers at once.
function M.ping()
  return reply(200, { ok = true })
end

return M
