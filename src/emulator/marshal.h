/* marshal.h: between the C exchange structs and Lua tables, in both
 * directions. Both functions may raise (memory, a malformed answer), so
 * luaapp.c only calls them under lua_pcall. */
#ifndef SEEDANCE_EMU_MARSHAL_H
#define SEEDANCE_EMU_MARSHAL_H

#include <lua.h>

#include "exchange.h"

/* Pushes {method=, path=, query={...}, raw_query=, headers={...}, body=}:
 * the query url-decoded (a repeated key keeps its last value), header names
 * lower-cased (repeated headers joined with ", "). */
void emu_push_request(lua_State *L, const struct emu_request *req);
/* Reads the answer table at index t ({status=, headers=, body=, delay=,
 * close=, truncate=}) into resp, copying every string out of Lua. */
void emu_read_response(lua_State *L, int t, struct emu_response *resp);

#endif
