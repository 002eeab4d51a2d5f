/* compat.h: the one place where Lua 5.1/LuaJIT and 5.2+ differ for seedance's C core.
 * Everything else in src/ is written against the 5.4 names used here. */
#ifndef SEEDANCE_COMPAT_H
#define SEEDANCE_COMPAT_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#if LUA_VERSION_NUM < 502
/* 5.1 and LuaJIT */
#ifndef luaL_newlib
#define luaL_newlibtable(L, l) lua_createtable(L, 0, (int)(sizeof(l) / sizeof((l)[0]) - 1))
#define luaL_newlib(L, l) (luaL_newlibtable(L, l), sd_setfuncs(L, l, 0))
#endif
#define lua_rawlen(L, i) lua_objlen(L, i)
#define sd_setfuncs_needed 1
static inline void sd_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    luaL_checkstack(L, nup + 1, "too many upvalues");
    for (; l->name; l++) {
        int i;
        for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}
static inline void *sd_testudata(lua_State *L, int i, const char *tname)
{
    void *p = lua_touserdata(L, i);
    if (p == NULL || !lua_getmetatable(L, i)) return NULL;
    luaL_getmetatable(L, tname);
    if (!lua_rawequal(L, -1, -2)) p = NULL;
    lua_pop(L, 2);
    return p;
}
static inline void sd_setmetatable(lua_State *L, const char *tname)
{
    luaL_getmetatable(L, tname);
    lua_setmetatable(L, -2);
}
#define sd_absindex(L, i) (((i) > 0 || (i) <= LUA_REGISTRYINDEX) ? (i) : lua_gettop(L) + (i) + 1)
#else
#define sd_setfuncs(L, l, n) luaL_setfuncs(L, l, n)
#define sd_testudata(L, i, t) luaL_testudata(L, i, t)
#define sd_setmetatable(L, t) luaL_setmetatable(L, t)
#define sd_absindex(L, i) lua_absindex(L, i)
#endif

/* Integers: 5.3+ has a real integer subtype; elsewhere numbers are doubles. */
#if LUA_VERSION_NUM >= 503
#define sd_pushint(L, n) lua_pushinteger(L, (lua_Integer)(n))
#else
#define sd_pushint(L, n) lua_pushnumber(L, (lua_Number)(n))
#endif
#if LUA_VERSION_NUM >= 503
#define sd_isinteger(L, i) lua_isinteger(L, i)
#else
#define sd_isinteger(L, i) 0
#endif

/* luaL_tolstring (5.2+): any value as text, honouring __tostring. */
#if LUA_VERSION_NUM >= 502
#define sd_tolstring(L, i, n) luaL_tolstring(L, i, n)
#else
static inline const char *sd_tolstring(lua_State *L, int i, size_t *n)
{
    i = sd_absindex(L, i);
    lua_getglobal(L, "tostring");
    lua_pushvalue(L, i);
    lua_call(L, 1, 1);
    return lua_tolstring(L, -1, n);
}
#endif

/* User values (5.4: n slots per userdata). Before 5.4 a userdata has one environment (5.1,
 * LuaJIT) or user value (5.2, 5.3), a table in 5.1 and 5.2: the n values live in a table
 * made with the userdata. */
#if LUA_VERSION_NUM >= 504
#define sd_newuserdatauv(L, s, n) lua_newuserdatauv(L, s, n)
#define sd_getiuservalue(L, i, n) lua_getiuservalue(L, i, n)
#define sd_setiuservalue(L, i, n) lua_setiuservalue(L, i, n)
#else
#if LUA_VERSION_NUM < 502
#define sd_getuvtable(L, i) lua_getfenv(L, i)
#define sd_setuvtable(L, i) lua_setfenv(L, i)
#else
#define sd_getuvtable(L, i) lua_getuservalue(L, i)
#define sd_setuvtable(L, i) lua_setuservalue(L, i)
#endif
static inline void *sd_newuserdatauv(lua_State *L, size_t size, int nuv)
{
    void *p = lua_newuserdata(L, size);
    lua_createtable(L, nuv, 0);
    sd_setuvtable(L, -2);
    return p;
}
static inline int sd_getiuservalue(lua_State *L, int i, int n)
{
    sd_getuvtable(L, i);
    lua_rawgeti(L, -1, n);
    lua_remove(L, -2);
    return lua_type(L, -1);
}
static inline int sd_setiuservalue(lua_State *L, int i, int n)
{
    i = sd_absindex(L, i);
    sd_getuvtable(L, i);
    lua_insert(L, -2);
    lua_rawseti(L, -2, n);
    lua_pop(L, 1);
    return 1;
}
#endif

/* lua_getfield returns the type from 5.3 on; callers here use the 5.1 form. */
#define sd_getfield(L, i, k) (lua_getfield(L, i, k), lua_type(L, -1))

#endif
