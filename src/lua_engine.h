#ifndef SEEDANCE_LUA_ENGINE_H
#define SEEDANCE_LUA_ENGINE_H
#include "compat.h"
#include "engine.h"
/* Registers the engine metatable and pushes the constructor. */
int sd_open_engine(lua_State *L);
/* The open engine at index i (raises otherwise). */
sd_engine *sd_check_engine(lua_State *L, int i);
/* An engine result as Lua sees it (collect, and the scheduler's events). */
void sd_push_result(lua_State *L, sd_request *r);
/* The request table at index t into s (strings stay anchored by that table). */
void sd_read_submit(lua_State *L, int t, sd_submit *s, const char **hdrs, int *retry_on);
/* The scheduler's and the clock's methods (lua_sched.c), added to the engine's. */
extern const luaL_Reg sd_sched_methods[];
/* Drops the table anchoring engine e's polled objects (lua_sched.c); on close. */
void sd_sched_unanchor(lua_State *L, sd_engine *e);
#endif
