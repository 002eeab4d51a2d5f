--- Listings page by page, bounded: every lazy listing (assets, groups) walks its pages here.
-- A server that always says another page follows would otherwise keep a loop (and the
-- lookup after a lost create, which lists) going for ever: a listing stops after
-- `max_pages` pages and at its deadline, and client:last_error() says which bound it hit.
-- @module seedance.wire.pager
local core = require "seedance.core"

local M = {}

--- Pages a listing fetches at most unless told otherwise (100 000 items at 100 a page).
M.MAX_PAGES = 1000
--- Seconds a whole listing may take unless told otherwise.
M.TIMEOUT = 600

--- An iterator over the objects of a listing. `spec`: `op(page)` the request for page n,
-- `parse` the dialect's page parser (items, more), `make(fields)` the object of an item,
-- `max_pages` and `timeout` (nil: the defaults above), `who` the listing's name for errors.
-- A failure or a bound ends the loop; client:last_error() then says why.
function M.iterate(client, spec)
  local max_pages = spec.max_pages or M.MAX_PAGES
  local timeout = spec.timeout or M.TIMEOUT
  local deadline = core.now() + timeout
  local page, items, i, more = 0, {}, 0, true
  client._last_error = nil
  local function stop(err)
    client._last_error = err
    more, items = false, {}
    return nil
  end
  return function()
    while true do
      i = i + 1
      if items[i] then return spec.make(items[i]) end
      if not more then return nil end
      if page >= max_pages then
        return stop(client:_error({ kind = "protocol", retryable = false, code = "too_many_pages",
          message = ("%s: the listing did not end after %d pages (max_pages)"):format(spec.who, max_pages) }))
      end
      local left = deadline - core.now()
      if left <= 0 then
        return stop(client:_error({ kind = "timeout", code = "deadline",
          message = ("%s: the listing did not end within %g s (timeout)"):format(spec.who, timeout) }))
      end
      page = page + 1
      local op = spec.op(page)
      op.deadline = left
      local body, err = client:_call(op)
      if not body then return stop(err) end
      local got, more_or_err = client:_parse("list", spec.parse, body, page)
      if not got then return stop(more_or_err) end
      items, more, i = got, more_or_err, 0
      if #items == 0 then return stop(nil) end
    end
  end
end

return M
