--- `seedance groups list|create` and `seedance verify` (real-person verification).
-- @module seedance.cli.groups
local json = require "seedance.wire.json"
local view = require "seedance.cli.view"

local M = {}

--- List groups, optionally of one type.
function M.list(ctx)
  local c = ctx:client()
  local docs, rows = {}, {}
  for g in c:groups({ type = ctx.opts.type }) do
    docs[#docs + 1] = view.group_doc(g)
    rows[#rows + 1] = view.group_row(g)
  end
  ctx.out:table(view.GROUP_HEADER, rows)
  return { groups = json.array(docs) }, c:last_error()
end

--- Create an asset group.
function M.create(ctx)
  local g, err = ctx:client():create_group({ name = ctx.args[1], description = ctx.opts.description })
  if not g then return nil, err end
  ctx.out:block(view.group_block(g))
  return { group = view.group_doc(g) }
end

--- Start a real-person verification: print the link; with --wait, wait for the group.
function M.verify(ctx)
  local s, err = ctx:client():verify({ return_url = ctx.opts.return_url })
  if not s then return nil, err end
  local out = ctx.out
  out:block(view.session_block(s))
  if not ctx.opts.wait then return { session = view.session_doc(s) } end
  -- with --json the document only comes at the end, but the person needs the link now
  if out.json then out:note("open " .. tostring(s.link) .. " to pass the face check") end
  out:progress(s.id, s.status)
  local g, werr = s:wait({ timeout = ctx.opts.timeout,
                           on_update = function(x) out:progress(x.id, x.status) end })
  out:finish()
  if not g then return { session = view.session_doc(s) }, werr end
  out:block(view.group_block(g))
  return { session = view.session_doc(s), group = view.group_doc(g) }
end

return M
