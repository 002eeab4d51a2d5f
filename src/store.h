/* store.h: the record of what a client created and claimed, shared by every process that
 * opens the same store: SQLite on one machine, Redis across many. One interface (the ops
 * table), one Lua binding (store_lua.c); each backend is one file. Keys and values are
 * opaque bytes here: namespacing and encoding belong to the Lua face (seedance.store). */
#ifndef SEEDANCE_STORE_H
#define SEEDANCE_STORE_H
#include <stddef.h>

#include "compat.h"

#define SD_STORE_ERRLEN 256

typedef struct sd_store sd_store;

/* One record to write: val NULL removes it. group names the list it belongs to ("" none). */
typedef struct {
    const char *key;
    size_t klen;
    const char *val;
    size_t vlen;
    const char *group;
    size_t glen;
    double at;
} sd_store_rec;

/* Called once per row a read returns; a non-zero return stops the read. */
typedef int (*sd_store_row_fn)(void *ud, const char *key, size_t klen, const char *val, size_t vlen);

/* Every call returns -1 on failure with a message in s->err. */
typedef struct {
    const char *name;
    /* 1 found (fn called once with key and value), 0 absent */
    int (*get)(sd_store *s, const char *key, size_t klen, sd_store_row_fn fn, void *ud);
    /* all of recs in one transaction: every one is written or none, durably (SQLite: synced
     * at commit). With owner (NULL: none) the put *completes* creates begun under owner's
     * claims: the claims on the records' keys end in the same transaction, and the commit
     * need not be synced at once (SQLite: it rides on the next synced commit, a checkpoint
     * or the close). Sound only after the create's intent was written durably: a power
     * loss that takes the completion leaves the intent, which readers take as an outcome
     * unknown (never as nothing), so nothing is paid twice. A crash of the process loses
     * nothing either way. */
    int (*put)(sd_store *s, const sd_store_rec *recs, size_t n, const char *owner, size_t olen);
    /* every record of a group, oldest first */
    int (*list)(sd_store *s, const char *group, size_t glen, sd_store_row_fn fn, void *ud);
    /* 1 claimed (or renewed by the same owner) for lease seconds, 0 held by another
     * (fn gets the holder as value). With rec (NULL: none), once claimed, in the same
     * transaction: the record under rec->key is read (fn gets it when there is one), and
     * when there is none and rec->val is not NULL, rec is written (a create's intent,
     * recorded with its claim: one durable write instead of two). */
    int (*claim)(sd_store *s, const char *key, size_t klen, const char *owner, size_t olen, double lease,
                 const sd_store_rec *rec, sd_store_row_fn fn, void *ud);
    /* drops the claim if owner holds it; 0 */
    int (*release)(sd_store *s, const char *key, size_t klen, const char *owner, size_t olen);
    /* one of at most limit live slots of counter, held by token for lease seconds:
     * 1 taken (or renewed), 0 all taken; *count is how many are live afterwards */
    int (*slot)(sd_store *s, const char *counter, size_t clen, const char *token, size_t tlen, long limit,
                double lease, long *count);
    /* gives a slot back; 0 */
    int (*unslot)(sd_store *s, const char *counter, size_t clen, const char *token, size_t tlen);
    void (*close)(sd_store *s);
} sd_store_ops;

struct sd_store {
    const sd_store_ops *ops;
    char err[SD_STORE_ERRLEN];
};

/* NULL with a message in err when the store cannot be opened. timeout: seconds a call may
 * wait for another process (SQLite's busy timeout; Redis's connect and command timeout). */
sd_store *sd_store_sqlite_open(const char *path, double timeout, char *err, size_t errlen);
sd_store *sd_store_redis_open(const char *host, int port, int db, double timeout, char *err, size_t errlen);

/* core.store_open(...), core.file_kind(path), core.process_tag() */
int sd_l_store_open(lua_State *L);
int sd_l_file_kind(lua_State *L);
int sd_l_process_tag(lua_State *L);
#endif
