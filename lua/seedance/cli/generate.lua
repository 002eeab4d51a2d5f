--- `seedance generate` and `seedance task wait|download`: video generation.
-- @module seedance.cli.generate
local args = require "seedance.cli.args"
local view = require "seedance.cli.view"
local output = require "seedance.cli.output"

local M = {}

local TYPES = { image = true, video = true, audio = true }

-- --ref name=value, or name:type=value to give the media type. The value goes to the
-- library as it is: an asset id or asset:// is looked up there (never taken as text), a
-- URL is media, anything else is text.
local function refs(ctx)
  local list = ctx.opts.ref
  if not list then return nil end
  local out = {}
  for _, spec in ipairs(list) do
    local name, value = spec:match("^([^=]+)=(.*)$")
    if not name then args.usage_error("--ref wants name=value or name:type=value, got '" .. spec .. "'") end
    local base, t = name:match("^(.-):(%a+)$")
    if base then
      if not TYPES[t] then
        args.usage_error("--ref " .. name .. ": the type after ':' is image, video or audio, not '" .. t .. "'")
      end
      out[base] = { url = value, type = t }
    else
      out[name] = value
    end
  end
  return out
end

-- Whether a file can be created in the directory of `path` (tried with a scratch file):
-- nil, or why not.
local function unwritable(path)
  local probe = io.open(path, "rb")
  if probe then
    probe:close()
    local test = io.open(path, "ab")
    if not test then return path .. " exists and cannot be written" end
    test:close()
    return nil
  end
  local dir = path:match("^(.*)/[^/]*$") or "."
  if dir == "" then dir = "/" end
  if path:sub(-1) == "/" then return path .. " is a directory: give a file name (e.g. " .. path .. "shot.mp4)" end
  local scratch = ("%s/.seedance-write-test-%d"):format(dir, math.random(1, 1e9))
  local f, why = io.open(scratch, "wb")
  if not f then
    return "cannot write in " .. dir .. ": " .. tostring(why):gsub("^[^:]*: ", "")
  end
  f:close()
  os.remove(scratch)
  return nil
end

-- Options a generation would otherwise only find wrong after it was paid for (the
-- library checks ratio, resolution and duration itself, before any request).
local function check_options(ctx)
  local o = ctx.opts
  if o.model then
    local known = ctx:client():known_models()
    local ok = false
    for _, m in ipairs(known) do ok = ok or m == o.model end
    if not ok then
      args.usage_error(("--model %s: not a model of %s; one of: %s"):format(o.model, ctx:client().provider,
                                                                       table.concat(known, ", ")))
    end
  end
  if o.download then
    local why = unwritable(o.download)
    if why then args.usage_error("--download " .. o.download .. ": " .. why) end
  end
end

local function show(out, t)
  out:progress(t.id, t.status, (tonumber(t.progress) or 0) / 100)
end

--- Wait for a task with a progress bar; returns the task or nil, err.
function M.wait(ctx, t)
  show(ctx.out, t)
  local ok, err = t:wait({ timeout = ctx.opts.timeout, on_update = function(x) show(ctx.out, x) end })
  ctx.out:finish()
  return ok, err
end

--- Download a finished task's video with a byte-progress bar; returns the path or nil, err.
function M.download(ctx, t, path)
  local out = ctx.out
  out:progress(path, "downloading", 0)
  local ok, err = t:download(path, { on_progress = function(done, total)
    local known = total and total > 0
    out:progress(path, "downloading", known and done / total or 0,
                 output.size(done) .. (known and " / " .. output.size(total) or ""))
  end })
  if ok then out:progress(path, "saved", 1) end
  out:finish()
  return ok, err
end

-- what every task command ends with: the task's lines and document, plus the saved path
local function finish(ctx, t, path, err)
  local block = view.task_block(t)
  if path then block[#block + 1] = { "saved", path } end
  ctx.out:block(block)
  return { task = view.task_doc(t), path = path }, err
end

--- Start a generation; with --wait (or --download) wait for it, and save the video.
function M.generate(ctx)
  local o = ctx.opts
  local prompt = ctx.args[1]
  if o.from_draft then
    if prompt or o.ref then args.usage_error("--from-draft takes no prompt or --ref: the draft's own are used") end
  elseif not prompt then
    args.usage_error("missing arguments")
  end
  check_options(ctx)
  local r, rerr = refs(ctx)
  if rerr then return nil, rerr end
  local t, err = ctx:client():generate({ prompt = prompt, refs = r, model = o.model, ratio = o.ratio,
    duration = o.duration, resolution = o.resolution, audio = o.audio, seed = o.seed,
    return_last_frame = o.last_frame, callback_url = o.callback_url, service_tier = o.service_tier,
    execution_expires_after = o.expires_after, draft = o.draft, draft_task = o.from_draft, frames = o.frames })
  if not t then
    if err.code == "reference_type" then
      err.message = err.message .. " (on the command line: --ref NAME:image=VALUE, or :video, :audio)"
    end
    return nil, err
  end
  if not (o.wait or o.download) then return finish(ctx, t) end
  local ok, werr = M.wait(ctx, t)
  if not ok then return finish(ctx, t, nil, werr) end
  if not o.download then return finish(ctx, t) end
  local path, derr = M.download(ctx, t, o.download)
  return finish(ctx, t, path, derr)
end

--- Wait for a task started earlier.
function M.task_wait(ctx)
  local t, err = ctx:client():task(ctx.args[1])
  if not t then return nil, err end
  local _, werr = M.wait(ctx, t)
  return finish(ctx, t, nil, werr)
end

--- Save a finished task's video (resuming a partial download).
function M.task_download(ctx)
  local t, err = ctx:client():task(ctx.args[1])
  if not t then return nil, err end
  local path, derr = M.download(ctx, t, ctx.args[2])
  return finish(ctx, t, path, derr)
end

return M
