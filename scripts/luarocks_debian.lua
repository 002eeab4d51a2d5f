-- A LuaRocks config for Debian machines, where apt already provides seedance's rock
-- dependencies: lua-cjson (package lua-cjson) and busted (package lua-busted). LuaRocks cannot
-- see apt packages, so without this it tries to download them from luarocks.org (and fails
-- offline). Point LuaRocks at this file for one command or a shell session:
--   export LUAROCKS_CONFIG=$PWD/scripts/luarocks_debian.lua
--   luarocks --lua-version 5.4 make --tree ~/seedance-rocks
--   luarocks --lua-version 5.4 test
-- The system config (/etc/luarocks) still applies; a personal ~/.luarocks config is skipped
-- while the variable is set. Versions are Debian bookworm's; the rockspec pins none.
rocks_provided = {
  ["lua-cjson"] = "2.1.0-1",
  busted = "2.1.1-1",
}
