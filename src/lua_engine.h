#ifndef SEEDANCE_LUA_ENGINE_H
#define SEEDANCE_LUA_ENGINE_H
#include "compat.h"
/* Registers the engine metatable and pushes the constructor. */
int sd_open_engine(lua_State *L);
#endif
