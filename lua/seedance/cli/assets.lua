--- `seedance assets upload|list|get|wait|delete`: the reference-asset library.
-- Each command takes the CLI context and returns its JSON document (and an error).
-- @module seedance.cli.assets
local seedance = require "seedance"
local json = require "seedance.wire.json"
local args = require "seedance.cli.args"
local view = require "seedance.cli.view"

local M = {}

local function is_url(s)
  return s:match("^%a[%w+.-]*://") ~= nil
end

--- Register one asset from a URL or a local file.
function M.upload(ctx)
  local src, o = ctx.args[1], ctx.opts
  local a = { type = o.type, name = o.name, group = o.group }
  if is_url(src) then
    a.url = src
  else
    local f = io.open(src, "rb")
    if not f then args.usage_error("'" .. src .. "' is neither a URL nor a readable file") end
    f:close()
    a.file = src
    if not a.type then
      -- the provider wants the kind of media; the bytes tell it better than the name
      local info = seedance.probe(src)
      a.type = info and info.type or nil
    end
  end
  -- where the service cannot list (crun), the upload is recorded for `assets list`
  -- (the command's records_assets: seedance.cli's Context:client)
  local asset, err = ctx:client():upload(a)
  if not asset then return nil, err end
  ctx.out:block(view.asset_block(asset))
  return { asset = view.asset_doc(asset) }
end

--- List every asset (all pages), optionally by status and group. Where the service has no
-- list endpoint (crun), what this machine's store recorded, and it says so: a line on
-- stderr and `source = "store"`, `store = <where>` in the document; never a silent empty.
function M.list(ctx)
  local record, where = ctx:asset_record()
  local c = ctx:client()
  local docs, rows = {}, {}
  for a in c:assets({ status = ctx.opts.status, group = ctx.opts.group }) do
    docs[#docs + 1] = view.asset_doc(a)
    rows[#rows + 1] = view.asset_row(a)
  end
  local doc = { assets = json.array(docs) }
  if record then
    doc.source, doc.store = "store", where
    ctx.out:note(("%s has no list endpoint: these are the assets recorded in this machine's store %s "
                  .. "(registered by `seedance assets upload` with it)"):format(c.provider, where))
    if #docs == 0 then ctx.out:note("no asset is recorded there" .. (ctx.opts.status and " with that status" or "")) end
  end
  ctx.out:table(view.ASSET_HEADER, rows)
  return doc, c:last_error()
end

--- Show one asset.
function M.get(ctx)
  local a, err = ctx:client():asset(ctx.args[1])
  if not a then return nil, err end
  ctx.out:block(view.asset_block(a))
  return { asset = view.asset_doc(a) }
end

local function show(out, a)
  out:progress(a.id, a.status, a.status == "active" and 1 or nil, a.name)
end

--- Wait until every named asset is active (all at once, one deadline); each id's outcome
-- is reported: its asset, or why not (`failed` in the document, a line on stderr).
function M.wait(ctx)
  local c = ctx:client()
  local list, failed, first = {}, {}, nil
  for _, id in ipairs(ctx.args) do
    local a, err = c:asset(id)
    if a then
      list[#list + 1] = a
      show(ctx.out, a)
    else
      failed[#failed + 1] = { id = id, error = view.error_doc(err) }
      first = first or err
    end
  end
  local _, err = seedance.wait_all(list, { timeout = ctx.opts.timeout,
                                           on_update = function(a) show(ctx.out, a) end })
  ctx.out:finish()
  local docs, rows = {}, {}
  for i, a in ipairs(list) do
    docs[i] = view.asset_doc(a)
    rows[i] = view.asset_row(a)
    if a.status ~= "active" then
      local why = a.status == "failed" and (a.error and (a.error.message or a.error.code) or "failed")
        or ("still " .. tostring(a.status))
      failed[#failed + 1] = { id = a.id, error = { kind = a.status == "failed" and "asset_failed" or "timeout",
                                                   message = why } }
    end
  end
  ctx.out:table(view.ASSET_HEADER, rows)
  for _, f in ipairs(failed) do ctx.out:note(f.id .. "\t" .. tostring(f.error.message)) end
  return { assets = json.array(docs), failed = json.array(failed) }, first or err
end

--- Delete the named assets; goes on past a failure: each id's outcome is reported.
function M.delete(ctx)
  local c = ctx:client()
  local deleted, failed, first = {}, {}, nil
  for _, id in ipairs(ctx.args) do
    local a, err = c:asset(id)
    local ok = false
    if a then ok, err = a:delete() end
    if ok then
      deleted[#deleted + 1] = id
      ctx.out:line("deleted\t" .. id)
    else
      failed[#failed + 1] = { id = id, error = view.error_doc(err) }
      ctx.out:note("not deleted\t" .. id .. "\t" .. tostring(err and err.message))
      first = first or err
    end
  end
  return { deleted = json.array(deleted), failed = json.array(failed) }, first
end

return M
