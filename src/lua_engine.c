/* lua_engine.c: the engine as a Lua userdata ("seedance.engine").
 * Misuse raises; outcomes of requests come back as plain tables from collect(). No
 * lua_State is kept anywhere: the engine calls no Lua, so no Lua error can unwind
 * through libcurl frames. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compat.h"
#include "clock.h"
#include "engine.h"
#include "lua_engine.h"
#include "lua_opts.h"
#include "sched.h"

#define ENGINE_MT "seedance.engine"

/* What a request may carry at most: longer is a caller's mistake (seedance.client.check refuses
 * keys and ids past 8 KB first), and would be sent slowly only to be refused. */
#define SD_MAX_HEADER_LINE 16384
#define SD_MAX_URL 65536

typedef struct lengine {
    sd_engine e;
    int open;
} lengine;

sd_request *sd_external_take(sd_engine *e);

static lengine *check_engine(lua_State *L, int i)
{
    lengine *le = luaL_checkudata(L, i, ENGINE_MT);
    if (!le->open) luaL_argerror(L, i, "engine is closed");
    return le;
}

sd_engine *sd_check_engine(lua_State *L, int i)
{
    return &check_engine(L, i)->e;
}

static const char *const engine_opts[] = {"connect_timeout", "timeout", "retries", "backoff_base",
                                          "backoff_max", "max_retry_after", "max_per_host", "max_body",
                                          "verify_tls", "ca_file", "ca_path", "user_agent", "seed",
                                          "driver", "clock", NULL};

static int l_engine(lua_State *L)
{
    sd_config cfg;
    lengine *le;
    const char *drv;
    const sd_driver *d = &sd_driver_curl;
    char err[256] = "";
    if (lua_isnoneornil(L, 1)) lua_newtable(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    sd_opt_check_keys(L, 1, engine_opts, "engine");
    memset(&cfg, 0, sizeof cfg);
    cfg.connect_timeout = sd_opt_num(L, 1, "connect_timeout", 10, "engine");
    cfg.timeout = sd_opt_num(L, 1, "timeout", 60, "engine");
    cfg.retries = (int)sd_opt_num(L, 1, "retries", 2, "engine");
    cfg.backoff_base = sd_opt_num(L, 1, "backoff_base", 0.5, "engine");
    cfg.backoff_max = sd_opt_num(L, 1, "backoff_max", 8, "engine");
    cfg.max_retry_after = sd_opt_num(L, 1, "max_retry_after", 60, "engine");
    cfg.max_per_host = (int)sd_opt_num(L, 1, "max_per_host", 32, "engine");
    cfg.max_body = (size_t)sd_opt_num(L, 1, "max_body", 8.0 * 1024 * 1024, "engine");
    cfg.verify_tls = sd_opt_bool(L, 1, "verify_tls", 1, "engine");
    cfg.ca_file = (char *)sd_opt_str(L, 1, "ca_file", "engine");
    cfg.ca_path = (char *)sd_opt_str(L, 1, "ca_path", "engine");
    cfg.user_agent = (char *)sd_opt_str(L, 1, "user_agent", "engine");
    cfg.seed = (uint64_t)sd_opt_num(L, 1, "seed", 0, "engine");
    {
        const char *clk = sd_opt_str(L, 1, "clock", "engine");
        if (clk && strcmp(clk, "manual") == 0) cfg.manual_clock = 1;
        else if (clk && strcmp(clk, "monotonic") != 0) luaL_error(L, "option 'clock' must be \"monotonic\" or \"manual\"");
    }
    drv = sd_opt_str(L, 1, "driver", "engine");
    if (drv && strcmp(drv, "external") == 0) d = &sd_driver_external;
    else if (drv && strcmp(drv, "curl") != 0) luaL_error(L, "option 'driver' must be \"curl\" or \"external\"");
    if (cfg.max_per_host < 1) luaL_error(L, "option 'max_per_host' must be at least 1");
    if (cfg.retries < 0) luaL_error(L, "option 'retries' must not be negative");
    if (!(cfg.timeout > 0) || !(cfg.connect_timeout > 0)) luaL_error(L, "timeouts must be positive");
    le = lua_newuserdata(L, sizeof *le);
    memset(le, 0, sizeof *le);
    sd_setmetatable(L, ENGINE_MT);
    if (sd_engine_init(&le->e, &cfg, d, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    le->open = 1;
    return 1;
}

static const char *const submit_opts[] = {"method", "url", "headers", "body", "timeout", "deadline",
                                          "delay", "retries", "idempotent", "retry_on", "file",
                                          "resume", "follow", "max_body", NULL};

/* The request table at index t into s; strings stay anchored by that table. */
void sd_read_submit(lua_State *L, int t, sd_submit *sp, const char **hdrs, int *retry_on)
{
    sd_submit s;
    int i, n;
    size_t blen = 0;
    luaL_checktype(L, t, LUA_TTABLE);
    sd_opt_check_keys(L, t, submit_opts, "submit");
    memset(&s, 0, sizeof s);
    s.method = sd_opt_str(L, t, "method", "submit");
    s.url = sd_opt_str(L, t, "url", "submit");
    if (s.url == NULL) luaL_error(L, "submit: 'url' is required");
    if (strlen(s.url) > SD_MAX_URL) luaL_error(L, "submit: 'url' over %d bytes", SD_MAX_URL);
    if (sd_getfield(L, t, "body") == LUA_TSTRING) s.body = lua_tolstring(L, -1, &blen);
    else if (!lua_isnil(L, -1)) luaL_error(L, "submit: option 'body' must be a string");
    lua_pop(L, 1);
    s.body_len = blen;
    s.file = sd_opt_str(L, t, "file", "submit");
    s.timeout = sd_opt_num(L, t, "timeout", 0, "submit");
    s.deadline = sd_opt_num(L, t, "deadline", 0, "submit");
    s.delay = sd_opt_num(L, t, "delay", 0, "submit");
    s.retries = (int)sd_opt_num(L, t, "retries", -1, "submit");
    s.resume = sd_opt_bool(L, t, "resume", 0, "submit");
    s.max_body = (size_t)sd_opt_num(L, t, "max_body", 0, "submit");
    s.idempotent = sd_opt_bool(L, t, "idempotent", s.method == NULL || strcmp(s.method, "GET") == 0 ||
                                                    strcmp(s.method, "HEAD") == 0 ||
                                                    strcmp(s.method, "DELETE") == 0,
                               "submit");
    s.follow = sd_opt_bool(L, t, "follow", 0, "submit");
    n = sd_opt_strings(L, t, "headers", hdrs, 64, "submit");
    for (i = 0; i < n; i++) {
        if (strchr(hdrs[i], '\n') || strchr(hdrs[i], '\r')) luaL_error(L, "submit: header contains a line break");
        /* a megabyte key or id would be sent slowly and refused (or mislabelled by curl) */
        if (strlen(hdrs[i]) > SD_MAX_HEADER_LINE)
            luaL_error(L, "submit: a header line over %d bytes", SD_MAX_HEADER_LINE);
    }
    s.headers = n > 0 ? hdrs : NULL;
    s.n_headers = n;
    if (sd_getfield(L, t, "retry_on") == LUA_TTABLE) {
        n = (int)lua_rawlen(L, -1);
        for (i = 0; i < n && i < 8; i++) {
            lua_rawgeti(L, -1, i + 1);
            retry_on[i] = (int)lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
        s.retry_on = retry_on;
        s.n_retry_on = i;
    }
    lua_pop(L, 1);
    *sp = s;
}

static int l_submit(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    sd_submit s;
    sd_request *r;
    const char *hdrs[64];
    int retry_on[8];
    char err[128];
    sd_read_submit(L, 2, &s, hdrs, retry_on);
    r = sd_engine_submit(&le->e, &s, err, sizeof err);
    if (r == NULL) {
        if (strcmp(err, "out of memory") == 0) return luaL_error(L, "%s", err);
        return luaL_error(L, "submit: %s", err);
    }
    sd_pushint(L, r->h.id);
    return 1;
}

static int l_step(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    sd_pushint(L, sd_engine_step(&le->e));
    return 1;
}

static int l_wait(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    sd_engine_wait(&le->e, luaL_optnumber(L, 2, 1.0));
    return 0;
}

static int l_next_due(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    double d = sd_engine_next_due(&le->e);
    if (d < 0) lua_pushnil(L);
    else lua_pushnumber(L, d);
    return 1;
}

/* "Name: value" lines -> {name = value}, names lowercased; the status line is skipped. */
static void push_headers(lua_State *L, const char *h, size_t len)
{
    size_t i = 0;
    lua_newtable(L);
    while (i < len) {
        const char *line = h + i, *eol = memchr(line, '\n', len - i), *colon, *v, *end;
        size_t llen = eol ? (size_t)(eol - line) : len - i;
        char name[128];
        size_t k;
        i += llen + 1;
        colon = memchr(line, ':', llen);
        if (colon == NULL || (size_t)(colon - line) >= sizeof name || colon == line) continue;
        for (k = 0; k < (size_t)(colon - line); k++) name[k] = (char)tolower((unsigned char)line[k]);
        v = colon + 1;
        end = line + llen;
        while (v < end && (*v == ' ' || *v == '\t')) v++;
        while (end > v && (end[-1] == '\r' || end[-1] == ' ')) end--;
        lua_pushlstring(L, name, k);
        lua_pushlstring(L, v, (size_t)(end - v));
        lua_rawset(L, -3);
    }
}

void sd_push_result(lua_State *L, sd_request *r)
{
    const char *ek = sd_errkind_name(r->err);
    lua_createtable(L, 0, 12);
    sd_pushint(L, r->h.id);
    lua_setfield(L, -2, "id");
    lua_pushstring(L, r->method);
    lua_setfield(L, -2, "method");
    if (r->status > 0) {
        sd_pushint(L, r->status);
        lua_setfield(L, -2, "status");
    }
    lua_pushlstring(L, r->resp_body.p ? r->resp_body.p : "", r->resp_body.len);
    lua_setfield(L, -2, "body");
    push_headers(L, r->resp_headers.p, r->resp_headers.len);
    lua_setfield(L, -2, "headers");
    if (ek) {
        lua_pushstring(L, ek);
        lua_setfield(L, -2, "error");
        lua_pushstring(L, r->errmsg[0] ? r->errmsg : ek);
        lua_setfield(L, -2, "message");
    }
    sd_pushint(L, r->attempts);
    lua_setfield(L, -2, "attempts");
    lua_pushboolean(L, r->sent);
    lua_setfield(L, -2, "sent");
    if (r->retry_after >= 0) {
        lua_pushnumber(L, r->retry_after);
        lua_setfield(L, -2, "retry_after");
    }
    if (r->file) {
        lua_pushnumber(L, (double)r->file_bytes);
        lua_setfield(L, -2, "file_bytes");
    }
}

static int l_collect(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    int n = 0, max = (int)luaL_optinteger(L, 2, 1 << 30);
    sd_request *r;
    /* answers an external driver fed since the last step may be the scheduler's: it reads
     * those itself, so they must not reach Lua as completions */
    sd_sched_collect(&le->e);
    lua_newtable(L);
    while (n < max && (r = sd_engine_pop_done(&le->e)) != NULL) {
        sd_push_result(L, r);
        lua_rawseti(L, -2, ++n);
        sd_request_free(&le->e, r);
    }
    return 1;
}

static int l_cancel(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    sd_request *r = sd_engine_find(&le->e, luaL_checknumber(L, 2));
    if (r == NULL || r->state == SD_DONE) {
        lua_pushboolean(L, 0);
        return 1;
    }
    sd_engine_cancel(&le->e, r);
    lua_pushboolean(L, 1);
    return 1;
}

/* engine:progress(id) -> bytes on disk so far, total bytes or nil (downloads).
 * engine:progress(id, written, total, from): an external driver's report of the current
 * attempt (bytes written at offset `from`, the whole file's size when known); `from`
 * drops to 0 when the host ignored our Range and the file starts over. */
static int l_progress(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    sd_request *r = sd_engine_find(&le->e, luaL_checknumber(L, 2));
    if (!lua_isnoneornil(L, 3)) {
        if (le->e.drv != &sd_driver_external) return luaL_error(L, "progress: only an external driver reports progress");
        if (r == NULL || r->state != SD_ACTIVE) return 0;
        r->file_bytes = (long long)luaL_checknumber(L, 3);
        if (lua_type(L, 4) == LUA_TNUMBER) r->expected = (long long)lua_tonumber(L, 4);
        if (lua_type(L, 5) == LUA_TNUMBER) r->resume_from = (long long)lua_tonumber(L, 5);
        return 0;
    }
    if (r == NULL) return 0;
    lua_pushnumber(L, (double)(r->resume_from + r->file_bytes));
    if (r->expected >= 0) lua_pushnumber(L, (double)r->expected);
    else lua_pushnil(L);
    return 2;
}

static int l_outbox(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    sd_request *r;
    int n = 0, i;
    if (le->e.drv != &sd_driver_external) return luaL_error(L, "outbox: the engine's driver is not external");
    lua_newtable(L);
    while ((r = sd_external_take(&le->e)) != NULL) {
        lua_createtable(L, 0, 12);
        sd_pushint(L, r->h.id);
        lua_setfield(L, -2, "id");
        lua_pushstring(L, r->method);
        lua_setfield(L, -2, "method");
        lua_pushstring(L, r->url);
        lua_setfield(L, -2, "url");
        if (r->body) {
            lua_pushlstring(L, r->body, r->body_len);
            lua_setfield(L, -2, "body");
        }
        lua_createtable(L, r->n_headers, 0);
        for (i = 0; i < r->n_headers; i++) {
            lua_pushstring(L, r->headers[i]);
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, "headers");
        lua_pushnumber(L, r->timeout);
        lua_setfield(L, -2, "timeout");
        sd_pushint(L, r->attempts);
        lua_setfield(L, -2, "attempt");
        lua_pushnumber(L, (double)r->max_body);
        lua_setfield(L, -2, "max_body");
        if (r->deadline > 0) {
            double left = r->deadline - sd_engine_now(&le->e);
            lua_pushnumber(L, left > 0.001 ? left : 0.001);
            lua_setfield(L, -2, "deadline");
        }
        if (r->follow) {
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, "follow");
        }
        if (r->file) {
            /* as the curl driver does at each attempt: continue what is on disk */
            struct stat st;
            r->resume_from = (r->resume && stat(r->file, &st) == 0) ? (long long)st.st_size : 0;
            r->file_bytes = 0;
            r->expected = -1;
            lua_pushstring(L, r->file);
            lua_setfield(L, -2, "file");
            lua_pushnumber(L, (double)r->resume_from);
            lua_setfield(L, -2, "resume");
        }
        lua_rawseti(L, -2, ++n);
    }
    return 1;
}

static sd_errkind errkind_from(const char *s)
{
    static const struct {
        const char *n;
        sd_errkind k;
    } map[] = {{"connect", SD_ERR_CONNECT}, {"timeout", SD_ERR_TIMEOUT}, {"network", SD_ERR_NETWORK},
               {"too_large", SD_ERR_TOO_LARGE}, {"tls", SD_ERR_TLS}, {"file", SD_ERR_FILE},
               {NULL, SD_ERR_NONE}};
    int i;
    for (i = 0; map[i].n; i++)
        if (strcmp(map[i].n, s) == 0) return map[i].k;
    return SD_ERR_INTERNAL;
}

static const char *const feed_opts[] = {"status", "headers", "body", "error", "message", "sent", NULL};

/* engine:feed(id, {status=, headers={name=value}, body=} | {error="connect"|..., sent=}) */
static int l_feed(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    sd_request *r = sd_engine_find(&le->e, luaL_checknumber(L, 2));
    const char *s;
    size_t len;
    luaL_checktype(L, 3, LUA_TTABLE);
    sd_opt_check_keys(L, 3, feed_opts, "feed");
    if (r == NULL || r->state != SD_ACTIVE) {
        lua_pushboolean(L, 0); /* cancelled meanwhile, or unknown: nothing to do */
        return 1;
    }
    r->status = (long)sd_opt_num(L, 3, "status", 0, "feed");
    s = sd_opt_str(L, 3, "error", "feed");
    if (s) {
        r->err = errkind_from(s);
        snprintf(r->errmsg, sizeof r->errmsg, "%s", sd_opt_str(L, 3, "message", "feed") ? sd_opt_str(L, 3, "message", "feed") : s);
        r->sent = sd_opt_bool(L, 3, "sent", r->err != SD_ERR_CONNECT, "feed");
    } else {
        r->sent = 1;
    }
    if (sd_getfield(L, 3, "body") == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &len);
        if (sd_buf_append(&r->resp_body, s, len, r->max_body) != 0) {
            r->err = SD_ERR_TOO_LARGE;
            snprintf(r->errmsg, sizeof r->errmsg, "response body too large");
        }
    }
    lua_pop(L, 1);
    if (sd_getfield(L, 3, "headers") == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
            size_t kl, vl;
            const char *k = lua_tolstring(L, -2, &kl), *v = lua_tolstring(L, -1, &vl);
            if (k && v) {
                sd_buf_append(&r->resp_headers, k, kl, 256 * 1024);
                sd_buf_append(&r->resp_headers, ": ", 2, 256 * 1024);
                sd_buf_append(&r->resp_headers, v, vl, 256 * 1024);
                sd_buf_append(&r->resp_headers, "\r\n", 2, 256 * 1024);
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    sd_engine_finished(&le->e, r);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_stats(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    lua_createtable(L, 0, 6);
    sd_pushint(L, le->e.active);
    lua_setfield(L, -2, "active");
    sd_pushint(L, le->e.waiting);
    lua_setfield(L, -2, "waiting");
    sd_pushint(L, le->e.ready);
    lua_setfield(L, -2, "ready");
    sd_pushint(L, le->e.total);
    lua_setfield(L, -2, "total");
    lua_pushnumber(L, (double)le->e.attempts_done);
    lua_setfield(L, -2, "attempts");
    lua_pushnumber(L, (double)le->e.retries_done);
    lua_setfield(L, -2, "retries");
    lua_pushstring(L, le->e.drv->name);
    lua_setfield(L, -2, "driver");
    return 1;
}

/* __gc, __close and close() are one idempotent cleanup. */
static int l_close(lua_State *L)
{
    lengine *le = luaL_checkudata(L, 1, ENGINE_MT);
    if (le->open) {
        le->open = 0;
        sd_engine_close(&le->e);
        sd_sched_unanchor(L, &le->e);
    }
    return 0;
}

static int l_tostring(lua_State *L)
{
    lengine *le = luaL_checkudata(L, 1, ENGINE_MT);
    if (le->open) lua_pushfstring(L, "seedance.engine (%s, %d busy)", le->e.drv->name,
                                  le->e.active + le->e.waiting + le->e.ready);
    else lua_pushstring(L, "seedance.engine (closed)");
    return 1;
}

int sd_open_engine(lua_State *L)
{
    static const luaL_Reg methods[] = {{"submit", l_submit},   {"step", l_step},       {"wait", l_wait},
                                       {"next_due", l_next_due}, {"collect", l_collect}, {"cancel", l_cancel},
                                       {"outbox", l_outbox}, {"progress", l_progress},   {"feed", l_feed},       {"stats", l_stats},
                                       {"close", l_close},     {NULL, NULL}};
    static const luaL_Reg meta[] = {{"__gc", l_close}, {"__close", l_close}, {"__tostring", l_tostring}, {NULL, NULL}};
    if (luaL_newmetatable(L, ENGINE_MT)) {
        lua_newtable(L);
        sd_setfuncs(L, methods, 0);
        sd_setfuncs(L, sd_sched_methods, 0);
        lua_setfield(L, -2, "__index");
        sd_setfuncs(L, meta, 0);
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_engine);
    return 1;
}
