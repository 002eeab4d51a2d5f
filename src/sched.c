/* sched.c: the poll scheduler (see sched.h).
 * Each pending object is an sd_poll: its key for Lua, the object itself (its id and status
 * word are read from the object's C struct, object.h, never copied), the progress last
 * seen, its current interval. Polls back off (x factor up to max) while nothing
 * changes and snap back to the first interval when something does; a task that reports
 * progress is looked at when its progress says it will finish; every delay carries
 * jitter so thousands of objects never poll in lockstep; a server's Retry-After wins. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "object.h"
#include "sched.h"

/* What a poll knows of the number it watches beside the status (a task's progress, Sunra's
 * queue position): its last value, and the value and time of its last change. */
typedef struct sd_eta {
    double progress, p_v, p_t;
} sd_eta;

/* 72 bytes, so malloc gives it 80 (it gave 112 when it was 104): ten thousand pending
 * objects are ten thousand of these. What is rare lives elsewhere (sd_eta; the request
 * only while one is in flight), the id table keeps no link or hash in it, the counters are
 * as narrow as their use allows, and the start time is a float from the scheduler's epoch
 * (only compared with max_age, minutes). */
typedef struct sd_poll {
    sd_handle h;        /* tm.type SD_TM_POLL; h.id is the key Lua holds */
    sd_object *obj;     /* alive while anchored */
    struct sd_eta *eta; /* NULL until the object reports a number (assets never do) */
    sd_request *req;
    double interval;
    float since;        /* seconds after sd_sched.epoch */
    int ref;            /* where Lua anchors the object (lua_sched.c) */
    uint16_t seen;      /* the list round that last saw it (sd_round.no) */
    uint16_t cls;
    uint16_t holds;     /* at HOLDS_MAX it stays held (see sd_sched_hold) */
    unsigned char flags;
} sd_poll;

#define P_IN_ROUND 1u
#define P_SETTLING 2u
#define HOLDS_MAX 0xFFFFu
#define MAX_CLASSES 0xFFFF

/* the size above, checked where the compiler can (a negative array size fails) */
typedef char sd_poll_fits[sizeof(void *) != 8 || sizeof(sd_poll) <= 72 ? 1 : -1];

typedef struct sd_round {
    sd_timer tm; /* SD_TM_ROUND */
    int cls, busy, phase, want, next_page, outstanding, failed, changed;
    uint16_t no; /* wraps: a member is seen or leaves the round every round */
    double interval, retry_after, started;
} sd_round;

typedef struct sd_pclass {
    char *url_pre, *url_post, *status_path, *progress_path;
    char **headers;
    int n_headers;
    double first, max, factor, jitter, max_age, timeout;
    char *items_path, *item_id, *item_status, *total_path;
    char **statuses;
    int n_statuses, page_size, threshold, fanout, max_pages;
    double list_first, list_max;
    int count;
    sd_poll **table; /* id -> poll: open addressing, linear probing, at most 3/4 full */
    size_t tcap;
    sd_round round;
} sd_pclass;

typedef struct sd_sched {
    sd_pclass **cls; /* each on its own: the heap and page requests point into them */
    int ncls;
    sd_pevent *ev;
    size_t nev, capev;
    sd_json json;
    int polls, trace;
    double epoch; /* polls keep their start as a float after this */
} sd_sched;

static sd_sched *sched_of(sd_engine *e)
{
    if (e->sched == NULL && (e->sched = calloc(1, sizeof(sd_sched))) != NULL) e->sched->epoch = sd_engine_now(e);
    return e->sched;
}

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    while (n--) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

/* ---- events ---- */

static sd_pevent *event_new(sd_sched *s, const sd_poll *p, sd_event_kind kind)
{
    sd_pevent *ev;
    if (s->nev == s->capev) {
        size_t cap = s->capev ? s->capev * 2 : 32;
        sd_pevent *v = realloc(s->ev, cap * sizeof *v);
        if (v == NULL) return NULL;
        s->ev = v;
        s->capev = cap;
    }
    ev = &s->ev[s->nev++];
    memset(ev, 0, sizeof *ev);
    ev->key = p ? p->h.id : 0;
    ev->ref = p ? p->ref : 0;
    ev->kind = kind;
    return ev;
}

/* ---- tracing (SEEDANCE_DEBUG) ---- */

void sd_sched_trace(sd_engine *e, int on)
{
    sd_sched *s = sched_of(e);
    if (s) s->trace = on != 0;
}

void sd_ptrace_free(sd_ptrace *t)
{
    int i;
    if (t == NULL) return;
    free(t->method);
    free(t->url);
    for (i = 0; i < t->n_headers; i++) free(t->headers[i]);
    free(t->headers);
    free(t->errmsg);
    free(t->body);
    free(t);
}

/* A TRACE event for r, sent (answer 0) or answered (1); nothing when tracing is off. The
 * whole body is copied: Lua scrubs secrets before it cuts the body short. */
static void trace(sd_engine *e, const sd_poll *p, const sd_request *r, int answer)
{
    sd_sched *s = e->sched;
    sd_ptrace *t;
    sd_pevent *ev;
    int i;
    if (s == NULL || !s->trace || (t = calloc(1, sizeof *t)) == NULL) return;
    t->answer = answer;
    t->method = sd_strdup(r->method);
    t->url = sd_strdup(r->url);
    t->headers = r->n_headers > 0 ? calloc((size_t)r->n_headers, sizeof *t->headers) : NULL;
    for (i = 0; t->headers && i < r->n_headers; i++)
        if ((t->headers[t->n_headers] = sd_strdup(r->headers[i])) != NULL) t->n_headers++;
    if (answer) {
        t->status = r->status;
        t->err = r->err;
        t->errmsg = sd_strdup(r->errmsg);
        t->body = sd_strndup(r->resp_body.p ? r->resp_body.p : "", r->resp_body.len);
        t->body_len = r->resp_body.len;
        t->attempts = r->attempts;
        t->elapsed = sd_engine_now(e) - r->started;
    }
    ev = event_new(s, p, SD_EV_TRACE);
    if (ev) ev->ref = 0; /* a trace names the poll, it does not hand Lua the object */
    if (ev == NULL || t->method == NULL || t->url == NULL || (answer && (t->errmsg == NULL || t->body == NULL))) {
        if (ev) s->nev--; /* the newest event: take it back */
        sd_ptrace_free(t);
        return;
    }
    ev->trace = t;
}

/* ---- the id table of a class ---- */

static size_t home_of(const sd_pclass *c, const char *id, size_t n)
{
    return hash_bytes(id, n) & (c->tcap - 1);
}

static size_t home(const sd_pclass *c, const sd_poll *p)
{
    size_t n;
    const char *id = sd_object_id(p->obj, &n);
    return home_of(c, id ? id : "", id ? n : 0);
}

static void table_insert(sd_pclass *c, sd_poll *p)
{
    size_t i = home(c, p);
    while (c->table[i]) i = (i + 1) & (c->tcap - 1);
    c->table[i] = p;
}

static int table_put(sd_pclass *c, sd_poll *p)
{
    if (((size_t)c->count + 1) * 4 > c->tcap * 3) {
        size_t cap = c->tcap ? c->tcap * 2 : 64, k, old = c->tcap;
        sd_poll **t = calloc(cap, sizeof *t), **was = c->table;
        if (t == NULL) return -1;
        c->table = t;
        c->tcap = cap;
        for (k = 0; k < old; k++)
            if (was[k]) table_insert(c, was[k]);
        free(was);
    }
    table_insert(c, p);
    c->count++;
    return 0;
}

/* Removing shifts back the entries after it that would otherwise be cut off from their
 * home. A poll is found by address from its home, or (its object's id changed meanwhile,
 * which no provider does) by a scan. */
static void table_del(sd_pclass *c, sd_poll *p)
{
    size_t mask = c->tcap - 1, i, j, k, n;
    if (c->tcap == 0) return;
    for (i = home(c, p), n = 0; c->table[i] != p; i = (i + 1) & mask)
        if (c->table[i] == NULL || ++n > mask) {
            for (i = 0; i <= mask && c->table[i] != p; i++) continue;
            if (i > mask) return;
            break;
        }
    c->table[i] = NULL;
    c->count--;
    for (j = (i + 1) & mask; c->table[j]; j = (j + 1) & mask) {
        k = home(c, c->table[j]);
        /* the entry at j stays unless its home lies cyclically in (i, j] */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
        c->table[i] = c->table[j];
        c->table[j] = NULL;
        i = j;
    }
}

static sd_poll *table_get(sd_pclass *c, const char *id, size_t n)
{
    size_t i;
    sd_poll *p;
    if (c->tcap == 0) return NULL;
    for (i = home_of(c, id, n); (p = c->table[i]) != NULL; i = (i + 1) & (c->tcap - 1)) {
        size_t pn;
        const char *pid = sd_object_id(p->obj, &pn);
        if (pid && pn == n && memcmp(pid, id, n) == 0) return p;
    }
    return NULL;
}

/* ---- classes ---- */

static char **dup_list(const char **v, int n)
{
    char **out = calloc((size_t)(n > 0 ? n : 1), sizeof *out);
    int i;
    if (out == NULL) return NULL;
    for (i = 0; i < n; i++)
        if ((out[i] = sd_strdup(v[i])) == NULL) return out; /* caller checks the last */
    return out;
}

static void free_list(char **v, int n)
{
    int i;
    if (v == NULL) return;
    for (i = 0; i < n; i++) free(v[i]);
    free(v);
}

int sd_sched_class(sd_engine *e, const sd_pclass_spec *sp, char *err, size_t errlen)
{
    sd_sched *s = sched_of(e);
    sd_pclass *c = NULL, **v;
    if (s == NULL) goto oom;
    if (s->ncls >= MAX_CLASSES) {
        snprintf(err, errlen, "too many poll classes");
        return -1;
    }
    v = realloc(s->cls, (size_t)(s->ncls + 1) * sizeof *v);
    if (v == NULL) goto oom;
    s->cls = v;
    c = calloc(1, sizeof *c);
    if (c == NULL) goto oom;
    s->cls[s->ncls] = c;
    c->url_pre = sd_strdup(sp->url_pre);
    c->url_post = sd_strdup(sp->url_post ? sp->url_post : "");
    c->status_path = sd_strdup(sp->status_path);
    c->progress_path = sd_strdup(sp->progress_path);
    c->headers = dup_list(sp->headers, sp->n_headers);
    c->n_headers = sp->n_headers;
    c->first = sp->first;
    c->max = sp->max < sp->first ? sp->first : sp->max;
    c->factor = sp->factor >= 1 ? sp->factor : 1;
    c->jitter = sp->jitter >= 0 && sp->jitter < 1 ? sp->jitter : 0;
    c->max_age = sp->max_age;
    c->timeout = sp->timeout;
    c->items_path = sd_strdup(sp->items_path);
    c->item_id = sd_strdup(sp->item_id);
    c->item_status = sd_strdup(sp->item_status);
    c->total_path = sd_strdup(sp->total_path);
    c->statuses = dup_list(sp->statuses, sp->n_statuses);
    c->n_statuses = sp->n_statuses;
    c->page_size = sp->page_size > 0 ? sp->page_size : 100;
    c->threshold = sp->threshold > 0 ? sp->threshold : 3;
    c->fanout = sp->fanout > 0 ? sp->fanout : 16;
    c->max_pages = sp->max_pages > 0 ? sp->max_pages : 50;
    c->list_first = sp->list_first > 0 ? sp->list_first : 1;
    c->list_max = sp->list_max > c->list_first ? sp->list_max : c->list_first;
    c->round.tm.type = SD_TM_ROUND;
    c->round.tm.idx = SD_HEAP_NONE;
    c->round.cls = s->ncls;
    c->round.interval = c->list_first;
    if (c->url_post == NULL || c->headers == NULL || (sp->n_headers > 0 && c->headers[sp->n_headers - 1] == NULL) ||
        c->statuses == NULL || (sp->n_statuses > 0 && c->statuses[sp->n_statuses - 1] == NULL))
        goto oom; /* the half-made class stays unused, freed at close */
    if (c->n_statuses > 0 && (c->items_path == NULL || c->item_id == NULL || c->item_status == NULL || c->n_statuses < 1)) {
        snprintf(err, errlen, "a list round needs items, id and status paths and at least one list URL");
        s->ncls++;
        return -1;
    }
    return s->ncls++;
oom:
    if (c) s->ncls++;
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int uses_list(const sd_pclass *c)
{
    return c->n_statuses > 0 && c->count >= c->threshold;
}

/* ---- planning ---- */

static double jittered(sd_engine *e, const sd_pclass *c, double d)
{
    return d * (1 - c->jitter + 2 * c->jitter * sd_rand01(&e->rng));
}

static void poll_free(sd_engine *e, sd_poll *p)
{
    if (sd_object_poll(p->obj) == sd_handle_slot(&p->h) + 1) sd_object_set_poll(p->obj, 0);
    sd_handle_free(e, &p->h);
    free(p->eta);
    free(p);
}

/* The class's last object went while a round's pages are in flight: they serve nobody
 * (a wait_all that saw every object end would otherwise leave the engine busy until they
 * came back), so they are cancelled, their answers dropped, and the next objects start a
 * round afresh at the list's first pace. Rare (once per emptying), so the slots are scanned. */
static void round_abandon(sd_engine *e, sd_pclass *c)
{
    sd_round *rd = &c->round;
    uint32_t i;
    for (i = 0; i < e->nslots; i++) {
        sd_handle *h = sd_handle_at(e, i);
        sd_request *r = (sd_request *)(void *)h;
        if (h == NULL || h->tm.type != SD_TM_REQUEST || r->round != rd) continue;
        r->round = NULL; /* owned and no one's: freed when collected */
        sd_engine_cancel(e, r);
    }
    rd->busy = 0;
    rd->outstanding = 0;
    rd->interval = c->list_first;
}

static void poll_drop(sd_engine *e, sd_poll *p)
{
    sd_sched *s = e->sched;
    sd_pclass *c = s->cls[p->cls];
    sd_heap_remove(&e->heap, &p->h.tm);
    if (p->req) {
        p->req->poll = NULL; /* its answer is dropped when it comes */
        sd_engine_cancel(e, p->req);
        p->req = NULL;
    }
    table_del(c, p);
    s->polls--;
    poll_free(e, p);
    if (c->count == 0 && c->round.busy) round_abandon(e, c);
}

/* Plan the next round `delay` seconds (before jitter) after `from`, and not before now. */
static void round_at(sd_engine *e, sd_pclass *c, double from, double delay)
{
    double due = fmax(sd_engine_now(e), from + jittered(e, c, delay));
    if (c->round.busy) return; /* a round in progress plans the next when it ends */
    if (sd_timer_queued(&c->round.tm) && c->round.tm.due <= due) return;
    sd_heap_set(&e->heap, &c->round.tm, due);
}

static void round_due(sd_engine *e, sd_pclass *c, double delay)
{
    round_at(e, c, sd_engine_now(e), delay);
}

/* Plan the next look at p, `delay` seconds from now (before jitter). */
static void plan(sd_engine *e, sd_poll *p, double delay)
{
    sd_pclass *c = e->sched->cls[p->cls];
    double now = sd_engine_now(e);
    if (p->holds == 0 && c->max_age > 0 && now - (e->sched->epoch + p->since) > c->max_age) {
        sd_pevent *ev = event_new(e->sched, p, SD_EV_ENDED);
        if (ev) {
            ev->release = 1; /* the poll is gone: Lua lets go of the object */
            poll_drop(e, p);
            return;
        }
    }
    if (uses_list(c)) {
        p->flags |= P_IN_ROUND;
        /* joining while a round runs: it waits for the next one, not a GET of its own; and
         * otherwise the next round (no + 1) counts it missing until a page shows it, however
         * long ago it was last seen (seen is narrow and wraps) */
        p->seen = c->round.no;
        /* the round keeps its own pace: an object's backoff must not hold it back */
        round_due(e, c, fmin(delay, c->round.interval));
        return;
    }
    p->flags &= (unsigned char)~P_IN_ROUND;
    sd_heap_set(&e->heap, &p->h.tm, now + jittered(e, c, delay));
}

static double watched(const sd_poll *p)
{
    return p->eta ? p->eta->progress : NAN;
}

/* Take v as the watched number; returns 1 when it differs from the last one. Out of memory,
 * the number is not kept, so every later one reads as a change: more events, none lost. */
static int watch(sd_poll *p, double v)
{
    double last = watched(p);
    if (v == last || (isnan(v) && isnan(last))) return 0;
    if (p->eta == NULL && (p->eta = malloc(sizeof *p->eta)) != NULL) p->eta->p_v = p->eta->p_t = NAN;
    if (p->eta) p->eta->progress = v;
    return 1;
}

/* After an answer: changed or not, the progress it reported, and the round trip it took
 * (0: unknown); returns the delay. */
static double settle(sd_engine *e, sd_poll *p, int changed, double rtt)
{
    sd_pclass *c = e->sched->cls[p->cls];
    /* the server read its progress about half a round trip before the answer came back */
    double delay, now = sd_engine_now(e), at = now - rtt / 2;
    if (changed) p->interval = c->first;
    else p->interval = fmin(p->interval * c->factor, c->max);
    delay = p->interval;
    /* a task reporting progress tells when it will finish: look so that the request reaches
     * the server then (half a round trip before), not an interval later */
    if (p->eta && !isnan(p->eta->progress)) {
        sd_eta *t = p->eta;
        if (!isnan(t->p_v) && t->progress > t->p_v && t->progress < 100) {
            double finish = at + (100 - t->progress) * (at - t->p_t) / (t->progress - t->p_v);
            delay = fmax(fmin(p->interval, finish - rtt / 2 - now), 0.05);
        }
        if (t->p_v != t->progress) {
            t->p_v = t->progress;
            t->p_t = at;
        }
    }
    return delay;
}

/* Whether word w differs from the object's status word. Nothing is written: the object
 * takes the new word when Lua applies the change (watch.lua), so until then a second answer
 * with the same word is a change again, which is harmless (Lua applies it once more). */
static int status_differs(const sd_poll *p, const char *w, size_t n)
{
    size_t on;
    const char *o = sd_object_raw_status(p->obj, &on);
    return o == NULL || on != n || memcmp(o, w, n) != 0;
}

/* ---- adding and removing ---- */

double sd_sched_add(sd_engine *e, int cls, sd_object *o, int ref, double watched_now, int fresh)
{
    sd_sched *s = sched_of(e);
    sd_pclass *c;
    sd_poll *p;
    if (s == NULL || cls < 0 || cls >= s->ncls || sd_object_id(o, NULL) == NULL) return -1;
    c = s->cls[cls];
    p = calloc(1, sizeof *p);
    if (p == NULL) return -1;
    p->h.tm.type = SD_TM_POLL;
    p->h.tm.idx = SD_HEAP_NONE;
    p->cls = (uint16_t)cls;
    p->obj = o;
    p->ref = ref;
    watch(p, watched_now);
    p->interval = c->first;
    p->since = (float)(sd_engine_now(e) - s->epoch);
    if (sd_handle_alloc(e, &p->h) != 0) {
        free(p);
        return -1;
    }
    sd_object_set_poll(o, sd_handle_slot(&p->h) + 1);
    if (table_put(c, p) != 0) {
        poll_free(e, p);
        return -1;
    }
    s->polls++;
    plan(e, p, fresh ? c->first / 2 : c->first);
    return p->h.id;
}

static sd_poll *find(sd_engine *e, double key)
{
    return e->sched ? (sd_poll *)sd_handle_find(e, key, SD_TM_POLL) : NULL;
}

double sd_sched_key(sd_engine *e, const sd_object *o)
{
    uint32_t mark = sd_object_poll(o);
    sd_handle *h = mark ? sd_handle_at(e, mark - 1) : NULL;
    /* the slot may hold another handle by now, or this object's poll on another engine */
    if (h == NULL || h->tm.type != SD_TM_POLL || ((sd_poll *)(void *)h)->obj != o) return 0;
    return h->id;
}

int sd_sched_info(sd_engine *e, double key, int *ref, int *cls)
{
    sd_poll *p = find(e, key);
    if (p == NULL) return 0;
    if (ref) *ref = p->ref;
    if (cls) *cls = p->cls;
    return 1;
}

int sd_sched_remove(sd_engine *e, double key)
{
    sd_poll *p = find(e, key);
    if (p == NULL) return 0;
    poll_drop(e, p);
    return 1;
}

int sd_sched_hold(sd_engine *e, double key, int delta)
{
    sd_poll *p = find(e, key);
    long h;
    if (p == NULL) return 0;
    /* a count this high sticks: the poll is then never dropped for age, only when it ends */
    if (p->holds == HOLDS_MAX) return 1;
    h = (long)p->holds + delta;
    p->holds = (uint16_t)(h < 0 ? 0 : h > (long)HOLDS_MAX ? (long)HOLDS_MAX : h);
    return 1;
}

int sd_sched_seen(sd_engine *e, double key, int changed, double progress)
{
    sd_poll *p = find(e, key);
    if (p == NULL || !(p->flags & P_SETTLING)) return 0;
    p->flags &= (unsigned char)~P_SETTLING;
    if (watch(p, progress)) changed = 1;
    plan(e, p, settle(e, p, changed, 0));
    return 1;
}

int sd_sched_count(sd_engine *e, int cls)
{
    if (e->sched == NULL) return 0;
    if (cls < 0) return e->sched->polls;
    return cls < e->sched->ncls ? e->sched->cls[cls]->count : 0;
}

int sd_sched_nclasses(sd_engine *e)
{
    return e->sched ? e->sched->ncls : 0;
}

int sd_sched_busy(sd_engine *e)
{
    return e->sched ? e->sched->polls : 0;
}

/* ---- one object's own poll ---- */

static const char HEX[] = "0123456789ABCDEF";

/* url_pre + id (percent-encoded as url.fill does) + url_post */
static char *poll_url(const sd_pclass *c, const char *id, size_t b)
{
    size_t a = strlen(c->url_pre), d = strlen(c->url_post), i, k = a;
    char *u = malloc(a + 3 * b + d + 1);
    if (u == NULL) return NULL;
    memcpy(u, c->url_pre, a);
    for (i = 0; i < b; i++) {
        unsigned char ch = (unsigned char)id[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
            ch == '_' || ch == '.' || ch == '~') {
            u[k++] = (char)ch;
        } else {
            u[k++] = '%';
            u[k++] = HEX[ch >> 4];
            u[k++] = HEX[ch & 15];
        }
    }
    memcpy(u + k, c->url_post, d + 1);
    return u;
}

/* A GET of `url` with the class's headers and timeout, retried by the engine as any GET. */
static void get_of(const sd_pclass *c, const char *url, sd_submit *sub)
{
    memset(sub, 0, sizeof *sub);
    sub->method = "GET";
    sub->url = url;
    sub->headers = (const char **)c->headers;
    sub->n_headers = c->n_headers;
    sub->timeout = c->timeout;
    sub->retries = -1;
    sub->idempotent = 1;
}

static void poll_fire(sd_engine *e, sd_poll *p)
{
    sd_pclass *c = e->sched->cls[p->cls];
    sd_submit sub;
    char err[128];
    char *u;
    if (p->req || (p->flags & P_SETTLING)) return;
    if (c->url_pre == NULL) {
        /* a signed plane: Lua builds the request, and hands it back with sd_sched_submit */
        if (event_new(e->sched, p, SD_EV_BUILD) == NULL) plan(e, p, p->interval);
        return;
    }
    {
        size_t n;
        const char *id = sd_object_id(p->obj, &n);
        u = id ? poll_url(c, id, n) : NULL;
    }
    get_of(c, u, &sub);
    p->req = u ? sd_engine_submit_owned(e, &sub, p, err, sizeof err) : NULL;
    free(u);
    if (p->req == NULL) plan(e, p, fmin(p->interval * c->factor, c->max));
    else trace(e, p, p->req, 0);
}

int sd_sched_submit(sd_engine *e, double key, const sd_submit *sub, char *err, size_t errlen)
{
    sd_poll *p = find(e, key);
    if (p == NULL) {
        snprintf(err, errlen, "no such poll");
        return -1;
    }
    if (p->req) return 0;
    p->req = sd_engine_submit_owned(e, sub, p, err, errlen);
    if (p->req) trace(e, p, p->req, 0);
    return p->req ? 0 : -1;
}

/* Read a poll's answer: unchanged ones end here; the rest become events for Lua. */
static void poll_answer(sd_engine *e, sd_poll *p, sd_request *r)
{
    sd_sched *s = e->sched;
    sd_pclass *c = s->cls[p->cls];
    sd_pevent *ev;
    int changed = 0, known = 0;
    double rtt;
    p->req = NULL;
    if (r->err != SD_ERR_NONE || r->status < 200 || r->status >= 300) {
        double d = fmin(p->interval * c->factor, c->max);
        ev = event_new(s, p, SD_EV_ERROR);
        if (ev == NULL) {
            sd_request_free(e, r);
        } else {
            ev->r = r;
        }
        p->interval = d;
        plan(e, p, r->retry_after >= 0 ? r->retry_after : d);
        return;
    }
    if (c->status_path && sd_json_parse(&s->json, r->resp_body.p ? r->resp_body.p : "", r->resp_body.len) == 0) {
        size_t n;
        const char *w = sd_json_bytes(&s->json, sd_json_path(&s->json, 0, c->status_path), &n);
        if (w && memchr(w, '\\', n) == NULL) {
            double prog = NAN;
            known = 1;
            changed = status_differs(p, w, n);
            if (c->progress_path) {
                int t = sd_json_path(&s->json, 0, c->progress_path);
                if (t >= 0 && sd_json_number(&s->json, t, &prog) != 0) prog = NAN;
            }
            if (watch(p, prog)) changed = 1;
        }
    }
    rtt = fmax(sd_engine_now(e) - r->started, 0);
    if (known && !changed) {
        sd_request_free(e, r);
        plan(e, p, settle(e, p, 0, rtt));
        return;
    }
    ev = event_new(s, p, SD_EV_CHANGED);
    if (ev == NULL) {
        /* no room to tell Lua: look again soon rather than lose the change */
        sd_request_free(e, r);
        plan(e, p, c->first);
        return;
    }
    ev->r = r;
    if (known) {
        plan(e, p, settle(e, p, 1, rtt));
    } else {
        ev->settle = 1;
        p->flags |= P_SETTLING;
    }
}

/* ---- list rounds ---- */

static void round_end(sd_engine *e, sd_pclass *c);

/* The list URL of the round's phase (one per status) with its page number filled in. */
static char *list_url(const sd_pclass *c, int page, int phase)
{
    char num[32];
    const char *u = c->statuses[phase];
    size_t cap = strlen(u) + 32 + 1, k = 0;
    char *out = malloc(cap);
    if (out == NULL) return NULL;
    snprintf(num, sizeof num, "%d", page);
    while (*u) {
        if (strncmp(u, "{page}", 6) == 0) {
            memcpy(out + k, num, strlen(num));
            k += strlen(num);
            u += 6;
        } else {
            out[k++] = *u++;
        }
    }
    out[k] = '\0';
    return out;
}

static void page_launch(sd_engine *e, sd_pclass *c)
{
    sd_round *rd = &c->round;
    while (rd->outstanding < c->fanout && rd->next_page <= rd->want && !rd->failed) {
        sd_submit sub;
        sd_request *r;
        char err[128];
        char *u = list_url(c, rd->next_page, rd->phase);
        get_of(c, u, &sub);
        r = u ? sd_engine_submit_owned(e, &sub, NULL, err, sizeof err) : NULL;
        free(u);
        if (r == NULL) {
            rd->failed = 1;
            break;
        }
        r->round = rd;
        r->owned = 1;
        r->page = rd->next_page;
        trace(e, NULL, r, 0);
        rd->next_page++;
        rd->outstanding++;
    }
    if (rd->outstanding == 0) round_end(e, c);
}

/* How many of the round's members it has not seen yet. */
static int missing(sd_pclass *c)
{
    size_t i;
    int n = 0;
    for (i = 0; i < c->tcap; i++) {
        sd_poll *p = c->table[i];
        if (p && (p->flags & P_IN_ROUND) && !p->req && p->seen != c->round.no) n++;
    }
    return n;
}

/* The most pages one listing of a round reads: max_pages guards against a list without
 * end, but never below what the class's own pending objects fill. Cut shorter, the
 * objects on the pages past the cap (the oldest, lists being newest first) would count as
 * gone from the list and be fetched with one GET each, every round: 10,000 pending
 * assets at 100 a page and a cap of 50 made 5,000 GETs a round. */
static int page_cap(const sd_pclass *c)
{
    int own = (c->count + c->page_size - 1) / c->page_size;
    return own > c->max_pages ? own : c->max_pages;
}

static int pages_for(const sd_pclass *c, int n)
{
    int w = (n + c->page_size - 1) / c->page_size, cap = page_cap(c);
    if (w < 1) w = 1;
    return w > cap ? cap : w;
}

static void round_start(sd_engine *e, sd_pclass *c)
{
    sd_round *rd = &c->round;
    int n;
    if (rd->busy) return;
    rd->no++;
    n = missing(c);
    if (n == 0) {
        /* every member is being fetched alone right now: come back at the usual pace */
        if (c->count > 0) round_due(e, c, rd->interval);
        return;
    }
    rd->busy = 1;
    rd->started = sd_engine_now(e);
    rd->phase = 0;
    rd->failed = 0;
    rd->changed = 0;
    rd->retry_after = -1;
    rd->next_page = 1;
    rd->want = pages_for(c, n);
    page_launch(e, c);
}

static void round_end(sd_engine *e, sd_pclass *c)
{
    sd_round *rd = &c->round;
    size_t i;
    int left;
    if (rd->failed) {
        rd->busy = 0;
        rd->interval = fmin(rd->interval * c->factor, c->list_max);
        if (c->count > 0) round_due(e, c, rd->retry_after >= 0 ? rd->retry_after : rd->interval);
        return;
    }
    left = missing(c);
    if (left > 0 && rd->phase + 1 < c->n_statuses) {
        /* they left the pending list: look where they can have gone before one GET each */
        rd->phase++;
        rd->next_page = 1;
        rd->want = pages_for(c, left);
        page_launch(e, c);
        return;
    }
    rd->busy = 0;
    if (left > 0) rd->changed = 1;
    for (i = 0; i < c->tcap; i++) {
        sd_poll *p = c->table[i];
        if (p && (p->flags & P_IN_ROUND) && !p->req && p->seen != rd->no) {
            p->flags &= (unsigned char)~P_IN_ROUND; /* found nowhere: ask for it alone */
            sd_heap_set(&e->heap, &p->h.tm, sd_engine_now(e));
        }
    }
    if (rd->changed) rd->interval = c->list_first;
    else rd->interval = fmin(rd->interval * c->factor, c->list_max);
    /* the pace counts from the round's start: a round of pages and a look elsewhere takes
     * two round trips or more, which would otherwise stretch every interval (and the time
     * until a change is seen) by that much */
    if (c->count > 0) round_at(e, c, rd->started, rd->interval);
}

static void page_answer(sd_engine *e, sd_round *rd, sd_request *r)
{
    sd_sched *s = e->sched;
    sd_pclass *c = s->cls[rd->cls];
    int page = r->page, items, k, n;
    rd->outstanding--;
    if (r->err != SD_ERR_NONE || r->status < 200 || r->status >= 300 ||
        sd_json_parse(&s->json, r->resp_body.p ? r->resp_body.p : "", r->resp_body.len) != 0 ||
        sd_json_type(&s->json, items = sd_json_path(&s->json, 0, c->items_path)) != SD_J_ARRAY) {
        rd->failed = 1;
        if (r->retry_after >= 0) rd->retry_after = r->retry_after;
        sd_request_free(e, r);
        page_launch(e, c);
        return;
    }
    n = sd_json_size(&s->json, items);
    for (k = items + 1; n-- > 0; k = sd_json_skip(&s->json, k)) {
        size_t idn, wn;
        const char *id = sd_json_bytes(&s->json, sd_json_path(&s->json, k, c->item_id), &idn);
        const char *w = sd_json_bytes(&s->json, sd_json_path(&s->json, k, c->item_status), &wn);
        sd_poll *p;
        if (id == NULL || w == NULL || (p = table_get(c, id, idn)) == NULL || !(p->flags & P_IN_ROUND) || p->req) continue;
        p->seen = rd->no;
        if (status_differs(p, w, wn)) {
            sd_pevent *ev = event_new(s, p, SD_EV_ITEM);
            size_t from, to;
            rd->changed = 1;
            if (ev == NULL) continue;
            if (sd_json_span(&s->json, k, &from, &to) == 0) {
                ev->item = sd_strndup(r->resp_body.p + from, to - from);
                ev->item_len = to - from;
            }
            ev->word = sd_strndup(w, wn);
        }
    }
    {
        double total;
        int t = c->total_path ? sd_json_path(&s->json, 0, c->total_path) : -1, left = missing(c);
        if (left > 0 && t >= 0 && sd_json_number(&s->json, t, &total) == 0) {
            /* the list says how many pages it has: ask for the rest side by side, unless
             * fetching the objects still unaccounted for one by one is cheaper */
            double pages = ceil(total / c->page_size);
            int cap = page_cap(c), need = pages > cap ? cap : (int)pages;
            if (need > rd->want && (rd->phase == 0 || need - rd->want <= left)) rd->want = need;
        } else if (left > 0 && t < 0 && sd_json_size(&s->json, items) >= c->page_size && page == rd->want &&
                   rd->want < page_cap(c)) {
            rd->want++; /* no total: a full page may have another after it */
        }
    }
    sd_request_free(e, r);
    page_launch(e, c);
}

/* ---- engine hooks ---- */

void sd_sched_fire(sd_engine *e, sd_timer *t)
{
    if (e->sched == NULL) return;
    if (t->type == SD_TM_POLL) {
        poll_fire(e, (sd_poll *)(void *)t);
    } else {
        sd_round *rd = (sd_round *)(void *)t;
        round_start(e, e->sched->cls[rd->cls]);
    }
}

/* Take the scheduler's answers out of the engine's done list and read them. */
void sd_sched_collect(sd_engine *e)
{
    sd_request **pp, *r;
    if (e->sched == NULL) return;
    pp = &e->done_head;
    e->done_tail = NULL;
    while ((r = *pp) != NULL) {
        if (r->poll == NULL && r->round == NULL && !r->owned) {
            e->done_tail = r;
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        r->next = NULL;
        trace(e, r->poll, r, 1);
        if (r->poll) poll_answer(e, r->poll, r);
        else if (r->round) page_answer(e, r->round, r);
        else sd_request_free(e, r); /* a poll dropped meanwhile: an answer nobody wants */
    }
}

sd_pevent *sd_sched_events(sd_engine *e, size_t *n)
{
    *n = e->sched ? e->sched->nev : 0;
    return e->sched ? e->sched->ev : NULL;
}

void sd_sched_events_clear(sd_engine *e)
{
    if (e->sched) e->sched->nev = 0;
}

void sd_sched_close(sd_engine *e)
{
    sd_sched *s = e->sched;
    int i;
    size_t k;
    if (s == NULL) return;
    for (i = 0; i < s->ncls; i++) {
        sd_pclass *c = s->cls[i];
        for (k = 0; k < c->tcap; k++) {
            sd_poll *p = c->table[k];
            if (p == NULL) continue;
            if (p->req) p->req->poll = NULL;
            poll_free(e, p);
        }
        free(c->table);
        free(c->url_pre);
        free(c->url_post);
        free(c->status_path);
        free(c->progress_path);
        free_list(c->headers, c->n_headers);
        free(c->items_path);
        free(c->item_id);
        free(c->item_status);
        free(c->total_path);
        free_list(c->statuses, c->n_statuses);
        free(c);
    }
    for (k = 0; k < s->nev; k++) {
        sd_ptrace_free(s->ev[k].trace);
        free(s->ev[k].item);
        free(s->ev[k].word);
        if (s->ev[k].r) sd_request_free(e, s->ev[k].r);
    }
    free(s->ev);
    free(s->cls);
    sd_json_free(&s->json);
    free(s);
    e->sched = NULL;
}
