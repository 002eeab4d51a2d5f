-- A writer process for spec/journal_spec.lua's crash test: the bookkeeping of keyed
-- creates on the store STORE, as journal.once and tasks.lua do it (the claim with its
-- intent in one write, then the id completing it and ending the claim), keys "k<i>" from
-- FROM on, claims leased for LEASE seconds. It prints "intent <i>" once the claim and the
-- intent are committed and "done <i>" once the id is, and runs until it is killed.
local store = require "seedance.store"
io.stdout:setvbuf("no")
local s = store.open(os.getenv("STORE"), { secret = os.getenv("KEY") })
local lease = tonumber(os.getenv("LEASE"))
local i = tonumber(os.getenv("FROM"))
while true do
  local key = "k" .. i
  local got, e = s:claim_entry(key, lease, { kind = "task", provider = "piapi", key = key })
  assert(got and e == false, "a fresh key")
  print("intent " .. i)
  assert(s:put(key, { kind = "task", provider = "piapi", key = key, id = "task-" .. i }, true))
  print("done " .. i)
  i = i + 1
end
