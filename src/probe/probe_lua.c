/* probe_lua.c: core.probe, the Lua face of the media parsers.
 *
 *   core.probe(path_or_bytes [, opts]) -> info | nil, message [, need]
 *
 * path_or_bytes: a string. If it names an existing file, the file's head is read (64 KiB),
 * then only the ranges the parser asks for (the moov of an MP4 wherever it is, a TIFF's IFD,
 * a JPEG's frame header behind large EXIF segments); only a file whose headers are scattered
 * over more than 8 reads (a fragmented MP4) is read whole, and only within max_read.
 * Otherwise the string is taken as the file's bytes, if it starts with a known signature
 * (and holds control characters, as every media header does: "GIF89a.gif" is a missing
 * file, not a GIF).
 * opts (all optional):
 *   data = true      the string is bytes, never a path
 *   size = n         bytes only: the string is the first bytes of a file of n bytes
 *   partial = true   bytes only: the string is the first bytes of a file of unknown size
 *   pieces = { {offset = o, data = s}, ... }   bytes only: more ranges of that file
 *   max_read = n     path only: cap on bytes read from the file (default 32 MiB)
 * info = {type=, format=, width=, height=, duration=, fps=, bytes=}, absent fields nil.
 * Unknown, corrupt or truncated media: nil, message. When the bytes given are a head and
 * the parser needs bytes the caller has not given (opts.size unknown or larger), the third
 * value is need = {offset=, size=, hint=}: fetch at least size (ideally hint) bytes from
 * offset, add them to opts.pieces and call again (see probe.h for the contract).
 * Only a non-string argument or a malformed opts raises. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "../compat.h"
#include "probe.h"

#define DEFAULT_MAX_READ (32u * 1024u * 1024u)
#define MAX_ROUNDS 16
#define SCATTER_ROUNDS 8 /* after this many reads, read a file within the cap whole */
#define PATH_LIMIT 4096

static void push_info(lua_State *L, const sd_probe_result *r)
{
    lua_createtable(L, 0, 7);
    if (r->type) {
        lua_pushstring(L, r->type);
        lua_setfield(L, -2, "type");
    }
    if (r->format) {
        lua_pushstring(L, r->format);
        lua_setfield(L, -2, "format");
    }
    if (r->width) {
        sd_pushint(L, r->width);
        lua_setfield(L, -2, "width");
    }
    if (r->height) {
        sd_pushint(L, r->height);
        lua_setfield(L, -2, "height");
    }
    if (r->duration >= 0) {
        lua_pushnumber(L, (lua_Number)r->duration);
        lua_setfield(L, -2, "duration");
    }
    if (r->fps >= 0) {
        lua_pushnumber(L, (lua_Number)r->fps);
        lua_setfield(L, -2, "fps");
    }
    if (r->bytes != SD_PROBE_SIZE_UNKNOWN) {
        sd_pushint(L, r->bytes);
        lua_setfield(L, -2, "bytes");
    }
}

static int push_failure(lua_State *L, int rc, const sd_probe_result *r, const char *prefix,
                        const char *msg)
{
    lua_pushnil(L);
    if (prefix) lua_pushfstring(L, "%s: %s", prefix, msg);
    else lua_pushstring(L, msg);
    if (rc != SD_PROBE_NEED_MORE) return 2;
    lua_createtable(L, 0, 3);
    lua_pushnumber(L, (lua_Number)r->need_offset);
    lua_setfield(L, -2, "offset");
    lua_pushnumber(L, (lua_Number)r->need_size);
    lua_setfield(L, -2, "size");
    lua_pushnumber(L, (lua_Number)r->need_hint);
    lua_setfield(L, -2, "hint");
    return 3;
}

/* A non-negative integral number field of the opts table, or dflt if absent. */
static double opt_count(lua_State *L, const char *name, double dflt)
{
    double d;
    if (sd_getfield(L, 2, name) == LUA_TNIL) {
        lua_pop(L, 1);
        return dflt;
    }
    if (lua_type(L, -1) != LUA_TNUMBER)
        luaL_error(L, "bad argument #2 to 'probe' (%s must be a number)", name);
    d = (double)lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!(d >= 0) || d != (double)(uint64_t)d || d > 9007199254740992.0)
        luaL_error(L, "bad argument #2 to 'probe' (%s must be a non-negative integer)", name);
    return d;
}

static void check_opts(lua_State *L)
{
    if (lua_isnoneornil(L, 2)) return;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (!k || (strcmp(k, "data") && strcmp(k, "size") && strcmp(k, "pieces")
                   && strcmp(k, "partial") && strcmp(k, "max_read")))
            luaL_error(L, "bad argument #2 to 'probe' (unknown option '%s')",
                       k ? k : luaL_typename(L, -2));
        lua_pop(L, 1);
    }
}

/* ---- bytes --------------------------------------------------------------------------- */

static int probe_bytes(lua_State *L, const char *s, size_t n)
{
    sd_probe_piece pc[SD_PROBE_MAX_PIECES];
    sd_probe_result r;
    char err[256];
    size_t npc = 1;
    uint64_t total = (uint64_t)n;
    int rc;

    pc[0].p = (const unsigned char *)s;
    pc[0].n = n;
    pc[0].offset = 0;
    if (!lua_isnoneornil(L, 2)) {
        double size = opt_count(L, "size", -1);
        if (size >= 0) {
            if (size < (double)n)
                luaL_error(L, "bad argument #2 to 'probe' (size %f is less than the %d bytes "
                              "given)", size, (int)n);
            total = (uint64_t)size;
        }
        if (sd_getfield(L, 2, "partial") != LUA_TNIL && lua_toboolean(L, -1)) {
            if (size >= 0)
                luaL_error(L, "bad argument #2 to 'probe' (give size or partial, not both)");
            total = SD_PROBE_SIZE_UNKNOWN;
        }
        lua_pop(L, 1);
        if (sd_getfield(L, 2, "pieces") != LUA_TNIL) {
            int i, cnt;
            if (lua_type(L, -1) != LUA_TTABLE)
                luaL_error(L, "bad argument #2 to 'probe' (pieces must be a list)");
            cnt = (int)lua_rawlen(L, -1);
            if (cnt > SD_PROBE_MAX_PIECES - 1)
                luaL_error(L, "bad argument #2 to 'probe' (at most %d pieces)",
                           SD_PROBE_MAX_PIECES - 1);
            for (i = 1; i <= cnt; i++) {
                size_t len;
                lua_Number o;
                lua_rawgeti(L, -1, i);
                if (lua_type(L, -1) != LUA_TTABLE
                    || sd_getfield(L, -1, "offset") != LUA_TNUMBER
                    || sd_getfield(L, -2, "data") != LUA_TSTRING)
                    luaL_error(L, "bad argument #2 to 'probe' (pieces[%d] must be "
                                  "{offset = number, data = string})", i);
                o = lua_tonumber(L, -2);
                if (!(o >= 0) || o > 9007199254740992.0 || o != (lua_Number)(uint64_t)o)
                    luaL_error(L, "bad argument #2 to 'probe' (pieces[%d].offset)", i);
                /* the string stays referenced by opts.pieces[i] while we use it */
                pc[npc].p = (const unsigned char *)lua_tolstring(L, -1, &len);
                pc[npc].n = len;
                pc[npc].offset = (uint64_t)o;
                npc++;
                lua_pop(L, 3);
            }
        }
        lua_pop(L, 1);
    }
    rc = sd_probe_pieces(pc, npc, total, &r, err, sizeof err);
    if (rc == SD_PROBE_OK) {
        push_info(L, &r);
        return 1;
    }
    return push_failure(L, rc, &r, NULL, err);
}

/* ---- files --------------------------------------------------------------------------- */

/* Read [off, off + len) of f into a new userdata (on the stack, so the GC owns it). */
static const unsigned char *read_range(lua_State *L, FILE *f, uint64_t off, size_t len,
                                       const char **why)
{
    unsigned char *buf;
    luaL_checkstack(L, 2, "probe");
    buf = (unsigned char *)lua_newuserdata(L, len ? len : 1);
    if ((uint64_t)(off_t)off != off || fseeko(f, (off_t)off, SEEK_SET) != 0
        || fread(buf, 1, len, f) != len) {
        *why = ferror(f) ? strerror(errno) : "file changed while being read";
        return NULL;
    }
    return buf;
}

static int probe_file(lua_State *L, const char *path, uint64_t size)
{
    sd_probe_piece pc[SD_PROBE_MAX_PIECES];
    sd_probe_result r;
    char err[256];
    const char *why = NULL;
    size_t npc = 0;
    uint64_t budget, used = 0;
    int rc = SD_PROBE_NEED_MORE, round, top = lua_gettop(L);
    FILE *f;

    budget = DEFAULT_MAX_READ;
    if (!lua_isnoneornil(L, 2)) {
        budget = (uint64_t)opt_count(L, "max_read", DEFAULT_MAX_READ);
        if (sd_getfield(L, 2, "size") != LUA_TNIL || sd_getfield(L, 2, "pieces") != LUA_TNIL
            || sd_getfield(L, 2, "partial") != LUA_TNIL)
            luaL_error(L, "bad argument #2 to 'probe' (size, partial and pieces are for bytes, "
                          "not a file)");
        lua_pop(L, 3);
    }
    if (size == 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: empty file", path);
        return 2;
    }
    if (!(f = fopen(path, "rb"))) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot open '%s': %s", path, strerror(errno));
        return 2;
    }
    err[0] = 0;
    memset(&r, 0, sizeof r);
    r.need_offset = 0;
    r.need_size = 1;
    r.need_hint = SD_PROBE_HEAD_SIZE;
    for (round = 0; round < MAX_ROUNDS && rc == SD_PROBE_NEED_MORE; round++) {
        uint64_t off = r.need_offset, want = r.need_hint, left;
        const unsigned char *buf;
        if (round == SCATTER_ROUNDS && size <= budget) {
            /* many scattered headers (a fragmented MP4, a chain of segments): a file that
             * fits the cap is cheaper read whole than piece by piece */
            if (!(buf = read_range(L, f, 0, (size_t)size, &why))) break;
            pc[0].p = buf;
            pc[0].n = (size_t)size;
            pc[0].offset = 0;
            npc = 1;
            rc = sd_probe_pieces(pc, npc, size, &r, err, sizeof err);
            break;
        }
        if (want < r.need_size) want = r.need_size;
        if (want < SD_PROBE_HEAD_SIZE) want = SD_PROBE_HEAD_SIZE; /* fewer rounds */
        if (off >= size || npc == SD_PROBE_MAX_PIECES) break;
        if (want > size - off) want = size - off;
        left = budget - used;
        if (want > left) want = left;
        if (want < r.need_size || want == 0) {
            fclose(f);
            lua_settop(L, top);
            lua_pushnil(L);
            lua_pushfstring(L, "%s: needs more than the read cap (max_read = %f bytes)", path,
                            (lua_Number)budget);
            return 2;
        }
        if (!(buf = read_range(L, f, off, (size_t)want, &why))) break;
        pc[npc].p = buf;
        pc[npc].n = (size_t)want;
        pc[npc].offset = off;
        npc++;
        used += want;
        rc = sd_probe_pieces(pc, npc, size, &r, err, sizeof err);
    }
    fclose(f);
    if (rc == SD_PROBE_OK) {
        lua_settop(L, top);
        push_info(L, &r);
        return 1;
    }
    lua_settop(L, top);
    if (why) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot read '%s': %s", path, why);
        return 2;
    }
    if (rc == SD_PROBE_NEED_MORE) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: gave up after %d reads (%s)", path, round, err);
        return 2;
    }
    return push_failure(L, rc, &r, path, err);
}

static int has_control(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) return 1;
    }
    return 0;
}

/* ---- entry --------------------------------------------------------------------------- */

int sd_l_probe(lua_State *L)
{
    size_t n;
    const char *s;
    int force_data = 0;
    struct stat st;

#ifdef sd_setfuncs_needed
    /* compat.h's 5.1 helpers are static, not inline: mark them used for -Wunused-function. */
    (void)sd_setfuncs;
    (void)sd_testudata;
    (void)sd_setmetatable;
#endif
    if (lua_type(L, 1) != LUA_TSTRING)
        return luaL_error(L, "bad argument #1 to 'probe' (string expected, got %s)",
                          luaL_typename(L, 1));
    s = lua_tolstring(L, 1, &n);
    check_opts(L);
    if (!lua_isnoneornil(L, 2)) {
        force_data = sd_getfield(L, 2, "data") != LUA_TNIL && lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    if (!force_data && n > 0 && n < PATH_LIMIT && strlen(s) == n) {
        if (stat(s, &st) == 0) {
            if (!S_ISREG(st.st_mode)) {
                lua_pushnil(L);
                lua_pushfstring(L, "'%s' is not a regular file", s);
                return 2;
            }
            return probe_file(L, s, (uint64_t)st.st_size);
        }
        /* not a file: bytes, if they start with a signature and look like bytes (media
         * headers always hold control characters; "GIF89a.gif" is a missing file) */
        if (!sd_probe_sniff((const unsigned char *)s, n) || !has_control(s, n)) {
            lua_pushnil(L);
            lua_pushfstring(L, "cannot open '%s': %s", s, strerror(errno));
            return 2;
        }
    }
    return probe_bytes(L, s, n);
}
