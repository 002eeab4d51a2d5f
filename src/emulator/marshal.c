/* marshal.c: request tables in, answer tables out (see marshal.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "marshal.h"

/* --- building the request table ---------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* application/x-www-form-urlencoded decoding of s[0..n) into out; returns the length. */
static size_t url_decode(const char *s, size_t n, char *out)
{
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0
                   && hexval((unsigned char)s[i + 2]) >= 0) {
            out[o++] = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

/* Pushes {k = v, ...} for a raw query string; a repeated key keeps the last value. */
static void push_query(lua_State *L, const char *q)
{
    size_t qlen = strlen(q);
    char stackbuf[512];
    char *buf = qlen < sizeof stackbuf ? stackbuf : lua_newuserdata(L, qlen + 1);
    int bufidx = lua_gettop(L);   /* userdata (if any) stays alive until we pop */
    const char *p = q, *end = q + qlen;

    lua_newtable(L);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (stop > p) {
            const char *kend = eq != NULL ? eq : stop;
            size_t n = url_decode(p, (size_t)(kend - p), buf);
            lua_pushlstring(L, buf, n);
            if (eq != NULL) {
                n = url_decode(eq + 1, (size_t)(stop - eq - 1), buf);
                lua_pushlstring(L, buf, n);
            } else {
                lua_pushliteral(L, "");
            }
            lua_rawset(L, -3);
        }
        p = stop + 1;
    }
    if (buf != stackbuf) lua_remove(L, bufidx);
}

/* Pushes {lowercased-name = value}; repeated headers are joined with ", ". */
static void push_headers(lua_State *L, const struct emu_request *req)
{
    size_t i;
    char name[256];
    lua_createtable(L, 0, (int)req->nheaders);
    for (i = 0; i < req->nheaders; i++) {
        const char *src = req->headers[i].name;
        size_t n = 0;
        if (src == NULL || req->headers[i].value == NULL) continue;
        while (src[n] != '\0' && n < sizeof name) {
            name[n] = (char)tolower((unsigned char)src[n]);
            n++;
        }
        lua_pushlstring(L, name, n);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        if (lua_isstring(L, -1)) {
            lua_pushliteral(L, ", ");
            lua_pushstring(L, req->headers[i].value);
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
            lua_pushstring(L, req->headers[i].value);
        }
        lua_rawset(L, -3);
    }
}

void emu_push_request(lua_State *L, const struct emu_request *req)
{
    lua_createtable(L, 0, 6);
    lua_pushstring(L, req->method);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, req->path);
    lua_setfield(L, -2, "path");
    lua_pushstring(L, req->raw_query);
    lua_setfield(L, -2, "raw_query");
    push_query(L, req->raw_query);
    lua_setfield(L, -2, "query");
    push_headers(L, req);
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, req->body != NULL ? req->body : "", req->body_len);
    lua_setfield(L, -2, "body");
}

/* --- reading the answer table ------------------------------------------ */

static char *copy_bytes(lua_State *L, const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p == NULL) luaL_error(L, "out of memory");
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Raw reads only: the answer is data, and an __index that raises would
 * otherwise surprise us outside the app's code. */
static int rawfield(lua_State *L, int t, const char *k)
{
    lua_pushstring(L, k);
    lua_rawget(L, t);
    return lua_type(L, -1);
}

void emu_read_response(lua_State *L, int t, struct emu_response *resp)
{
    if (!lua_istable(L, t))
        luaL_error(L, "handle returned %s, expected a table", luaL_typename(L, t));

    if (rawfield(L, t, "status") != LUA_TNIL) {
        lua_Number st = lua_tonumber(L, -1);
        if (!(st >= 100 && st <= 999)) luaL_error(L, "answer field 'status' must be 100-999");
        resp->status = (int)st;
    }
    lua_pop(L, 1);

    if (rawfield(L, t, "delay") != LUA_TNIL) {
        lua_Number d = lua_tonumber(L, -1);
        resp->delay = d > 0 ? (double)d : 0;
    }
    lua_pop(L, 1);

    rawfield(L, t, "close");
    resp->close = lua_toboolean(L, -1);
    lua_pop(L, 1);

    if (rawfield(L, t, "truncate") != LUA_TNIL) {
        lua_Number n = lua_tonumber(L, -1);
        resp->truncate = n >= 0 ? (long)n : -1;
    }
    lua_pop(L, 1);

    if (rawfield(L, t, "body") != LUA_TNIL) {
        size_t n;
        const char *s;
        if (!lua_isstring(L, -1)) luaL_error(L, "answer field 'body' must be a string");
        s = lua_tolstring(L, -1, &n);
        resp->body = copy_bytes(L, s, n);
        resp->body_len = n;
    }
    lua_pop(L, 1);

    if (rawfield(L, t, "headers") == LUA_TTABLE) {
        int h = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, h) != 0) {
            if (lua_type(L, -2) == LUA_TSTRING && lua_isstring(L, -1)) {
                if (emu_response_add_header(resp, lua_tostring(L, -2), lua_tostring(L, -1)) != 0)
                    luaL_error(L, "out of memory");
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

