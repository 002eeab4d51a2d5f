--- One HTTP/1.1 attempt over a cosocket-shaped socket: the part of the nginx driver that
-- speaks the wire. It takes an attempt from the engine's outbox and returns what
-- engine:feed() wants; it never decides about retries (the C engine does).
-- The socket comes from `env.tcp()` (ngx.socket.tcp in nginx, a fake in specs), so this
-- file has no nginx in it and runs on any Lua.
-- @module seedance.wire.http1
local M = {}

local CHUNK = 65536
local MAX_HEADERS = 256 * 1024
local MAX_HOPS = 5
local REDIRECT = { [301] = true, [302] = true, [303] = true, [307] = true, [308] = true }
-- framing is ours to write; a caller's copy of these would contradict it
local OWN = { host = true, ["content-length"] = true, connection = true, ["transfer-encoding"] = true }

--- Split a URL into scheme, host, port, request target and Host header value.
-- @treturn table|nil `{scheme=, host=, port=, target=, authority=}`, nil when unusable
function M.parse_url(u)
  local scheme, authority, rest = tostring(u):match("^(%a[%w+.-]*)://([^/?#]*)(.*)$")
  if not scheme then return nil end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then return nil end
  authority = authority:gsub("^.*@", "")
  local host, port = authority:match("^%[([^%]]+)%]:?(%d*)$")
  local shown = host and ("[" .. host .. "]")
  if not host then
    host, port = authority:match("^([^:]+):?(%d*)$")
    shown = host
  end
  if not host then return nil end
  local default = scheme == "https" and 443 or 80
  port = tonumber(port) or default
  rest = rest:gsub("#.*$", "")
  if rest == "" or rest:sub(1, 1) == "?" then rest = "/" .. rest end
  if port ~= default then shown = shown .. ":" .. port end
  return { scheme = scheme, host = host, port = port, target = rest, authority = shown }
end

--- Where a Location header points, made absolute against the URL that answered.
function M.resolve(base, loc)
  if loc:match("^%a[%w+.-]*://") then return loc end
  local b = M.parse_url(base)
  if loc:sub(1, 2) == "//" then return b.scheme .. ":" .. loc end
  local origin = b.scheme .. "://" .. b.authority
  if loc:sub(1, 1) == "/" then return origin .. loc end
  local dir = b.target:gsub("[?#].*$", ""):match("^(.*/)") or "/"
  return origin .. dir .. loc
end

local function fail(kind, sent, message)
  return { error = kind, sent = sent, message = message }
end

--- The request head and body, as a list for one send() without concatenating the body.
local function request_parts(a, u, method, body, env)
  local lines = { method .. " " .. u.target .. " HTTP/1.1", "Host: " .. u.authority }
  local has = {}
  for _, h in ipairs(a.headers or {}) do
    local name, value = h:match("^([^:]+):%s*(.-)%s*$")
    -- "Name:" with nothing after it means "do not send", as with curl
    if name and value ~= "" and not OWN[name:lower()] then
      lines[#lines + 1] = name .. ": " .. value
      has[name:lower()] = true
    end
  end
  if not has["user-agent"] and env.user_agent then lines[#lines + 1] = "User-Agent: " .. env.user_agent end
  if not has.accept then lines[#lines + 1] = "Accept: */*" end
  if a.file and (a.resume or 0) > 0 and not has.range then
    lines[#lines + 1] = ("Range: bytes=%.0f-"):format(a.resume)
  end
  if body or method == "POST" or method == "PUT" or method == "PATCH" then
    lines[#lines + 1] = "Content-Length: " .. #(body or "")
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = ""
  return { table.concat(lines, "\r\n"), body or "" }
end

-- Per-attempt clock: `limit` bounds the whole attempt (nil: unbounded), `stall` each read.
local function arm(ctx, sock)
  local t = ctx.stall
  if ctx.limit then
    local left = ctx.limit - ctx.env.now()
    if left <= 0 then return false end
    if left < t then t = left end
  end
  local ms = math.max(1, math.ceil(t * 1000))
  sock:settimeouts(ctx.connect_ms, ms, ms)
  return true
end

local function io_fail(ctx, err, what)
  if err == "timeout" then
    -- as curl counts it: a timeout before the request left is a failure to connect
    return fail(ctx.sent and "timeout" or "connect", ctx.sent, what .. " timed out")
  end
  return fail("network", ctx.sent, what .. ": " .. tostring(err))
end

local function timed_out(ctx)
  return fail(ctx.sent and "timeout" or "connect", ctx.sent, "the attempt ran out of time")
end

-- Reads exactly n bytes into sink; partial data still reaches the sink (a resumable file).
local function read_fixed(sock, ctx, n, sink)
  while n > 0 do
    if not arm(ctx, sock) then return timed_out(ctx) end
    local data, err, partial = sock:receive(n < CHUNK and n or CHUNK)
    if not data then
      if partial and partial ~= "" then sink(partial) end
      return io_fail(ctx, err, "reading the body")
    end
    n = n - #data
    local bad = sink(data)
    if bad then return bad end
  end
end

local function read_line(sock, ctx, what)
  if not arm(ctx, sock) then return nil, timed_out(ctx) end
  local line, err = sock:receive("*l")
  if not line then return nil, io_fail(ctx, err, what) end
  return line
end

local function read_chunked(sock, ctx, sink)
  while true do
    local line, bad = read_line(sock, ctx, "reading a chunk size")
    if not line then return bad end
    local size = tonumber(line:match("^%s*(%x+)") or "", 16)
    if not size then return fail("network", true, "malformed chunked body") end
    if size == 0 then
      repeat -- trailers, then the blank line that ends the message
        line, bad = read_line(sock, ctx, "reading trailers")
        if not line then return bad end
      until line == ""
      return nil
    end
    bad = read_fixed(sock, ctx, size, sink)
    if bad then return bad end
    line, bad = read_line(sock, ctx, "reading a chunk end")
    if not line then return bad end
    if line ~= "" then return fail("network", true, "malformed chunked body") end
  end
end

local function read_to_close(sock, ctx, sink)
  while true do
    if not arm(ctx, sock) then return timed_out(ctx) end
    local data, err
    if sock.receiveany then
      data, err = sock:receiveany(CHUNK)
    else
      local partial
      data, err, partial = sock:receive(CHUNK)
      if not data and partial and partial ~= "" then sink(partial) end
    end
    if not data then
      if err == "closed" then return nil end
      return io_fail(ctx, err, "reading the body")
    end
    local bad = sink(data)
    if bad then return bad end
  end
end

local function read_head(sock, ctx, first)
  local line, err, partial
  repeat
    if not arm(ctx, sock) then return nil, timed_out(ctx) end
    line, err, partial = sock:receive("*l")
    if not line then
      -- a pooled connection the server had already closed: nothing of ours was used
      if first and ctx.reused and (partial or "") == "" and err ~= "timeout" then return nil, "stale" end
      return nil, io_fail(ctx, err, "reading the status line")
    end
  until line ~= "" -- tolerate a stray blank line left by a previous answer
  local ver, code = line:match("^HTTP/(%d%.%d) +(%d%d%d)")
  if not ver then return nil, fail("network", true, "malformed status line") end
  local h, size = {}, 0
  while true do
    local l, bad = read_line(sock, ctx, "reading headers")
    if not l then return nil, bad end
    if l == "" then break end
    size = size + #l
    if size > MAX_HEADERS then return nil, fail("network", true, "response headers too large") end
    local name, value = l:match("^([^:%s]+)%s*:%s*(.-)%s*$")
    if name then
      name = name:lower()
      h[name] = h[name] and (h[name] .. ", " .. value) or value
    end
  end
  code = tonumber(code)
  -- an interim answer (100 Continue, 103 Early Hints): the real one follows
  if code >= 100 and code < 200 and code ~= 101 then return read_head(sock, ctx, false) end
  return { version = ver, status = code, headers = h }
end

-- Where the body goes: the download file for a 2xx answer to a file request, else memory.
local function make_sink(a, method, head, env, progress)
  local status, h = head.status, head.headers
  if not a.file or status < 200 or status >= 300 or method == "HEAD" then
    local parts, size = {}, 0
    local cap = a.max_body or 8 * 1024 * 1024
    -- a download's error page is not the video: max_body is the file's cap, not the page's
    if a.file then cap = math.min(cap, 1024 * 1024) end
    return function(data)
      size = size + #data
      if size > cap then return fail("too_large", true, "response body too large") end
      parts[#parts + 1] = data
    end, function() return table.concat(parts) end
  end
  local from = a.resume or 0
  if status ~= 206 then from = 0 end -- the host ignored our Range: start the file over
  local range_from = h["content-range"] and tonumber(h["content-range"]:match("^%s*bytes%s+(%d+)%-"))
  if status == 206 and range_from and range_from ~= from then
    return nil, nil, fail("network", true, ("the host resumed at byte %d, not %d"):format(range_from, from))
  end
  local total = h["content-range"] and tonumber(h["content-range"]:match("/(%d+)%s*$"))
  if not total and h["content-length"] then total = from + (tonumber(h["content-length"]) or 0) end
  local f = io.open(a.file, from > 0 and "ab" or "wb")
  if not f then return nil, nil, fail("file", true, "cannot open the download file for writing") end
  local written, last = 0, 0
  if progress and progress(0, total, from) == false then
    f:close()
    return nil, nil, fail("network", true, "cancelled")
  end
  return function(data)
    if not f then return fail("file", true, "the download file is closed") end
    if a.max_body and a.max_body > 0 and from + written + #data > a.max_body then
      f:close()
      f = nil
      return fail("too_large", true, ("download over the size limit of %d bytes"):format(a.max_body))
    end
    local ok, err = f:write(data)
    if not ok then
      f:close()
      f = nil
      return fail("file", true, "cannot write the download file: " .. tostring(err))
    end
    written = written + #data
    local now = env.now()
    if progress and (now - last >= 0.05 or (total and from + written >= total)) then
      last = now
      if progress(written, total, from) == false then
        f:close()
        f = nil
        return fail("network", true, "cancelled")
      end
    end
  end, function()
    if not f then return nil end
    local ok, err = f:flush()
    f:close()
    f = nil
    if progress then progress(written, total, from) end
    if not ok then return fail("file", true, "cannot write the download file: " .. tostring(err)) end
  end
end

local function read_body(sock, ctx, method, head, sink)
  local status, h = head.status, head.headers
  if method == "HEAD" or status == 204 or status == 304 or status < 200 then return nil, true end
  local te = (h["transfer-encoding"] or ""):lower()
  if te ~= "" and te ~= "identity" then
    if not te:find("chunked", 1, true) then return fail("network", true, "unsupported transfer-encoding " .. te) end
    return read_chunked(sock, ctx, sink), true
  end
  if h["content-length"] then
    local n = tonumber(h["content-length"]:match("^%s*(%d+)%s*$") or "")
    if not n then return fail("network", true, "malformed content-length") end
    return read_fixed(sock, ctx, n, sink), true
  end
  return read_to_close(sock, ctx, sink), false
end

local function keep_alive(head, framed)
  if not framed then return false end
  local conn = (head.headers.connection or ""):lower()
  if head.version == "1.1" then return not conn:find("close", 1, true) end
  return conn:find("keep-alive", 1, true) ~= nil
end

local function connect(u, ctx)
  local env = ctx.env
  local sock = env.tcp()
  local ct = env.connect_timeout or 10
  if ctx.limit then
    local left = ctx.limit - env.now()
    if left <= 0 then return nil, timed_out(ctx) end
    if left < ct then ct = left end
  end
  ctx.connect_ms = math.max(1, math.ceil(ct * 1000))
  sock:settimeouts(ctx.connect_ms, ctx.connect_ms, ctx.connect_ms)
  local verify = env.verify ~= false
  -- TLS and plain, verified and not, never share a pooled connection
  local pool = ("seedance:%s:%s:%d:%s"):format(u.scheme, u.host, u.port, verify and "v" or "nv")
  local ok, err = sock:connect(u.host, u.port, { pool = pool, pool_size = env.pool_size or 32 })
  if not ok then
    err = tostring(err)
    if err:find("resolver", 1, true) then err = err .. " (set nginx's `resolver` directive)" end
    return nil, fail("connect", false, ("cannot connect to %s: %s"):format(u.authority, err))
  end
  local reused = (sock:getreusedtimes() or 0) > 0
  if u.scheme == "https" and not reused then
    ok, err = sock:sslhandshake(false, u.host, verify)
    if not ok then
      sock:close()
      err = tostring(err)
      -- nginx verifies against lua_ssl_trusted_certificate only, not the system store
      if err:find("certificate", 1, true) and not err:find("mismatch", 1, true) then
        err = err .. " (is lua_ssl_trusted_certificate set?)"
      end
      return nil, fail("tls", false, ("TLS handshake with %s failed: %s"):format(u.authority, err))
    end
  end
  return sock, nil, reused
end

-- One request and its answer on one connection (retried once more on a stale pooled one).
local function exchange(a, url, method, body, env, progress, t0)
  local u = M.parse_url(url)
  if not u then return fail("internal", false, "unsupported URL: " .. tostring(url)) end
  for _ = 1, 3 do
    local ctx = { env = env, sent = false }
    if a.file then
      -- a download may take long: bound it by stalls and the request's deadline, not in total
      ctx.stall = a.timeout or 60
      ctx.limit = a.deadline and (t0 + a.deadline)
    else
      local total = a.timeout or 60
      if a.deadline and a.deadline < total then total = a.deadline end
      ctx.stall, ctx.limit = total, t0 + total
    end
    local sock, bad, reused = connect(u, ctx)
    if not sock then return bad end
    ctx.reused = reused
    if not arm(ctx, sock) then
      sock:close()
      return timed_out(ctx)
    end
    local ok, err = sock:send(request_parts(a, u, method, body, env))
    if not ok then
      sock:close()
      if not reused then return fail("network", true, "sending the request: " .. tostring(err)) end
    else
      ctx.sent = true
      local head
      head, bad = read_head(sock, ctx, true)
      if head then
        local sink, finish
        sink, finish, bad = make_sink(a, method, head, env, progress)
        if bad then
          sock:close()
          return bad
        end
        local framed
        bad, framed = read_body(sock, ctx, method, head, sink)
        local fbad = finish()
        if bad or type(fbad) == "table" then
          sock:close()
          return bad or fbad
        end
        if keep_alive(head, framed) then
          sock:setkeepalive(env.keepalive_ms or 55000, env.pool_size or 32)
        else
          sock:close()
        end
        return { status = head.status, headers = head.headers, body = type(fbad) == "string" and fbad or nil }
      end
      sock:close()
      if bad ~= "stale" then return bad end
    end
  end
  return fail("network", true, "every pooled connection was closed by the server")
end

--- Perform one outbox attempt `a` and return the outcome for engine:feed().
-- @tparam table a `{method, url, headers, body, timeout, deadline, max_body, file, resume, follow}`
-- @tparam table env `{tcp=, now=, verify=, user_agent=, connect_timeout=, pool_size=, keepalive_ms=}`
-- @tparam[opt] function progress `(written, total, from)` for downloads; returning false aborts
-- @treturn table `{status=, headers=, body=}` or `{error=, sent=, message=}`
function M.perform(a, env, progress)
  local url, method, body = a.url, a.method or "GET", a.body
  local t0 = env.now()
  for hop = 0, MAX_HOPS do
    local r = exchange(a, url, method, body, env, progress, t0)
    local loc = r.headers and r.headers.location
    if not (a.follow and r.status and REDIRECT[r.status] and loc and hop < MAX_HOPS) then return r end
    url = M.resolve(url, loc)
    if r.status == 303 or ((r.status == 301 or r.status == 302) and method == "POST") then
      method, body = "GET", nil
    end
  end
end

return M
