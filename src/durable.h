/* durable.h: replacing a file so that a crash leaves either the old or the new contents. */
#ifndef SEEDANCE_DURABLE_H
#define SEEDANCE_DURABLE_H
#include "compat.h"
/* core.write_durable(path, data) -> true | nil, message */
int sd_l_write_durable(lua_State *L);
#endif
