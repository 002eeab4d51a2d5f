/* store_lua.c: the Lua binding of a store (userdata "seedance.Store"), whatever the backend.
 * Misuse raises; a store that cannot be reached or written returns nil, message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "store.h"

#define STORE_MT "seedance.Store"

typedef struct {
    sd_store *s;
} store_ud;

static sd_store *check(lua_State *L)
{
    store_ud *u = luaL_checkudata(L, 1, STORE_MT);
    if (u->s == NULL) luaL_error(L, "seedance: the store is closed");
    return u->s;
}

static int failed(lua_State *L, sd_store *s)
{
    lua_pushnil(L);
    lua_pushstring(L, s->err);
    return 2;
}

/* pushes the value of a row (one-row reads) */
static int push_val(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    (void)key;
    (void)klen;
    lua_pushlstring((lua_State *)ud, val, vlen);
    return 0;
}

/* st:get(key) -> value | false (absent) | nil, message */
static int l_get(lua_State *L)
{
    sd_store *s = check(L);
    size_t n;
    const char *k = luaL_checklstring(L, 2, &n);
    int rc = s->ops->get(s, k, n, push_val, L);
    if (rc < 0) return failed(L, s);
    if (rc == 0) lua_pushboolean(L, 0);
    return 1;
}

/* st:put({ {key, value | false, group, at}, ... }[, owner]) -> true | nil, message (all or
 * none; with owner, a completion: store.h) */
static int l_put(lua_State *L)
{
    sd_store *s = check(L);
    size_t n, i, on = 0;
    const char *owner = luaL_optlstring(L, 3, NULL, &on);
    sd_store_rec *recs;
    int rc;
    luaL_checktype(L, 2, LUA_TTABLE);
    n = (size_t)lua_rawlen(L, 2);
    if (n == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    luaL_checkstack(L, 8, "store put");
    recs = lua_newuserdata(L, n * sizeof *recs); /* freed by the GC, even if a check raises */
    for (i = 0; i < n; i++) {
        sd_store_rec *r = &recs[i];
        lua_rawgeti(L, 2, (int)i + 1);
        if (!lua_istable(L, -1)) return luaL_argerror(L, 2, "records must be {key, value, group, at}");
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        lua_rawgeti(L, -3, 3);
        lua_rawgeti(L, -4, 4);
        if (lua_type(L, -4) != LUA_TSTRING) return luaL_argerror(L, 2, "a record's key must be a string");
        r->key = lua_tolstring(L, -4, &r->klen);
        r->val = NULL;
        r->vlen = 0;
        if (lua_type(L, -3) == LUA_TSTRING) r->val = lua_tolstring(L, -3, &r->vlen);
        else if (!(lua_type(L, -3) == LUA_TBOOLEAN && !lua_toboolean(L, -3)))
            return luaL_argerror(L, 2, "a record's value must be a string or false");
        r->group = "";
        r->glen = 0;
        if (lua_type(L, -2) == LUA_TSTRING) r->group = lua_tolstring(L, -2, &r->glen);
        r->at = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : sd_walltime();
        /* the strings stay alive: each is referenced by its record table, which stays in arg 2 */
        lua_pop(L, 5);
    }
    rc = s->ops->put(s, recs, n, owner, on);
    if (rc < 0) return failed(L, s);
    lua_pushboolean(L, 1);
    return 1;
}

typedef struct {
    lua_State *L;
    int keys, vals, n;
} list_ctx;

static int push_row(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    list_ctx *c = ud;
    c->n++;
    lua_pushlstring(c->L, key, klen);
    lua_rawseti(c->L, c->keys, c->n);
    lua_pushlstring(c->L, val, vlen);
    lua_rawseti(c->L, c->vals, c->n);
    return 0;
}

/* st:list(group) -> keys, values (oldest first) | nil, message */
static int l_list(lua_State *L)
{
    sd_store *s = check(L);
    size_t n;
    const char *g = luaL_checklstring(L, 2, &n);
    list_ctx c;
    lua_settop(L, 2);
    lua_newtable(L);
    lua_newtable(L);
    c.L = L;
    c.keys = 3;
    c.vals = 4;
    c.n = 0;
    if (s->ops->list(s, g, n, push_row, &c) < 0) return failed(L, s);
    return 2;
}

static double check_lease(lua_State *L, int i)
{
    double lease = luaL_checknumber(L, i);
    if (!(lease > 0 && lease < 1e7)) luaL_argerror(L, i, "lease must be a positive number of seconds");
    return lease;
}

/* st:claim(key, owner, lease[, intent[, group, at]]) -> true | false, holder | nil, message.
 * With intent (true: only read), once claimed, in the same transaction: the record under
 * key is read and returned (true, value | false), and when there is none and intent is a
 * string, it is written (with group and at, as a put would). */
static int l_claim(lua_State *L)
{
    sd_store *s = check(L);
    size_t kn, on;
    const char *k = luaL_checklstring(L, 2, &kn);
    const char *o = luaL_checklstring(L, 3, &on);
    double lease = check_lease(L, 4);
    sd_store_rec rec, *r = NULL;
    int rc;
    if (!lua_isnoneornil(L, 5)) {
        r = &rec;
        rec.key = k;
        rec.klen = kn;
        rec.val = NULL;
        rec.vlen = 0;
        if (lua_type(L, 5) == LUA_TSTRING) rec.val = lua_tolstring(L, 5, &rec.vlen);
        else if (!(lua_type(L, 5) == LUA_TBOOLEAN && lua_toboolean(L, 5)))
            return luaL_argerror(L, 5, "intent must be a string or true");
        rec.group = luaL_optlstring(L, 6, "", &rec.glen);
        rec.at = luaL_optnumber(L, 7, sd_walltime());
    }
    lua_settop(L, 7);
    rc = s->ops->claim(s, k, kn, o, on, lease, r, push_val, L);
    if (rc < 0) return failed(L, s);
    lua_pushboolean(L, rc == 1);
    if (lua_gettop(L) == 9) { /* the holder, or the record read */
        lua_insert(L, -2);
        return 2;
    }
    if (rc == 1 && r == NULL) return 1;
    lua_pushboolean(L, 0); /* claimed, no record there */
    return 2;
}

/* The calls that give something back, named by two strings (release: key, owner; unslot:
 * counter, token) -> true | nil, message */
static int give_back(lua_State *L, int unslot)
{
    sd_store *s = check(L);
    size_t an, bn;
    const char *a = luaL_checklstring(L, 2, &an);
    const char *b = luaL_checklstring(L, 3, &bn);
    if ((unslot ? s->ops->unslot : s->ops->release)(s, a, an, b, bn) < 0) return failed(L, s);
    lua_pushboolean(L, 1);
    return 1;
}

/* st:release(key, owner) -> true | nil, message */
static int l_release(lua_State *L)
{
    return give_back(L, 0);
}

/* st:slot(counter, token, limit, lease) -> true, live | false, live | nil, message */
static int l_slot(lua_State *L)
{
    sd_store *s = check(L);
    size_t cn, tn;
    const char *c = luaL_checklstring(L, 2, &cn);
    const char *t = luaL_checklstring(L, 3, &tn);
    lua_Number limit = luaL_checknumber(L, 4);
    double lease = check_lease(L, 5);
    long count = 0;
    int rc;
    if (!(limit >= 1 && limit < 1e9)) return luaL_argerror(L, 4, "limit must be a positive integer");
    rc = s->ops->slot(s, c, cn, t, tn, (long)limit, lease, &count);
    if (rc < 0) return failed(L, s);
    lua_pushboolean(L, rc == 1);
    sd_pushint(L, count);
    return 2;
}

/* st:unslot(counter, token) -> true | nil, message */
static int l_unslot(lua_State *L)
{
    return give_back(L, 1);
}

/* st:backend() -> "sqlite" | "redis" */
static int l_backend(lua_State *L)
{
    lua_pushstring(L, check(L)->ops->name);
    return 1;
}

/* close, __gc and __close share this; idempotent */
static int l_close(lua_State *L)
{
    store_ud *u = luaL_checkudata(L, 1, STORE_MT);
    if (u->s) u->s->ops->close(u->s);
    u->s = NULL;
    return 0;
}

static const luaL_Reg METHODS[] = {{"get", l_get},         {"put", l_put},         {"list", l_list},
                                   {"claim", l_claim},     {"release", l_release}, {"slot", l_slot},
                                   {"unslot", l_unslot},   {"backend", l_backend}, {"close", l_close},
                                   {NULL, NULL}};

static double opt_timeout(lua_State *L, int i)
{
    double t = luaL_optnumber(L, i, 10);
    if (!(t > 0 && t <= 3600)) luaL_argerror(L, i, "timeout must be a positive number of seconds");
    return t;
}

static const char *check_path(lua_State *L, int i, size_t max)
{
    size_t n;
    const char *p = luaL_checklstring(L, i, &n);
    if (n == 0 || n > max || strlen(p) != n) luaL_argerror(L, i, "must be a non-empty string without NUL bytes");
    return p;
}

/* core.store_open("sqlite", path[, timeout]) | ("redis", host, port, db[, timeout])
 *   -> Store | nil, message */
int sd_l_store_open(lua_State *L)
{
    const char *kind = luaL_checkstring(L, 1);
    char err[SD_STORE_ERRLEN];
    sd_store *s = NULL;
    store_ud *u;
    err[0] = '\0';
    if (strcmp(kind, "sqlite") == 0) {
        const char *path = check_path(L, 2, 4000);
        s = sd_store_sqlite_open(path, opt_timeout(L, 3), err, sizeof err);
    } else if (strcmp(kind, "redis") == 0) {
        const char *host = check_path(L, 2, 255);
        lua_Number port = luaL_checknumber(L, 3), db = luaL_checknumber(L, 4);
        if (!(port >= 1 && port <= 65535)) return luaL_argerror(L, 3, "port must be 1-65535");
        if (!(db >= 0 && db < 1e6)) return luaL_argerror(L, 4, "database must be a non-negative integer");
        s = sd_store_redis_open(host, (int)port, (int)db, opt_timeout(L, 5), err, sizeof err);
    } else {
        return luaL_argerror(L, 1, "\"sqlite\" or \"redis\"");
    }
    if (s == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    u = lua_newuserdata(L, sizeof *u);
    u->s = s;
    if (luaL_newmetatable(L, STORE_MT)) {
        lua_newtable(L);
        sd_setfuncs(L, METHODS, 0);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__close");
    }
    lua_setmetatable(L, -2);
    return 1;
}

/* core.file_kind(path) -> "file", size | "missing" | "directory" | "other" | nil, message:
 * what is at a path, without opening it (a device or a FIFO must never be read whole) */
int sd_l_file_kind(lua_State *L)
{
    const char *p = check_path(L, 1, 4000);
    struct stat st;
    if (stat(p, &st) != 0) {
        if (errno == ENOENT) {
            lua_pushstring(L, "missing");
            return 1;
        }
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", p, strerror(errno));
        return 2;
    }
    if (S_ISREG(st.st_mode)) {
        lua_pushstring(L, "file");
        lua_pushnumber(L, (lua_Number)st.st_size);
        return 2;
    }
    lua_pushstring(L, S_ISDIR(st.st_mode) ? "directory" : "other");
    return 1;
}

/* core.process_tag() -> "host:pid:random": who holds a claim, unique per process and start */
int sd_l_process_tag(lua_State *L)
{
    char host[128];
    unsigned long r = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        if (fread(&r, sizeof r, 1, f) != 1) r = 0;
        fclose(f);
    }
    if (r == 0) r = (unsigned long)(sd_walltime() * 1e6);
    if (gethostname(host, sizeof host) != 0) strcpy(host, "host");
    host[sizeof host - 1] = '\0';
    lua_pushfstring(L, "%s:%d:%s", host, (int)getpid(), "");
    {
        char hex[32];
        snprintf(hex, sizeof hex, "%08lx", r & 0xffffffffUL);
        lua_pushstring(L, hex);
        lua_concat(L, 2);
    }
    return 1;
}
