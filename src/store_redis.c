/* store_redis.c: the store shared by workers on many machines, through hiredis. Every
 * operation is one server-side script (EVAL), so each is atomic on the server: a claim is
 * SET NX PX (the lease), a put writes every record and its list index at once. Every
 * script is idempotent, so a call whose answer was lost (Redis restarted, a connection cut)
 * is sent again on a fresh connection until the timeout: a restart with persistence on
 * (appendonly) loses nothing, and the worker carries on. Layout (keys come namespaced by
 * the Lua face): sd:rec:<key> value, sd:grp:<group> sorted set of keys by time,
 * sd:claim:<key> owner with a TTL, sd:slot:<counter> sorted set of tokens by expiry. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "store.h"

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

static const char GET[] = "return redis.call('GET', 'sd:rec:' .. KEYS[1])";

/* ARGV: per record op ("s" set, "d" delete), value, group, time */
static const char PUT[] =
    "for i = 1, #KEYS do\n"
    "  local op, v, g, at = ARGV[4*i-3], ARGV[4*i-2], ARGV[4*i-1], ARGV[4*i]\n"
    "  local old = redis.call('HGET', 'sd:recgrp', KEYS[i])\n"
    "  if old and old ~= g then redis.call('ZREM', 'sd:grp:' .. old, KEYS[i]) end\n"
    "  if op == 's' then\n"
    "    redis.call('SET', 'sd:rec:' .. KEYS[i], v)\n"
    "    redis.call('HSET', 'sd:recgrp', KEYS[i], g)\n"
    "    redis.call('ZADD', 'sd:grp:' .. g, at, KEYS[i])\n"
    "  else\n"
    "    redis.call('DEL', 'sd:rec:' .. KEYS[i])\n"
    "    redis.call('HDEL', 'sd:recgrp', KEYS[i])\n"
    "    if old then redis.call('ZREM', 'sd:grp:' .. old, KEYS[i]) end\n"
    "  end\n"
    "end\n"
    "return 1";

static const char LIST[] =
    "local out = {}\n"
    "for _, k in ipairs(redis.call('ZRANGE', 'sd:grp:' .. KEYS[1], 0, -1)) do\n"
    "  local v = redis.call('GET', 'sd:rec:' .. k)\n"
    "  if v then out[#out + 1] = k; out[#out + 1] = v end\n"
    "end\n"
    "return out";

static const char CLAIM[] =
    "local k = 'sd:claim:' .. KEYS[1]\n"
    "if redis.call('SET', k, ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, ARGV[1]} end\n"
    "local h = redis.call('GET', k)\n"
    "if h == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2]); return {1, h} end\n"
    "if not h then redis.call('SET', k, ARGV[1], 'PX', ARGV[2]); return {1, ARGV[1]} end\n"
    "return {0, h}";

static const char RELEASE[] =
    "local k = 'sd:claim:' .. KEYS[1]\n"
    "if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end\n"
    "return 1";

/* the server's clock, so workers on machines whose clocks differ agree on expiry */
static const char SLOT[] =
    "local k = 'sd:slot:' .. KEYS[1]\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZREMRANGEBYSCORE', k, '-inf', now)\n"
    "local have = redis.call('ZSCORE', k, ARGV[1])\n"
    "local n = redis.call('ZCARD', k)\n"
    "if not have and n >= tonumber(ARGV[2]) then return {0, n} end\n"
    "redis.call('ZADD', k, now + tonumber(ARGV[3]), ARGV[1])\n"
    "if not have then n = n + 1 end\n"
    "return {1, n}";

static const char UNSLOT[] = "redis.call('ZREM', 'sd:slot:' .. KEYS[1], ARGV[1]); return 1";

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
        say(s, "cannot reach redis at %s:%d: %s", s->host, s->port,
                 s->c ? s->c->errstr : "out of memory");
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
        say(s, "redis at %s:%d: cannot select database %d: %s", s->host,
                 s->port, s->db, r ? r->str : s->c->errstr);
        if (r) freeReplyObject(r);
        drop(s);
        return 0;
    }
    freeReplyObject(r);
    return 1;
}

/* EVAL script with nkeys keys then the other arguments; retried on a fresh connection while
 * the server is away or still loading its data, until the timeout. NULL: s->err says why. */
static redisReply *eval(rd_store *s, const char *script, int argc, const char **argv, const size_t *lens, int nkeys)
{
    const char **av = malloc((size_t)(argc + 3) * sizeof *av);
    size_t *al = malloc((size_t)(argc + 3) * sizeof *al);
    char nk[16];
    double until = sd_monotonic() + s->timeout;
    redisReply *r = NULL;
    int i;
    if (av == NULL || al == NULL) {
        say(s, "out of memory");
        goto out;
    }
    snprintf(nk, sizeof nk, "%d", nkeys);
    av[0] = "EVAL";
    al[0] = 4;
    av[1] = script;
    al[1] = strlen(script);
    av[2] = nk;
    al[2] = strlen(nk);
    for (i = 0; i < argc; i++) {
        av[i + 3] = argv[i];
        al[i + 3] = lens[i];
    }
    for (;;) {
        if (connect_db(s)) {
            r = redisCommandArgv(s->c, argc + 3, av, al);
            if (r == NULL) {
                say(s, "redis at %s:%d: %s", s->host, s->port, s->c->errstr);
                drop(s);
            } else if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "LOADING", 7) != 0) {
                say(s, "redis at %s:%d: %s", s->host, s->port, r->str);
                freeReplyObject(r);
                r = NULL;
                goto out;
            } else if (r->type == REDIS_REPLY_ERROR) {
                say(s, "redis at %s:%d: %s", s->host, s->port, r->str);
                freeReplyObject(r);
                r = NULL;
            } else {
                goto out;
            }
        }
        if (sd_monotonic() >= until) goto out;
        sd_sleep(0.05);
    }
out:
    free(av);
    free(al);
    return r;
}

static int rd_get(sd_store *base, const char *key, size_t klen, sd_store_row_fn fn, void *ud)
{
    rd_store *s = (rd_store *)base;
    const char *argv[1] = {key};
    size_t lens[1] = {klen};
    redisReply *r = eval(s, GET, 1, argv, lens, 1);
    int rc = 0;
    if (r == NULL) return -1;
    if (r->type == REDIS_REPLY_STRING) {
        fn(ud, key, klen, r->str, r->len);
        rc = 1;
    }
    freeReplyObject(r);
    return rc;
}

static int rd_put(sd_store *base, const sd_store_rec *recs, size_t n)
{
    rd_store *s = (rd_store *)base;
    size_t argc = n * 5, i, j = 0;
    const char **argv = malloc(argc * sizeof *argv);
    size_t *lens = malloc(argc * sizeof *lens);
    char (*at)[32] = malloc(n * sizeof *at);
    redisReply *r = NULL;
    int rc = -1;
    if (argv == NULL || lens == NULL || at == NULL) {
        say(s, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++, j++) {
        argv[j] = recs[i].key;
        lens[j] = recs[i].klen;
    }
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
    r = eval(s, PUT, (int)argc, argv, lens, (int)n);
    if (r) rc = 0;
out:
    if (r) freeReplyObject(r);
    free(argv);
    free(lens);
    free(at);
    return rc;
}

static int rd_list(sd_store *base, const char *group, size_t glen, sd_store_row_fn fn, void *ud)
{
    rd_store *s = (rd_store *)base;
    const char *argv[1] = {group};
    size_t lens[1] = {glen}, i;
    redisReply *r = eval(s, LIST, 1, argv, lens, 1);
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

static int rd_claim(sd_store *base, const char *key, size_t klen, const char *owner, size_t olen, double lease,
                    sd_store_row_fn fn, void *ud)
{
    rd_store *s = (rd_store *)base;
    char ms[32];
    const char *argv[3];
    size_t lens[3];
    redisReply *r;
    int rc = -1;
    snprintf(ms, sizeof ms, "%.0f", lease * 1000 < 1 ? 1 : lease * 1000);
    argv[0] = key;
    lens[0] = klen;
    argv[1] = owner;
    lens[1] = olen;
    argv[2] = ms;
    lens[2] = strlen(ms);
    r = eval(s, CLAIM, 3, argv, lens, 1);
    if (r == NULL) return -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_INTEGER) {
        rc = r->element[0]->integer == 1;
        if (rc == 0) fn(ud, key, klen, r->element[1]->str, r->element[1]->len);
    } else {
        say(s, "redis: unexpected answer to a claim");
    }
    freeReplyObject(r);
    return rc;
}

static int rd_release(sd_store *base, const char *key, size_t klen, const char *owner, size_t olen)
{
    rd_store *s = (rd_store *)base;
    const char *argv[2] = {key, owner};
    size_t lens[2] = {klen, olen};
    redisReply *r = eval(s, RELEASE, 2, argv, lens, 1);
    if (r == NULL) return -1;
    freeReplyObject(r);
    return 0;
}

static int rd_slot(sd_store *base, const char *c, size_t clen, const char *t, size_t tlen, long limit, double lease,
                   long *count)
{
    rd_store *s = (rd_store *)base;
    char lim[32], ms[32];
    const char *argv[4];
    size_t lens[4];
    redisReply *r;
    int rc = -1;
    snprintf(lim, sizeof lim, "%ld", limit);
    snprintf(ms, sizeof ms, "%.0f", lease * 1000 < 1 ? 1 : lease * 1000);
    argv[0] = c;
    lens[0] = clen;
    argv[1] = t;
    lens[1] = tlen;
    argv[2] = lim;
    lens[2] = strlen(lim);
    argv[3] = ms;
    lens[3] = strlen(ms);
    r = eval(s, SLOT, 4, argv, lens, 1);
    if (r == NULL) return -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        rc = r->element[0]->integer == 1;
        *count = (long)r->element[1]->integer;
    } else {
        say(s, "redis: unexpected answer to a slot");
    }
    freeReplyObject(r);
    return rc;
}

static int rd_unslot(sd_store *base, const char *c, size_t clen, const char *t, size_t tlen)
{
    rd_store *s = (rd_store *)base;
    const char *argv[2] = {c, t};
    size_t lens[2] = {clen, tlen};
    redisReply *r = eval(s, UNSLOT, 2, argv, lens, 1);
    if (r == NULL) return -1;
    freeReplyObject(r);
    return 0;
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
