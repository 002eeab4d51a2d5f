-- The nginx driver's HTTP/1.1 exchange, on scripted sockets shaped like ngx.socket.tcp:
-- request framing, the three body framings, keep-alive, stale pooled connections,
-- timeouts, redirects, TLS and resumable downloads. No nginx needed.
local http1 = require "seedance.wire.http1"
local helpers = require "helpers"
local read, write = helpers.read, helpers.write

-- A fake cosocket answering `s.data`, then ending with `s.eof` ("closed" or "timeout").
local function fake(s)
  local sock = { sent = {}, pos = 1, data = s.data or "", eof = s.eof or "closed", script = s }
  function sock:settimeouts(c, w, r) self.timeouts = { c, w, r } end
  function sock:connect(host, port, opts)
    self.host, self.port, self.opts = host, port, opts
    if s.connect_err then return nil, s.connect_err end
    return 1
  end
  function sock.getreusedtimes() return s.reused or 0 end
  function sock:sslhandshake(reuse, name, verify)
    self.tls = { reuse = reuse, name = name, verify = verify }
    if s.tls_err then return nil, s.tls_err end
    return true
  end
  function sock:send(parts)
    self.sent[#self.sent + 1] = type(parts) == "table" and table.concat(parts) or parts
    if s.send_err then return nil, s.send_err end
    return 1
  end
  function sock:receive(p)
    local rest = self.data:sub(self.pos)
    if p == "*l" then
      local nl = rest:find("\n", 1, true)
      if not nl then
        self.pos = #self.data + 1
        return nil, self.eof, rest
      end
      self.pos = self.pos + nl
      return (rest:sub(1, nl - 1):gsub("\r", ""))
    end
    if #rest < p then
      self.pos = #self.data + 1
      return nil, self.eof, rest
    end
    self.pos = self.pos + p
    return rest:sub(1, p)
  end
  function sock:receiveany(n)
    local rest = self.data:sub(self.pos)
    if rest == "" then return nil, self.eof end
    local chunk = rest:sub(1, n)
    self.pos = self.pos + #chunk
    return chunk
  end
  function sock:setkeepalive(ms, size) self.kept = { ms, size } return 1 end
  function sock:close() self.closed = true return 1 end
  return sock
end

-- env whose tcp() hands out one scripted socket per connect
local function env_for(scripts, extra)
  local made = {}
  local env = { now = os.clock, user_agent = "seedance-test/1", pool_size = 4, verify = true, made = made,
    tcp = function()
      local s = fake(assert(scripts[#made + 1], "unexpected connect"))
      made[#made + 1] = s
      return s
    end }
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

local function attempt(t)
  t.method = t.method or "GET"
  t.headers = t.headers or {}
  t.timeout = t.timeout or 5
  return t
end

local TMP = os.tmpname()

describe("http1 (the nginx driver's wire)", function()
  after_each(function() os.remove(TMP) end)

  it("parses URLs", function()
    assert.same({ scheme = "http", host = "127.0.0.1", port = 8080, target = "/a/b?x=1", authority = "127.0.0.1:8080" },
      http1.parse_url("http://127.0.0.1:8080/a/b?x=1#frag"))
    assert.same({ scheme = "https", host = "api.example.com", port = 443, target = "/", authority = "api.example.com" },
      http1.parse_url("https://user@api.example.com"))
    assert.same({ scheme = "http", host = "::1", port = 9, target = "/?q", authority = "[::1]:9" },
      http1.parse_url("http://[::1]:9?q"))
    assert.is_nil(http1.parse_url("ftp://x/"))
    assert.is_nil(http1.parse_url("nothing"))
    assert.equal("http://h:1/x/z", http1.resolve("http://h:1/x/y?q", "z"))
    assert.equal("http://h:1/z", http1.resolve("http://h:1/x/y", "/z"))
    assert.equal("https://o/z", http1.resolve("https://h/x", "//o/z"))
    assert.equal("http://o/z", http1.resolve("https://h/x", "http://o/z"))
  end)

  it("frames the request and reads a Content-Length answer, keeping the connection", function()
    local env = env_for({ { data = "HTTP/1.1 201 Created\r\nX-Request-Id: r1\r\nContent-Length: 11\r\n"
      .. "Set-Thing: a\r\nset-thing: b\r\n\r\n{\"ok\":true}" } })
    local r = http1.perform(attempt({ method = "POST", url = "http://127.0.0.1:81/v1/x?y=2", body = "{}",
      headers = { "Content-Type: application/json", "X-API-Key: k", "Host: evil", "Content-Length: 99",
                  "Expect:" } }), env)
    assert.equal(201, r.status)
    assert.equal('{"ok":true}', r.body)
    assert.equal("r1", r.headers["x-request-id"])
    assert.equal("a, b", r.headers["set-thing"])
    local s = env.made[1]
    local sent = s.sent[1]
    assert.matches("^POST /v1/x%?y=2 HTTP/1%.1\r\nHost: 127%.0%.0%.1:81\r\n", sent)
    assert.matches("\r\nContent%-Type: application/json\r\n", sent)
    assert.matches("\r\nX%-API%-Key: k\r\n", sent)
    assert.matches("\r\nUser%-Agent: seedance%-test/1\r\n", sent)
    assert.matches("\r\nContent%-Length: 2\r\n\r\n{}$", sent)
    assert.is_nil(sent:find("evil", 1, true))
    assert.is_nil(sent:find("99", 1, true))
    assert.is_nil(sent:find("Expect", 1, true))
    assert.equal("127.0.0.1", s.host)
    assert.equal(81, s.port)
    assert.equal("seedance:http:127.0.0.1:81:v", s.opts.pool)
    assert.is_table(s.kept)
    assert.is_nil(s.closed)
    assert.is_nil(s.tls)
  end)

  it("reads chunked bodies with trailers", function()
    local env = env_for({ { data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      .. "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n" } })
    local r = http1.perform(attempt({ url = "http://h/" }), env)
    assert.equal("hello, world", r.body)
    assert.is_table(env.made[1].kept)
  end)

  it("reads to the close when there is no length, and does not pool that connection", function()
    local env = env_for({ { data = "HTTP/1.0 200 OK\r\n\r\nall of it" } })
    local r = http1.perform(attempt({ url = "http://h/" }), env)
    assert.equal("all of it", r.body)
    assert.is_true(env.made[1].closed)
    assert.is_nil(env.made[1].kept)
    env = env_for({ { data = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n" } })
    r = http1.perform(attempt({ url = "http://h/" }), env)
    assert.equal(204, r.status)
    assert.is_true(env.made[1].closed)
  end)

  it("skips interim answers", function()
    local env = env_for({ { data = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" } })
    assert.equal("ok", http1.perform(attempt({ url = "http://h/" }), env).body)
  end)

  it("tries again on a fresh connection when a pooled one was closed by the server", function()
    local env = env_for({ { reused = 3, data = "" },
                          { data = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" } })
    local r = http1.perform(attempt({ method = "POST", url = "http://h/", body = "x" }), env)
    assert.equal(200, r.status)
    assert.equal(2, #env.made)
  end)

  it("tells connect failures, timeouts, resets and oversized bodies apart", function()
    local r = http1.perform(attempt({ url = "http://h/" }), env_for({ { connect_err = "connection refused" } }))
    assert.equal("connect", r.error)
    assert.is_false(r.sent)
    assert.matches("connection refused", r.message)
    r = http1.perform(attempt({ url = "http://h/" }), env_for({ { data = "", eof = "timeout" } }))
    assert.equal("timeout", r.error)
    assert.is_true(r.sent)
    r = http1.perform(attempt({ url = "http://h/" }),
      env_for({ { data = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", eof = "connection reset by peer" } }))
    assert.equal("network", r.error)
    assert.is_true(r.sent)
    r = http1.perform(attempt({ url = "http://h/", max_body = 4 }),
      env_for({ { data = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789" } }))
    assert.equal("too_large", r.error)
    r = http1.perform(attempt({ url = "http://h/" }), env_for({ { data = "SSH-2.0-OpenSSH\r\n" } }))
    assert.equal("network", r.error)
    assert.matches("status line", r.message)
  end)

  it("bounds the whole attempt by its timeout", function()
    local t = 0
    local env = env_for({ { data = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" } },
                        { now = function() t = t + 2 return t end })
    local r = http1.perform(attempt({ url = "http://h/", timeout = 5 }), env)
    assert.equal("timeout", r.error)
  end)

  it("does TLS with verification and the host name, once per pooled connection", function()
    local env = env_for({ { data = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" },
                          { reused = 1, data = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" },
                          { tls_err = "certificate verify failed" } })
    assert.equal(200, http1.perform(attempt({ url = "https://api.example.com/x" }), env).status)
    assert.same({ reuse = false, name = "api.example.com", verify = true }, env.made[1].tls)
    assert.equal("seedance:https:api.example.com:443:v", env.made[1].opts.pool)
    assert.equal(200, http1.perform(attempt({ url = "https://api.example.com/x" }), env).status)
    assert.is_nil(env.made[2].tls)
    local r = http1.perform(attempt({ url = "https://api.example.com/x" }), env)
    assert.equal("tls", r.error)
    assert.is_false(r.sent)
    assert.matches("lua_ssl_trusted_certificate", r.message)
    env = env_for({ { data = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" } }, { verify = false })
    http1.perform(attempt({ url = "https://h/" }), env)
    assert.is_false(env.made[1].tls.verify)
  end)

  it("follows redirects only when asked", function()
    local moved = "HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"
    local r = http1.perform(attempt({ url = "http://h/a" }), env_for({ { data = moved } }))
    assert.equal(302, r.status)
    local env = env_for({ { data = moved }, { data = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx" } })
    r = http1.perform(attempt({ url = "http://h/a", follow = true }), env)
    assert.equal(200, r.status)
    assert.matches("^GET /b HTTP/1%.1", env.made[2].sent[1])
  end)

  it("streams a download to its file, resuming with Range", function()
    write(TMP, "01234")
    local seen = {}
    local env = env_for({ { data = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-9/10\r\n"
      .. "Content-Length: 5\r\n\r\n56789" } })
    local r = http1.perform(attempt({ url = "http://h/v.mp4", file = TMP, resume = 5 }), env,
      function(w, total, from) seen[#seen + 1] = { w, total, from } return true end)
    assert.equal(206, r.status)
    assert.is_nil(r.body)
    assert.equal("0123456789", read(TMP))
    assert.matches("\r\nRange: bytes=5%-\r\n", env.made[1].sent[1])
    assert.same({ 5, 10, 5 }, seen[#seen])
  end)

  it("starts the file over when the host ignores Range", function()
    write(TMP, "stale")
    local seen
    local env = env_for({ { data = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnew!" } })
    http1.perform(attempt({ url = "http://h/v", file = TMP, resume = 5 }), env,
      function(w, total, from) seen = { w, total, from } end)
    assert.equal("new!", read(TMP))
    assert.same({ 4, 4, 0 }, seen)
  end)

  it("keeps what arrived before a break, and leaves the file alone on an error status", function()
    local env = env_for({ { data = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123", eof = "closed" } })
    local r = http1.perform(attempt({ url = "http://h/v", file = TMP, resume = 0 }), env)
    assert.equal("network", r.error)
    assert.equal("0123", read(TMP))
    env = env_for({ { data = "HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\n\r\nexpired" } })
    r = http1.perform(attempt({ url = "http://h/v", file = TMP, resume = 4 }), env)
    assert.equal(403, r.status)
    assert.equal("expired", r.body)
    assert.equal("0123", read(TMP))
  end)

  it("stops a download whose request was cancelled", function()
    local env = env_for({ { data = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndata" } })
    local r = http1.perform(attempt({ url = "http://h/v", file = TMP }), env, function() return false end)
    assert.equal("network", r.error)
    assert.matches("cancelled", r.message)
    assert.is_true(env.made[1].closed)
  end)
end)
