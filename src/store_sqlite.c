/* store_sqlite.c: the embedded store. One file shared by every process on the machine:
 * WAL mode (readers never wait for the writer), a busy timeout (writers queue instead of
 * failing), BEGIN IMMEDIATE around each read-modify-write (the write lock is taken first,
 * so two processes cannot both see a claim free), one transaction per call, prepared
 * statements; a record is synced at its commit (a paid record survives power loss, not only
 * a crash; see sync_mode).
 * Per-record cost is flat: every statement goes through a primary key or an index. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "clock.h"
#include "store.h"

enum {
    Q_GET, Q_UPDATE, Q_PUT, Q_DEL, Q_LIST, Q_CLAIM_GET, Q_CLAIM_SET, Q_CLAIM_DEL, Q_SLOT_EXPIRE, Q_SLOT_HAS,
    Q_SLOT_COUNT, Q_SLOT_SET, Q_SLOT_DEL, Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_N
};

static const char *const SQL[Q_N] = {
    "SELECT val FROM records WHERE key = ?1",
    "UPDATE records SET val = ?3 WHERE key = ?1 AND grp = ?2",
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

/* WITHOUT ROWID: each table is one B-tree keyed by its primary key, so a write touches one
 * page per table, not a table page and a key index page (a store made by an earlier
 * version has rowid tables: the same statements serve both) */
static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS records(key BLOB PRIMARY KEY, grp BLOB NOT NULL, val BLOB NOT NULL,"
    " at REAL NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS records_by_group ON records(grp, at);"
    "CREATE TABLE IF NOT EXISTS claims(key BLOB PRIMARY KEY, owner BLOB NOT NULL, expires REAL NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS slots(counter BLOB NOT NULL, token BLOB NOT NULL, expires REAL NOT NULL,"
    " PRIMARY KEY(counter, token)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS seedance_store(format INTEGER NOT NULL);"
    "INSERT INTO seedance_store(format) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM seedance_store);";

typedef struct {
    sd_store base;
    sqlite3 *db;
    sqlite3_stmt *q[Q_N];
    int full;     /* the connection's synchronous setting is FULL (else NORMAL) */
    int unsynced; /* a completion was committed since the last synced commit */
} sq_store;

static int fail(sq_store *s, const char *what)
{
    snprintf(s->base.err, sizeof s->base.err, "%s: %s", what, sqlite3_errmsg(s->db));
    return -1;
}

/* Prepared statement q, reset, with its parameters bound from types: 'b' a blob (pointer,
 * size_t), 'd' a double. Every parameter is bound each time, so none is cleared. */
static sqlite3_stmt *bound(sq_store *s, int q, const char *types, ...)
{
    sqlite3_stmt *st = s->q[q];
    va_list ap;
    int i;
    sqlite3_reset(st);
    va_start(ap, types);
    for (i = 0; types[i]; i++) {
        if (types[i] == 'd') {
            sqlite3_bind_double(st, i + 1, va_arg(ap, double));
        } else {
            const char *p = va_arg(ap, const char *);
            size_t n = va_arg(ap, size_t);
            sqlite3_bind_blob(st, i + 1, n ? p : "", (int)n, SQLITE_STATIC);
        }
    }
    va_end(ap);
    return st;
}

/* steps st once: 1 a row (st is left on it: the caller resets), 0 done, -1 saying what failed */
static int step(sq_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return 1;
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(s, what);
}

/* steps a statement whose rows do not matter: 0, or -1 saying what failed */
static int run(sq_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = step(s, st, what);
    if (rc == 1) sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
}

/* Records (intents, other puts) are synced to disk at their commit (FULL): they survive
 * power loss. Claims, releases, slots and completions (store.h: put with an owner) skip the
 * sync (NORMAL; still safe from a crash of the process), and the next synced commit carries
 * them too, since the WAL is one sequential file: a keyed create costs one sync, its
 * intent's, not two. */
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
    return run(s, bound(s, Q_BEGIN, ""), "cannot start a store transaction");
}

/* ends the transaction begun above: commit when ok, else roll back and keep the message */
static int end(sq_store *s, int rc)
{
    if (rc >= 0) {
        if (run(s, bound(s, Q_COMMIT, ""), "cannot commit to the store") == 0) {
            if (s->full) s->unsynced = 0;
            return rc;
        }
    }
    {
        char keep[SD_STORE_ERRLEN];
        memcpy(keep, s->base.err, sizeof keep);
        run(s, bound(s, Q_ROLLBACK, ""), "rollback");
        memcpy(s->base.err, keep, sizeof keep);
    }
    return -1;
}

/* the record under key to fn: 1 found, 0 none, -1 */
static int get_in(sq_store *s, const char *key, size_t klen, sd_store_row_fn fn, void *ud)
{
    sqlite3_stmt *st = bound(s, Q_GET, "b", key, klen);
    int rc = step(s, st, "cannot read the store");
    if (rc == 1) {
        fn(ud, key, klen, (const char *)sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        sqlite3_reset(st);
    }
    return rc;
}

static int sq_get(sd_store *base, const char *key, size_t klen, sd_store_row_fn fn, void *ud)
{
    return get_in((sq_store *)base, key, klen, fn, ud);
}

/* A record written again in its group (an intent completed with its id) keeps its place in
 * the group's order (its first time): only its value changes, so the group index is not
 * rewritten. A new record, or one that changes group, is written whole. */
static int put_one(sq_store *s, const sd_store_rec *r)
{
    if (r->val == NULL) return run(s, bound(s, Q_DEL, "b", r->key, r->klen), "cannot write the store");
    if (run(s, bound(s, Q_UPDATE, "bbb", r->key, r->klen, r->group, r->glen, r->val, r->vlen),
            "cannot write the store") != 0)
        return -1;
    if (sqlite3_changes(s->db) > 0) return 0;
    return run(s, bound(s, Q_PUT, "bbbd", r->key, r->klen, r->group, r->glen, r->val, r->vlen, r->at),
               "cannot write the store");
}

static int release_in(sq_store *s, const char *key, size_t klen, const char *owner, size_t olen)
{
    return run(s, bound(s, Q_CLAIM_DEL, "bb", key, klen, owner, olen), "cannot release a claim");
}

static int sq_put(sd_store *base, const sd_store_rec *recs, size_t n, const char *owner, size_t olen)
{
    sq_store *s = (sq_store *)base;
    size_t i;
    int rc = 0;
    if (begin_mode(s, owner == NULL) != 0) return -1;
    for (i = 0; i < n && rc == 0; i++) {
        rc = put_one(s, &recs[i]);
        if (rc == 0 && owner) rc = release_in(s, recs[i].key, recs[i].klen, owner, olen);
    }
    rc = end(s, rc);
    if (rc == 0 && owner) s->unsynced = 1;
    return rc;
}

static int sq_list(sd_store *base, const char *group, size_t glen, sd_store_row_fn fn, void *ud)
{
    sq_store *s = (sq_store *)base;
    sqlite3_stmt *st = bound(s, Q_LIST, "b", group, glen);
    int rc;
    while ((rc = step(s, st, "cannot list the store")) == 1) {
        if (fn(ud, (const char *)sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
               (const char *)sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1)) != 0) {
            sqlite3_reset(st);
            return 0;
        }
    }
    return rc;
}

static int claim_in(sq_store *s, const char *key, size_t klen, const char *owner, size_t olen, double lease,
                    const sd_store_rec *rec, sd_store_row_fn fn, void *ud)
{
    double now = sd_walltime();
    sqlite3_stmt *st = bound(s, Q_CLAIM_GET, "b", key, klen);
    int rc = step(s, st, "cannot read a claim");
    if (rc < 0) return -1;
    if (rc == 1) {
        const char *h = (const char *)sqlite3_column_blob(st, 0);
        size_t hn = (size_t)sqlite3_column_bytes(st, 0);
        double exp = sqlite3_column_double(st, 1);
        int other = exp > now && !(hn == olen && memcmp(h, owner, olen) == 0);
        if (other) fn(ud, key, klen, h, hn);
        sqlite3_reset(st);
        if (other) return 0;
    }
    if (run(s, bound(s, Q_CLAIM_SET, "bbd", key, klen, owner, olen, now + lease), "cannot write a claim") != 0)
        return -1;
    if (rec) {
        rc = get_in(s, rec->key, rec->klen, fn, ud);
        if (rc < 0 || (rc == 0 && rec->val && put_one(s, rec) != 0)) return -1;
    }
    return 1;
}

static int sq_claim(sd_store *base, const char *key, size_t klen, const char *owner, size_t olen, double lease,
                    const sd_store_rec *rec, sd_store_row_fn fn, void *ud)
{
    sq_store *s = (sq_store *)base;
    /* synced at commit when it may write a record */
    if (begin_mode(s, rec && rec->val) != 0) return -1;
    return end(s, claim_in(s, key, klen, owner, olen, lease, rec, fn, ud));
}

static int sq_release(sd_store *base, const char *key, size_t klen, const char *owner, size_t olen)
{
    sq_store *s = (sq_store *)base;
    if (sync_mode(s, 0) != 0) return -1;
    return release_in(s, key, klen, owner, olen);
}

static int slot_in(sq_store *s, const char *c, size_t clen, const char *t, size_t tlen, long limit, double lease,
                   long *count)
{
    double now = sd_walltime();
    sqlite3_stmt *st;
    int have;
    if (run(s, bound(s, Q_SLOT_EXPIRE, "bd", c, clen, now), "cannot expire slots") != 0) return -1;
    have = step(s, bound(s, Q_SLOT_HAS, "bb", c, clen, t, tlen), "cannot read slots");
    if (have < 0) return -1;
    if (have) sqlite3_reset(s->q[Q_SLOT_HAS]);
    st = bound(s, Q_SLOT_COUNT, "b", c, clen);
    if (step(s, st, "cannot count slots") != 1) return -1; /* count(*) always has its row */
    *count = (long)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (!have && *count >= limit) return 0;
    if (run(s, bound(s, Q_SLOT_SET, "bbd", c, clen, t, tlen, now + lease), "cannot take a slot") != 0) return -1;
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
    if (sync_mode(s, 0) != 0) return -1;
    return run(s, bound(s, Q_SLOT_DEL, "bb", c, clen, t, tlen), "cannot give a slot back");
}

static void sq_close(sd_store *base)
{
    sq_store *s = (sq_store *)base;
    int i;
    /* completions still riding on a sync are synced now: a client that closes its store
     * leaves every record durable (when this is the last connection, closing checkpoints
     * anyway; when it is not, nothing else would sync them soon) */
    if (s->unsynced) {
        sqlite3_file *wal = NULL;
        if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) == SQLITE_OK && wal &&
            wal->pMethods)
            wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
    }
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
