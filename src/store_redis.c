/* store_redis.c: the store shared by workers on many machines, through hiredis. Every
 * operation is one server-side script, so each is atomic on the server and costs one round
 * trip: a claim is a key with a TTL (the lease) and may carry the record it guards, a put
 * writes every record and its list index at once and may end the writer's claims. Scripts
 * are sent by digest (EVALSHA) and in full only when the server does not know them yet (a
 * fresh or restarted server). Every script is idempotent, so a call whose answer was lost
 * (Redis restarted, a connection cut) is sent again on a fresh connection until the
 * timeout: a restart with persistence on (appendonly) loses nothing, and the worker
 * carries on. Layout (keys come namespaced by the Lua face): sd:rec:<key> value,
 * sd:grp:<group> sorted set of keys by time, sd:recgrp hash key -> group, sd:claim:<key>
 * owner with a TTL, sd:slot:<counter> sorted set of tokens by expiry. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "clock.h"
#include "store.h"

/* writes (v) or removes (v false) record k of group g, keeping the group index right; a
 * record written again in its group keeps its place (NX: its first time), as in SQLite */
#define PUT_FN \
    "local function put(k, v, g, at)\n" \
    "  local old = redis.call('HGET', 'sd:recgrp', k)\n" \
    "  if old and old ~= g then redis.call('ZREM', 'sd:grp:' .. old, k) end\n" \
    "  if v then\n" \
    "    redis.call('SET', 'sd:rec:' .. k, v)\n" \
    "    if old ~= g then redis.call('HSET', 'sd:recgrp', k, g) end\n" \
    "    redis.call('ZADD', 'sd:grp:' .. g, 'NX', at, k)\n" \
    "  else\n" \
    "    redis.call('DEL', 'sd:rec:' .. k)\n" \
    "    redis.call('HDEL', 'sd:recgrp', k)\n" \
    "  end\n" \
    "end\n"

/* ends owner's claim on k */
#define RELEASE_FN \
    "local function release(k, owner)\n" \
    "  if redis.call('GET', 'sd:claim:' .. k) == owner then redis.call('DEL', 'sd:claim:' .. k) end\n" \
    "end\n"

enum { S_GET, S_PUT, S_LIST, S_CLAIM, S_RELEASE, S_SLOT, S_UNSLOT, S_N };

static const char *const SCRIPT[S_N] = {
    "return redis.call('GET', 'sd:rec:' .. KEYS[1])",
    /* ARGV: owner ("" none) whose claims on the keys end, then per record: op ("s" set,
     * "d" delete), value, group, time */
    PUT_FN RELEASE_FN
    "for i = 1, #KEYS do\n"
    "  local b = 4 * i - 2\n"
    "  put(KEYS[i], ARGV[b] == 's' and ARGV[b + 1], ARGV[b + 2], ARGV[b + 3])\n"
    "  if ARGV[1] ~= '' then release(KEYS[i], ARGV[1]) end\n"
    "end\n"
    "return 1",
    "local out = {}\n"
    "for _, k in ipairs(redis.call('ZRANGE', 'sd:grp:' .. KEYS[1], 0, -1)) do\n"
    "  local v = redis.call('GET', 'sd:rec:' .. k)\n"
    "  if v then out[#out + 1] = k; out[#out + 1] = v end\n"
    "end\n"
    "return out",
    /* KEYS: the claim, the record it guards. ARGV: owner, lease ms, mode ("" claim only,
     * "r" and read the record, "w" and write the intent when there is none), the intent's
     * value, group, time. {1[, record]} claimed, {0, holder} held by another */
    PUT_FN
    "local k = 'sd:claim:' .. KEYS[1]\n"
    "local h = redis.call('GET', k)\n"
    "if h and h ~= ARGV[1] then return {0, h} end\n"
    "redis.call('SET', k, ARGV[1], 'PX', ARGV[2])\n"
    "if ARGV[3] == '' then return {1} end\n"
    "local v = redis.call('GET', 'sd:rec:' .. KEYS[2])\n"
    "if v then return {1, v} end\n"
    "if ARGV[3] == 'w' then put(KEYS[2], ARGV[4], ARGV[5], ARGV[6]) end\n"
    "return {1}",
    RELEASE_FN "release(KEYS[1], ARGV[1])\n"
    "return 1",
    /* the server's clock, so workers on machines whose clocks differ agree on expiry */
    "local k = 'sd:slot:' .. KEYS[1]\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZREMRANGEBYSCORE', k, '-inf', now)\n"
    "local have = redis.call('ZSCORE', k, ARGV[1])\n"
    "local n = redis.call('ZCARD', k)\n"
    "if not have and n >= tonumber(ARGV[2]) then return {0, n} end\n"
    "redis.call('ZADD', k, now + tonumber(ARGV[3]), ARGV[1])\n"
    "if not have then n = n + 1 end\n"
    "return {1, n}",
    "redis.call('ZREM', 'sd:slot:' .. KEYS[1], ARGV[1]); return 1",
};

/* the SHA-1 of each script, the name EVALSHA knows it by */
static char SHA[S_N][41];

typedef struct {
    sd_store base;
    redisContext *c;
    char host[256];
    int port, db;
    double timeout;
} rd_store;

/* the reason a call failed, in s->err (a message cut at its length is still a message) */
static void say(rd_store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->base.err, sizeof s->base.err, fmt, ap);
    va_end(ap);
}

/* fills SHA once; 0, or -1 when libcrypto failed (then scripts are sent in full) */
static int digest_scripts(void)
{
    static int done;
    int i;
    if (done) return done > 0 ? 0 : -1;
    done = -1;
    for (i = 0; i < S_N; i++) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0, j;
        if (!EVP_Digest(SCRIPT[i], strlen(SCRIPT[i]), md, &n, EVP_sha1(), NULL) || n != 20) return -1;
        for (j = 0; j < n; j++) snprintf(&SHA[i][2 * j], 3, "%02x", md[j]);
    }
    done = 1;
    return 0;
}

static struct timeval tv_of(double s)
{
    struct timeval tv;
    tv.tv_sec = (time_t)s;
    tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
    return tv;
}

static void drop(rd_store *s)
{
    if (s->c) redisFree(s->c);
    s->c = NULL;
}

/* a connection with the database selected, or 0 with the reason in s->err */
static int connect_db(rd_store *s)
{
    redisReply *r;
    char db[16];
    const char *argv[2];
    size_t lens[2];
    if (s->c) return 1;
    s->c = redisConnectWithTimeout(s->host, s->port, tv_of(s->timeout < 2 ? s->timeout : 2));
    if (s->c == NULL || s->c->err) {
        say(s, "cannot reach redis at %s:%d: %s", s->host, s->port, s->c ? s->c->errstr : "out of memory");
        drop(s);
        return 0;
    }
    redisSetTimeout(s->c, tv_of(s->timeout));
    snprintf(db, sizeof db, "%d", s->db);
    argv[0] = "SELECT";
    argv[1] = db;
    lens[0] = 6;
    lens[1] = strlen(db);
    r = redisCommandArgv(s->c, 2, argv, lens);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        say(s, "redis at %s:%d: cannot select database %d: %s", s->host, s->port, s->db, r ? r->str : s->c->errstr);
        if (r) freeReplyObject(r);
        drop(s);
        return 0;
    }
    freeReplyObject(r);
    return 1;
}

static int is_error(const redisReply *r, const char *prefix)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, prefix, strlen(prefix)) == 0;
}

/* Runs script with av[3..argc) as its nkeys keys then its other arguments (av[0..2] are
 * filled here); retried on a fresh connection while the server is away or still loading
 * its data, until the timeout. NULL: s->err says why. */
static redisReply *eval(rd_store *s, int script, int argc, const char **av, size_t *al, int nkeys)
{
    char nk[16];
    double until = sd_monotonic() + s->timeout;
    int full = digest_scripts() != 0;
    snprintf(nk, sizeof nk, "%d", nkeys);
    av[2] = nk;
    al[2] = strlen(nk);
    for (;;) {
        redisReply *r;
        av[0] = full ? "EVAL" : "EVALSHA";
        al[0] = strlen(av[0]);
        av[1] = full ? SCRIPT[script] : SHA[script];
        al[1] = strlen(av[1]);
        if (connect_db(s)) {
            r = redisCommandArgv(s->c, argc, av, al);
            if (r == NULL) {
                say(s, "redis at %s:%d: %s", s->host, s->port, s->c->errstr);
                drop(s);
            } else if (is_error(r, "NOSCRIPT") && !full) {
                /* the server has not seen it yet (or restarted): once in full, which it keeps */
                full = 1;
                freeReplyObject(r);
                continue;
            } else if (r->type == REDIS_REPLY_ERROR) {
                int loading = is_error(r, "LOADING");
                say(s, "redis at %s:%d: %s", s->host, s->port, r->str);
                freeReplyObject(r);
                if (!loading) return NULL;
            } else {
                return r;
            }
        }
        if (sd_monotonic() >= until) return NULL;
        sd_sleep(0.05);
    }
}

/* script with n (pointer, size_t) arguments, the first nkeys of them keys */
static redisReply *call(rd_store *s, int script, int nkeys, int n, ...)
{
    const char *av[3 + 8];
    size_t al[3 + 8];
    va_list ap;
    int i;
    va_start(ap, n);
    for (i = 0; i < n; i++) {
        av[3 + i] = va_arg(ap, const char *);
        al[3 + i] = va_arg(ap, size_t);
    }
    va_end(ap);
    return eval(s, script, 3 + n, av, al, nkeys);
}

/* a call whose answer does not matter: 0, or -1 */
static int call_done(redisReply *r)
{
    if (r == NULL) return -1;
    freeReplyObject(r);
    return 0;
}

static int rd_get(sd_store *base, const char *key, size_t klen, sd_store_row_fn fn, void *ud)
{
    redisReply *r = call((rd_store *)base, S_GET, 1, 1, key, klen);
    int rc = 0;
    if (r == NULL) return -1;
    if (r->type == REDIS_REPLY_STRING) {
        fn(ud, key, klen, r->str, r->len);
        rc = 1;
    }
    freeReplyObject(r);
    return rc;
}

static int rd_put(sd_store *base, const sd_store_rec *recs, size_t n, const char *owner, size_t olen)
{
    rd_store *s = (rd_store *)base;
    size_t argc = 3 + n * 5 + 1, i, j = 3;
    const char **argv = malloc(argc * sizeof *argv);
    size_t *lens = malloc(argc * sizeof *lens);
    char(*at)[32] = malloc(n * sizeof *at);
    int rc = -1;
    if (argv == NULL || lens == NULL || at == NULL) {
        say(s, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++, j++) {
        argv[j] = recs[i].key;
        lens[j] = recs[i].klen;
    }
    argv[j] = owner ? owner : "";
    lens[j++] = owner ? olen : 0;
    for (i = 0; i < n; i++) {
        snprintf(at[i], sizeof at[i], "%.6f", recs[i].at);
        argv[j] = recs[i].val ? "s" : "d";
        lens[j++] = 1;
        argv[j] = recs[i].val ? recs[i].val : "";
        lens[j++] = recs[i].val ? recs[i].vlen : 0;
        argv[j] = recs[i].group;
        lens[j++] = recs[i].glen;
        argv[j] = at[i];
        lens[j++] = strlen(at[i]);
    }
    rc = call_done(eval(s, S_PUT, (int)argc, argv, lens, (int)n));
out:
    free(argv);
    free(lens);
    free(at);
    return rc;
}

static int rd_list(sd_store *base, const char *group, size_t glen, sd_store_row_fn fn, void *ud)
{
    redisReply *r = call((rd_store *)base, S_LIST, 1, 1, group, glen);
    size_t i;
    if (r == NULL) return -1;
    if (r->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i + 1 < r->elements; i += 2) {
            redisReply *k = r->element[i], *v = r->element[i + 1];
            if (fn(ud, k->str, k->len, v->str, v->len) != 0) break;
        }
    }
    freeReplyObject(r);
    return 0;
}

/* a lease in whole milliseconds (at least 1), as text */
static size_t ms_of(char *out, size_t n, double seconds)
{
    snprintf(out, n, "%.0f", seconds * 1000 < 1 ? 1 : seconds * 1000);
    return strlen(out);
}

/* {flag, value} answers (claim, slot): the flag, or -1 when the answer is not one */
static int flag_of(rd_store *s, const redisReply *r, const char *what)
{
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->element[0]->type == REDIS_REPLY_INTEGER)
        return r->element[0]->integer == 1;
    say(s, "redis: unexpected answer to a %s", what);
    return -1;
}

static int rd_claim(sd_store *base, const char *key, size_t klen, const char *owner, size_t olen, double lease,
                    const sd_store_rec *rec, sd_store_row_fn fn, void *ud)
{
    rd_store *s = (rd_store *)base;
    char ms[32], at[32] = "";
    const char *mode = rec == NULL ? "" : rec->val ? "w" : "r";
    size_t mslen = ms_of(ms, sizeof ms, lease);
    redisReply *r;
    int rc;
    if (rec) snprintf(at, sizeof at, "%.6f", rec->at);
    r = call(s, S_CLAIM, 2, 8, key, klen, rec ? rec->key : key, rec ? rec->klen : klen, owner, olen, ms, mslen, mode,
             strlen(mode), rec && rec->val ? rec->val : "", rec && rec->val ? rec->vlen : (size_t)0,
             rec ? rec->group : "", rec ? rec->glen : (size_t)0, at, strlen(at));
    if (r == NULL) return -1;
    rc = flag_of(s, r, "claim");
    /* the holder (not claimed), or the record read (claimed) */
    if (rc >= 0 && r->elements == 2 && r->element[1]->type == REDIS_REPLY_STRING)
        fn(ud, rc == 1 && rec ? rec->key : key, rc == 1 && rec ? rec->klen : klen, r->element[1]->str,
           r->element[1]->len);
    freeReplyObject(r);
    return rc;
}

static int rd_release(sd_store *base, const char *key, size_t klen, const char *owner, size_t olen)
{
    return call_done(call((rd_store *)base, S_RELEASE, 1, 2, key, klen, owner, olen));
}

static int rd_slot(sd_store *base, const char *c, size_t clen, const char *t, size_t tlen, long limit, double lease,
                   long *count)
{
    rd_store *s = (rd_store *)base;
    char lim[32], ms[32];
    size_t mslen = ms_of(ms, sizeof ms, lease);
    redisReply *r;
    int rc;
    snprintf(lim, sizeof lim, "%ld", limit);
    r = call(s, S_SLOT, 1, 4, c, clen, t, tlen, lim, strlen(lim), ms, mslen);
    if (r == NULL) return -1;
    rc = flag_of(s, r, "slot");
    if (rc >= 0 && r->elements == 2) *count = (long)r->element[1]->integer;
    freeReplyObject(r);
    return rc;
}

static int rd_unslot(sd_store *base, const char *c, size_t clen, const char *t, size_t tlen)
{
    return call_done(call((rd_store *)base, S_UNSLOT, 1, 2, c, clen, t, tlen));
}

static void rd_close(sd_store *base)
{
    rd_store *s = (rd_store *)base;
    drop(s);
    free(s);
}

static const sd_store_ops OPS = {"redis", rd_get, rd_put, rd_list, rd_claim, rd_release, rd_slot, rd_unslot,
                                 rd_close};

sd_store *sd_store_redis_open(const char *host, int port, int db, double timeout, char *err, size_t errlen)
{
    rd_store *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &OPS;
    snprintf(s->host, sizeof s->host, "%s", host);
    s->port = port;
    s->db = db;
    s->timeout = timeout;
    if (!connect_db(s)) {
        snprintf(err, errlen, "%s", s->base.err);
        rd_close(&s->base);
        return NULL;
    }
    return &s->base;
}
