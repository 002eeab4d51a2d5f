-- Puts the latest figures into README.md between <!-- name --> and <!-- /name -->, so the
-- README always shows what the last run measured and on which machine.
local M = {}

-- `path` (default README.md) gets `text` between the markers; with `append`, a file without
-- them gets them, with the text, at its end (bench/RESULTS.md, rewritten by each run)
function M.update(name, text, path, append)
  path = path or "README.md"
  local f = io.open(path, "rb")
  if not f then return end
  local s = f:read("*a")
  f:close()
  local open, close = "<!-- " .. name .. " -->\n", "<!-- /" .. name .. " -->"
  local a = s:find(open, 1, true)
  local b = s:find(close, 1, true)
  if (not a or not b) and append then
    s = s .. (s:sub(-1) == "\n" and "\n" or "\n\n") .. open .. close .. "\n"
    a, b = s:find(open, 1, true), s:find(close, 1, true)
  end
  if not a or not b then return end
  s = s:sub(1, a + #open - 1) .. text .. (text:sub(-1) == "\n" and "" or "\n") .. s:sub(b)
  f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

return M
