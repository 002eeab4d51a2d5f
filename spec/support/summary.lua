-- busted output handler: one line per failure with its message, then the closing line
-- CI reads, "N passed, N failed" (", N skipped" when any spec is pending).
return function(options)
  local busted = require "busted"
  local handler = require("busted.outputHandlers.base")()
  local pretty = require "pl.pretty"

  local function show(kind, t)
    local msg = t.message
    if type(msg) ~= "string" then msg = pretty.write(msg) end
    local where = t.trace and t.trace.short_src and (t.trace.short_src .. ":" .. tostring(t.trace.currentline)) or ""
    io.write(("%s: %s\n  %s\n  %s\n"):format(kind, t.name or "?", where, msg or "nil"))
    if options.verbose and t.trace and t.trace.traceback then io.write(t.trace.traceback, "\n") end
  end

  handler.testEnd = function(element, _, status)
    if options.verbose then
      io.write(("%-7s %s\n"):format(status, handler.getFullName(element)))
    elseif status == "success" then io.write(".")
    elseif status == "pending" then io.write("-")
    else io.write("F") end
    io.flush()
    return nil, true
  end

  handler.suiteEnd = function()
    io.write("\n")
    for _, t in ipairs(handler.failures) do show("FAILED", t) end
    for _, t in ipairs(handler.errors) do show("ERROR", t) end
    local passed, failed = #handler.successes, #handler.failures + #handler.errors
    local line = ("%d passed, %d failed"):format(passed, failed)
    if #handler.pendings > 0 then line = line .. (", %d skipped"):format(#handler.pendings) end
    io.write(line, "\n")
    io.flush()
    return nil, true
  end

  busted.subscribe({ "test", "end" }, handler.testEnd, { predicate = handler.cancelOnPending })
  busted.subscribe({ "suite", "end" }, handler.suiteEnd)
  return handler
end
