-- The demo's multi-character workflow with a journal, as a process to kill: run by
-- bench/crash_resume.lua against its emulator (BENCH_URL), journal at BENCH_JOURNAL.
package.path = "examples/?.lua;" .. package.path
local seedance = require "seedance"
local shots = require "multi_character"
io.stdout:setvbuf("no")
local c = seedance.new({ provider = "piapi", api_key = "crash-key", base_url = assert(os.getenv("BENCH_URL")),
                         journal = assert(os.getenv("BENCH_JOURNAL")), poll = { interval = 0.1, max = 0.3 } })
local ok, err = shots.run(c, "https://cdn.example.com", assert(os.getenv("BENCH_OUT")))
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(2)
end
os.exit(0)
