/* luaapp.c: the app's private lua_State (see luaapp.h).
 *
 * Everything that can raise (building the request table, calling the app,
 * reading its answer) runs inside lua_pcall: a Lua error must become a 500,
 * never a longjmp through libmicrohttpd's frames or a panic. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "luaapp.h"
#include "marshal.h"

struct emu_app {
    lua_State *L;
    pthread_mutex_t lock;
    int server_ref;            /* the object app.new returned */
    int handle_ref;            /* protected_handle, kept to avoid a closure per call (5.1) */
    int control_ref;           /* protected_control */
    int tick_ref;              /* protected_tick */
    int traceback_ref;         /* message handler */
    int quiet;
};

/* Arguments of protected_handle, passed as a light userdata. */
struct handle_call {
    const struct emu_request *req;
    struct emu_response *resp;
};

/* Arguments and result of protected_control. */
struct control_call {
    const char *in;
    size_t inlen;
    char *out;
    size_t outlen;
};

/* Result of protected_tick. */
struct tick_call {
    double next;               /* seconds until the app wants the next tick; < 0: never */
};

/* --- message handler: keep the traceback, for stderr ------------------- */

static int traceback(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TSTRING && lua_type(L, 1) != LUA_TNUMBER) {
        lua_getglobal(L, "tostring");
        lua_pushvalue(L, 1);
        lua_call(L, 1, 1);
        lua_replace(L, 1);
    }
    lua_getglobal(L, "debug");
    if (!lua_istable(L, -1)) return 1;   /* message as is */
    lua_getfield(L, -1, "traceback");
    if (!lua_isfunction(L, -1)) {
        lua_settop(L, 1);
        return 1;
    }
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 2);
    lua_call(L, 2, 1);
    return 1;
}

/* Length of the message part of a traceback string ("msg\nstack traceback:..."). */
static size_t message_length(const char *s, size_t len)
{
    const char *cut = strstr(s, "\nstack traceback:");
    return cut != NULL ? (size_t)(cut - s) : len;
}

/* --- protected entry points -------------------------------------------- */

/* [server] -> server:handle(req), answer read into call->resp */
static int protected_handle(lua_State *L)
{
    struct handle_call *call = lua_touserdata(L, 1);
    lua_settop(L, 2);                       /* 2: server */
    lua_getfield(L, 2, "handle");
    lua_pushvalue(L, 2);
    emu_push_request(L, call->req);
    lua_call(L, 2, 1);
    emu_read_response(L, lua_gettop(L), call->resp);
    return 0;
}

/* [server] -> server:control(in), copied to call->out */
static char *copy_out(lua_State *L, const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p == NULL) luaL_error(L, "out of memory");
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}


static int protected_control(lua_State *L)
{
    struct control_call *call = lua_touserdata(L, 1);
    size_t n;
    const char *s;
    lua_settop(L, 2);
    lua_getfield(L, 2, "control");
    lua_pushvalue(L, 2);
    lua_pushlstring(L, call->in, call->inlen);
    lua_call(L, 2, 1);
    s = lua_tolstring(L, -1, &n);
    if (s == NULL) luaL_error(L, "control returned %s, expected a string", luaL_typename(L, -1));
    call->out = copy_out(L, s, n);
    call->outlen = n;
    return 0;
}

/* [server] -> server:tick() when the app has one: the seconds until it wants the next
 * (a number), or nil for none */
static int protected_tick(lua_State *L)
{
    struct tick_call *call = lua_touserdata(L, 1);
    lua_settop(L, 2);
    call->next = -1;
    lua_getfield(L, 2, "tick");
    if (!lua_isfunction(L, -1)) return 0;
    lua_pushvalue(L, 2);
    lua_call(L, 1, 1);
    if (lua_type(L, -1) == LUA_TNUMBER) call->next = (double)lua_tonumber(L, -1);
    return 0;
}

/* [appname, config] -> require(appname).new(config) */
static int protected_new(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    if (!lua_istable(L, -1)) luaL_error(L, "module '%s' is not a table", lua_tostring(L, 1));
    lua_getfield(L, -1, "new");
    if (!lua_isfunction(L, -1)) luaL_error(L, "module '%s' has no function 'new'", lua_tostring(L, 1));
    lua_pushvalue(L, 2);
    lua_call(L, 1, 1);
    if (lua_isnoneornil(L, -1)) luaL_error(L, "%s.new returned nothing", lua_tostring(L, 1));
    return 1;
}

/* Calls the registry function `fn_ref` with (ud, server) under the traceback
 * handler. Returns 0, or -1 leaving the traceback string on the stack. */
static int call_protected(struct emu_app *a, int fn_ref, void *ud)
{
    lua_State *L = a->L;
    int base = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->traceback_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, fn_ref);
    lua_pushlightuserdata(L, ud);
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->server_ref);
    if (lua_pcall(L, 2, 0, base + 1) != 0) {
        lua_remove(L, base + 1);
        return -1;
    }
    lua_settop(L, base);
    return 0;
}

static void set_package_field(lua_State *L, const char *field, const char *value)
{
    if (value == NULL) return;
    lua_getglobal(L, "package");
    lua_pushstring(L, value);
    lua_setfield(L, -2, field);
    lua_pop(L, 1);
}

/* Writes s as the inside of a JSON string into out (room for 6 bytes per
 * input byte); returns the length written. */
static size_t json_escape(const char *s, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            out[o++] = '\\';
            out[o++] = 'u';
            out[o++] = '0';
            out[o++] = '0';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

/* A 500 whose body is {"error":"emulator: <message>"}. */
static void error_response(struct emu_response *resp, const char *msg, size_t len)
{
    static const char head[] = "{\"error\":\"emulator: ";
    static const char tail[] = "\"}";
    char *body;
    size_t o;
    emu_response_clear(resp);
    resp->status = 500;
    body = malloc(sizeof head + 6 * len + sizeof tail);
    if (body != NULL) {
        memcpy(body, head, sizeof head - 1);
        o = sizeof head - 1;
        o += json_escape(msg, len, body + o);
        memcpy(body + o, tail, sizeof tail - 1);
        o += sizeof tail - 1;
        resp->body = body;
        resp->body_len = o;
    }
    emu_response_add_header(resp, "Content-Type", "application/json");
}

/* --- public ------------------------------------------------------------ */

struct emu_app *emu_app_new(const struct emu_app_options *o, char *err, size_t errlen)
{
    struct emu_app *a = calloc(1, sizeof *a);
    lua_State *L;
    if (a == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    L = a->L = luaL_newstate();
    if (L == NULL) {
        snprintf(err, errlen, "cannot create a Lua state");
        free(a);
        return NULL;
    }
    a->quiet = o->quiet;
    luaL_openlibs(L);
    set_package_field(L, "path", o->path);
    set_package_field(L, "cpath", o->cpath);

    lua_pushcfunction(L, traceback);
    a->traceback_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, protected_handle);
    a->handle_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, protected_control);
    a->control_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, protected_tick);
    a->tick_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->traceback_ref);
    lua_pushcfunction(L, protected_new);
    lua_pushstring(L, o->app);
    lua_pushlstring(L, o->config != NULL ? o->config : "", o->config_len);
    if (lua_pcall(L, 2, 1, 1) != 0) {
        size_t n;
        const char *msg = lua_tolstring(L, -1, &n);
        if (msg == NULL) msg = "(error object is not a string)", n = strlen(msg);
        snprintf(err, errlen, "%.*s", (int)message_length(msg, n), msg);
        lua_close(L);
        free(a);
        return NULL;
    }
    a->server_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_settop(L, 0);
    pthread_mutex_init(&a->lock, NULL);
    return a;
}

void emu_app_handle(struct emu_app *a, const struct emu_request *req, struct emu_response *resp)
{
    struct handle_call call;
    call.req = req;
    call.resp = resp;
    pthread_mutex_lock(&a->lock);
    if (call_protected(a, a->handle_ref, &call) != 0) {
        size_t n;
        const char *tb = lua_tolstring(a->L, -1, &n);
        if (tb == NULL) tb = "?", n = 1;
        if (!a->quiet) fprintf(stderr, "seedance.emulator: %s %s: %s\n", req->method, req->path, tb);
        error_response(resp, tb, message_length(tb, n));
        lua_pop(a->L, 1);
    }
    pthread_mutex_unlock(&a->lock);
}

int emu_app_control(struct emu_app *a, const char *in, size_t inlen,
                    char **out, size_t *outlen, char *err, size_t errlen)
{
    struct control_call call;
    int rc = 0;
    call.in = in;
    call.inlen = inlen;
    call.out = NULL;
    call.outlen = 0;
    pthread_mutex_lock(&a->lock);
    if (call_protected(a, a->control_ref, &call) != 0) {
        size_t n;
        const char *tb = lua_tolstring(a->L, -1, &n);
        if (tb == NULL) tb = "?", n = 1;
        snprintf(err, errlen, "%.*s", (int)message_length(tb, n), tb);
        lua_pop(a->L, 1);
        free(call.out);
        rc = -1;
    }
    pthread_mutex_unlock(&a->lock);
    *out = call.out;
    *outlen = call.outlen;
    return rc;
}

double emu_app_tick(struct emu_app *a)
{
    struct tick_call call;
    call.next = -1;
    pthread_mutex_lock(&a->lock);
    if (call_protected(a, a->tick_ref, &call) != 0) {
        const char *tb = lua_tostring(a->L, -1);
        if (!a->quiet) fprintf(stderr, "seedance.emulator: tick: %s\n", tb != NULL ? tb : "?");
        lua_pop(a->L, 1);
        call.next = 1; /* a failing tick is tried again, not given up */
    }
    pthread_mutex_unlock(&a->lock);
    return call.next;
}

void emu_app_free(struct emu_app *a)
{
    if (a == NULL) return;
    pthread_mutex_lock(&a->lock);
    lua_close(a->L);
    a->L = NULL;
    pthread_mutex_unlock(&a->lock);
    pthread_mutex_destroy(&a->lock);
    free(a);
}
