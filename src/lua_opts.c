/* lua_opts.c: the option readers of the C entry points (see lua_opts.h). */
#include <string.h>

#include "lua_opts.h"

void sd_opt_check_keys(lua_State *L, int t, const char *const *allowed, const char *who)
{
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        const char *const *a;
        int ok = 0;
        if (lua_type(L, -2) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -2);
            for (a = allowed; *a; a++)
                if (strcmp(*a, k) == 0) ok = 1;
            if (!ok) luaL_error(L, "%s: unknown option '%s'", who, k);
        } else {
            luaL_error(L, "%s: option names must be strings", who);
        }
        lua_pop(L, 1);
    }
}

double sd_opt_num(lua_State *L, int t, const char *k, double def, const char *who)
{
    double v = def;
    int ty = sd_getfield(L, t, k);
    if (ty == LUA_TNUMBER) v = lua_tonumber(L, -1);
    else if (ty != LUA_TNIL) luaL_error(L, "%s: option '%s' must be a number", who, k);
    lua_pop(L, 1);
    if (v != v) luaL_error(L, "%s: option '%s' is NaN", who, k);
    return v;
}

const char *sd_opt_str(lua_State *L, int t, const char *k, const char *who)
{
    const char *v = NULL;
    int ty = sd_getfield(L, t, k);
    if (ty == LUA_TSTRING) v = lua_tostring(L, -1);
    else if (ty != LUA_TNIL) luaL_error(L, "%s: option '%s' must be a string", who, k);
    lua_pop(L, 1); /* the table still holds the string, so v stays valid */
    return v;
}

int sd_opt_bool(lua_State *L, int t, const char *k, int def, const char *who)
{
    int v = def, ty = sd_getfield(L, t, k);
    if (ty == LUA_TBOOLEAN) v = lua_toboolean(L, -1);
    else if (ty != LUA_TNIL) luaL_error(L, "%s: option '%s' must be a boolean", who, k);
    lua_pop(L, 1);
    return v;
}

int sd_opt_strings(lua_State *L, int t, const char *k, const char **v, int max, const char *who)
{
    int n = 0, i;
    int ty = sd_getfield(L, t, k);
    if (ty == LUA_TTABLE) {
        n = (int)lua_rawlen(L, -1);
        if (n > max) luaL_error(L, "%s: at most %d entries in option '%s'", who, max, k);
        for (i = 0; i < n; i++) {
            lua_rawgeti(L, -1, i + 1);
            if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "%s: option '%s' must be a list of strings", who, k);
            v[i] = lua_tostring(L, -1);
            lua_pop(L, 1); /* still anchored by the list */
        }
    } else if (ty != LUA_TNIL) {
        luaL_error(L, "%s: option '%s' must be a list of strings", who, k);
    }
    lua_pop(L, 1);
    return n;
}
