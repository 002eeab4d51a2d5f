-- Echoed secrets (issue 12): a server that echoes the API key (or a request's signature) in
-- an error code, a request id header, a plain-text body or a per-item result never gets it
-- into any field of an error, its tostring, or a debug log line; nor a piece of it that a
-- length limit cut off.
local hostile = require "hostile"
local helpers = require "helpers"
local seedance = require "seedance"

local KEY = "sk-echoed-0123456789abcdef-SECRET"
local SK = "SKechoedSecretKey0123456789"

-- no piece of `secret` of 8 bytes or more anywhere in `s`
local function no_piece(secret, s, what)
  for n = 8, #secret do
    for i = 1, #secret - n + 1, 4 do
      local piece = secret:sub(i, i + n - 1)
      assert.is_nil(s:find(piece, 1, true), (what or "") .. ": a piece of the secret shows: " .. piece)
    end
  end
end

-- every string an error holds, joined: fields, deep tables, tostring
local function all_text(e)
  local parts, seen = { tostring(e) }, {}
  local function walk(v)
    if type(v) == "string" then parts[#parts + 1] = v
    elseif type(v) == "table" and not seen[v] then
      seen[v] = true
      for k, x in pairs(v) do walk(k); walk(x) end
    end
  end
  walk(e)
  return table.concat(parts, "\n")
end

describe("echoed secrets", function()
  local srv
  setup(function()
    -- the path says how to echo; the key comes back from the request's own header
    srv = hostile.start([[
      return function(req)
        local key = req.headers["x-api-key"] or ""
        local sig = (req.headers.authorization or ""):match("Signature=(%x+)") or ""
        local mode = req.path:match("/api/v1/asset/([%w_]+)") or req.path
        if mode == "code" then
          return { status = 400, body = '{"error":{"code":"' .. key .. '","message":"bad key"}}' }
        elseif mode == "rid" then
          return { status = 500, headers = { "X-Request-Id: rid-" .. key }, body = '{"error":"busy"}' }
        elseif mode == "text" then
          return { status = 502, body = "upstream said: your key " .. key .. " is not welcome" }
        elseif mode == "cut" then
          -- the key straddles the 200th byte of the body, where the message snippet ends
          return { status = 502, body = string.rep("x", 190) .. key .. " trailing" }
        elseif mode == "cut300" then
          -- the key straddles the 300th byte, where a debug line cuts a body
          return { status = 502, body = string.rep("x", 290) .. key .. " trailing" }
        elseif mode == "deep" then
          return { status = 422, body = '{"error":{"message":"no","details":[{"k":"' .. key .. '"}]}}' }
        elseif req.path == "/api/v1/asset/delete" then
          return { status = 200, body = '{"results":[{"asset_id":"a-1","status":"failed","error":"key '
                   .. key .. ' may not delete"}]}' }
        elseif sig ~= "" then
          return { status = 403, body = '{"ResponseMetadata":{"RequestId":"r-' .. sig .. '","Error":{"Code":"Sig'
                   .. sig .. '","Message":"expected signature ' .. sig .. ' for ' .. sig:sub(1, 20) .. '"}}}' }
        end
        return { status = 404, body = "{}" }
      end]])
  end)
  teardown(function() srv:stop() end)

  it("are not in any field of an error, nor in tostring, whole or cut", function()
    local c = seedance.new({ provider = "piapi", api_key = KEY, base_url = srv.url, retries = 0 })
    local errs = {}
    for _, mode in ipairs({ "code", "rid", "text", "cut", "deep" }) do
      local _, err = c:asset(mode)
      assert.is_true(seedance.is_error(err), mode)
      errs[#errs + 1] = err
      no_piece(KEY, all_text(err), mode)
    end
    helpers.assert_errors_hide(KEY, errs)
    -- fields the library adds after the error was made are scrubbed too
    local ok, derr = c:delete_many({ "a-1" })
    assert.is_nil(ok)
    no_piece(KEY, all_text(derr), "delete_many results")
    c:close()
  end)

  it("a request's signature echoed back is not shown either (Ark's signed control plane)", function()
    local c = seedance.new({ provider = "ark", api_key = KEY, base_url = srv.url, control_url = srv.url,
                             access_key = "AKechoed", secret_key = SK, retries = 0 })
    local _, err = c:asset("a-1")
    assert.is_true(seedance.is_error(err))
    local text = all_text(err)
    local sent = srv:requests()
    local sig = sent[#sent].headers.authorization:match("Signature=(%x+)")
    assert.is_string(sig)
    assert.is_nil(text:find(sig, 1, true), "the signature shows")
    assert.is_nil(text:find(sig:sub(1, 20), 1, true), "a piece of the signature shows")
    no_piece(SK, text, "secret key")
    c:close()
  end)

  it("are not in a debug log line, even where the line is cut", function()
    local script = os.tmpname()
    helpers.write(script, ([[
      local seedance = require "seedance"
      local c = seedance.new({ provider = "piapi", api_key = %q, base_url = %q, retries = 0 })
      c:asset("cut300")
      c:asset("text")
    ]]):format(KEY, srv.url))
    local lua = arg and arg[-1] or "lua5.4"
    local out = helpers.capture("SEEDANCE_DEBUG=1 " .. lua .. " " .. script)
    os.remove(script)
    assert.matches("HTTP 502", out)
    no_piece(KEY, out, "debug log")
  end)
end)
