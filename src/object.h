/* object.h: the Asset, Group, Session and Task userdata of seedance.core.
 *
 * Each object is a full userdata whose block is a struct sd_object: its kind, flags, the
 * scheduler's mark of its poll, and one compact block (owned by C) of its normalized
 * strings and numbers; and two user values (the client, and the raw answer or, once the
 * object has rarely used extras, a table of them holding the raw answer too). The
 * metatables are "seedance.Asset", "seedance.Group", "seedance.Session" and
 * "seedance.Task"; their methods are Lua functions the Lua modules put in each kind's
 * methods table.
 *
 * The accessors below take no lua_State (except the two that find an object on a stack):
 * the scheduler may keep sd_object pointers while it holds a reference to the userdata
 * (a registry ref or a table), and read or set status, raw_status and progress between
 * calls without any Lua state kept. */
#ifndef SEEDANCE_OBJECT_H
#define SEEDANCE_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "compat.h"

enum sd_kind { SD_ASSET = 0, SD_GROUP = 1, SD_SESSION = 2, SD_TASK = 3, SD_NKINDS = 4 };

typedef struct sd_object sd_object;

/* Registers the four metatables; pushes nothing. Called once by luaopen_seedance_core. */
void sd_open_objects(lua_State *L);
/* The Lua functions core exports for objects (object_new, object_methods, object_kind, and
 * _object_view for specs). */
extern const luaL_Reg sd_object_functions[];

/* The object at stack index idx, or NULL when the value is not one of the four kinds. */
sd_object *sd_object_test(lua_State *L, int idx);
/* The same, raising an argument error that names the argument when it is not an object. */
sd_object *sd_object_check(lua_State *L, int idx);

/* SD_ASSET, SD_GROUP, SD_SESSION or SD_TASK. */
int sd_object_kind(const sd_object *o);
/* "asset", "group", "session", "task" (the words of obj._kind). */
const char *sd_object_kind_name(int kind);
/* Nonzero once the object was closed (close(), __close or __gc): its fields are gone. */
int sd_object_closed(const sd_object *o);

/* Strings owned by the object: NULL when absent (or held as a non-string value); not
 * NUL-terminated (use *len). The pointer stays valid until the next set of any string
 * field of this object or its close. */
const char *sd_object_id(const sd_object *o, size_t *len);
const char *sd_object_status(const sd_object *o, size_t *len);
const char *sd_object_raw_status(const sd_object *o, size_t *len);
/* 1 and *p set when the object has a numeric progress, 0 otherwise. */
int sd_object_progress(const sd_object *o, double *p);

/* Setters: 0 on success, -1 when out of memory (the old value is kept) or closed.
 * A NULL string removes the field. */
int sd_object_set_status(sd_object *o, const char *s, size_t len);
int sd_object_set_raw_status(sd_object *o, const char *s, size_t len);
int sd_object_set_progress(sd_object *o, double p);
void sd_object_clear_progress(sd_object *o);

/* The scheduler's mark of its poll of this object (0: not polled; else the slot of the
 * poll's handle plus one, 4 bytes where the key took 8): the scheduler sets it when it
 * starts polling the object and clears it when it stops, so Lua finds an object's poll
 * without a table of its own (sd_sched_key). */
uint32_t sd_object_poll(const sd_object *o);
void sd_object_set_poll(sd_object *o, uint32_t mark);

#endif
