--- The Client package: one class, its methods in parts by what they serve. Each part is
-- loaded here, so a Client has every method whichever module required it first.
--   base    the class: options, credentials, the call path, tracking
--   assets  the reference-asset library: upload, fetch, list, quota, delete
--   groups  groups and real-person verification sessions
--   tasks   generation: render, route, create, fetch
-- @module seedance.client
local M = require "seedance.client.base"
require "seedance.client.assets"
require "seedance.client.groups"
require "seedance.client.tasks"

return M
