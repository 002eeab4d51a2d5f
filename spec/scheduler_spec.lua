-- The C scheduler on a manual clock and an external driver: every request it sends and
-- every time it sends one is asserted exactly, with no wall clock involved.
local core = require "seedance.core"
local helpers = require "helpers"

-- an object as the scheduler polls it: the id, status word and progress it starts from
-- (the scheduler reads them from the object's C struct)
local function obj(id, raw_status, progress)
  local o = core.object_new("task", {})
  o:_assign({ id = id, raw_status = raw_status, progress = progress })
  return o
end

local function engine(seed)
  return assert(core.engine({ driver = "external", clock = "manual", seed = seed or 7 }))
end

-- what the engine handed its driver since the last look
local function sent(e)
  e:step()
  return e:outbox()
end

local function answer(e, req, status, body)
  assert.is_true(e:feed(req.id, { status = status, body = body }))
  e:step()
  return e:poll_events()
end

describe("the scheduler (manual clock)", function()
  local GET = { url_pre = "http://svc.test/assets/", url_post = "?v=1", headers = { "X-Key: k" },
                status = "data.status", progress = "data.progress", first = 2, max = 15, factor = 1.5,
                jitter = 0, max_age = 1800 }
  -- GET with some fields replaced
  local function get_with(changes)
    return helpers.merged(GET, changes)
  end

  it("looks after the first interval, with the class's URL and headers", function()
    local e = engine()
    local cls = e:poll_class(GET)
    e:poll_add(cls, obj("a/1", "processing", nil), false)
    assert.same({}, sent(e))
    assert.equal(2, e:next_due())
    e:advance(1.999)
    assert.same({}, sent(e))
    e:advance(0.001)
    local out = sent(e)
    assert.equal(1, #out)
    assert.equal("GET", out[1].method)
    assert.equal("http://svc.test/assets/a%2F1?v=1", out[1].url)
    assert.same({ "X-Key: k" }, out[1].headers)
    e:close()
  end)

  it("keeps an unchanged answer in C and backs off by the factor up to the cap", function()
    local e = engine()
    local a1 = obj("a1", "processing", nil)
    local key = e:poll_add(e:poll_class(GET), a1, false)
    local waits = {}
    for i = 1, 7 do
      e:advance(e:next_due())
      local out = sent(e)
      assert.equal(1, #out)
      assert.same({}, answer(e, out[1], 200, '{"data":{"status":"processing"}}'))
      waits[i] = e:next_due()
    end
    assert.same({ 3, 4.5, 6.75, 10.125, 15, 15, 15 }, waits)
    assert.equal(1, e:poll_count())
    -- a change reaches Lua, with the answer, and the next look is one first interval away
    e:advance(e:next_due())
    local ev = answer(e, sent(e)[1], 200, '{"data":{"status":"active"}}')
    assert.equal(1, #ev)
    assert.same({ key, "changed", 200 }, { ev[1].key, ev[1].event, ev[1].result.status })
    assert.equal(a1, ev[1].obj)
    assert.equal('{"data":{"status":"active"}}', ev[1].result.body)
    assert.equal(2, e:next_due())
    -- the status word compared is the object's own: until Lua applies the change, the same
    -- answer is a change again; once applied, it stays in C
    e:advance(e:next_due())
    assert.equal(1, #answer(e, sent(e)[1], 200, '{"data":{"status":"active"}}'))
    a1:_assign({ raw_status = "active" })
    e:advance(e:next_due())
    assert.same({}, answer(e, sent(e)[1], 200, '{"data":{"status":"active"}}'))
    assert.equal(key, e:poll_key(a1))
    assert.is_true(e:poll_remove(key))
    assert.is_nil(e:poll_key(a1))
    e:close()
  end)

  it("knows an object's poll on its own engine only, though another engine polls another in the same slot", function()
    local e1, e2 = engine(), engine()
    local a, b = obj("a1", "processing", nil), obj("b1", "processing", nil)
    local ka = e1:poll_add(e1:poll_class(GET), a, false)
    local kb = e2:poll_add(e2:poll_class(GET), b, false)
    assert.equal(ka, e1:poll_key(a))
    assert.equal(kb, e2:poll_key(b))
    assert.is_nil(e2:poll_key(a))
    assert.is_nil(e1:poll_key(b))
    -- a is not polled on e2, so e2 takes it; and the slot it had on e1 may go to another
    local ka2 = e2:poll_add(e2:poll_class(GET), a, false)
    assert.equal(ka2, e2:poll_key(a))
    assert.is_true(e1:poll_remove(ka))
    assert.is_nil(e1:poll_key(a))
    e1:poll_add(e1:poll_class(GET), obj("c1", "processing", nil), false)
    assert.is_nil(e1:poll_key(a))
    assert.equal(ka2, e2:poll_key(a))
    e1:close()
    e2:close()
  end)

  it("keeps every jittered delay within its bounds", function()
    local e = engine(12345)
    local g = get_with({ jitter = 0.2 })
    local cls = e:poll_class(g)
    local lo, hi = math.huge, 0
    for i = 1, 300 do
      local f = engine(i)
      f:poll_add(f:poll_class(g), obj("x", nil, nil), false)
      local d = f:next_due()
      lo, hi = math.min(lo, d), math.max(hi, d)
      f:close()
    end
    assert.is_true(lo >= 2 * 0.8 and hi <= 2 * 1.2, ("delays in [%g, %g]"):format(lo, hi))
    assert.is_true(hi - lo > 0.5, "jitter spreads the delays")
    -- the same seed gives the same delays
    local a, b = engine(99), engine(99)
    a:poll_add(a:poll_class(g), obj("x", nil, nil), false)
    b:poll_add(b:poll_class(g), obj("x", nil, nil), false)
    assert.equal(a:next_due(), b:next_due())
    a:close(); b:close()
    e:poll_add(cls, obj("y", nil, nil), true)
    assert.is_true(e:next_due() <= 1.2, "a fresh object is looked at after half the first interval")
    e:close()
  end)

  it("looks when the progress says the task will finish", function()
    local e = engine()
    local g = get_with({ first = 10, max = 30 })
    e:poll_add(e:poll_class(g), obj("t1", "running", 0), false)
    e:advance(e:next_due())
    answer(e, sent(e)[1], 200, '{"data":{"status":"running","progress":20}}')
    assert.equal(10, e:next_due())
    e:advance(10)
    answer(e, sent(e)[1], 200, '{"data":{"status":"running","progress":60}}')
    -- 40 points in 10 s: the rest would take 10 s too, which is the interval anyway
    assert.equal(10, e:next_due())
    e:advance(10)
    answer(e, sent(e)[1], 200, '{"data":{"status":"running","progress":90}}')
    -- 30 points in 10 s: the remaining 10 take 3.33 s
    assert.is_true(math.abs(e:next_due() - 10 / 3) < 1e-9, tostring(e:next_due()))
    e:close()
  end)

  it("aims the look at the finish the progress predicts, allowing for the round trip", function()
    local e = engine()
    local g = get_with({ first = 10, max = 30 })
    e:poll_add(e:poll_class(g), obj("t1", "running", 0), false)
    -- each answer comes back 0.2 s after its request went: the server read its progress
    -- 0.1 s before the answer arrived
    local function look(progress)
      e:advance(e:next_due())
      local out = sent(e)
      e:advance(0.2)
      answer(e, out[1], 200, ('{"data":{"status":"running","progress":%d}}'):format(progress))
    end
    look(20) -- read at 10.1
    look(60) -- sent at 20.2, read at 20.3
    look(90) -- sent at 30.4, read at 30.5
    -- 30 points in 10.2 s: the last 10 take 3.4 s, so it finishes at 33.9; the request is to
    -- reach the server then, so it goes at 33.8, 3.2 s after this answer (30.6)
    assert.is_true(math.abs(e:next_due() - 3.2) < 1e-9, tostring(e:next_due()))
    e:close()
  end)

  it("honours Retry-After on a failed look and tells Lua of the failure", function()
    local e = engine()
    local key = e:poll_add(e:poll_class(GET), obj("a1", "processing", nil), false)
    e:advance(2)
    local out = sent(e)
    assert.is_true(e:feed(out[1].id, { status = 503, headers = { ["retry-after"] = "7" },
                                        body = '{"message":"busy"}' }))
    -- the engine retries a GET itself first: answer each retry the same way
    for _ = 1, 10 do
      e:advance(e:next_due() or 0)
      out = sent(e)
      if #out == 0 then break end
      e:feed(out[1].id, { status = 503, headers = { ["retry-after"] = "7" }, body = '{"message":"busy"}' })
    end
    e:step()
    local ev = e:poll_events()
    assert.equal(1, #ev)
    assert.same({ key, "error", 503 }, { ev[1].key, ev[1].event, ev[1].result.status })
    assert.equal(7, e:next_due())
    e:close()
  end)

  it("refreshes many with a list round and finds those that left the pending list without a GET each", function()
    local e = engine()
    local g = get_with({ list = { urls = { "http://svc.test/list?status=processing&page={page}",
                                           "http://svc.test/list?status=active&page={page}" },
                                  items = "items", id = "id", status = "status", total = "total", page_size = 2,
                                  threshold = 1, first = 1, max = 4 } })
    local cls = e:poll_class(g)
    local keys = {}
    for i = 1, 3 do keys["a" .. i] = e:poll_add(cls, obj("a" .. i, "processing", nil), false) end
    e:advance(e:next_due())
    local out = sent(e)
    -- three pending, two a page: two pages of the pending status at once
    assert.same({ "http://svc.test/list?status=processing&page=1", "http://svc.test/list?status=processing&page=2" },
                { out[1].url, out[2].url })
    assert.same({}, answer(e, out[1], 200,
      '{"items":[{"id":"a1","status":"processing"},{"id":"a2","status":"processing"}],"total":2}'))
    assert.same({}, answer(e, out[2], 200, '{"items":[],"total":2}'))
    -- a3 left the pending list: its new status is looked for before it is fetched alone
    out = sent(e)
    assert.equal(1, #out)
    assert.equal("http://svc.test/list?status=active&page=1", out[1].url)
    local ev = answer(e, out[1], 200,
      '{"items":[{"id":"zz","status":"active"},{"id":"a3","status":"active","url":"u"}],"total":2}')
    assert.equal(1, #ev)
    assert.same({ keys.a3, "item", "active", '{"id":"a3","status":"active","url":"u"}' },
                { ev[1].key, ev[1].event, ev[1].status, ev[1].item })
    assert.same({}, sent(e)) -- no GET of its own
    e:poll_remove(keys.a3)
    -- the next round comes after the list's first interval (something changed)
    assert.equal(1, e:next_due())
    e:close()
  end)

  it("cancels a round's pages in flight when its last object goes, and starts afresh", function()
    local e = engine()
    local g = get_with({ list = { urls = { "http://svc.test/list?page={page}" }, items = "items", id = "id",
                                  status = "status", total = "total", page_size = 2, threshold = 1, first = 1,
                                  max = 4 } })
    local cls = e:poll_class(g)
    local keys = {}
    for i = 1, 4 do keys[i] = e:poll_add(cls, obj("a" .. i, "processing", nil), false) end
    e:advance(e:next_due())
    local out = sent(e)
    assert.equal(2, #out)
    -- every object ended elsewhere (a wait that saw them all finish): both pages serve nobody
    for _, k in ipairs(keys) do e:poll_remove(k) end
    assert.equal(0, e:busy())
    assert.is_nil(e:next_due())
    -- a late answer to a cancelled page is no one's
    assert.is_false(e:feed(out[1].id, { status = 200, body = '{"items":[],"total":0}' }))
    -- the next objects start at the list's first interval, not a failed round's backoff
    e:poll_add(cls, obj("b1", "processing", nil), false)
    assert.equal(1, e:next_due())
    e:close()
  end)

  it("reads as many list pages as its own pending objects fill, past max_pages", function()
    local e = engine()
    local g = get_with({ list = { urls = { "http://svc.test/list?page={page}" }, items = "items", id = "id",
                                  status = "status", total = "total", page_size = 2, max_pages = 2, threshold = 1,
                                  first = 1, max = 4 } })
    local cls = e:poll_class(g)
    for i = 1, 6 do e:poll_add(cls, obj("a" .. i, "processing", nil), false) end
    e:advance(e:next_due())
    local out = sent(e)
    -- six pending at two a page: three pages, though max_pages is 2
    assert.equal(3, #out)
    table.sort(out, function(a, b) return a.url < b.url end)
    for i, r in ipairs(out) do
      assert.equal("http://svc.test/list?page=" .. i, r.url)
      assert.same({}, answer(e, r, 200, ('{"items":[{"id":"a%d","status":"processing"},' ..
        '{"id":"a%d","status":"processing"}],"total":6}'):format(2 * i - 1, 2 * i)))
    end
    -- every one was on a page: none is fetched alone
    assert.same({}, sent(e))
    assert.equal(6, e:poll_count())
    e:close()
  end)

  it("paces list rounds from the start of the last one, however long its pages took", function()
    local e = engine()
    local g = get_with({ list = { urls = { "http://svc.test/list?page={page}" }, items = "items", id = "id",
                                  status = "status", threshold = 1, first = 1, max = 4 } })
    local cls = e:poll_class(g)
    e:poll_add(cls, obj("a1", "processing", nil), false)
    e:advance(e:next_due())
    local t0 = e:now()
    local out = sent(e)
    assert.equal(1, #out)
    -- the page takes 0.4 s to come back, and nothing changed: the interval grows to 1.5 s,
    -- counted from when the round started
    e:advance(0.4)
    assert.same({}, answer(e, out[1], 200, '{"items":[{"id":"a1","status":"processing"}]}'))
    assert.is_true(math.abs(e:next_due() - (t0 + 1.5 - e:now())) < 1e-9, tostring(e:next_due()))
    -- a round slower than its interval is followed by the next at once
    e:advance(e:next_due())
    out = sent(e)
    e:advance(3)
    answer(e, out[1], 200, '{"items":[{"id":"a1","status":"processing"}]}')
    out = e:outbox()
    assert.equal(1, #out)
    assert.equal("http://svc.test/list?page=1", out[1].url)
    e:close()
  end)

  it("finds each object a list names by its id, after many others were added and removed", function()
    local e = engine()
    local g = get_with({ list = { urls = { "http://svc.test/list?page={page}" }, items = "items", id = "id",
                                  status = "status", page_size = 1000, threshold = 1, first = 1, max = 4 } })
    local cls = e:poll_class(g)
    local keys, objs, items = {}, {}, {}
    local function add(id)
      objs[id] = obj(id, "processing", nil)
      keys[id] = e:poll_add(cls, objs[id], false)
    end
    -- enough to grow the class's id table and the anchors several times, then holes all
    -- over both, and new ones in the holes
    for i = 1, 2100 do add("a" .. i) end
    for i = 1, 2100 do
      if i % 3 ~= 0 then
        e:poll_remove(keys["a" .. i])
        keys["a" .. i] = nil
      end
    end
    for i = 1, 300 do add("b" .. i) end
    assert.equal(1000, e:poll_count())
    local changed = { a1500 = true, b150 = true, a3 = true }
    for id in pairs(keys) do
      items[#items + 1] = ('{"id":"%s","status":"%s"}'):format(id, changed[id] and "active" or "processing")
    end
    e:advance(e:next_due())
    local out = sent(e)
    assert.equal(1, #out)
    local ev = answer(e, out[1], 200, '{"items":[' .. table.concat(items, ",") .. '],"total":1000}')
    -- those that changed are told of, with their own key and object; every other one was
    -- found on the page
    local got = {}
    for _, v in ipairs(ev) do
      assert.same({ "item", "active" }, { v.event, v.status })
      local id = v.item:match('"id":"(%w+)"')
      assert.equal(keys[id], v.key)
      assert.equal(objs[id], v.obj)
      got[id] = true
    end
    assert.same(changed, got)
    assert.same({}, sent(e))
    e:close()
  end)

  it("fetches alone what no list names, and drops an unheld object after max_age", function()
    local e = engine()
    local g = get_with({ max_age = 5,
                         list = { urls = { "http://svc.test/list?page={page}" }, items = "items", id = "id",
                                  status = "status", threshold = 2, first = 1, max = 4 } })
    local cls = e:poll_class(g)
    local k1 = e:poll_add(cls, obj("a1", "processing", nil), false)
    e:poll_add(cls, obj("a2", "processing", nil), false)
    -- the round comes at the list's pace (1 s); a1, added before there were enough for a
    -- list, keeps its own timer until its first look
    e:advance(e:next_due())
    local out = sent(e)
    assert.equal(1, #out)
    assert.equal("http://svc.test/list?page=1", out[1].url)
    assert.same({}, answer(e, out[1], 200, '{"items":[{"id":"a1","status":"processing"}]}'))
    out = sent(e) -- a2 is on no list: fetched alone, at once
    assert.equal(1, #out)
    assert.equal("http://svc.test/assets/a2?v=1", out[1].url)
    answer(e, out[1], 200, '{"data":{"status":"processing"}}')
    -- held objects stay; an unheld one is let go once older than max_age
    e:poll_hold(k1, 1)
    e:advance(6)
    for _ = 1, 6 do
      for _, r in ipairs(sent(e)) do
        if r.url:find("list", 1, true) then answer(e, r, 200, '{"items":[]}')
        else answer(e, r, 200, '{"data":{"status":"processing"}}') end
      end
      e:advance(e:next_due() or 1)
    end
    assert.equal(1, e:poll_count()) -- a2 went (age), a1 stays (held)
    e:close()
  end)
end)
