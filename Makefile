# seedance: build the C core for one Lua, run the demo and the specs.
#   make            build for $(LUA) (default lua5.4)
#   make demo       the examples, on the embedded emulator unless SEEDANCE_API_KEY is set
#   make test       the busted suite, ending with "N passed, N failed"
#   make LUA=luajit test   the same against LuaJIT (also lua5.1, lua5.3)

LUA       ?= lua5.4
CC        ?= cc
LUA_PC    := $(if $(filter luajit,$(LUA)),luajit,$(LUA))
LUA_CFLAGS = $(shell pkg-config --cflags $(LUA_PC) 2>/dev/null)
CURL_CFLAGS = $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS   = $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
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

.PHONY: all deps demo test check-memory lint clean

all: $(CORE_SO) $(EMU_SO)

# a fresh Debian machine gets its packages on the first `make demo` or `make test`
DEPS_STAMP = build/.deps
$(DEPS_STAMP): scripts/deps.sh
	@sh scripts/deps.sh
	@mkdir -p build && touch $@
deps: $(DEPS_STAMP)

$(BUILD)/obj/%.o: %.c $(wildcard src/*.h src/*/*.h) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CURL_CFLAGS) $(MHD_CFLAGS) -c $< -o $@

$(CORE_SO): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SHARED) $(LDFLAGS) -o $@ $^ $(CURL_LIBS) -lm

$(EMU_SO): $(EMU_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SHARED) $(LDFLAGS) -o $@ $^ $(MHD_LIBS) -lpthread -lm

demo: $(DEPS_STAMP) all
	@$(LUA) examples/demo.lua

test: $(DEPS_STAMP) all
	@$(LUA) $(BUSTED) --output=spec/support/summary.lua $(SPECS)

# The whole suite under valgrind's memcheck; errors in our objects fail the run.
check-memory: all
	@valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  --suppressions=spec/support/valgrind.supp \
	  $(LUA) $(BUSTED) --output=spec/support/summary.lua $(SPECS)

lint:
	@luacheck lua spec examples bin

clean:
	rm -rf build
