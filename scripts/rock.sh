#!/bin/sh
# `make rock`: LuaRocks the way a new user on Debian runs it, offline.
#   sh scripts/rock.sh [TREE]        nomhd, build, then check; without TREE a temporary tree
#   sh scripts/rock.sh build TREE    `luarocks make` from a clean copy of this checkout into TREE:
#                                    the library rock (seedance), then the emulator rock beside it
#   sh scripts/rock.sh check TREE    scripts/rock_smoke.lua with only TREE on the paths
#   sh scripts/rock.sh nomhd TREE    the library rock alone, built where libmicrohttpd-dev is
#                                    gone (its header, static and linker libraries and .pc
#                                    hidden in a user+mount namespace), then the emulator rock
#                                    there, which must fail: proof the library needs no MHD
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

copy() {
  src=$(mktemp -d)
  tar -C "$ROOT" --exclude=./.git --exclude=./build --exclude=./out --exclude=./seedance \
    --exclude='*.o' --exclude='*.so' -cf - . | tar -C "$src" -xf -
}

build() {
  tree=$(absolute "$1")
  copy
  start=$(date +%s)
  rc=0
  for spec in seedance-scm-1.rockspec seedance-emulator-scm-1.rockspec; do
    (cd "$src" && luarocks --lua-version "$LUAV" make --tree "$tree" "$spec") || { rc=$?; break; }
  done
  rm -rf "$src"
  [ "$rc" -eq 0 ] || { echo "rock: luarocks make failed ($rc)" >&2; exit "$rc"; }
  echo "rock: installed into $tree in $(($(date +%s) - start)) s"
}

# The files of Debian's libmicrohttpd-dev (the runtime libmicrohttpd12 stays, as on any machine)
MHD_DEV="/usr/include/microhttpd.h"
for f in /usr/lib/*/libmicrohttpd.so /usr/lib/*/libmicrohttpd.a /usr/lib/*/pkgconfig/libmicrohttpd.pc \
         /usr/lib/libmicrohttpd.so /usr/lib/libmicrohttpd.a; do
  [ -e "$f" ] && MHD_DEV="$MHD_DEV $f"
done

nomhd() {
  tree=$(absolute "$1")
  command -v unshare >/dev/null 2>&1 || { echo "rock: nomhd needs unshare (util-linux)" >&2; exit 1; }
  copy
  rc=0
  # /dev/null over each file: an include or a link of libmicrohttpd finds nothing it can use
  LUAV="$LUAV" MHD_DEV="$MHD_DEV" unshare --user --map-root-user --mount sh -c '
    for f in $MHD_DEV; do [ -e "$f" ] && mount --bind /dev/null "$f"; done
    if pkg-config --exists libmicrohttpd 2>/dev/null && [ -s /usr/include/microhttpd.h ]; then
      echo "rock: libmicrohttpd-dev is still visible" >&2; exit 3
    fi
    echo "rock: libmicrohttpd-dev hidden: $MHD_DEV"
    cd "$0" && luarocks --lua-version "$LUAV" make --tree "$1" seedance-scm-1.rockspec || exit 4
    echo "rock: the library rock built without libmicrohttpd-dev"
    if luarocks --lua-version "$LUAV" make --tree "$1" seedance-emulator-scm-1.rockspec >/dev/null 2>&1; then
      echo "rock: the emulator rock built too: libmicrohttpd-dev was not hidden" >&2; exit 5
    fi
    echo "rock: the emulator rock needs libmicrohttpd-dev, as it should"' "$src" "$tree" || rc=$?
  rm -rf "$src"
  [ "$rc" -eq 0 ] || { echo "rock: nomhd failed ($rc)" >&2; exit "$rc"; }
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
  nomhd) nomhd "${2:?rock.sh nomhd TREE}" ;;
  "")
    bare=$(mktemp -d)
    tree=$(mktemp -d)
    trap 'rm -rf "$tree" "$bare"' EXIT
    nomhd "$bare"
    build "$tree"
    check "$tree"
    ;;
  *) build "$1"; check "$1" ;;
esac
