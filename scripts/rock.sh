#!/bin/sh
# `make rock`: LuaRocks the way a new user on Debian runs it, offline.
#   sh scripts/rock.sh [TREE]        build, then check; without TREE a temporary tree, removed
#   sh scripts/rock.sh build TREE    `luarocks make` from a clean copy of this checkout into TREE
#   sh scripts/rock.sh check TREE    scripts/rock_smoke.lua with only TREE on the paths
# The copy keeps LuaRocks' in-place objects (src/*.o, seedance/*.so) out of the checkout that
# `make` and other runs are using. ROCK_LUA_VERSION picks the Lua (default 5.4).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LUAV=${ROCK_LUA_VERSION:-5.4}
# scripts/luarocks_debian.lua: lua-cjson and busted come from apt, so nothing is downloaded
export LUAROCKS_CONFIG="$ROOT/scripts/luarocks_debian.lua"
unset LUAROCKS_CONFIG_5_1 LUAROCKS_CONFIG_5_2 LUAROCKS_CONFIG_5_3 LUAROCKS_CONFIG_5_4 2>/dev/null || true

command -v luarocks >/dev/null 2>&1 || { echo "rock: needs luarocks (sh scripts/deps.sh --all)" >&2; exit 1; }

absolute() { mkdir -p "$1" && (cd "$1" && pwd); }

build() {
  tree=$(absolute "$1")
  src=$(mktemp -d)
  tar -C "$ROOT" --exclude=./.git --exclude=./build --exclude=./out --exclude=./seedance \
    --exclude='*.o' --exclude='*.so' -cf - . | tar -C "$src" -xf -
  start=$(date +%s)
  rc=0
  (cd "$src" && luarocks --lua-version "$LUAV" make --tree "$tree" seedance-scm-1.rockspec) || rc=$?
  rm -rf "$src"
  [ "$rc" -eq 0 ] || { echo "rock: luarocks make failed ($rc)" >&2; exit "$rc"; }
  echo "rock: installed into $tree in $(($(date +%s) - start)) s"
}

check() {
  tree=$(absolute "$1")
  # from inside the tree, so ./?.lua cannot reach the checkout's lua/
  (cd "$tree" && eval "$(luarocks --lua-version "$LUAV" path --tree "$tree")" &&
    "lua$LUAV" "$ROOT/scripts/rock_smoke.lua" "$tree")
}

case "${1:-}" in
  build) build "${2:?rock.sh build TREE}" ;;
  check) check "${2:?rock.sh check TREE}" ;;
  "")
    tree=$(mktemp -d)
    trap 'rm -rf "$tree"' EXIT
    build "$tree"
    check "$tree"
    ;;
  *) build "$1"; check "$1" ;;
esac
