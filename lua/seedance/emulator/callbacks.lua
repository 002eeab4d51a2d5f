--- Callbacks: what a twin POSTs to a task's `callback_url` when the task changes (Ark
-- pushes the task, shaped as its GET answer, on each status change). Sent from the
-- emulator's tick (seedance.emulator.app: Server:tick, run on the C core's ticker thread)
-- through a seedance.core engine, so a delivery never holds up an answer: the engine is
-- stepped, never waited on, and a callback URL on this same emulator works.
--
-- The emulator is also a place to send them: `POST /__emulator/callbacks/<name>` keeps
-- what arrives (`{op = "callbacks"}` shows it, with every delivery's outcome), so a test
-- needs no listener of its own.
-- @module seedance.emulator.callbacks
local T = require "seedance.emulator.twin"

local M = {}

--- Where the emulator keeps callbacks sent to it.
M.PREFIX = "/__emulator/callbacks/"

-- deliveries tried at most this often (a callback that fails is tried again, as the
-- services do, then given up)
local ATTEMPTS = 3

--- A fresh record: nothing queued, sent or received.
function M.new()
  return { queue = {}, pending = {}, sent = {}, received = {} }
end

--- Queue `body` (a table, sent as JSON) for `url`; `about` is kept with its outcome.
function M.post(cb, url, body, about)
  cb.queue[#cb.queue + 1] = { url = url, body = T.encode(body), about = about or {} }
end

local engine

-- the engine deliveries go through: made on first use (an emulator that sends no callback
-- loads no HTTP client), shared by every server of this state
local function get_engine()
  if not engine then
    local core = require "seedance.core"
    engine = assert(core.engine({ timeout = 10, connect_timeout = 5, retries = ATTEMPTS - 1,
                                  backoff_base = 0.2, backoff_max = 2 }))
  end
  return engine
end

--- Send what is queued and take in what was delivered; true while anything is under way.
function M.deliver(cb)
  if #cb.queue == 0 and next(cb.pending) == nil then return false end
  local e = get_engine()
  for _, d in ipairs(cb.queue) do
    -- a callback is safe to repeat: the receiver hears the same state again
    local id = e:submit({ method = "POST", url = d.url, body = d.body, idempotent = true,
                          headers = { "Content-Type: application/json" }, retry_on = { 500, 502, 503, 504 } })
    cb.pending[id] = d
  end
  cb.queue = {}
  e:step()
  for _, r in ipairs(e:collect()) do
    local d = cb.pending[r.id]
    if d then
      cb.pending[r.id] = nil
      local out = { url = d.url, status = r.status, error = r.error and (r.message or r.error) or nil,
                    attempts = r.attempts }
      for k, v in pairs(d.about) do out[k] = v end
      cb.sent[#cb.sent + 1] = out
    end
  end
  return #cb.queue > 0 or next(cb.pending) ~= nil
end

--- Keep a callback sent to this emulator (`POST /__emulator/callbacks/<name>`).
function M.receive(cb, req)
  if req.method ~= "POST" then return T.json(405, { error = "use POST" }) end
  local body = T.decode(req.body or "")
  cb.received[#cb.received + 1] = { name = req.path:sub(#M.PREFIX + 1), body = body == nil and T.null or body,
                                    content_type = req.headers["content-type"] or T.null }
  return T.json(200, {})
end

--- What was sent (each delivery's outcome) and what arrived here, oldest first.
function M.show(cb)
  return { sent = T.array(cb.sent), received = T.array(cb.received) }
end

return M
