# seedance: build the C core for one Lua, run the demo and the specs.
#   make            build for $(LUA) (default lua5.4)
#   make demo       the examples, on the embedded emulator unless SEEDANCE_API_KEY is set
#   make test       the busted suite, ending with "N passed, N failed"
#   make LUA=luajit test   the same against LuaJIT (also lua5.1, lua5.3)
#   make matrix     make test under every Lua installed here, one summary line each
#   make lint       luacheck (portable globals only, see .luacheckrc)
#   make docs       LDoc HTML in build/docs/, failing on an undocumented public function
#   make rock       both rocks (seedance, then seedance-emulator) into a temporary tree, used
#                   from there; first the library alone where libmicrohttpd-dev is hidden

LUA       ?= lua5.4
CC        ?= cc
LUA_PC    := $(if $(filter luajit,$(LUA)),luajit,$(LUA))
LUA_CFLAGS = $(shell pkg-config --cflags $(LUA_PC) 2>/dev/null)
CURL_CFLAGS = $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS   = $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
CRYPTO_CFLAGS = $(shell pkg-config --cflags libcrypto 2>/dev/null)
CRYPTO_LIBS   = $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)
SQLITE_CFLAGS = $(shell pkg-config --cflags sqlite3 2>/dev/null)
SQLITE_LIBS   = $(shell pkg-config --libs sqlite3 2>/dev/null || echo -lsqlite3)
HIREDIS_CFLAGS = $(shell pkg-config --cflags hiredis 2>/dev/null)
HIREDIS_LIBS   = $(shell pkg-config --libs hiredis 2>/dev/null || echo -lhiredis)
MHD_CFLAGS  = $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS    = $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)

WARN     = -Wall -Wextra -pedantic -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -fPIC $(WARN) $(CFLAGS) $(LUA_CFLAGS)
LDFLAGS ?=
SHARED   = -shared

BUILD    = build/$(LUA)
CORE_SRC = $(wildcard src/*.c) $(wildcard src/probe/*.c)
EMU_SRC  = $(wildcard src/emulator/*.c)
CORE_OBJ = $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
EMU_OBJ  = $(EMU_SRC:%.c=$(BUILD)/obj/%.o)
CORE_SO  = $(BUILD)/seedance/core.so
EMU_SO   = $(BUILD)/seedance/emucore.so

export LUA_PATH  := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/support/?.lua;;
export LUA_CPATH := $(CURDIR)/$(BUILD)/?.so;;

BUSTED  ?= /usr/bin/busted
SPECS   ?= spec

.PHONY: all deps demo test check-memory lint docs matrix clean bench soak

all: $(CORE_SO) $(EMU_SO)

# a fresh Debian machine gets its packages (and $(LUA)'s) on the first `make demo` or `make test`
DEPS_STAMP = build/.deps-$(LUA)
$(DEPS_STAMP): scripts/deps.sh
	@LUA=$(LUA) sh scripts/deps.sh
	@mkdir -p build && touch $@
deps: $(DEPS_STAMP)

$(BUILD)/obj/%.o: %.c $(wildcard src/*.h src/*/*.h) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS) $(SQLITE_CFLAGS) $(HIREDIS_CFLAGS) $(MHD_CFLAGS) -c $< -o $@

$(CORE_SO): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SHARED) $(LDFLAGS) -o $@ $^ $(CURL_LIBS) $(CRYPTO_LIBS) $(SQLITE_LIBS) $(HIREDIS_LIBS) -lm

$(EMU_SO): $(EMU_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SHARED) $(LDFLAGS) -o $@ $^ $(MHD_LIBS) -lpthread -lm

demo: $(DEPS_STAMP) all
	@$(LUA) examples/demo.lua

test: $(DEPS_STAMP) all
	@$(LUA) $(BUSTED) --output=spec/support/summary.lua $(SPECS)

# The whole suite under valgrind's memcheck; errors in our objects fail the run.
# The suite under valgrind's memcheck: every spec that runs seedance in this process (the
# ones driving nginx, LÖVE, LuaRocks or the CLI run it in child processes valgrind does not see)
MEMCHECK_SPECS ?= $(filter-out spec/love_spec.lua spec/openresty_spec.lua spec/luarocks_spec.lua spec/cli_spec.lua spec/examples_spec.lua,\
                  $(wildcard spec/*_spec.lua))
check-memory: all
	@valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  --suppressions=spec/support/valgrind.supp \
	  $(LUA) $(BUSTED) --output=spec/support/summary.lua $(MEMCHECK_SPECS)

# bin/ scripts have no .lua suffix, so luacheck is handed them by name
BIN_LUA = $(shell grep -l '^.!.*lua' bin/* 2>/dev/null)
lint:
	@command -v luacheck >/dev/null || { echo "make lint: needs lua-check (sh scripts/deps.sh --all)"; exit 1; }
	@luacheck lua spec examples fuzz $(BIN_LUA)

# ldoc's warnings go to stderr (its stdout is chatter); the second run is the coverage check,
# an ldoc filter (scripts/ldoc_check.lua). ldoc runs on its own Lua, whatever $(LUA) is.
docs:
	@command -v ldoc >/dev/null || { echo "make docs: needs lua-ldoc and lua-markdown (sh scripts/deps.sh --all)"; exit 1; }
	@ldoc --fatalwarnings . >/dev/null
	@LUA_PATH="$(CURDIR)/scripts/?.lua;;" ldoc --filter ldoc_check.run . >/dev/null
	@echo "docs: build/docs/index.html"

# One line per interpreter; logs in build/matrix/. Fails when any run fails.
MATRIX ?= lua5.4 lua5.3 lua5.1 luajit
matrix:
	@mkdir -p build/matrix; rc=0; \
	for l in $(MATRIX); do \
	  if ! command -v $$l >/dev/null 2>&1 || ! pkg-config --exists $$l; then \
	    printf '%-7s not installed (scripts/deps.sh --all)\n' $$l; continue; fi; \
	  $(MAKE) --no-print-directory LUA=$$l test > build/matrix/$$l.log 2>&1 || rc=1; \
	  line=$$(grep -E '^[0-9]+ passed, [0-9]+ failed' build/matrix/$$l.log | tail -n 1); \
	  if [ -z "$$line" ]; then line="did not finish"; rc=1; fi; \
	  case "$$line" in *" 0 failed"*) ;; *) line="$$line (build/matrix/$$l.log)";; esac; \
	  printf '%-7s %s\n' $$l "$$line"; \
	done; exit $$rc

# LuaRocks offline, as a new Debian user runs it: `luarocks make` of both rockspecs from a clean copy into a
# temporary tree, then scripts/rock_smoke.lua on that tree alone (ROCK_TREE=dir keeps one).
.PHONY: rock
rock: $(DEPS_STAMP)
	@sh scripts/rock.sh $(ROCK_TREE)

clean:
	rm -rf build

# ---- media probing: fuzzing and sanitizers (issue 5) ---------------------------------------
#   make fuzz         each libFuzzer target for FUZZ_TIME seconds (seeds: spec/fixtures/probe/<t>,
#                     new inputs kept in build/fuzz/corpus/<t>, crashes in build/fuzz/artifacts);
#                     fuzz_answers (issue 12): service answers through every dialect's parse
#                     functions and the C answer reader, seeded with spec/fixtures/<provider>/
#   make check-asan   the core built with -fsanitize=address,undefined, the busted suite run on it.
#                     The lua binary is not instrumented, so libasan is LD_PRELOADed. Leak
#                     detection is off (detect_leaks=0): busted ends with os.exit, which skips
#                     lua_close, so every live Lua object would be reported; leaks are what
#                     `make check-memory` (valgrind) is for.
FUZZ_CC      ?= clang
FUZZ_TIME    ?= 60
FUZZ_FLAGS   ?= -max_len=8192
FUZZ_TARGETS  = image heif mp4 audio answers
FUZZ_LUA     ?= lua5.4
ANSWER_SEEDS  = $(addprefix spec/fixtures/,anyfast ark crun orcarouter piapi sunra)
FUZZ_SRC      = $(filter-out src/probe/probe_lua.c,$(wildcard src/probe/*.c))
FUZZ_BIN      = $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
ASAN_FLAGS    = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_BUILD    = build/asan-$(LUA)
ASAN_LIB      = $(shell $(CC) -print-file-name=libasan.so)
# Left out of check-asan: the LÖVE example runs Debian's love, a separate LuaJIT process on the
# uninstrumented luajit build; with libasan preloaded (inherited) it hangs in Mesa's swrast
# threads, deaf to timeout's TERM, and there is nothing of ours in it for ASan to see.
ASAN_SKIP    ?= spec/love_spec.lua
ASAN_SPECS    = $(if $(filter spec spec/,$(SPECS)),$(filter-out $(ASAN_SKIP),$(sort $(wildcard spec/*_spec.lua))),$(SPECS))

.PHONY: fuzz fuzz-build check-asan

build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(FUZZ_SRC) $(wildcard src/probe/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c99 -D_POSIX_C_SOURCE=200809L -g -O2 $(WARN) -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=all -Isrc/probe $(FUZZ_SRC) $< -lm -o $@

# the whole C core, sanitized, inside the fuzzer (preloaded as seedance.core), and a Lua to
# run the dialects in; the Lua side is fuzz/fuzz_answers.lua
build/fuzz/fuzz_answers: fuzz/fuzz_answers.c fuzz/fuzz_answers.lua $(CORE_SRC) $(wildcard src/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c99 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 $(WARN) \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DFUZZ_ROOT='"$(CURDIR)"' -Isrc \
	  $(shell pkg-config --cflags $(FUZZ_LUA)) $(CURL_CFLAGS) $(CRYPTO_CFLAGS) $(SQLITE_CFLAGS) $(HIREDIS_CFLAGS) \
	  $(CORE_SRC) $< -o $@ $(shell pkg-config --libs $(FUZZ_LUA)) $(CURL_LIBS) $(CRYPTO_LIBS) $(SQLITE_LIBS) \
	  $(HIREDIS_LIBS) -lm

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@mkdir -p build/fuzz/artifacts
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t; \
	  seeds=spec/fixtures/probe/$$t; extra=; \
	  if [ $$t = answers ]; then seeds="$(ANSWER_SEEDS)"; extra=-dict=fuzz/answers.dict; fi; \
	  build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) $(FUZZ_FLAGS) $$extra -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/artifacts/$$t- build/fuzz/corpus/$$t $$seeds \
	    > build/fuzz/$$t.log 2>&1; rc=$$?; \
	  printf 'fuzz_%-7s %s executions, exit %s\n' $$t \
	    "$$(sed -n 's/^stat::number_of_executed_units: *//p' build/fuzz/$$t.log)" $$rc; \
	  if [ $$rc -ne 0 ]; then tail -n 40 build/fuzz/$$t.log; exit $$rc; fi; \
	done

check-asan:
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CFLAGS="-O1 -g $(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" all
	@LD_PRELOAD=$(ASAN_LIB) ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  LUA_CPATH="$(CURDIR)/$(ASAN_BUILD)/?.so;;" \
	  $(LUA) $(BUSTED) --output=spec/support/summary.lua $(ASAN_SPECS)

# Benchmarks (bench/run.lua): peers, fleet, raw, memory, latency; writes bench/RESULTS.md;
# then the store's bookkeeping CPU for 10,000 keyed creates and per record as it grows
bench: $(DEPS_STAMP) all
	@sh scripts/deps.sh --bench
	@$(LUA) bench/run.lua
	@$(LUA) bench/store.lua sqlite
	@$(LUA) bench/store.lua redis

# Soak: 1,000 assets and 200 tasks under injected faults (bench/soak.lua), a few minutes;
# then the fleet: 4 workers on one store (SQLite, then Redis restarted mid-run), SIGKILLed
# at random (bench/fleet.lua)
soak: $(DEPS_STAMP) all
	@$(LUA) bench/soak.lua
	@LUA=$(LUA) $(LUA) bench/crash_resume.lua
	@LUA=$(LUA) $(LUA) bench/fleet.lua
