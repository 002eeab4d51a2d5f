-- A short film as a production: three characters and a place, six shots that wait for
-- each other, two of them continuing from the last frame of the shot before, one that
-- content moderation refuses at first and that passes with a varied prompt, a cost
-- ceiling, every take downloaded, and an HTML report of the run.
-- Run through `make demo` (the emulator), or with a real service:
--   SEEDANCE_PROVIDER=ark SEEDANCE_API_KEY=... lua5.4 examples/film.lua
-- (continuity needs a service that returns a task's last frame: Ark, AnyFast)
local seedance = require "seedance"

local M = {}

local function say(fmt, ...) io.write(string.format(fmt, ...), "\n") io.flush() end

--- The film on `client`; the cast's pictures are under `cdn`, takes and report go to
-- `outdir`. `opts.emulated`: mark one shot for the emulator's moderation (to show a retry).
function M.run(client, cdn, outdir, opts)
  opts = opts or {}
  local continuity = (client.dialect.capabilities or {}).last_frame == true
  local prod = seedance.production({
    client = client, name = "rooftop", out = outdir .. "/rooftop", concurrency = 3,
    max_cost = 60, -- seconds of video, the default unit
    retry = { attempts = 3, backoff = 1, vary = function(shot, err, n)
      say("   %s was refused (%s), attempt %d: trying a gentler prompt", shot.key, err.code or err.kind, n)
      return shot.prompt:gsub("%s*%[%[moderation%]%]", "") .. " Everyone fully clothed, no violence."
    end },
    partials = { look = "Cinematic, 35 mm, soft neon light, {{time}}." },
    filters = { upper = string.upper },
  })
  prod:cast({
    hero = { image = cdn .. "/cast/hero.png", describe = "a tall woman in a red coat" },
    friend = { image = { cdn .. "/cast/friend.png", cdn .. "/cast/friend-full.png" },
               describe = "a young man with a silver jacket" },
    rival = { image = cdn .. "/cast/rival.png", describe = "an older man in a grey suit" },
    rooftop = { image = cdn .. "/cast/rooftop.png" },
  })
  local time = { time = "dusk" }
  prod:shot({ key = "s1-arrival", duration = 5, ratio = "16:9", refs = time,
              prompt = "{{> look}} {{hero}} steps onto {{rooftop}}, {{hero | describe}}." })
  prod:shot({ key = "s2-turn", duration = 4, ratio = "16:9", after = "s1-arrival", continue = continuity or nil,
              prompt = continuity and "She turns toward the city lights." or "{{hero}} turns toward the city lights.",
              refs = not continuity and time or nil })
  prod:shot({ key = "s3-meeting", duration = 5, ratio = "16:9", after = "s1-arrival", refs = time,
              prompt = "{{> look}} {{friend}} hands {{hero}} a glowing key on {{rooftop}}." })
  prod:shot({ key = "s4-watcher", duration = 4, ratio = "16:9", refs = { time = "night" },
              prompt = "{{> look}} {{rival}} watches from the shadows of {{rooftop}}."
                .. (opts.emulated and " [[moderation]]" or "") })
  prod:shot({ key = "s5-standoff", duration = 5, ratio = "16:9", after = { "s3-meeting", "s4-watcher" },
              refs = { time = "night" },
              prompt = "{{> look}} {{rival}} confronts {{hero}} and {{friend}}; "
                .. "{{friend | name | upper}} steps back." })
  prod:shot({ key = "s6-exit", duration = 4, ratio = "16:9", after = "s5-standoff", continue = continuity or nil,
              prompt = continuity and "The three walk away as the rain starts." or "{{hero}} walks away in the rain." })

  say("== the film: dry run (nothing is sent)")
  local plan, perr = prod:run({ dry_run = true })
  if not plan then return nil, perr end
  for _, k in ipairs(plan.order) do say("   %-12s %s", k, plan.shots[k].prompt) end
  say("   estimate %g of a ceiling of %g%s", plan.estimate, plan.max_cost,
      continuity and "" or " (no continuity: " .. client.provider .. " returns no last frames)")

  say("== the film: run")
  local result, err = prod:run({ timeout = 1800, report = outdir .. "/rooftop.html", on_event = function(ev)
    if ev.kind == "cast" and ev.status ~= "processing" then say("   cast %-8s %s", ev.member, ev.status)
    elseif ev.kind == "attempt" then say("   %-12s attempt %d  %s", ev.shot, ev.attempt, ev.task)
    elseif ev.kind == "take" then say("   %-12s saved %s", ev.shot, ev.path)
    elseif ev.kind == "shot" and ev.status ~= "succeeded" then
      say("   %-12s %s %s", ev.shot, ev.status, ev.error or "")
    end
  end })
  if not result then return nil, err end
  say("   spent %g (estimate %g, ceiling %g); report %s", result.cost, result.estimate, result.max_cost,
      result.report or "-")
  if err then return nil, err end
  return result
end

if not pcall(debug.getlocal, 4, 1) then
  -- run directly against a real service
  local client = seedance.new({ provider = assert(os.getenv("SEEDANCE_PROVIDER"), "set SEEDANCE_PROVIDER"),
                                journal = "film.db" })
  assert(M.run(client, assert(os.getenv("SEEDANCE_DEMO_CDN"), "set SEEDANCE_DEMO_CDN to where your cast images are"),
               "out"))
end

return M
