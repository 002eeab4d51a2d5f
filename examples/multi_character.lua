-- A cast of three characters plus a location, four shots generated concurrently with
-- different placeholder combinations, and the videos downloaded with progress.
-- Run through `make demo`, or with a real service:
--   SEEDANCE_PROVIDER=piapi SEEDANCE_API_KEY=... lua5.4 examples/multi_character.lua
local seedance = require "seedance"

local M = {}

local function say(fmt, ...) io.write(string.format(fmt, ...), "\n") io.flush() end

local SHOTS = {
  { key = "shot-1", prompt = "{{hero}} walks into {{rooftop}} at {{time}}, city lights behind.", time = "dusk" },
  { key = "shot-2", prompt = "{{hero}} hands a glowing key to {{friend}} on {{rooftop}}." },
  { key = "shot-3", prompt = "{{rival}} watches {{hero}} and {{friend}} from the shadows of {{rooftop}}." },
  { key = "shot-4", prompt = "Close-up: {{friend}} laughs while {{rival}} turns away, {{time}}.", time = "night" },
}

--- Runs the flow on `client`; `cdn` is where the reference images live; videos go to `outdir`.
function M.run(client, cdn, outdir)
  say("== casting on %s", tostring(client))
  local caps = client.dialect.capabilities or {}
  local group
  if caps.groups then
    group = assert(client:create_group({ name = "demo-cast", description = "seedance demo" }))
    say("   group %s", group.id)
  end
  local names = { "hero", "friend", "rival", "rooftop" }
  local uploads = {}
  for i, n in ipairs(names) do
    uploads[i] = { url = ("%s/cast/%s.png"):format(cdn, n), name = n, group = group }
  end
  local assets, err = client:upload_many(uploads)
  if not assets then return nil, err end
  local cast = {}
  for i, a in ipairs(assets) do
    if seedance.is_error(a) then return nil, a end
    cast[names[i]] = a
  end
  assert(seedance.wait_all(assets, { timeout = 300,
    on_update = function(a) say("   %-8s %s", a.name, a.status) end }))

  say("== four shots, concurrently")
  local tasks = {}
  for i, shot in ipairs(SHOTS) do
    local refs = { time = shot.time }
    for name in shot.prompt:gmatch("{{(%w+)}}") do
      if cast[name] then refs[name] = cast[name] end
    end
    local t, gerr = client:generate({ prompt = shot.prompt, refs = refs, ratio = "16:9", duration = 5,
                                      key = shot.key })
    if not t then return nil, gerr end
    tasks[i] = t
    say("   %s  %s\n      %s", shot.key, t.id, t.prompt)
  end
  local shown = {}
  local ok, werr = seedance.wait_all(tasks, { timeout = 1800, on_update = function(t)
    -- one line per status change or quarter of progress, not per poll
    local mark = t.status .. math.floor((t.progress or 0) / 25)
    if shown[t] == mark then return end
    shown[t] = mark
    say("   %-8s %-10s %3d%%", t.key or t.id, t.status, math.floor(t.progress or 0))
  end })
  if not ok then say("   %s", tostring(werr)) end

  say("== downloading")
  os.execute("mkdir -p '" .. outdir .. "'")
  local paths = {}
  for i, t in ipairs(tasks) do
    if t.status == "succeeded" then
      local path = ("%s/%s.mp4"):format(outdir, SHOTS[i].key)
      local p, derr = t:download(path, { on_progress = function(done, total)
        if total and total > 0 then
          local w = math.floor(30 * done / total)
          io.write(("\r   %-8s [%s%s] %3d%%"):format(SHOTS[i].key, ("#"):rep(w), ("."):rep(30 - w),
                                                       math.floor(100 * done / total)))
          io.flush()
        end
      end })
      io.write("\n")
      if p then paths[#paths + 1] = p else say("   %s: %s", SHOTS[i].key, tostring(derr)) end
    end
  end
  say("== videos")
  for _, p in ipairs(paths) do say("   %s", p) end
  return paths
end

if not pcall(debug.getlocal, 4, 1) then
  -- run directly against a real service
  local client = seedance.new({ provider = assert(os.getenv("SEEDANCE_PROVIDER"), "set SEEDANCE_PROVIDER") })
  assert(M.run(client, assert(os.getenv("SEEDANCE_DEMO_CDN"), "set SEEDANCE_DEMO_CDN to where your cast images are"),
               "out"))
end

return M
