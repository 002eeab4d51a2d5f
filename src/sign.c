/* sign.c: Volcengine signature V4 for Ark's control plane, and the two digests under it.
 *
 * Everything that decides whether a signature matches lives here, in one place, so the
 * client (and anyone checking it) signs exactly the bytes it sends: the path and query are
 * canonicalized from the URL as sent, each header from its value as sent. See sign.h. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "compat.h"
#include "sign.h"

#define MAX_HEADERS 32
#define MAX_NAME 64
/* a canonical request is a few hundred bytes; this only bounds a misuse */
#define BUF_LIMIT ((size_t)16 * 1024 * 1024)

int sd_sha256(const void *data, size_t n, unsigned char out[SD_SHA256_LEN])
{
    unsigned int len = 0;
    if (!EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) || len != SD_SHA256_LEN) return -1;
    return 0;
}

int sd_hmac_sha256(const void *key, size_t klen, const void *msg, size_t n,
                   unsigned char out[SD_SHA256_LEN])
{
    unsigned int len = 0;
    if (klen > INT_MAX) return -1;
    if (HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, n, out, &len) == NULL ||
        len != SD_SHA256_LEN)
        return -1;
    return 0;
}

void sd_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* --- a builder that remembers the first failure, so callers check once -------------- */

typedef struct sb {
    sd_buf b;
    int failed;
} sb;

static void put(sb *s, const char *p, size_t n)
{
    if (s->failed) return;
    if (n == 0) return;
    if (sd_buf_append(&s->b, p, n, BUF_LIMIT) != 0) s->failed = 1;
}

static void puts_(sb *s, const char *p)
{
    put(s, p, strlen(p));
}

/* NUL-terminates without counting the NUL in len. */
static const char *cstr(sb *s)
{
    put(s, "", 1);
    if (s->failed) return NULL;
    s->b.len--;
    return s->b.p;
}

/* --- percent-encoding ------------------------------------------------------------- */

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes p[0..n) (%XX; '+' as space when `plus`) and re-encodes it the one canonical way:
 * RFC 3986 unreserved bytes as they are, every other byte %XX in upper case; '/' kept
 * when `slash`. A '%' not followed by two hex digits is a literal '%'. */
static void canon_encode(sb *s, const char *p, size_t n, int plus, int slash)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        char esc[3];
        if (c == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
            c = (unsigned char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        } else if (c == '/' && slash) {
            put(s, "/", 1);
            continue;
        }
        if (unreserved(c)) {
            char ch = (char)c;
            put(s, &ch, 1);
        } else {
            esc[0] = '%';
            esc[1] = digits[c >> 4];
            esc[2] = digits[c & 15];
            put(s, esc, 3);
        }
    }
}

/* --- the canonical query: pairs encoded one way, sorted by key then value ------------- */

typedef struct pair {
    char *k, *v;
    size_t kl, vl;
} pair;

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c != 0) return c;
    return al < bl ? -1 : (al > bl ? 1 : 0);
}

static int cmp_pair(const void *x, const void *y)
{
    const pair *a = x, *b = y;
    int c = cmp_bytes(a->k, a->kl, b->k, b->kl);
    return c != 0 ? c : cmp_bytes(a->v, a->vl, b->v, b->vl);
}

static char *encoded_copy(const char *p, size_t n, size_t *len)
{
    sb s;
    memset(&s, 0, sizeof s);
    canon_encode(&s, p, n, 1, 0);
    if (cstr(&s) == NULL) {
        sd_buf_free(&s.b);
        return NULL;
    }
    *len = s.b.len;
    return s.b.p;
}

/* Appends the canonical form of raw query `q`; -1 when memory ran out. */
static int canon_query(sb *out, const char *q, size_t n)
{
    size_t count = 1, i, np = 0, start = 0;
    pair *ps;
    int rc = 0;
    for (i = 0; i < n; i++)
        if (q[i] == '&') count++;
    ps = calloc(count, sizeof *ps);
    if (ps == NULL) return -1;
    for (i = 0; i <= n && rc == 0; i++) {
        if (i == n || q[i] == '&') {
            const char *seg = q + start;
            size_t len = i - start;
            const char *eq = memchr(seg, '=', len);
            size_t kl = eq != NULL ? (size_t)(eq - seg) : len;
            start = i + 1;
            if (len == 0) continue;
            ps[np].k = encoded_copy(seg, kl, &ps[np].kl);
            ps[np].v = eq != NULL ? encoded_copy(eq + 1, len - kl - 1, &ps[np].vl) : encoded_copy("", 0, &ps[np].vl);
            if (ps[np].k == NULL || ps[np].v == NULL) rc = -1;
            np++;
        }
    }
    if (rc == 0) {
        qsort(ps, np, sizeof *ps, cmp_pair);
        for (i = 0; i < np; i++) {
            if (i > 0) put(out, "&", 1);
            put(out, ps[i].k, ps[i].kl);
            put(out, "=", 1);
            put(out, ps[i].v, ps[i].vl);
        }
    }
    for (i = 0; i < np; i++) {
        free(ps[i].k);
        free(ps[i].v);
    }
    free(ps);
    return rc;
}

/* --- the signature ------------------------------------------------------------------ */

typedef struct header {
    char name[MAX_NAME];
    const char *value;
    size_t vlen;
} header;

typedef struct sign_in {
    const char *method, *path, *query, *body, *ak, *sk, *region, *service;
    size_t path_len, query_len, body_len, sk_len;
    header h[MAX_HEADERS];
    size_t nh;
    const char *xdate; /* points into h[] */
} sign_in;

typedef struct sign_out {
    sb canonical, to_sign, auth, scope, signed_headers;
    char body_hash[2 * SD_SHA256_LEN + 1];
    char signature[2 * SD_SHA256_LEN + 1];
} sign_out;

static int cmp_header(const void *x, const void *y)
{
    return strcmp(((const header *)x)->name, ((const header *)y)->name);
}

static void free_out(sign_out *o)
{
    sd_buf_free(&o->canonical.b);
    sd_buf_free(&o->to_sign.b);
    sd_buf_free(&o->auth.b);
    sd_buf_free(&o->scope.b);
    sd_buf_free(&o->signed_headers.b);
}

/* Fills `o`; returns NULL or what went wrong (never naming the secret). */
static const char *sign(sign_in *in, sign_out *o)
{
    unsigned char d[SD_SHA256_LEN], k1[SD_SHA256_LEN], k2[SD_SHA256_LEN], k3[SD_SHA256_LEN];
    unsigned char key[SD_SHA256_LEN], sig[SD_SHA256_LEN];
    char hex[2 * SD_SHA256_LEN + 1];
    const char *err = NULL;
    size_t i;

    if (sd_sha256(in->body, in->body_len, d) != 0) return "sha256 failed";
    sd_hex(d, sizeof d, o->body_hash);

    qsort(in->h, in->nh, sizeof in->h[0], cmp_header);
    for (i = 0; i < in->nh; i++) {
        if (i > 0) put(&o->signed_headers, ";", 1);
        puts_(&o->signed_headers, in->h[i].name);
    }

    puts_(&o->canonical, in->method);
    put(&o->canonical, "\n", 1);
    if (in->path_len == 0) put(&o->canonical, "/", 1);
    else canon_encode(&o->canonical, in->path, in->path_len, 0, 1);
    put(&o->canonical, "\n", 1);
    if (canon_query(&o->canonical, in->query, in->query_len) != 0) return "out of memory";
    put(&o->canonical, "\n", 1);
    for (i = 0; i < in->nh; i++) {
        puts_(&o->canonical, in->h[i].name);
        put(&o->canonical, ":", 1);
        put(&o->canonical, in->h[i].value, in->h[i].vlen);
        put(&o->canonical, "\n", 1);
    }
    put(&o->canonical, "\n", 1);
    put(&o->canonical, o->signed_headers.b.p, o->signed_headers.b.len);
    put(&o->canonical, "\n", 1);
    put(&o->canonical, o->body_hash, 2 * SD_SHA256_LEN);

    put(&o->scope, in->xdate, 8);
    put(&o->scope, "/", 1);
    puts_(&o->scope, in->region);
    put(&o->scope, "/", 1);
    puts_(&o->scope, in->service);
    puts_(&o->scope, "/request");

    if (o->canonical.failed || o->scope.failed || o->signed_headers.failed) return "out of memory";
    if (sd_sha256(o->canonical.b.p, o->canonical.b.len, d) != 0) return "sha256 failed";
    sd_hex(d, sizeof d, hex);
    puts_(&o->to_sign, "HMAC-SHA256\n");
    puts_(&o->to_sign, in->xdate);
    put(&o->to_sign, "\n", 1);
    put(&o->to_sign, o->scope.b.p, o->scope.b.len);
    put(&o->to_sign, "\n", 1);
    put(&o->to_sign, hex, 2 * SD_SHA256_LEN);
    if (o->to_sign.failed) return "out of memory";

    if (sd_hmac_sha256(in->sk, in->sk_len, in->xdate, 8, k1) != 0 ||
        sd_hmac_sha256(k1, sizeof k1, in->region, strlen(in->region), k2) != 0 ||
        sd_hmac_sha256(k2, sizeof k2, in->service, strlen(in->service), k3) != 0 ||
        sd_hmac_sha256(k3, sizeof k3, "request", 7, key) != 0 ||
        sd_hmac_sha256(key, sizeof key, o->to_sign.b.p, o->to_sign.b.len, sig) != 0)
        err = "hmac failed";
    /* the derived keys sign any request of that day and region: do not leave them around */
    OPENSSL_cleanse(k1, sizeof k1);
    OPENSSL_cleanse(k2, sizeof k2);
    OPENSSL_cleanse(k3, sizeof k3);
    OPENSSL_cleanse(key, sizeof key);
    if (err) return err;
    sd_hex(sig, sizeof sig, o->signature);

    puts_(&o->auth, "HMAC-SHA256 Credential=");
    puts_(&o->auth, in->ak);
    put(&o->auth, "/", 1);
    put(&o->auth, o->scope.b.p, o->scope.b.len);
    puts_(&o->auth, ", SignedHeaders=");
    put(&o->auth, o->signed_headers.b.p, o->signed_headers.b.len);
    puts_(&o->auth, ", Signature=");
    puts_(&o->auth, o->signature);
    if (o->auth.failed) return "out of memory";
    return NULL;
}

/* --- Lua ----------------------------------------------------------------------------- */

static const char *field(lua_State *L, const char *name, size_t *len, int required)
{
    int t = sd_getfield(L, 1, name); /* left on the stack: the pointer stays valid */
    if (t == LUA_TNIL && !required) {
        if (len) *len = 0;
        return "";
    }
    if (t != LUA_TSTRING) {
        luaL_error(L, "core.sign_v4: '%s' must be a string", name);
        return NULL;
    }
    return lua_tolstring(L, -1, len);
}

/* A value fit for one line of the canonical request and one header line. */
static int plain(const char *s, size_t n, const char *forbid)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (forbid && c != 0 && strchr(forbid, c))) return 0;
    }
    return 1;
}

static int valid_xdate(const char *v, size_t n)
{
    size_t i;
    if (n != 16 || v[8] != 'T' || v[15] != 'Z') return 0;
    for (i = 0; i < 15; i++)
        if (i != 8 && (v[i] < '0' || v[i] > '9')) return 0;
    return 1;
}

static void read_headers(lua_State *L, sign_in *in)
{
    int idx;
    luaL_checkstack(L, 4, NULL);
    if (sd_getfield(L, 1, "headers") != LUA_TTABLE) luaL_error(L, "core.sign_v4: 'headers' must be a table");
    idx = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        const char *k, *v;
        size_t kl, vl, i, j;
        header *h;
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "core.sign_v4: headers must map names to strings");
        if (in->nh == MAX_HEADERS) luaL_error(L, "core.sign_v4: too many headers");
        k = lua_tolstring(L, -2, &kl);
        v = lua_tolstring(L, -1, &vl);
        if (kl == 0 || kl >= MAX_NAME || !plain(k, kl, " :\"(),/;<=>?@[\\]{}"))
            luaL_error(L, "core.sign_v4: bad header name");
        if (!plain(v, vl, NULL)) luaL_error(L, "core.sign_v4: header values must be one line");
        h = &in->h[in->nh++];
        for (i = 0; i < kl; i++) {
            char c = k[i];
            h->name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        h->name[kl] = '\0';
        for (j = 0; j + 1 < in->nh; j++)
            if (strcmp(in->h[j].name, h->name) == 0) luaL_error(L, "core.sign_v4: header '%s' given twice", h->name);
        /* values are trimmed, as a server reading the header would see them */
        while (vl > 0 && (*v == ' ' || *v == '\t')) v++, vl--;
        while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
        h->value = v; /* the string stays referenced by the table at idx */
        h->vlen = vl;
        if (strcmp(h->name, "x-date") == 0) {
            if (!valid_xdate(v, vl)) luaL_error(L, "core.sign_v4: X-Date must read YYYYMMDDTHHMMSSZ");
            in->xdate = v;
        }
        lua_pop(L, 1);
    }
    if (in->xdate == NULL) {
        /* a request dated by another header (AWS's X-Amz-Date, in the spec's vectors) */
        size_t n;
        const char *d = field(L, "date", &n, 0);
        if (n == 0) luaL_error(L, "core.sign_v4: the X-Date header is required");
        if (!valid_xdate(d, n)) luaL_error(L, "core.sign_v4: 'date' must read YYYYMMDDTHHMMSSZ");
        in->xdate = d;
    }
    if (in->nh == 0) luaL_error(L, "core.sign_v4: no header to sign");
}

static void push_sb(lua_State *L, sb *s, const char *name)
{
    lua_pushlstring(L, s->b.p ? s->b.p : "", s->b.len);
    lua_setfield(L, -2, name);
}

int sd_l_sign_v4(lua_State *L)
{
    sign_in in;
    sign_out out;
    const char *err;
    size_t n;
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkstack(L, 16, NULL);
    memset(&in, 0, sizeof in);
    memset(&out, 0, sizeof out);
    in.method = field(L, "method", &n, 1);
    if (n == 0 || !plain(in.method, n, " ")) luaL_error(L, "core.sign_v4: bad 'method'");
    in.path = field(L, "path", &in.path_len, 0);
    in.query = field(L, "query", &in.query_len, 0);
    in.body = field(L, "body", &in.body_len, 0);
    in.ak = field(L, "access_key", &n, 1);
    if (n == 0 || !plain(in.ak, n, " ,/")) luaL_error(L, "core.sign_v4: bad 'access_key'");
    in.sk = field(L, "secret_key", &in.sk_len, 1);
    if (in.sk_len == 0) luaL_error(L, "core.sign_v4: 'secret_key' is empty");
    in.region = field(L, "region", &n, 1);
    if (n == 0 || !plain(in.region, n, " ,/")) luaL_error(L, "core.sign_v4: bad 'region'");
    in.service = field(L, "service", &n, 1);
    if (n == 0 || !plain(in.service, n, " ,/")) luaL_error(L, "core.sign_v4: bad 'service'");
    if (!plain(in.path, in.path_len, "?#") || !plain(in.query, in.query_len, "#"))
        luaL_error(L, "core.sign_v4: bad 'path' or 'query'");
    read_headers(L, &in);

    err = sign(&in, &out);
    if (err == NULL) {
        lua_createtable(L, 0, 7);
        push_sb(L, &out.auth, "authorization");
        push_sb(L, &out.signed_headers, "signed_headers");
        push_sb(L, &out.scope, "scope");
        push_sb(L, &out.canonical, "canonical_request");
        push_sb(L, &out.to_sign, "string_to_sign");
        lua_pushstring(L, out.signature);
        lua_setfield(L, -2, "signature");
        lua_pushstring(L, out.body_hash);
        lua_setfield(L, -2, "body_hash");
    }
    free_out(&out);
    if (err != NULL) return luaL_error(L, "core.sign_v4: %s", err);
    return 1;
}

int sd_l_sha256_hex(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    unsigned char d[SD_SHA256_LEN];
    char hex[2 * SD_SHA256_LEN + 1];
    if (sd_sha256(s, n, d) != 0) return luaL_error(L, "core.sha256_hex: sha256 failed");
    sd_hex(d, sizeof d, hex);
    lua_pushlstring(L, hex, 2 * SD_SHA256_LEN);
    return 1;
}

int sd_l_hmac_sha256(lua_State *L)
{
    size_t kl, n;
    const char *k = luaL_checklstring(L, 1, &kl);
    const char *m = luaL_checklstring(L, 2, &n);
    unsigned char d[SD_SHA256_LEN];
    if (sd_hmac_sha256(k, kl, m, n, d) != 0) return luaL_error(L, "core.hmac_sha256: hmac failed");
    if (lua_toboolean(L, 3)) {
        char hex[2 * SD_SHA256_LEN + 1];
        sd_hex(d, sizeof d, hex);
        lua_pushlstring(L, hex, 2 * SD_SHA256_LEN);
    } else {
        lua_pushlstring(L, (const char *)d, sizeof d);
    }
    OPENSSL_cleanse(d, sizeof d);
#ifdef sd_setfuncs_needed
    /* compat.h's 5.1 helpers are static, not inline: mark them used for -Wunused-function. */
    (void)sd_setfuncs;
    (void)sd_testudata;
    (void)sd_setmetatable;
#endif
    return 1;
}
