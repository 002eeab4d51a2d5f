/* sched.h: the poll scheduler, the one that decides when each pending asset, task and
 * session is looked at again. Its timers live in the engine's one heap; its requests go
 * through the engine like any other; their answers are read here, in C (json.h), and only
 * a change reaches Lua. Where a provider can list by status, a list round refreshes every
 * pending object of a kind with one request per page, and learns where the objects that
 * left the pending list went by listing the statuses they can have moved to.
 *
 * No provider knowledge: a Lua dialect declares each kind's shape as data (a "class":
 * how to GET one, where its status and progress are, how to list) and sd_sched_class
 * registers it. */
#ifndef SEEDANCE_SCHED_H
#define SEEDANCE_SCHED_H

#include "engine.h"
#include "object.h"

typedef struct sd_pclass_spec {
    /* GET of one object: url_pre + escaped id + url_post; url_pre NULL: Lua builds it */
    const char *url_pre, *url_post;
    const char **headers;
    int n_headers;
    const char *status_path, *progress_path; /* NULL: every answer goes to Lua */
    double first, max, factor, jitter, max_age, timeout;
    /* list rounds (n_statuses 0: none): one list URL per status, "{page}" marking where the
     * page number goes; [0] lists the pending status, the rest where pending objects go */
    const char *items_path, *item_id, *item_status, *total_path;
    const char **statuses;
    int n_statuses;
    int page_size, threshold, fanout, max_pages;
    double list_first, list_max;
} sd_pclass_spec;

typedef enum { SD_EV_CHANGED, SD_EV_ERROR, SD_EV_ITEM, SD_EV_ENDED, SD_EV_BUILD, SD_EV_TRACE } sd_event_kind;

/* TRACE (only while sd_sched_trace is on, for SEEDANCE_DEBUG): a request the scheduler sent
 * or the answer it read, copied, since an unchanged answer never reaches Lua otherwise. */
typedef struct sd_ptrace {
    int answer; /* 0: sent; 1: answered */
    char *method, *url;
    char **headers; /* as sent: Lua redacts them before they are written anywhere */
    int n_headers;
    long status;
    sd_errkind err;
    char *errmsg, *body;
    size_t body_len;
    int attempts;
    double elapsed;
} sd_ptrace;

typedef struct sd_pevent {
    double key;
    sd_event_kind kind;
    sd_request *r;   /* CHANGED, ERROR: the answer (the receiver frees it) */
    char *item;      /* ITEM: the list item's JSON and its status word */
    size_t item_len;
    char *word;
    int settle;      /* CHANGED: C could not read the status; Lua reports it (sd_sched_seen) */
    sd_ptrace *trace; /* TRACE */
    int ref;          /* the poll's anchor of its object (0: none, as for a list page's trace) */
    int release;      /* the poll is gone (ENDED): the anchor is to be let go */
} sd_pevent;

/* A class index, or -1 (err says why). */
int sd_sched_class(sd_engine *e, const sd_pclass_spec *s, char *err, size_t errlen);
/* Start polling object `o` (its id and status word are read from it, object.h) in class
 * `cls`; `ref` is where the caller anchors the object for as long as it is polled (events
 * carry it); `watched`: the number last seen at the class's progress path (NAN: none);
 * fresh: just created, so look sooner. Returns its key (also set as the object's poll
 * mark), or -1. */
double sd_sched_add(sd_engine *e, int cls, sd_object *o, int ref, double watched, int fresh);
/* The key of object o's poll on this engine, 0 when it has none here. */
double sd_sched_key(sd_engine *e, const sd_object *o);
/* The anchor and class of a poll; 0 when the key is unknown. */
int sd_sched_info(sd_engine *e, double key, int *ref, int *cls);
/* Stop polling (an in-flight poll is cancelled). 0 when the key is unknown. */
int sd_sched_remove(sd_engine *e, double key);
/* Someone waits on it: while held, it is never dropped for age. */
int sd_sched_hold(sd_engine *e, double key, int delta);
/* After a settle event: whether the object changed, and the progress Lua read; C plans the
 * next poll. */
int sd_sched_seen(sd_engine *e, double key, int changed, double progress);
/* A BUILD event's request, built by Lua. */
int sd_sched_submit(sd_engine *e, double key, const sd_submit *s, char *err, size_t errlen);
/* Trace the scheduler's own requests (on: nonzero) as TRACE events. */
void sd_sched_trace(sd_engine *e, int on);
void sd_ptrace_free(sd_ptrace *t);
/* Events for Lua, oldest first; the caller takes ownership of each event's r and item. */
sd_pevent *sd_sched_events(sd_engine *e, size_t *n);
void sd_sched_events_clear(sd_engine *e);
int sd_sched_nclasses(sd_engine *e);
/* Objects polled now. */
int sd_sched_count(sd_engine *e, int cls);

/* engine.c's hooks */
void sd_sched_fire(sd_engine *e, sd_timer *t);
void sd_sched_collect(sd_engine *e);
int sd_sched_busy(sd_engine *e);
void sd_sched_close(sd_engine *e);

#endif
