/* emucore.c: the Lua face of the emulator's C core, `seedance.emucore`.
 *
 *   local srv, err = emucore.start{host=, port=, app=, config=, path=, cpath=, quiet=}
 *   srv:port()  srv:control(str)  srv:stop()   emucore.now()  emucore.sleep(s)
 *
 * Misuse raises naming the option; failing to serve (port taken, app that
 * does not load) returns nil, message, as in LuaSocket and luv. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../compat.h"
#include "clock.h"
#include "httpd.h"
#include "listen.h"
#include "luaapp.h"
#include "sample_mp4.h"
#include "timers.h"

#define SERVER_MT "seedance.emucore.server"
#define DEFAULT_APP "seedance.emulator.app"

struct server {
    struct emu_app *app;       /* NULL once stopped */
    struct emu_httpd *httpd;
    struct emu_timers *ticker; /* runs server:tick() on its own thread, when the app has one */
    int port;
};

/* On the ticker's thread: the app's timed work, then the next tick when it wants one. The
 * server outlives every tick: stop() joins the ticker before it frees the app. */
static void tick(void *arg)
{
    struct server *s = arg;
    double next = emu_app_tick(s->app);
    if (next >= 0) emu_timers_add(s->ticker, next, s);
}

static const char *const option_names[] = {
    "host", "port", "app", "config", "path", "cpath", "quiet", NULL
};

static struct server *check_server(lua_State *L)
{
    struct server *s = sd_testudata(L, 1, SERVER_MT);
    if (s == NULL) luaL_argerror(L, 1, "expected a " SERVER_MT);
    return s;
}

static void check_option_names(lua_State *L, int t)
{
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        int i, known = 0;
        if (lua_type(L, -2) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -2);
            for (i = 0; option_names[i] != NULL; i++)
                if (strcmp(k, option_names[i]) == 0) known = 1;
            if (!known) luaL_argerror(L, t, lua_pushfstring(L, "unknown option '%s'", k));
        } else {
            luaL_argerror(L, t, "option names must be strings");
        }
        lua_pop(L, 1);
    }
}

/* Optional string field; the value stays on the stack so the pointer lives. */
static const char *opt_string(lua_State *L, int t, const char *k, const char *def, size_t *len)
{
    int ty = sd_getfield(L, t, k);
    if (ty == LUA_TNIL) {
        if (len != NULL) *len = def != NULL ? strlen(def) : 0;
        return def;
    }
    if (ty != LUA_TSTRING)
        luaL_argerror(L, t, lua_pushfstring(L, "'%s' must be a string, got %s", k, luaL_typename(L, -1)));
    return lua_tolstring(L, -1, len);
}

/* Default for path/cpath: the caller's own, so the server thread finds the
 * same modules (cjson, the app) the caller does. */
static const char *package_field(lua_State *L, const char *k)
{
    const char *v = NULL;
    lua_getglobal(L, "package");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, k);
        v = lua_tostring(L, -1);
        lua_remove(L, -2);    /* keep the string on the stack */
    }
    return v;
}

static int l_start(lua_State *L)
{
    struct emu_app_options ao;
    const char *host;
    lua_Number portn = 0;
    int fd, bound = 0;
    char err[2048];
    struct server *s;

    luaL_checktype(L, 1, LUA_TTABLE);
    check_option_names(L, 1);
    host = opt_string(L, 1, "host", "127.0.0.1", NULL);
    if (sd_getfield(L, 1, "port") != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_argerror(L, 1, "'port' must be a number");
        portn = lua_tonumber(L, -1);
        if (!(portn >= 0 && portn <= 65535) || portn != (lua_Number)(int)portn)
            luaL_argerror(L, 1, "'port' must be an integer in 0-65535");
    }
    ao.app = opt_string(L, 1, "app", DEFAULT_APP, NULL);
    ao.config = opt_string(L, 1, "config", "", &ao.config_len);
    ao.path = opt_string(L, 1, "path", NULL, NULL);
    if (ao.path == NULL) ao.path = package_field(L, "path");
    ao.cpath = opt_string(L, 1, "cpath", NULL, NULL);
    if (ao.cpath == NULL) ao.cpath = package_field(L, "cpath");
    sd_getfield(L, 1, "quiet");
    ao.quiet = lua_toboolean(L, -1);

    /* The userdata first: if Lua runs out of memory here nothing leaks. */
    s = lua_newuserdata(L, sizeof *s);
    memset(s, 0, sizeof *s);
    sd_setmetatable(L, SERVER_MT);

    fd = emu_listen(host, (int)portn, &bound, err, sizeof err);
    if (fd < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    s->app = emu_app_new(&ao, err, sizeof err);
    if (s->app == NULL) {
        close(fd);             /* nobody else owns it yet */
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    s->httpd = emu_httpd_start(fd, s->app, err, sizeof err);
    if (s->httpd == NULL) {
        emu_app_free(s->app);
        s->app = NULL;
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    s->port = bound;
    /* the app's timed work (a twin's callbacks) runs beside the HTTP thread; a server
     * whose ticker cannot start still serves (nothing it answers depends on it) */
    s->ticker = emu_timers_new(tick, err, sizeof err);
    if (s->ticker != NULL) emu_timers_add(s->ticker, 0, s);
    return 1;
}

/* __gc, __close and stop(): one idempotent cleanup. The ticker and the HTTP side go
 * first, since their threads call into the app. */
static int l_stop(lua_State *L)
{
    struct server *s = check_server(L);
    if (s->ticker != NULL) {
        emu_timers_free(s->ticker, NULL);
        s->ticker = NULL;
    }
    if (s->httpd != NULL) {
        emu_httpd_stop(s->httpd);
        s->httpd = NULL;
    }
    if (s->app != NULL) {
        emu_app_free(s->app);
        s->app = NULL;
    }
    return 0;
}

static int l_port(lua_State *L)
{
    struct server *s = check_server(L);
    sd_pushint(L, s->port);
    return 1;
}

static int l_control(lua_State *L)
{
    struct server *s = check_server(L);
    size_t inlen, outlen;
    const char *in = luaL_checklstring(L, 2, &inlen);
    char *out, err[2048];
    if (s->app == NULL) {
        lua_pushnil(L);
        lua_pushliteral(L, "closed");
        return 2;
    }
    if (emu_app_control(s->app, in, inlen, &out, &outlen, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushlstring(L, out, outlen);
    free(out);
    return 1;
}

static int l_tostring(lua_State *L)
{
    struct server *s = check_server(L);
    if (s->app == NULL)
        lua_pushliteral(L, SERVER_MT " (closed)");
    else
        lua_pushfstring(L, SERVER_MT " (port %d)", s->port);
    return 1;
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)emu_clock_now());
    return 1;
}

/* Returns true after the full time, false when a signal cut it short. */
static int l_sleep(lua_State *L)
{
    double seconds = (double)luaL_checknumber(L, 1);
    lua_pushboolean(L, emu_clock_sleep(seconds) == 0);
    return 1;
}

static const luaL_Reg server_methods[] = {
    {"port", l_port},
    {"control", l_control},
    {"stop", l_stop},
    {NULL, NULL}
};

static const luaL_Reg server_meta[] = {
    {"__gc", l_stop},
    {"__close", l_stop},
    {"__tostring", l_tostring},
    {NULL, NULL}
};

static const luaL_Reg functions[] = {
    {"start", l_start},
    {"now", l_now},
    {"sleep", l_sleep},
    {NULL, NULL}
};

int luaopen_seedance_emucore(lua_State *L);

int luaopen_seedance_emucore(lua_State *L)
{
    if (luaL_newmetatable(L, SERVER_MT)) {
        sd_setfuncs(L, server_meta, 0);
        luaL_newlib(L, server_methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    luaL_newlib(L, functions);
    lua_pushliteral(L, "0.1.0");
    lua_setfield(L, -2, "_VERSION");
    {   /* emucore.sample_mp4: the bytes of every generated video (scratch in a userdata) */
        size_t n = emu_sample_mp4(NULL);
        unsigned char *b = lua_newuserdata(L, n);
        emu_sample_mp4(b);
        lua_pushlstring(L, (const char *)b, n);
        lua_setfield(L, -3, "sample_mp4");
        lua_pop(L, 1);
    }
    return 1;
}
