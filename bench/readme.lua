-- Puts the latest figures into README.md between <!-- name --> and <!-- /name -->, so the
-- README always shows what the last run measured and on which machine.
local M = {}

function M.update(name, text)
  local f = io.open("README.md", "rb")
  if not f then return end
  local s = f:read("*a")
  f:close()
  local open, close = "<!-- " .. name .. " -->\n", "<!-- /" .. name .. " -->"
  local a = s:find(open, 1, true)
  local b = s:find(close, 1, true)
  if not a or not b then return end
  s = s:sub(1, a + #open - 1) .. text .. (text:sub(-1) == "\n" and "" or "\n") .. s:sub(b)
  f = assert(io.open("README.md", "wb"))
  f:write(s)
  f:close()
end

return M
