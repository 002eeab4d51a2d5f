/* engine.c: the request queue, timers, per-host admission and completion.
 * Requests wait in a min-heap keyed by `due`; when due they are admitted per host
 * (at most cfg.max_per_host in flight, the rest keep their order in a ready list). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "buf.h"
#include "engine.h"
#include "sched.h"

#define SLOT_BITS 22u
#define SLOT_MASK ((1u << SLOT_BITS) - 1u)

/* A free slot holds the index of the next free one, tagged in the low bit (no handle's
 * address has it), so the free list needs no array of its own beside the slots (4 bytes
 * a slot, and every tracked object takes one). */
#define FREE_LINK(next) ((sd_handle *)(uintptr_t)(((uintptr_t)(next) << 1) | 1u))
#define IS_FREE(p) (((uintptr_t)(p) & 1u) != 0)
#define NEXT_FREE(p) ((uint32_t)((uintptr_t)(p) >> 1))

const char *sd_errkind_name(sd_errkind k)
{
    switch (k) {
    case SD_ERR_NONE: return NULL;
    case SD_ERR_CONNECT: return "connect";
    case SD_ERR_TIMEOUT: return "timeout";
    case SD_ERR_NETWORK: return "network";
    case SD_ERR_TOO_LARGE: return "too_large";
    case SD_ERR_CANCELLED: return "cancelled";
    case SD_ERR_DEADLINE: return "deadline";
    case SD_ERR_FILE: return "file";
    case SD_ERR_TLS: return "tls";
    default: return "internal";
    }
}

/* ---- the one heap ---- */

static int queue_request(sd_engine *e, sd_request *r, double due)
{
    r->h.tm.due = due;
    if (sd_heap_push(&e->heap, &r->h.tm) != 0) return -1;
    r->state = SD_WAITING;
    e->waiting++;
    return 0;
}

static void unqueue_request(sd_engine *e, sd_request *r)
{
    sd_heap_remove(&e->heap, &r->h.tm);
    e->waiting--;
}

double sd_engine_now(const sd_engine *e)
{
    return e->manual_clock ? e->clock : sd_monotonic();
}

void sd_engine_advance(sd_engine *e, double seconds)
{
    if (e->manual_clock && seconds > 0) e->clock += seconds;
}

/* ---- hosts ---- */

static sd_host *host_get(sd_engine *e, const char *name)
{
    int i;
    sd_host *h;
    for (i = 0; i < e->nhosts; i++)
        if (strcmp(e->hosts[i].name, name) == 0) return &e->hosts[i];
    h = realloc(e->hosts, (size_t)(e->nhosts + 1) * sizeof *h);
    if (h == NULL) return NULL;
    e->hosts = h;
    h = &e->hosts[e->nhosts];
    memset(h, 0, sizeof *h);
    h->name = sd_strdup(name);
    if (h->name == NULL) return NULL;
    e->nhosts++;
    return h;
}

/* "scheme://user@host:port/path" -> "host:port"; NULL when there is no authority. */
static char *url_host(const char *url)
{
    const char *p = strstr(url, "://"), *end, *at;
    if (p == NULL) return NULL;
    p += 3;
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    if (at) p = at + 1;
    if (end == p) return NULL;
    return sd_strndup(p, (size_t)(end - p));
}

/* ---- lifecycle ---- */

int sd_engine_init(sd_engine *e, const sd_config *cfg, const sd_driver *drv, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    e->cfg = *cfg;
    e->cfg.ca_file = sd_strdup(cfg->ca_file);
    e->cfg.ca_path = sd_strdup(cfg->ca_path);
    e->cfg.user_agent = sd_strdup(cfg->user_agent);
    e->rng = cfg->seed ? cfg->seed : ((uint64_t)(sd_walltime() * 1e6) ^ (uint64_t)(uintptr_t)e) | 1u;
    e->drv = drv;
    e->generation = 1;
    e->manual_clock = cfg->manual_clock;
    e->clock = 1000.0; /* a manual clock starts at an arbitrary, visible point */
    if (drv == &sd_driver_curl) {
        extern int sd_curl_init(sd_engine * e, char *err, size_t errlen);
        if (sd_curl_init(e, err, errlen) != 0) return -1;
    }
    (void)errlen;
    return 0;
}

static void done_push(sd_engine *e, sd_request *r)
{
    r->state = SD_DONE;
    r->next = NULL;
    if (e->done_tail) e->done_tail->next = r;
    else e->done_head = r;
    e->done_tail = r;
}

void sd_request_free(sd_engine *e, sd_request *r)
{
    int i;
    if (r == NULL) return;
    if (e) sd_handle_free(e, &r->h);
    free(r->method);
    free(r->url);
    free(r->body);
    free(r->file);
    free(r->host);
    for (i = 0; i < r->n_headers; i++) free(r->headers[i]);
    free(r->headers);
    sd_buf_free(&r->resp_body);
    sd_buf_free(&r->resp_headers);
    free(r);
}

void sd_engine_close(sd_engine *e)
{
    uint32_t i;
    int h;
    sd_request *r;
    if (e->closed) return;
    e->closed = 1;
    sd_sched_close(e);
    for (i = 0; i < e->nslots; i++) {
        sd_handle *hd = sd_handle_at(e, i);
        if (hd == NULL || hd->tm.type != SD_TM_REQUEST) continue;
        r = (sd_request *)hd;
        if (r->state == SD_ACTIVE) e->drv->abort(e, r);
    }
    if (e->drv->close) e->drv->close(e);
    for (i = 0; i < e->nslots; i++) {
        sd_handle *hd = sd_handle_at(e, i);
        if (hd == NULL) continue;
        if (hd->tm.type == SD_TM_REQUEST) sd_request_free(e, (sd_request *)hd);
        else {
            sd_handle_free(e, hd);
            free(hd);
        }
    }
    free(e->slots);
    sd_heap_free(&e->heap);
    free(e->fired);
    for (h = 0; h < e->nhosts; h++) free(e->hosts[h].name);
    free(e->hosts);
    free(e->cfg.ca_file);
    free(e->cfg.ca_path);
    free(e->cfg.user_agent);
    e->slots = NULL;
    e->hosts = NULL;
}

uint32_t sd_handle_slot(const sd_handle *h)
{
    return (uint32_t)((uint64_t)h->id & SLOT_MASK);
}

sd_handle *sd_handle_at(sd_engine *e, uint32_t slot)
{
    return slot < e->nslots && !IS_FREE(e->slots[slot]) ? e->slots[slot] : NULL;
}

/* Slot s joins the free list, at its head. */
static void slot_release(sd_engine *e, uint32_t s)
{
    e->slots[s] = FREE_LINK(e->nfree ? e->free_head : 0);
    e->free_head = s;
    e->nfree++;
}

int sd_handle_alloc(sd_engine *e, sd_handle *h)
{
    uint32_t s;
    if (e->nfree == 0) {
        uint32_t n = e->nslots ? e->nslots * 2 : 64, i;
        sd_handle **sl;
        if (n > SLOT_MASK + 1u) return -1;
        sl = realloc(e->slots, n * sizeof *sl);
        if (sl == NULL) return -1;
        e->slots = sl;
        /* lowest first, as a stack of free slots gave them */
        for (i = n; i > e->nslots; i--) slot_release(e, i - 1);
        e->nslots = n;
    }
    s = e->free_head;
    e->free_head = NEXT_FREE(e->slots[s]);
    e->nfree--;
    e->slots[s] = h;
    /* 31 bits of generation over 22 of slot stay below 2^53: every id is exact, so the
     * slot read back from its low bits (sd_handle_slot) is the one it was given */
    e->generation = e->generation >= 0x7FFFFFFFu ? 1u : e->generation + 1u;
    h->id = (double)e->generation * (double)(SLOT_MASK + 1u) + (double)s;
    if (h->tm.type == SD_TM_REQUEST) e->total++;
    return 0;
}

void sd_handle_free(sd_engine *e, sd_handle *h)
{
    uint32_t s = sd_handle_slot(h);
    if (s < e->nslots && e->slots[s] == h) {
        slot_release(e, s);
        if (h->tm.type == SD_TM_REQUEST) e->total--;
    }
}

sd_handle *sd_handle_find(sd_engine *e, double id, sd_timer_type type)
{
    double gen;
    uint32_t s;
    sd_handle *h;
    if (!(id >= 0) || id > 9007199254740991.0) return NULL;
    gen = floor(id / (double)(SLOT_MASK + 1u));
    s = (uint32_t)(id - gen * (double)(SLOT_MASK + 1u));
    h = sd_handle_at(e, s);
    if (h == NULL || h->id != id || h->tm.type != type) return NULL;
    return h;
}

sd_request *sd_engine_find(sd_engine *e, double id)
{
    return (sd_request *)sd_handle_find(e, id, SD_TM_REQUEST);
}

/* ---- Lua timers ---- */

double sd_engine_timer(sd_engine *e, double delay)
{
    sd_handle *h = calloc(1, sizeof *h);
    if (h == NULL) return -1;
    h->tm.type = SD_TM_LUA;
    h->tm.idx = SD_HEAP_NONE;
    if (sd_handle_alloc(e, h) != 0) {
        free(h);
        return -1;
    }
    h->tm.due = sd_engine_now(e) + (delay > 0 ? delay : 0);
    if (sd_heap_push(&e->heap, &h->tm) != 0) {
        sd_handle_free(e, h);
        free(h);
        return -1;
    }
    e->lua_timers++;
    return h->id;
}

int sd_engine_cancel_timer(sd_engine *e, double id)
{
    sd_handle *h = sd_handle_find(e, id, SD_TM_LUA);
    if (h == NULL) return 0;
    sd_heap_remove(&e->heap, &h->tm);
    sd_handle_free(e, h);
    free(h);
    e->lua_timers--;
    return 1;
}

static void fire_lua_timer(sd_engine *e, sd_handle *h)
{
    if (e->nfired == e->capfired) {
        size_t cap = e->capfired ? e->capfired * 2 : 16;
        double *f = realloc(e->fired, cap * sizeof *f);
        if (f == NULL) {
            /* try again at the next step rather than lose it */
            h->tm.due = sd_engine_now(e) + 0.001;
            if (sd_heap_push(&e->heap, &h->tm) == 0) return;
            f = e->fired; /* unreachable in practice: the heap just had room for it */
        } else {
            e->fired = f;
            e->capfired = cap;
        }
    }
    if (e->nfired < e->capfired) e->fired[e->nfired++] = h->id;
    sd_handle_free(e, h);
    free(h);
    e->lua_timers--;
}

sd_request *sd_engine_submit(sd_engine *e, const sd_submit *s, char *err, size_t errlen)
{
    return sd_engine_submit_owned(e, s, NULL, err, errlen);
}

sd_request *sd_engine_submit_owned(sd_engine *e, const sd_submit *s, struct sd_poll *p, char *err, size_t errlen)
{
    sd_request *r = calloc(1, sizeof *r);
    double now = sd_engine_now(e);
    int i;
    if (r == NULL) goto oom;
    r->h.tm.type = SD_TM_REQUEST;
    r->h.tm.idx = SD_HEAP_NONE;
    r->poll = p;
    r->owned = p != NULL;
    r->method = sd_strdup(s->method ? s->method : "GET");
    r->url = sd_strdup(s->url);
    r->host = url_host(s->url);
    if (r->host == NULL) {
        snprintf(err, errlen, "URL has no host");
        sd_request_free(NULL, r);
        return NULL;
    }
    if (s->body) {
        r->body = sd_strndup(s->body, s->body_len);
        r->body_len = s->body_len;
        if (r->body == NULL) goto oom;
    }
    r->file = sd_strdup(s->file);
    if (s->n_headers > 0) {
        r->headers = calloc((size_t)s->n_headers, sizeof *r->headers);
        if (r->headers == NULL) goto oom;
        for (i = 0; i < s->n_headers; i++) {
            r->headers[i] = sd_strdup(s->headers[i]);
            if (r->headers[i] == NULL) goto oom;
            r->n_headers++;
        }
    }
    if (r->method == NULL || r->url == NULL) goto oom;
    r->timeout = s->timeout > 0 ? s->timeout : e->cfg.timeout;
    r->deadline = s->deadline > 0 ? now + s->deadline : 0;
    r->max_retries = s->retries >= 0 ? s->retries : e->cfg.retries;
    r->idempotent = s->idempotent;
    r->follow = s->follow;
    r->resume = s->resume;
    r->expected = -1;
    r->retry_after = -1;
    r->max_body = s->max_body > 0 ? s->max_body : e->cfg.max_body;
    for (i = 0; i < s->n_retry_on && i < 8; i++) r->retry_on[r->n_retry_on++] = s->retry_on[i];
    if (sd_handle_alloc(e, &r->h) != 0) goto oom;
    if (queue_request(e, r, now + (s->delay > 0 ? s->delay : 0)) != 0) {
        sd_request_free(e, r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return r;
oom:
    sd_request_free(NULL, r);
    snprintf(err, errlen, "out of memory");
    return NULL;
}

/* ---- running ---- */

static void finish_now(sd_engine *e, sd_request *r, sd_errkind k, const char *msg)
{
    r->err = k;
    if (msg) snprintf(r->errmsg, sizeof r->errmsg, "%s", msg);
    done_push(e, r);
}

static void settle(sd_engine *e, sd_request *r);

static void admit(sd_engine *e, sd_request *r)
{
    sd_host *h = host_get(e, r->host);
    if (h == NULL) {
        finish_now(e, r, SD_ERR_INTERNAL, "out of memory");
        return;
    }
    if (h->active >= e->cfg.max_per_host) {
        r->state = SD_READY;
        r->next = NULL;
        if (h->ready_tail) h->ready_tail->next = r;
        else h->ready_head = r;
        h->ready_tail = r;
        e->ready++;
        return;
    }
    r->attempts++;
    e->attempts_done++;
    r->status = 0;
    r->err = SD_ERR_NONE;
    r->errmsg[0] = '\0';
    r->sent = 0;
    r->retry_after = -1;
    sd_buf_reset(&r->resp_body);
    sd_buf_reset(&r->resp_headers);
    r->started = sd_engine_now(e);
    r->state = SD_ACTIVE;
    h->active++;
    e->active++;
    if (e->drv->start(e, r) != 0) {
        /* refused at once (a file that cannot be opened): give the place back here rather than
         * through sd_engine_finished, which would admit the next in line from inside this call
         * and recurse once per queued request (10^6 of them overflowed the C stack) */
        h->active--;
        e->active--;
        settle(e, r);
    }
}

/* Admits the host's queued requests while it has room: a loop, whatever fails at start. */
static void admit_ready(sd_engine *e, sd_host *h)
{
    sd_request *next;
    while (h->ready_head && h->active < e->cfg.max_per_host) {
        next = h->ready_head;
        h->ready_head = next->next;
        if (h->ready_head == NULL) h->ready_tail = NULL;
        e->ready--;
        admit(e, next);
    }
}

static void release_host(sd_engine *e, sd_request *r)
{
    sd_host *h = host_get(e, r->host);
    e->active--;
    if (h == NULL) return;
    h->active--;
    admit_ready(e, h);
}

void sd_engine_finished(sd_engine *e, sd_request *r)
{
    release_host(e, r);
    settle(e, r);
}

/* An attempt is over and its host place given back: schedule the retry or report it done. */
static void settle(sd_engine *e, sd_request *r)
{
    double now = sd_engine_now(e), delay;
    r->driver_data = NULL;
    delay = sd_retry_delay(e, r, now);
    if (delay >= 0) {
        e->retries_done++;
        if (queue_request(e, r, now + delay) == 0) return;
        r->err = SD_ERR_INTERNAL;
    }
    done_push(e, r);
}

static void start_due(sd_engine *e)
{
    double now = sd_engine_now(e);
    sd_timer *t;
    while ((t = sd_heap_top(&e->heap)) != NULL && t->due <= now) {
        sd_heap_remove(&e->heap, t);
        switch (t->type) {
        case SD_TM_REQUEST: {
            sd_request *r = (sd_request *)(void *)t;
            e->waiting--;
            if (r->deadline > 0 && now >= r->deadline) {
                finish_now(e, r, SD_ERR_DEADLINE, "deadline passed before the request could be sent");
                continue;
            }
            admit(e, r);
            break;
        }
        case SD_TM_LUA: fire_lua_timer(e, (sd_handle *)(void *)t); break;
        case SD_TM_POLL:
        case SD_TM_ROUND: sd_sched_fire(e, t); break;
        }
    }
}

int sd_engine_step(sd_engine *e)
{
    if (e->closed) return 0;
    start_due(e);
    e->drv->perform(e);
    sd_sched_collect(e); /* poll answers are read here, in C; Lua sees only changes */
    start_due(e);        /* retries with no delay and hosts freed by completions */
    return e->active + e->waiting + e->ready + e->lua_timers + sd_sched_busy(e);
}

double sd_engine_next_due(sd_engine *e)
{
    sd_timer *t = sd_heap_top(&e->heap);
    double d;
    if (t == NULL) return e->active > 0 ? 3600.0 : -1;
    d = t->due - sd_engine_now(e);
    return d > 0 ? d : 0;
}

void sd_engine_wait(sd_engine *e, double max_wait)
{
    double d = sd_engine_next_due(e);
    int ms;
    if (e->closed || max_wait <= 0) return;
    if (d >= 0 && d < max_wait) max_wait = d;
    if (e->active == 0 && e->heap.len == 0) return; /* nothing could wake us */
    if (e->manual_clock) {
        /* tests: nothing real to wait for, so time jumps to what is due next */
        if (e->active == 0) sd_engine_advance(e, max_wait);
        return;
    }
    ms = (int)ceil(max_wait * 1000.0);
    if (ms <= 0) return;
    if (e->active == 0) {
        sd_sleep(max_wait); /* only timers to wait for: no transfer can end sooner */
        return;
    }
    e->drv->wait(e, ms);
}

void sd_engine_cancel(sd_engine *e, sd_request *r)
{
    sd_host *h;
    sd_request **pp;
    switch (r->state) {
    case SD_WAITING:
        unqueue_request(e, r);
        break;
    case SD_READY:
        h = host_get(e, r->host);
        for (pp = h ? &h->ready_head : NULL; pp && *pp; pp = &(*pp)->next) {
            if (*pp == r) {
                *pp = r->next;
                if (h->ready_tail == r) {
                    sd_request *t = h->ready_head;
                    while (t && t->next) t = t->next;
                    h->ready_tail = t;
                }
                break;
            }
        }
        e->ready--;
        break;
    case SD_ACTIVE:
        e->drv->abort(e, r);
        release_host(e, r);
        break;
    case SD_DONE:
        return;
    }
    finish_now(e, r, SD_ERR_CANCELLED, "cancelled");
}

sd_request *sd_engine_pop_done(sd_engine *e)
{
    sd_request *r = e->done_head;
    if (r) {
        e->done_head = r->next;
        if (e->done_head == NULL) e->done_tail = NULL;
        r->next = NULL;
    }
    return r;
}
