--- The report of a production run: one self-contained HTML page (styles inline, no script,
-- nothing fetched but the cast's reference images and the takes themselves): the cast with
-- its references, every shot with its prompt as sent, settings, attempts and errors, cost
-- against the ceiling, a status timeline, and a player for each take.
-- @module seedance.production.report
local core = require "seedance.core"

local M = {}

local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

--- HTML-escape any value.
function M.escape(v)
  return (tostring(v == nil and "" or v):gsub("[&<>\"']", ESC))
end
local esc = M.escape

local function absolute(p)
  if p:sub(1, 1) == "/" then return p end
  return (os.getenv("PWD") or ".") .. "/" .. p:gsub("^%./", "")
end

-- a take's address from the report's directory: relative when below it, else file://
local function media_src(take_path, report_path)
  local t, dir = absolute(take_path), absolute(report_path):match("^(.*)/[^/]*$") or "."
  if t:sub(1, #dir + 1) == dir .. "/" then return t:sub(#dir + 2) end
  return "file://" .. t
end

local STYLE = [[
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;color:#1d2430}
header{background:#1d2430;color:#fff;padding:20px 32px}
header h1{margin:0 0 6px;font-size:22px}
main{padding:16px 32px 48px;max-width:1200px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);margin:16px 0;padding:16px 20px}
h2{font-size:17px;margin:0 0 12px}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #e3e6ea;padding:4px 8px;text-align:left;vertical-align:top;font-size:13px}
.badge{display:inline-block;border-radius:10px;padding:1px 10px;font-size:12px;font-weight:600;color:#fff}
.succeeded,.active,.planned{background:#2e8540}.failed,.invalid{background:#c0392b}
.skipped{background:#7f8c8d}.over_budget{background:#d35400}.running,.waiting,.processing,.elsewhere{background:#2c6fbb}
.cast{display:flex;flex-wrap:wrap;gap:16px}.member{width:220px}
.member img{width:220px;height:140px;object-fit:cover;background:#dde1e6;border-radius:6px;display:block}
.prompt{font-family:ui-monospace,monospace;background:#f0f2f5;padding:8px;border-radius:6px;white-space:pre-wrap}
.meter{height:14px;background:#e3e6ea;border-radius:7px;overflow:hidden;margin:6px 0}
.meter div{height:100%;background:#2e8540}.meter div.over{background:#c0392b}
.track{position:relative;height:18px;background:#f0f2f5;border-radius:4px;margin:2px 0}
.track span{position:absolute;top:0;height:18px;border-radius:4px;opacity:.85}
video{width:360px;max-width:100%;border-radius:6px;background:#000;margin:6px 8px 0 0}
.err{color:#c0392b}
]]

local function badge(status)
  return ('<span class="badge %s">%s</span>'):format(esc(status), esc(status))
end

local function kv_rows(t)
  local keys = {}
  for k, v in pairs(t or {}) do if v ~= nil then keys[#keys + 1] = k end end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = ("<tr><th>%s</th><td>%s</td></tr>"):format(esc(k), esc(t[k])) end
  return table.concat(out)
end

local function usage_text(u)
  if type(u) ~= "table" then return "" end
  local parts = {}
  for k, v in pairs(u) do parts[#parts + 1] = tostring(k) .. "=" .. tostring(v) end
  table.sort(parts)
  return table.concat(parts, " ")
end

-- the status timeline: per shot, one coloured span per status it held
local function timeline(doc)
  local spans, t_end = {}, 0.001
  for _, ev in ipairs(doc.timeline or {}) do
    if ev.at and ev.at > t_end then t_end = ev.at end
  end
  for _, ev in ipairs(doc.timeline or {}) do
    if ev.shot and ev.status and (ev.kind == "shot" or ev.kind == "attempt" or ev.kind == "retry") then
      local list = spans[ev.shot] or {}
      spans[ev.shot] = list
      if list[#list] then list[#list].to = ev.at end
      list[#list + 1] = { status = ev.status, from = ev.at, to = t_end }
    end
  end
  local rows = {}
  local colours = { running = "#2c6fbb", waiting = "#9fb7d6", succeeded = "#2e8540", failed = "#c0392b",
                    skipped = "#7f8c8d", over_budget = "#d35400", elsewhere = "#8e44ad", planned = "#2e8540",
                    invalid = "#c0392b" }
  for _, k in ipairs(doc.order or {}) do
    local bars = {}
    for _, s in ipairs(spans[k] or {}) do
      local left = 100 * s.from / t_end
      local width = math.max(0.5, 100 * (s.to - s.from) / t_end)
      if s.status == "succeeded" or s.status == "failed" or s.status == "skipped" or s.status == "over_budget" then
        width = math.max(width, 1)
      end
      bars[#bars + 1] = ('<span title="%s %.2f s" style="left:%.2f%%;width:%.2f%%;background:%s"></span>')
        :format(esc(s.status), s.from, left, math.min(width, 100 - left), colours[s.status] or "#999")
    end
    rows[#rows + 1] = ('<tr><th style="width:80px">%s</th><td><div class="track">%s</div></td></tr>')
      :format(esc(k), table.concat(bars))
  end
  return ("<table>%s</table><p>0 s &mdash; %.1f s</p>"):format(table.concat(rows), t_end)
end

--- The page for result `doc` of `prod` (report_path: where it will be written, for links).
-- @treturn string HTML
function M.render(prod, doc, report_path)
  local h = {}
  local function w(...) for i = 1, select("#", ...) do h[#h + 1] = select(i, ...) end end
  local counts = {}
  for _, k in ipairs(doc.order or {}) do
    local s = doc.shots[k].status
    counts[s] = (counts[s] or 0) + 1
  end
  local summary = {}
  for s, n in pairs(counts) do summary[#summary + 1] = n .. " " .. s end
  table.sort(summary)
  w("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>", esc(doc.name), " — seedance production",
    "</title><style>", STYLE, "</style></head><body>")
  w("<header><h1 id=\"title\">", esc(doc.name), "</h1><div>", esc(doc.provider), " · ",
    doc.dry_run and "dry run" or (esc(doc.mode) .. " run"), " · ", esc(table.concat(summary, ", ")), " · ",
    esc(os.date("!%Y-%m-%d %H:%M:%S UTC", doc.started_at or os.time())), "</div></header><main>")

  -- cost against the ceiling
  local cost, ceiling, estimate = doc.cost or 0, doc.max_cost, doc.estimate or 0
  w("<section id=\"cost\"><h2>Cost</h2><table>",
    kv_rows({ spent = cost, estimate = estimate, ceiling = ceiling or "none", concurrency = doc.concurrency }),
    "</table>")
  if ceiling and ceiling > 0 then
    local f = math.min(1, math.max(cost, doc.dry_run and estimate or 0) / ceiling)
    w(("<div class=\"meter\" title=\"%g of %g\"><div class=\"%s\" style=\"width:%.1f%%\"></div></div>")
      :format(cost, ceiling, (doc.dry_run and estimate or cost) > ceiling and "over" or "", 100 * f))
  end
  w("</section>")

  -- the cast
  w("<section id=\"cast\"><h2>Cast</h2><div class=\"cast\">")
  for _, name in ipairs(prod.member_order) do
    local m = prod.members[name]
    local c = (doc.cast or {})[name] or {}
    w("<div class=\"member\" data-member=\"", esc(name), "\"><h3>", esc(name), " ", badge(c.status or "unused"),
      "</h3>")
    for _, r in ipairs(m.refs) do
      if r.type == "image" then
        w("<img src=\"", esc(r.url), "\" alt=\"", esc(name), "\" loading=\"lazy\">")
      else
        w("<div>", esc(r.type), ": <a href=\"", esc(r.url), "\">", esc(r.url), "</a></div>")
      end
    end
    if m.describe then w("<p>", esc(m.describe), "</p>") end
    if c.assets and #c.assets > 0 then w("<p><small>", esc(table.concat(c.assets, ", ")), "</small></p>") end
    if c.error then w("<p class=\"err\">", esc(c.error), "</p>") end
    w("</div>")
  end
  w("</div></section>")

  w("<section id=\"timeline\"><h2>Timeline</h2>", timeline(doc), "</section>")

  -- every shot
  for _, k in ipairs(doc.order or {}) do
    local s = doc.shots[k]
    w("<section class=\"shot\" id=\"shot-", esc(k), "\" data-status=\"", esc(s.status), "\"><h2>", esc(k), " ",
      badge(s.status), "</h2>")
    w("<div class=\"prompt\">", esc(s.prompt or "(not sent)"), "</div>")
    local settings = {}
    for key, v in pairs(s.settings or {}) do settings[key] = v end
    settings.after = s.after and #s.after > 0 and table.concat(s.after, ", ") or nil
    settings.continues = s.continues
    settings.cast = s.members and #s.members > 0 and table.concat(s.members, ", ") or nil
    settings.cost = ("%g (estimate %g)"):format(s.cost or 0, s.estimate or 0)
    w("<table class=\"settings\">", kv_rows(settings), "</table>")
    if s.error then w("<p class=\"err\">", esc(s.error), "</p>") end
    if s.tries and #s.tries > 0 then
      w("<h3>Attempts</h3><table class=\"attempts\"><tr><th>#</th><th>task</th><th>status</th><th>cost</th>",
        "<th>usage</th><th>prompt as sent / error</th></tr>")
      for _, a in ipairs(s.tries) do
        w("<tr><td>", esc(a.n), "</td><td>", esc(a.task), "</td><td>", badge(a.status or "?"), "</td><td>",
          esc(a.cost), "</td><td>", esc(usage_text(a.usage)), "</td><td>", esc(a.prompt),
          a.error and ("<div class=\"err\">" .. esc(a.error) .. "</div>") or "", "</td></tr>")
      end
      w("</table>")
    end
    for _, t in ipairs(s.takes or {}) do
      w("<figure class=\"take\"><video controls preload=\"metadata\" src=\"", esc(media_src(t.path, report_path)),
        "\"></video><figcaption>v", ("%03d"):format(t.version or 0), " · ", esc(t.mode), " · ", esc(t.task), " · ",
        esc(t.bytes), " bytes</figcaption></figure>")
    end
    w("</section>")
  end
  w("<footer><main><small>seedance ", esc(require("seedance")._VERSION), " · generated ",
    esc(("%.0f"):format(core.time())), "</small></main></footer></body></html>\n")
  return table.concat(h)
end

--- Write the page for `doc` to `path`. Returns true, or nil and a message.
function M.write(prod, doc, path)
  local html = M.render(prod, doc, path)
  local ok, err = core.write_durable(path, html)
  if not ok then return nil, err end
  return true
end

return M
