--- What the CLI writes: on a terminal, progress bars redrawn in place; when piped, plain
-- lines (no escape sequences) a script or a log can read; with --json, nothing but one
-- JSON document at the end. Messages for people (errors, notes) go to stderr.
-- @module seedance.cli.output
local json = require "seedance.wire.json"

local M = {}

local Output = {}
Output.__index = Output

local BAR = 24

--- True when stdout is an interactive terminal. Lua has no isatty, so ask test(1), which
-- inherits our stdout; a missing or dumb TERM means nothing could draw the bars anyway.
function M.isatty()
  local term = os.getenv("TERM")
  if not term or term == "" or term == "dumb" then return false end
  local r = os.execute("test -t 1")
  return r == true or r == 0
end

--- A new writer.
-- @tparam table opts {json=bool, quiet=bool, tty=bool (default: detected), stdout=file, stderr=file}
function M.new(opts)
  opts = opts or {}
  local tty = opts.tty
  if tty == nil then tty = not opts.json and M.isatty() end
  -- quiet: nothing but the ids the command prints at its end (seedance.cli), like --json
  local silent = opts.json or opts.quiet
  return setmetatable({ json = silent and true or false, tty = tty and not silent, doc = opts.json and true or false,
                        stdout = opts.stdout or io.stdout, stderr = opts.stderr or io.stderr,
                        rows = {}, index = {}, drawn = 0, last = {} }, Output)
end

--- Write one line of human output (dropped in --json mode).
function Output:line(s)
  if self.json then return end
  self.stdout:write(s, "\n")
  self.stdout:flush()
end

--- A note for the person at the keyboard, on stderr in every mode.
function Output:note(s)
  self.stderr:write(s, "\n")
  self.stderr:flush()
end

local function cell(v)
  if v == nil then return "-" end
  return tostring(v)
end

--- Key/value lines for one object: `pairs_list` is {{key, value}, ...}; absent values skipped.
function Output:block(pairs_list)
  if self.json then return end
  local width = 0
  for _, kv in ipairs(pairs_list) do
    if kv[2] ~= nil and #kv[1] > width then width = #kv[1] end
  end
  for _, kv in ipairs(pairs_list) do
    if kv[2] ~= nil then self:line(kv[1] .. (" "):rep(width - #kv[1] + 2) .. tostring(kv[2])) end
  end
end

--- A table: aligned under a header on a terminal, tab-separated without one when piped
-- (for cut and awk).
function Output:table(header, rows)
  if self.json then return end
  if not self.tty then
    for _, r in ipairs(rows) do
      local cells = {}
      for i = 1, #header do cells[i] = cell(r[i]) end
      self:line(table.concat(cells, "\t"))
    end
    return
  end
  local widths = {}
  for i, h in ipairs(header) do widths[i] = #h end
  for _, r in ipairs(rows) do
    for i = 1, #header do widths[i] = math.max(widths[i], #cell(r[i])) end
  end
  local function fmt(r)
    local cells = {}
    for i = 1, #header do
      local c = cell(r[i])
      cells[i] = i < #header and c .. (" "):rep(widths[i] - #c) or c
    end
    return table.concat(cells, "  ")
  end
  self:line(fmt(header))
  for _, r in ipairs(rows) do self:line(fmt(r)) end
end

--- `[=====>      ]  42%` for a fraction in 0..1.
function M.bar(fraction)
  local f = math.max(0, math.min(1, fraction))
  local n = math.floor(f * BAR + 0.5)
  local body = ("="):rep(n)
  if n > 0 and n < BAR then body = body:sub(1, -2) .. ">" end
  return ("[%s%s] %3d%%"):format(body, (" "):rep(BAR - n), math.floor(f * 100))
end

-- on a terminal every progress row is redrawn in place: back up over what was drawn,
-- then clear and rewrite each line
function Output:_draw()
  local out = self.stdout
  if self.drawn > 0 then out:write("\27[", self.drawn, "A") end
  for _, r in ipairs(self.rows) do out:write("\r\27[2K", r.text, "\n") end
  self.drawn = #self.rows
  out:flush()
end

--- Report progress of one thing (`key`, e.g. an id or a path): its status word, a
-- fraction done (0..1) when known, and a detail. Terminal: a bar row redrawn in place;
-- piped: one line each time the status word changes; --json: nothing.
function Output:progress(key, status, fraction, detail)
  if self.json then return end
  if not self.tty then
    if self.last[key] ~= status then
      self.last[key] = status
      self:line(key .. "\t" .. status)
    end
    return
  end
  local text = key .. "  " .. status
  if fraction then text = M.bar(fraction) .. "  " .. text end
  if detail then text = text .. "  " .. detail end
  local row = self.index[key]
  if not row then
    row = {}
    self.index[key] = row
    self.rows[#self.rows + 1] = row
  end
  if row.text == text then return end
  row.text = text
  self:_draw()
end

--- End the current progress display; later lines print below it.
function Output:finish()
  self.rows, self.index, self.drawn, self.last = {}, {}, 0, {}
end

--- Write the command's one JSON document (--json mode only).
function Output:document(doc)
  if not self.doc then return end
  self.stdout:write(json.encode(doc), "\n")
  self.stdout:flush()
end

--- "1.5 MB" for a byte count.
function M.size(n)
  if not n then return "?" end
  if n < 1024 then return ("%d B"):format(n) end
  if n < 1024 * 1024 then return ("%.1f KB"):format(n / 1024) end
  return ("%.1f MB"):format(n / (1024 * 1024))
end

return M
