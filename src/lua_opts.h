/* lua_opts.h: reading an options table given from Lua (core.engine{}, eng:submit{},
 * eng:poll_class{}): one set of readers, so every C entry point says the same thing about
 * a misused option. Each raises "<who>: option '<name>' must be ..." on a value of the
 * wrong type; an absent (nil) option gives the default. */
#ifndef SEEDANCE_LUA_OPTS_H
#define SEEDANCE_LUA_OPTS_H

#include "compat.h"

/* Raise on a key of table t that is not in `allowed` (NULL-terminated): a typo must not
 * silently mean "default". */
void sd_opt_check_keys(lua_State *L, int t, const char *const *allowed, const char *who);
/* t[k] as a number (NaN raises), or def. */
double sd_opt_num(lua_State *L, int t, const char *k, double def, const char *who);
/* t[k] as a string or NULL; it stays valid while table t holds it. */
const char *sd_opt_str(lua_State *L, int t, const char *k, const char *who);
/* t[k] as a boolean, or def. */
int sd_opt_bool(lua_State *L, int t, const char *k, int def, const char *who);
/* t[k], a list of at most max strings, into v (valid while t holds the list); the count. */
int sd_opt_strings(lua_State *L, int t, const char *k, const char **v, int max, const char *who);

#endif
