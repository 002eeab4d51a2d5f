#!/bin/sh
# Installs the Debian packages seedance builds and tests with, when any is missing.
# Used by `make demo`, `make test` and CI; needs root or sudo on a fresh machine.
set -eu
PKGS="build-essential pkg-config lua5.4 liblua5.4-dev libcurl4-openssl-dev lua-cjson lua-busted
libmicrohttpd-dev libssl-dev lua-socket libsqlite3-dev sqlite3 libhiredis-dev libjsmn-dev"
# LuaJIT is OpenResty's branch (luajit2): nginx's Lua module needs it and conflicts with Debian's luajit
[ "${1:-}" = "--all" ] && PKGS="$PKGS luajit2 libluajit2-5.1-dev lua-check valgrind nginx libnginx-mod-http-lua
lua5.3 liblua5.3-dev lua5.1 liblua5.1-0-dev lua-ldoc lua-markdown love xvfb xauth luarocks redis-server chromium"
# the interpreter and headers of `make LUA=...` (the Makefile passes LUA)
case "${LUA:-}" in
  lua5.1) PKGS="$PKGS lua5.1 liblua5.1-0-dev" ;;
  lua5.3) PKGS="$PKGS lua5.3 liblua5.3-dev" ;;
  luajit) PKGS="$PKGS luajit2 libluajit2-5.1-dev" ;;
esac
[ "${1:-}" = "--bench" ] && PKGS="$PKGS python3 python3-requests wrk"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "seedance: installing Debian packages:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "seedance: run as root or install:$missing" >&2; exit 1; }
  SUDO="sudo"
fi
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
