/* lua_sched.c: the scheduler, the timers and the clock as methods of the engine userdata
 * (see sched.h). Misuse raises; nothing here calls back into Lua. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "lua_engine.h"
#include "lua_opts.h"
#include "object.h"
#include "sched.h"

static int l_now(lua_State *L)
{
    lua_pushnumber(L, sd_engine_now(sd_check_engine(L, 1)));
    return 1;
}

static int l_advance(lua_State *L)
{
    sd_engine *e = sd_check_engine(L, 1);
    double dt = luaL_checknumber(L, 2);
    if (!e->manual_clock) return luaL_error(L, "advance: the engine's clock is not manual");
    if (!(dt >= 0)) return luaL_argerror(L, 2, "must be a non-negative number of seconds");
    sd_engine_advance(e, dt);
    return 0;
}

static int l_timer(lua_State *L)
{
    sd_engine *e = sd_check_engine(L, 1);
    double d = luaL_checknumber(L, 2), id;
    if (d != d) return luaL_argerror(L, 2, "delay is NaN");
    id = sd_engine_timer(e, d);
    if (id < 0) return luaL_error(L, "out of memory");
    sd_pushint(L, id);
    return 1;
}

static int l_cancel_timer(lua_State *L)
{
    lua_pushboolean(L, sd_engine_cancel_timer(sd_check_engine(L, 1), luaL_checknumber(L, 2)));
    return 1;
}

static int l_fired(lua_State *L)
{
    sd_engine *e = sd_check_engine(L, 1);
    size_t i;
    lua_createtable(L, (int)e->nfired, 0);
    for (i = 0; i < e->nfired; i++) {
        sd_pushint(L, e->fired[i]);
        lua_rawseti(L, -2, (int)i + 1);
    }
    e->nfired = 0;
    return 1;
}

/* ---- scheduler ---- */

/* eng:poll_class{url_pre=, url_post=, headers={}, status=, progress=, first=, max=, factor=,
 *                jitter=, max_age=, timeout=, list={urls={pending, moved...}, items=, id=,
 *                status=, total=, page_size=, threshold=, fanout=, max_pages=, first=, max=}} */
static int l_poll_class(lua_State *L)
{
    sd_engine *e = sd_check_engine(L, 1);
    sd_pclass_spec s;
    const char *hdrs[64], *statuses[8];
    char err[160];
    int cls;
    luaL_checktype(L, 2, LUA_TTABLE);
    memset(&s, 0, sizeof s);
    s.url_pre = sd_opt_str(L, 2, "url_pre", "poll_class");
    s.url_post = sd_opt_str(L, 2, "url_post", "poll_class");
    s.n_headers = sd_opt_strings(L, 2, "headers", hdrs, 64, "poll_class");
    s.headers = hdrs;
    s.status_path = sd_opt_str(L, 2, "status", "poll_class");
    s.progress_path = sd_opt_str(L, 2, "progress", "poll_class");
    s.first = sd_opt_num(L, 2, "first", 2, "poll_class");
    s.max = sd_opt_num(L, 2, "max", 15, "poll_class");
    s.factor = sd_opt_num(L, 2, "factor", 1.5, "poll_class");
    s.jitter = sd_opt_num(L, 2, "jitter", 0.2, "poll_class");
    s.max_age = sd_opt_num(L, 2, "max_age", 1800, "poll_class");
    s.timeout = sd_opt_num(L, 2, "timeout", 0, "poll_class");
    if (!(s.first > 0)) return luaL_error(L, "poll_class: 'first' must be positive");
    if (sd_getfield(L, 2, "list") == LUA_TTABLE) {
        int t = lua_gettop(L);
        s.items_path = sd_opt_str(L, t, "items", "poll_class");
        s.item_id = sd_opt_str(L, t, "id", "poll_class");
        s.item_status = sd_opt_str(L, t, "status", "poll_class");
        s.total_path = sd_opt_str(L, t, "total", "poll_class");
        s.n_statuses = sd_opt_strings(L, t, "urls", statuses, 8, "poll_class");
        s.statuses = statuses;
        s.page_size = (int)sd_opt_num(L, t, "page_size", 100, "poll_class");
        s.threshold = (int)sd_opt_num(L, t, "threshold", 3, "poll_class");
        s.fanout = (int)sd_opt_num(L, t, "fanout", 16, "poll_class");
        s.max_pages = (int)sd_opt_num(L, t, "max_pages", 50, "poll_class");
        s.list_first = sd_opt_num(L, t, "first", 1, "poll_class");
        s.list_max = sd_opt_num(L, t, "max", 4, "poll_class");
    }
    cls = sd_sched_class(e, &s, err, sizeof err);
    lua_pop(L, 1);
    if (cls < 0) return luaL_error(L, "poll_class: %s", err);
    sd_pushint(L, cls);
    return 1;
}

/* The table that anchors the polled objects of engine e (in the registry, keyed by the
 * engine's address; dropped when the engine closes, see sd_sched_unanchor): one array
 * slot per polled object, which is all Lua keeps per object. */
static int push_anchors(lua_State *L, sd_engine *e)
{
    lua_pushlightuserdata(L, e);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (lua_istable(L, -1)) return lua_gettop(L);
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushlightuserdata(L, e);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return lua_gettop(L);
}

void sd_sched_unanchor(lua_State *L, sd_engine *e)
{
    lua_pushlightuserdata(L, e);
    lua_pushnil(L);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

static void release(lua_State *L, sd_engine *e, int ref)
{
    if (ref <= 0) return;
    push_anchors(L, e);
    luaL_unref(L, -1, ref);
    lua_pop(L, 1);
}

/* eng:poll_add(cls, obj, fresh[, watched]) -> key: poll obj (an asset, session or task with
 * an id); `watched`: the number the class's progress path is compared with (the object's
 * progress when absent; a dialect may watch another field, Sunra its queue position) */
static int l_poll_add(lua_State *L)
{
    sd_engine *e = sd_check_engine(L, 1);
    int cls = (int)luaL_checkinteger(L, 2), ref, t;
    sd_object *o = sd_object_check(L, 3);
    double key, watched;
    if (cls < 0 || cls >= sd_sched_nclasses(e)) return luaL_argerror(L, 2, "no such poll class");
    if (sd_object_id(o, NULL) == NULL) return luaL_argerror(L, 3, "the object has no id");
    if (sd_sched_key(e, o) != 0) return luaL_argerror(L, 3, "the object is polled already");
    t = push_anchors(L, e);
    lua_pushvalue(L, 3);
    ref = luaL_ref(L, t);
    if (lua_type(L, 5) == LUA_TNUMBER) watched = lua_tonumber(L, 5);
    else if (!lua_isnone(L, 5) || !sd_object_progress(o, &watched)) watched = NAN;
    key = sd_sched_add(e, cls, o, ref, watched, lua_toboolean(L, 4));
    if (key < 0) {
        luaL_unref(L, t, ref);
        return luaL_error(L, "out of memory");
    }
    sd_pushint(L, key);
    return 1;
}

/* eng:poll_remove(key) -> true when it was polled */
static int l_poll_remove(lua_State *L)
{
    sd_engine *e = sd_check_engine(L, 1);
    double key = luaL_checknumber(L, 2);
    int ref;
    if (!sd_sched_info(e, key, &ref, NULL)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    sd_sched_remove(e, key);
    release(L, e, ref);
    lua_pushboolean(L, 1);
    return 1;
}

/* eng:poll_key(obj) -> the key of obj's poll on this engine, or nil */
static int l_poll_key(lua_State *L)
{
    sd_engine *e = sd_check_engine(L, 1);
    sd_object *o = sd_object_check(L, 2);
    double key = sd_sched_key(e, o);
    if (key != 0) sd_pushint(L, key);
    else lua_pushnil(L);
    return 1;
}

/* eng:poll_class_of(key) -> the class it is polled in, or nil */
static int l_poll_class_of(lua_State *L)
{
    int cls;
    if (sd_sched_info(sd_check_engine(L, 1), luaL_checknumber(L, 2), NULL, &cls)) sd_pushint(L, cls);
    else lua_pushnil(L);
    return 1;
}

static int l_poll_hold(lua_State *L)
{
    lua_pushboolean(L, sd_sched_hold(sd_check_engine(L, 1), luaL_checknumber(L, 2), (int)luaL_checkinteger(L, 3)));
    return 1;
}

/* eng:poll_seen(key, changed, progress|nil): after a "settle" event */
static int l_poll_seen(lua_State *L)
{
    sd_engine *e = sd_check_engine(L, 1);
    double prog = lua_type(L, 4) == LUA_TNUMBER ? lua_tonumber(L, 4) : NAN;
    lua_pushboolean(L, sd_sched_seen(e, luaL_checknumber(L, 2), lua_toboolean(L, 3), prog));
    return 1;
}

static int l_poll_submit(lua_State *L)
{
    sd_engine *e = sd_check_engine(L, 1);
    double key = luaL_checknumber(L, 2);
    sd_submit s;
    const char *hdrs[64];
    int retry_on[8];
    char err[128];
    sd_read_submit(L, 3, &s, hdrs, retry_on);
    if (sd_sched_submit(e, key, &s, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static const char *const EVENT_NAMES[] = {"changed", "error", "item", "ended", "build", "trace"};

/* A TRACE event's record: {method=, url=, headers={...}} for a request sent, with
 * status=, error=, message=, body=, attempts=, elapsed= once it is answered. */
static void push_trace(lua_State *L, const sd_ptrace *t)
{
    const char *ek = sd_errkind_name(t->err);
    int i;
    lua_createtable(L, 0, 9);
    lua_pushstring(L, t->method);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, t->url);
    lua_setfield(L, -2, "url");
    lua_createtable(L, t->n_headers, 0);
    for (i = 0; i < t->n_headers; i++) {
        lua_pushstring(L, t->headers[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "headers");
    if (!t->answer) return;
    if (t->status > 0) {
        sd_pushint(L, t->status);
        lua_setfield(L, -2, "status");
    }
    if (ek) {
        lua_pushstring(L, ek);
        lua_setfield(L, -2, "error");
        lua_pushstring(L, t->errmsg[0] ? t->errmsg : ek);
        lua_setfield(L, -2, "message");
    }
    lua_pushlstring(L, t->body, t->body_len);
    lua_setfield(L, -2, "body");
    sd_pushint(L, t->attempts);
    lua_setfield(L, -2, "attempts");
    lua_pushnumber(L, t->elapsed);
    lua_setfield(L, -2, "elapsed");
}

/* eng:poll_events() -> {{key=, obj=, event=, result=, item=, status=, settle=,
 * sent=|answered=}, ...}, oldest first (sent and answered: trace records, see push_trace) */
static int l_poll_events(lua_State *L)
{
    sd_engine *e = sd_check_engine(L, 1);
    size_t n, i;
    sd_pevent *ev = sd_sched_events(e, &n);
    int anchors = push_anchors(L, e);
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_createtable(L, 0, 5);
        sd_pushint(L, ev[i].key);
        lua_setfield(L, -2, "key");
        if (ev[i].ref > 0) {
            lua_rawgeti(L, anchors, ev[i].ref);
            lua_setfield(L, -2, "obj");
        }
        lua_pushstring(L, EVENT_NAMES[ev[i].kind]);
        lua_setfield(L, -2, "event");
        if (ev[i].r) {
            sd_push_result(L, ev[i].r);
            lua_setfield(L, -2, "result");
        }
        if (ev[i].item) {
            lua_pushlstring(L, ev[i].item, ev[i].item_len);
            lua_setfield(L, -2, "item");
        }
        if (ev[i].word) {
            lua_pushstring(L, ev[i].word);
            lua_setfield(L, -2, "status");
        }
        if (ev[i].settle) {
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, "settle");
        }
        if (ev[i].trace) {
            push_trace(L, ev[i].trace);
            lua_setfield(L, -2, ev[i].trace->answer ? "answered" : "sent");
        }
        lua_rawseti(L, -2, (int)i + 1);
    }
    /* everything is copied out: nothing can raise from here on */
    for (i = 0; i < n; i++) {
        if (ev[i].release) luaL_unref(L, anchors, ev[i].ref);
        if (ev[i].r) sd_request_free(e, ev[i].r);
        free(ev[i].item);
        free(ev[i].word);
        sd_ptrace_free(ev[i].trace);
    }
    sd_sched_events_clear(e);
    return 1;
}

/* eng:poll_trace(on): the scheduler's own requests and answers become "trace" events */
static int l_poll_trace(lua_State *L)
{
    sd_sched_trace(sd_check_engine(L, 1), lua_toboolean(L, 2));
    return 0;
}

static int l_poll_count(lua_State *L)
{
    sd_engine *e = sd_check_engine(L, 1);
    sd_pushint(L, sd_sched_count(e, (int)luaL_optinteger(L, 2, -1)));
    return 1;
}

/* Transfers, timers and polls still in motion. */
static int l_busy(lua_State *L)
{
    sd_engine *e = sd_check_engine(L, 1);
    sd_pushint(L, e->active + e->waiting + e->ready + e->lua_timers + sd_sched_busy(e));
    return 1;
}

const luaL_Reg sd_sched_methods[] = {{"busy", l_busy},{"now", l_now},
                                     {"advance", l_advance},
                                     {"timer", l_timer},
                                     {"cancel_timer", l_cancel_timer},
                                     {"fired", l_fired},
                                     {"poll_class", l_poll_class},
                                     {"poll_add", l_poll_add},
                                     {"poll_remove", l_poll_remove},
                                     {"poll_key", l_poll_key},
                                     {"poll_class_of", l_poll_class_of},
                                     {"poll_hold", l_poll_hold},
                                     {"poll_seen", l_poll_seen},
                                     {"poll_submit", l_poll_submit},
                                     {"poll_events", l_poll_events},
                                     {"poll_count", l_poll_count},
                                     {"poll_trace", l_poll_trace},
                                     {NULL, NULL}};
