/* fuzz_answers.c: random and mutated service answers (issue 12). Each input is one answer
 * body; its length picks the dialect and the HTTP status it comes with. Two readers get it:
 *  1. the dialect's parse functions and the response path (status, classify, error
 *     fields), through the Lua the library runs (fuzz/fuzz_answers.lua), with the C core
 *     (seedance.core, built into this binary with the sanitizers) preloaded: objects made
 *     from what the guard let through are real userdata. A Lua error escaping the guard, or
 *     a result that breaks its promises (an id that is not a non-empty string...), aborts.
 *  2. the C reader the poll scheduler uses on answers (json.c), walked the way sched.c
 *     walks it: the dotted paths of every dialect's poll templates, list items, numbers.
 * Any abort, sanitizer report or leak is a crash to libFuzzer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "json.h"

#ifndef FUZZ_ROOT
#define FUZZ_ROOT "."
#endif

int luaopen_seedance_core(lua_State *L);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;
static int fuzz_one; /* registry ref of the Lua side's function */
static sd_json json;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    L = luaL_newstate();
    luaL_openlibs(L);
    /* the sanitized core built into this binary, not the build/ one */
    luaL_getsubtable(L, LUA_REGISTRYINDEX, "_PRELOAD");
    lua_pushcfunction(L, luaopen_seedance_core);
    lua_setfield(L, -2, "seedance.core");
    lua_pop(L, 1);
    lua_getglobal(L, "package");
    lua_pushstring(L, FUZZ_ROOT "/lua/?.lua;" FUZZ_ROOT "/lua/?/init.lua");
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    if (luaL_dofile(L, FUZZ_ROOT "/fuzz/fuzz_answers.lua") != 0) {
        fprintf(stderr, "fuzz_answers.lua: %s\n", lua_tostring(L, -1));
        abort();
    }
    if (!lua_isfunction(L, -1)) abort();
    fuzz_one = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* the dotted paths the dialects' poll and list templates name (D.poll, D.list_pending) */
static const char *const PATHS[] = {"status", "data.status", "data.progress", "progress", "id", "Id",
                                    "Status", "items", "Items", "total", "TotalCount", "asset_id",
                                    "Result.Items", "data.items", "a.b.c.d", "", NULL};

static void walk_json(const char *s, size_t len)
{
    int i, k, n;
    size_t a, b, bl;
    double d;
    const char *bytes;
    if (sd_json_parse(&json, s, len) != 0) return;
    for (i = 0; PATHS[i]; i++) {
        int t = sd_json_path(&json, 0, PATHS[i]);
        if (t < 0) continue;
        bytes = sd_json_bytes(&json, t, &bl);
        if (bytes && bl > 0) (void)bytes[bl - 1];
        (void)sd_json_number(&json, t, &d);
        if (sd_json_span(&json, t, &a, &b) == 0 && (a > b || b > len)) abort();
        if (sd_json_type(&json, t) == SD_J_ARRAY || sd_json_type(&json, t) == SD_J_OBJECT) {
            /* as sched.c walks a page: each item, its id and status */
            n = sd_json_size(&json, t);
            for (k = t + 1; n-- > 0 && k > 0; k = sd_json_skip(&json, k)) {
                int id = sd_json_path(&json, k, "id"), st = sd_json_path(&json, k, "status");
                if (id >= 0) {
                    bytes = sd_json_bytes(&json, id, &bl);
                    if (bytes && bl > 0) (void)bytes[bl - 1];
                }
                if (st >= 0) (void)sd_json_number(&json, st, &d);
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walk_json((const char *)data, size);
    lua_rawgeti(L, LUA_REGISTRYINDEX, fuzz_one);
    lua_pushlstring(L, (const char *)data, size);
    if (lua_pcall(L, 1, 0, 0) != 0) {
        fprintf(stderr, "fuzz_answers: %s\n", lua_tostring(L, -1));
        abort();
    }
    /* a full collection now and then keeps finalizers (object __gc) under the sanitizers */
    if ((size & 63) == 0) lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
