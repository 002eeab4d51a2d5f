/* core.c: luaopen_seedance_core, the C half of seedance. */
#include <string.h>

#include "compat.h"
#include "clock.h"
#include "engine.h"
#include "safety.h"
#include "lua_engine.h"
#include "probe/probe.h"
#include "sign.h"
#include "durable.h"
#include "store.h"
#include "object.h"

static int l_now(lua_State *L)
{
    lua_pushnumber(L, sd_monotonic());
    return 1;
}

static int l_time(lua_State *L)
{
    lua_pushnumber(L, sd_walltime());
    return 1;
}

static int l_sleep(lua_State *L)
{
    sd_sleep(luaL_checknumber(L, 1));
    return 0;
}

/* Exposed so specs can check the Retry-After parser without a server. */
static int l_retry_after(lua_State *L)
{
    size_t n;
    const char *v = luaL_checklstring(L, 1, &n);
    char hdr[512];
    double d;
    if (n > sizeof hdr - 32) return luaL_argerror(L, 1, "too long");
    memcpy(hdr, "Retry-After: ", 13);
    memcpy(hdr + 13, v, n);
    memcpy(hdr + 13 + n, "\r\n", 3);
    d = sd_retry_after(hdr, 13 + n + 2, luaL_optnumber(L, 2, sd_walltime()));
    if (d < 0) lua_pushnil(L);
    else lua_pushnumber(L, d);
    return 1;
}

/* core.safety(status|nil, sent) -> nothing_done, worth_retry: the one safety policy */
static int l_safety(lua_State *L)
{
    long status = (long)luaL_optnumber(L, 1, 0);
    int sent = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
    lua_pushboolean(L, sd_safety_nothing_done(status, sent));
    lua_pushboolean(L, sd_safety_worth_retry(status));
    return 2;
}

int luaopen_seedance_core(lua_State *L);

int luaopen_seedance_core(lua_State *L)
{
    static const luaL_Reg fns[] = {{"now", l_now},     {"time", l_time},   {"sleep", l_sleep},
                                   {"probe", sd_l_probe}, {"_retry_after", l_retry_after}, {"safety", l_safety},
                                   {"sha256_hex", sd_l_sha256_hex}, {"hmac_sha256", sd_l_hmac_sha256},
                                   {"sign_v4", sd_l_sign_v4}, {"write_durable", sd_l_write_durable},
                                   {"store_open", sd_l_store_open}, {"file_kind", sd_l_file_kind},
                                   {"process_tag", sd_l_process_tag},
                                   {NULL, NULL}};
#ifdef sd_setfuncs_needed
    /* compat.h's 5.1 helpers are static, not inline: mark them used for -Wunused-function. */
    (void)sd_setfuncs;
    (void)sd_testudata;
    (void)sd_setmetatable;
#endif
    luaL_newlib(L, fns);
    sd_setfuncs(L, sd_object_functions, 0);
    sd_open_objects(L);
    sd_open_engine(L);
    lua_setfield(L, -2, "engine");
    lua_pushstring(L, "seedance.core 0.1.0");
    lua_setfield(L, -2, "_VERSION");
    return 1;
}
