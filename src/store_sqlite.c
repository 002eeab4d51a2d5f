/* store_sqlite.c: the embedded store. One file shared by every process on the machine:
 * WAL mode (readers never wait for the writer), a busy timeout (writers queue instead of
 * failing), BEGIN IMMEDIATE around each read-modify-write (the write lock is taken first,
 * so two processes cannot both see a claim free), one transaction per call, prepared
 * statements; a record is synced at its commit (a paid record survives power loss, not only
 * a crash; see sync_mode).
 * Per-record cost is flat: every statement goes through a primary key or an index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "clock.h"
#include "store.h"

enum {
    Q_GET, Q_PUT, Q_DEL, Q_LIST, Q_CLAIM_GET, Q_CLAIM_SET, Q_CLAIM_DEL, Q_SLOT_EXPIRE, Q_SLOT_HAS,
    Q_SLOT_COUNT, Q_SLOT_SET, Q_SLOT_DEL, Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_N
};

static const char *const SQL[Q_N] = {
    "SELECT val FROM records WHERE key = ?1",
    "INSERT OR REPLACE INTO records(key, grp, val, at) VALUES (?1, ?2, ?3, ?4)",
    "DELETE FROM records WHERE key = ?1",
    "SELECT key, val FROM records WHERE grp = ?1 ORDER BY at, key",
    "SELECT owner, expires FROM claims WHERE key = ?1",
    "INSERT OR REPLACE INTO claims(key, owner, expires) VALUES (?1, ?2, ?3)",
    "DELETE FROM claims WHERE key = ?1 AND owner = ?2",
    "DELETE FROM slots WHERE counter = ?1 AND expires <= ?2",
    "SELECT 1 FROM slots WHERE counter = ?1 AND token = ?2",
    "SELECT count(*) FROM slots WHERE counter = ?1",
    "INSERT OR REPLACE INTO slots(counter, token, expires) VALUES (?1, ?2, ?3)",
    "DELETE FROM slots WHERE counter = ?1 AND token = ?2",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS records(key BLOB PRIMARY KEY, grp BLOB NOT NULL, val BLOB NOT NULL,"
    " at REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS records_by_group ON records(grp, at);"
    "CREATE TABLE IF NOT EXISTS claims(key BLOB PRIMARY KEY, owner BLOB NOT NULL, expires REAL NOT NULL);"
    "CREATE TABLE IF NOT EXISTS slots(counter BLOB NOT NULL, token BLOB NOT NULL, expires REAL NOT NULL,"
    " PRIMARY KEY(counter, token));"
    "CREATE TABLE IF NOT EXISTS seedance_store(format INTEGER NOT NULL);"
    "INSERT INTO seedance_store(format) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM seedance_store);";

typedef struct {
    sd_store base;
    sqlite3 *db;
    sqlite3_stmt *q[Q_N];
    int full; /* the connection's synchronous setting is FULL (else NORMAL) */
} sq_store;

static int fail(sq_store *s, const char *what)
{
    snprintf(s->base.err, sizeof s->base.err, "%s: %s", what, sqlite3_errmsg(s->db));
    return -1;
}

static sqlite3_stmt *stmt(sq_store *s, int i)
{
    sqlite3_stmt *st = s->q[i];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static int run(sq_store *s, int i, const char *what)
{
    sqlite3_stmt *st = stmt(s, i);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : fail(s, what);
}

/* Records (intents, ids) are synced to disk at their commit (FULL): a create's record
 * survives power loss. Claims, releases and slots are leases: their commits skip the sync
 * (NORMAL; still safe from a crash of the process), and the next record's sync carries
 * them too, since the WAL is one sequential file. Half the syncs of a keyed create. */
static int sync_mode(sq_store *s, int full)
{
    if (s->full == full) return 0;
    if (sqlite3_exec(s->db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) !=
        SQLITE_OK)
        return fail(s, "cannot set the store's sync mode");
    s->full = full;
    return 0;
}

static int begin_mode(sq_store *s, int full)
{
    if (sync_mode(s, full) != 0) return -1;
    return run(s, Q_BEGIN, "cannot start a store transaction");
}

/* ends the transaction begun above: commit when ok, else roll back and keep the message */
static int end(sq_store *s, int rc)
{
    if (rc >= 0) {
        if (run(s, Q_COMMIT, "cannot commit to the store") == 0) return rc;
    }
    {
        char keep[SD_STORE_ERRLEN];
        memcpy(keep, s->base.err, sizeof keep);
        run(s, Q_ROLLBACK, "rollback");
        memcpy(s->base.err, keep, sizeof keep);
    }
    return -1;
}

static void bind(sqlite3_stmt *st, int i, const char *p, size_t n)
{
    sqlite3_bind_blob(st, i, n ? p : "", (int)n, SQLITE_STATIC);
}

static int sq_get(sd_store *base, const char *key, size_t klen, sd_store_row_fn fn, void *ud)
{
    sq_store *s = (sq_store *)base;
    sqlite3_stmt *st = stmt(s, Q_GET);
    int rc;
    bind(st, 1, key, klen);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        fn(ud, key, klen, (const char *)sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        sqlite3_reset(st);
        return 1;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(s, "cannot read the store");
}

static int put_one(sq_store *s, const sd_store_rec *r)
{
    sqlite3_stmt *st = stmt(s, r->val ? Q_PUT : Q_DEL);
    int rc;
    bind(st, 1, r->key, r->klen);
    if (r->val) {
        bind(st, 2, r->group, r->glen);
        bind(st, 3, r->val, r->vlen);
        sqlite3_bind_double(st, 4, r->at);
    }
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(s, "cannot write the store");
}

static int sq_put(sd_store *base, const sd_store_rec *recs, size_t n)
{
    sq_store *s = (sq_store *)base;
    size_t i;
    int rc = 0;
    if (begin_mode(s, 1) != 0) return -1;
    for (i = 0; i < n && rc == 0; i++) rc = put_one(s, &recs[i]);
    return end(s, rc);
}

static int sq_list(sd_store *base, const char *group, size_t glen, sd_store_row_fn fn, void *ud)
{
    sq_store *s = (sq_store *)base;
    sqlite3_stmt *st = stmt(s, Q_LIST);
    int rc;
    bind(st, 1, group, glen);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (fn(ud, (const char *)sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
               (const char *)sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1)) != 0)
            break;
    }
    sqlite3_reset(st);
    return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : fail(s, "cannot list the store");
}

static int claim_in(sq_store *s, const char *key, size_t klen, const char *owner, size_t olen, double lease,
                    sd_store_row_fn fn, void *ud)
{
    double now = sd_walltime();
    sqlite3_stmt *st = stmt(s, Q_CLAIM_GET);
    int rc;
    bind(st, 1, key, klen);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_blob(st, 0);
        size_t hn = (size_t)sqlite3_column_bytes(st, 0);
        double exp = sqlite3_column_double(st, 1);
        if (exp > now && !(hn == olen && memcmp(h, owner, olen) == 0)) {
            fn(ud, key, klen, h, hn);
            sqlite3_reset(st);
            return 0;
        }
    } else if (rc != SQLITE_DONE) {
        sqlite3_reset(st);
        return fail(s, "cannot read a claim");
    }
    sqlite3_reset(st);
    st = stmt(s, Q_CLAIM_SET);
    bind(st, 1, key, klen);
    bind(st, 2, owner, olen);
    sqlite3_bind_double(st, 3, now + lease);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 1 : fail(s, "cannot write a claim");
}

static int sq_claim(sd_store *base, const char *key, size_t klen, const char *owner, size_t olen, double lease,
                    sd_store_row_fn fn, void *ud)
{
    sq_store *s = (sq_store *)base;
    if (begin_mode(s, 0) != 0) return -1;
    return end(s, claim_in(s, key, klen, owner, olen, lease, fn, ud));
}

static int sq_release(sd_store *base, const char *key, size_t klen, const char *owner, size_t olen)
{
    sq_store *s = (sq_store *)base;
    sqlite3_stmt *st;
    int rc;
    if (sync_mode(s, 0) != 0) return -1;
    st = stmt(s, Q_CLAIM_DEL);
    bind(st, 1, key, klen);
    bind(st, 2, owner, olen);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(s, "cannot release a claim");
}

static int slot_in(sq_store *s, const char *c, size_t clen, const char *t, size_t tlen, long limit, double lease,
                   long *count)
{
    double now = sd_walltime();
    sqlite3_stmt *st = stmt(s, Q_SLOT_EXPIRE);
    int rc, have;
    bind(st, 1, c, clen);
    sqlite3_bind_double(st, 2, now);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return fail(s, "cannot expire slots");
    st = stmt(s, Q_SLOT_HAS);
    bind(st, 1, c, clen);
    bind(st, 2, t, tlen);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail(s, "cannot read slots");
    have = rc == SQLITE_ROW;
    st = stmt(s, Q_SLOT_COUNT);
    bind(st, 1, c, clen);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return fail(s, "cannot count slots");
    }
    *count = (long)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (!have && *count >= limit) return 0;
    st = stmt(s, Q_SLOT_SET);
    bind(st, 1, c, clen);
    bind(st, 2, t, tlen);
    sqlite3_bind_double(st, 3, now + lease);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return fail(s, "cannot take a slot");
    if (!have) (*count)++;
    return 1;
}

static int sq_slot(sd_store *base, const char *c, size_t clen, const char *t, size_t tlen, long limit, double lease,
                   long *count)
{
    sq_store *s = (sq_store *)base;
    if (begin_mode(s, 0) != 0) return -1;
    return end(s, slot_in(s, c, clen, t, tlen, limit, lease, count));
}

static int sq_unslot(sd_store *base, const char *c, size_t clen, const char *t, size_t tlen)
{
    sq_store *s = (sq_store *)base;
    sqlite3_stmt *st;
    int rc;
    if (sync_mode(s, 0) != 0) return -1;
    st = stmt(s, Q_SLOT_DEL);
    bind(st, 1, c, clen);
    bind(st, 2, t, tlen);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(s, "cannot give a slot back");
}

static void sq_close(sd_store *base)
{
    sq_store *s = (sq_store *)base;
    int i;
    for (i = 0; i < Q_N; i++) sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    free(s);
}

static const sd_store_ops OPS = {"sqlite", sq_get, sq_put, sq_list, sq_claim, sq_release, sq_slot, sq_unslot,
                                 sq_close};

sd_store *sd_store_sqlite_open(const char *path, double timeout, char *err, size_t errlen)
{
    sq_store *s = calloc(1, sizeof *s);
    int i;
    char *msg = NULL;
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &OPS;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        goto bad;
    sqlite3_busy_timeout(s->db, (int)(timeout * 1000));
    /* journal_mode first: the schema is then written through the WAL like everything else */
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, &msg) != SQLITE_OK)
        goto bad_msg;
    s->full = 1;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) goto bad_msg;
    if (sqlite3_exec(s->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        goto bad_msg;
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) goto bad_msg;
    for (i = 0; i < Q_N; i++) {
        if (sqlite3_prepare_v2(s->db, SQL[i], -1, &s->q[i], NULL) != SQLITE_OK) goto bad;
    }
    return &s->base;
bad_msg:
    snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    sq_close(&s->base);
    return NULL;
bad:
    snprintf(err, errlen, "%s", s->db ? sqlite3_errmsg(s->db) : "out of memory");
    sq_close(&s->base);
    return NULL;
}
