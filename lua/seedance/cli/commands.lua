--- The CLI's commands as data: words, synopsis, help text, options, how many positionals,
-- and the function that runs it. The parser, the usage texts and the dispatcher all read
-- this one table.
-- @module seedance.cli.commands
local assets = require "seedance.cli.assets"
local groups = require "seedance.cli.groups"
local generate = require "seedance.cli.generate"
local produce = require "seedance.cli.produce"

local TIMEOUT = "  --timeout S          give up after S seconds\n"

local M = {}

--- Options every command takes (name -> kind, see seedance.cli.args).
M.GLOBAL = { provider = "string", ["base-url"] = "string", json = "flag", poll = "number", help = "flag",
             quiet = "flag", store = "string",
             ["access-key"] = "string", ["secret-key"] = "string", ["control-url"] = "string",
             region = "string" }

--- Options whose value must be a positive number of seconds, whatever the command.
M.POSITIVE = { timeout = true, poll = true }

--- Every command, in the order the usage lists them. `needs` is the capability the
-- service must have (`client:can`), `cannot` what it says when it has not. `choices` names the values an
-- option may take (checked before anything is sent, and named in the message).
M.list = {
  { words = "assets upload", needs = "assets", cannot = "register assets",
    synopsis = "<url|file> [--type T] [--name N] [--group G]", min = 1, max = 1,
    options = { type = "string", name = "string", group = "string" }, run = assets.upload,
    records_assets = true,
    choices = { type = { "image", "video", "audio" } },
    help = "Register a reference asset from a URL (or a local file, where the provider takes bytes).\n\n"
      .. "  --type T             image, video or audio (default: from the URL or the file's bytes)\n"
      .. "  --name N             a name for it\n"
      .. "  --group G            the id of the group to put it in\n" },
  { words = "assets list", needs = "list", cannot = "list assets",
    synopsis = "[--status S] [--group G]", min = 0, max = 0,
    options = { status = "string", group = "string" }, run = assets.list, records_assets = true,
    choices = { status = { "processing", "active", "failed" } },
    help = "List assets, every page. crun has no list endpoint: there, the assets this machine's store\n"
      .. "recorded at upload (--store, $SEEDANCE_STORE, else $XDG_STATE_HOME/seedance/store.db), said on stderr.\n\n"
      .. "  --status S           processing, active or failed\n"
      .. "  --group G            only this group's assets\n" },
  { words = "assets get", needs = "assets", cannot = "fetch assets",
    synopsis = "<id>", min = 1, max = 1, options = {}, run = assets.get,
    help = "Show one asset.\n" },
  { words = "assets wait", needs = "assets", cannot = "fetch assets",
    synopsis = "<id>... [--timeout S]", min = 1, options = { timeout = "number" },
    run = assets.wait,
    help = "Wait until every named asset is active (exit 1 if one fails or time runs out).\n\n" .. TIMEOUT },
  { words = "assets delete", needs = "delete", cannot = "delete assets",
    synopsis = "<id>...", min = 1, options = {}, run = assets.delete,
    help = "Delete assets (the rest are still tried when one fails).\n" },
  { words = "groups list", needs = "groups", cannot = "list groups",
    synopsis = "[--type aigc|real_human]", min = 0, max = 0,
    options = { type = "string" }, run = groups.list, choices = { type = { "aigc", "real_human" } },
    help = "List asset groups.\n\n  --type T             aigc or real_human\n" },
  { words = "groups create", needs = "groups", cannot = "create groups",
    synopsis = "<name> [--description D]", min = 1, max = 1,
    options = { description = "string" }, run = groups.create,
    help = "Create an asset group.\n\n  --description D      what it is for\n" },
  { words = "verify", needs = "sessions", cannot = "run real-person verification",
    synopsis = "[--return-url U] [--wait] [--timeout S]", min = 0, max = 0,
    options = { ["return-url"] = "string", wait = "flag", timeout = "number" }, run = groups.verify,
    help = "Start a real-person verification and print the link the person opens.\n\n"
      .. "  --return-url U       where the hosted page sends the person afterwards\n"
      .. "  --wait               wait for the check and print the new real_human group\n" .. TIMEOUT },
  { words = "generate", needs = "generate", cannot = "generate videos",
    synopsis = "<prompt> [--ref name=value]... [--model M] [--ratio R] [--duration N]\n"
      .. "                  [--resolution R] [--audio] [--wait] [--timeout S] [--download PATH]\n"
      .. "                  [--seed N] [--last-frame] [--callback-url U] [--service-tier T] [--expires-after S]\n"
      .. "                  [--draft] [--frames N]\n"
      .. "       seedance generate --from-draft TASK [--model M] [--resolution R] [--wait] ...",
    min = 0, max = 1,
    choices = { ratio = { "21:9", "16:9", "4:3", "1:1", "3:4", "9:16", "adaptive" },
                resolution = { "480p", "720p", "1080p" }, ["service-tier"] = { "default", "flex" } },
    options = { ref = "list", model = "string", ratio = "string", duration = "number", resolution = "string",
                audio = "flag", wait = "flag", timeout = "number", download = "string",
                seed = "number", ["last-frame"] = "flag", ["callback-url"] = "string", ["service-tier"] = "string",
                ["expires-after"] = "number", draft = "flag", ["from-draft"] = "string", frames = "number" },
    run = generate.generate,
    help = "Start a video generation; {{name}} in the prompt refers to a --ref.\n\n"
      .. "  --ref name=value     an asset id or asset://id (looked up, never text), a media URL, or text\n"
      .. "  --ref name:type=value  the same with its media type given (image, video, audio)\n"
      .. "  --model M            standard (default), fast, or the provider's model id\n"
      .. "  --ratio R            21:9 16:9 4:3 1:1 3:4 9:16 adaptive\n"
      .. "  --duration N         seconds, 4-15\n"
      .. "  --resolution R       480p 720p 1080p\n"
      .. "  --audio              with a soundtrack\n"
      .. "  --wait               wait until the video is ready\n" .. TIMEOUT
      .. "  --download PATH      wait, then save the video to PATH\n"
      .. "where the service relays them (a service that does not says so, exit 1; see the README):\n"
      .. "  --seed N             the random seed\n"
      .. "  --last-frame         also return the video's last frame (its URL in the task)\n"
      .. "  --callback-url U     the service POSTs the task there when it changes\n"
      .. "  --service-tier T     default or flex (ark: offline, cheaper, slower; seedance 1.5/1.0 pro)\n"
      .. "  --expires-after S    the task expires when it has not run S seconds after its creation\n"
      .. "  --draft              a 480p draft (ark: seedance 1.5 pro)\n"
      .. "  --from-draft TASK    the video from that draft (no prompt or --ref: the draft's are used)\n"
      .. "  --frames N           frames instead of --duration (ark: seedance 1.0 pro; 25 + 4n)\n" },
  { words = "task wait", needs = "generate", cannot = "fetch tasks",
    synopsis = "<id> [--timeout S]", min = 1, max = 1, options = { timeout = "number" },
    run = generate.task_wait, help = "Wait for a generation task to end.\n\n" .. TIMEOUT },
  { words = "task download", needs = "generate", cannot = "fetch tasks",
    synopsis = "<id> <path>", min = 2, max = 2, options = {},
    run = generate.task_download,
    help = "Save a finished task's video to a file (a partial download is resumed).\n" },
  { words = "produce", synopsis = "FILE.lua [--dry-run] [--draft] [--report FILE.html] [--timeout S]", min = 1, max = 1,
    options = { ["dry-run"] = "flag", draft = "flag", report = "string", timeout = "number" }, run = produce.run,
    help = "Run a production: FILE.lua returns {name=, cast={...}, shots={...}, settings} (see the README).\n"
      .. "A rerun with the same store (journal= or store= in the file) continues where it stands.\n\n"
      .. "  --dry-run            validate every shot, render every prompt, price the run; send nothing\n"
      .. "  --draft              every shot at the lowest resolution (480p)\n"
      .. "  --report FILE.html   write the run's report page\n" .. TIMEOUT },
}

--- Commands by their words ("assets upload" -> command).
M.by_words = {}
--- The first words that only group subcommands ("assets" -> true).
M.groups = {}
for _, c in ipairs(M.list) do
  M.by_words[c.words] = c
  local first, second = c.words:match("^(%S+) (%S+)$")
  if second then M.groups[first] = true end
end

return M
