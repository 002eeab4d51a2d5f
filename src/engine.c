/* engine.c: the request queue, timers, per-host admission and completion.
 * Requests wait in a min-heap keyed by `due`; when due they are admitted per host
 * (at most cfg.max_per_host in flight, the rest keep their order in a ready list). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "engine.h"

#define SLOT_BITS 22u
#define SLOT_MASK ((1u << SLOT_BITS) - 1u)

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static char *dup_s(const char *s) { return s ? dup_n(s, strlen(s)) : NULL; }

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

/* ---- heap on due ---- */

static void heap_swap(sd_engine *e, size_t a, size_t b)
{
    sd_request *t = e->heap[a];
    e->heap[a] = e->heap[b];
    e->heap[b] = t;
    e->heap[a]->heap_idx = a;
    e->heap[b]->heap_idx = b;
}

static void heap_up(sd_engine *e, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (e->heap[p]->due <= e->heap[i]->due) break;
        heap_swap(e, p, i);
        i = p;
    }
}

static void heap_down(sd_engine *e, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < e->heap_len && e->heap[l]->due < e->heap[m]->due) m = l;
        if (r < e->heap_len && e->heap[r]->due < e->heap[m]->due) m = r;
        if (m == i) break;
        heap_swap(e, i, m);
        i = m;
    }
}

static int heap_push(sd_engine *e, sd_request *r)
{
    if (e->heap_len == e->heap_cap) {
        size_t cap = e->heap_cap ? e->heap_cap * 2 : 64;
        sd_request **h = realloc(e->heap, cap * sizeof *h);
        if (h == NULL) return -1;
        e->heap = h;
        e->heap_cap = cap;
    }
    r->heap_idx = e->heap_len;
    e->heap[e->heap_len++] = r;
    heap_up(e, r->heap_idx);
    r->state = SD_WAITING;
    e->waiting++;
    return 0;
}

static void heap_remove(sd_engine *e, sd_request *r)
{
    size_t i = r->heap_idx;
    e->heap_len--;
    if (i != e->heap_len) {
        e->heap[i] = e->heap[e->heap_len];
        e->heap[i]->heap_idx = i;
        heap_down(e, i);
        heap_up(e, i);
    }
    e->waiting--;
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
    h->name = dup_s(name);
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
    return dup_n(p, (size_t)(end - p));
}

/* ---- lifecycle ---- */

int sd_engine_init(sd_engine *e, const sd_config *cfg, const sd_driver *drv, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    e->cfg = *cfg;
    e->cfg.ca_file = dup_s(cfg->ca_file);
    e->cfg.ca_path = dup_s(cfg->ca_path);
    e->cfg.user_agent = dup_s(cfg->user_agent);
    e->rng = cfg->seed ? cfg->seed : ((uint64_t)(sd_walltime() * 1e6) ^ (uint64_t)(uintptr_t)e) | 1u;
    e->drv = drv;
    e->generation = 1;
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
    if (e && r->slot < e->nslots && e->slots[r->slot] == r) {
        e->slots[r->slot] = NULL;
        e->free_slots[e->nfree++] = r->slot;
        e->total--;
    }
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
    for (i = 0; i < e->nslots; i++) {
        r = e->slots[i];
        if (r && r->state == SD_ACTIVE) e->drv->abort(e, r);
    }
    if (e->drv->close) e->drv->close(e);
    for (i = 0; i < e->nslots; i++)
        if (e->slots[i]) sd_request_free(e, e->slots[i]);
    free(e->slots);
    free(e->free_slots);
    free(e->heap);
    for (h = 0; h < e->nhosts; h++) free(e->hosts[h].name);
    free(e->hosts);
    free(e->cfg.ca_file);
    free(e->cfg.ca_path);
    free(e->cfg.user_agent);
    e->slots = NULL;
    e->heap = NULL;
    e->hosts = NULL;
}

static int slot_alloc(sd_engine *e, sd_request *r)
{
    uint32_t s;
    if (e->nfree == 0) {
        uint32_t n = e->nslots ? e->nslots * 2 : 64, i;
        sd_request **sl;
        uint32_t *fr;
        if (n > SLOT_MASK + 1u) return -1;
        sl = realloc(e->slots, n * sizeof *sl);
        if (sl == NULL) return -1;
        e->slots = sl;
        fr = realloc(e->free_slots, n * sizeof *fr);
        if (fr == NULL) return -1;
        e->free_slots = fr;
        for (i = n; i > e->nslots; i--) {
            e->slots[i - 1] = NULL;
            e->free_slots[e->nfree++] = i - 1;
        }
        e->nslots = n;
    }
    s = e->free_slots[--e->nfree];
    e->slots[s] = r;
    r->slot = s;
    e->generation++;
    r->id = (double)e->generation * (double)(SLOT_MASK + 1u) + (double)s;
    e->total++;
    return 0;
}

sd_request *sd_engine_find(sd_engine *e, double id)
{
    double gen;
    uint32_t s;
    if (!(id >= 0) || id > 9007199254740991.0) return NULL;
    gen = floor(id / (double)(SLOT_MASK + 1u));
    s = (uint32_t)(id - gen * (double)(SLOT_MASK + 1u));
    if (s >= e->nslots || e->slots[s] == NULL || e->slots[s]->id != id) return NULL;
    return e->slots[s];
}

sd_request *sd_engine_submit(sd_engine *e, const sd_submit *s, char *err, size_t errlen)
{
    sd_request *r = calloc(1, sizeof *r);
    double now = sd_monotonic();
    int i;
    if (r == NULL) goto oom;
    r->method = dup_s(s->method ? s->method : "GET");
    r->url = dup_s(s->url);
    r->host = url_host(s->url);
    if (r->host == NULL) {
        snprintf(err, errlen, "URL has no host");
        sd_request_free(NULL, r);
        return NULL;
    }
    if (s->body) {
        r->body = dup_n(s->body, s->body_len);
        r->body_len = s->body_len;
        if (r->body == NULL) goto oom;
    }
    r->file = dup_s(s->file);
    if (s->n_headers > 0) {
        r->headers = calloc((size_t)s->n_headers, sizeof *r->headers);
        if (r->headers == NULL) goto oom;
        for (i = 0; i < s->n_headers; i++) {
            r->headers[i] = dup_s(s->headers[i]);
            if (r->headers[i] == NULL) goto oom;
            r->n_headers++;
        }
    }
    if (r->method == NULL || r->url == NULL) goto oom;
    r->timeout = s->timeout > 0 ? s->timeout : e->cfg.timeout;
    r->deadline = s->deadline > 0 ? now + s->deadline : 0;
    r->due = now + (s->delay > 0 ? s->delay : 0);
    r->max_retries = s->retries >= 0 ? s->retries : e->cfg.retries;
    r->idempotent = s->idempotent;
    r->follow = s->follow;
    r->resume = s->resume;
    r->expected = -1;
    r->retry_after = -1;
    r->max_body = s->max_body > 0 ? s->max_body : e->cfg.max_body;
    for (i = 0; i < s->n_retry_on && i < 8; i++) r->retry_on[r->n_retry_on++] = s->retry_on[i];
    if (slot_alloc(e, r) != 0) goto oom;
    if (heap_push(e, r) != 0) {
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
    r->started = sd_monotonic();
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
    double now = sd_monotonic(), delay;
    r->driver_data = NULL;
    delay = sd_retry_delay(e, r, now);
    if (delay >= 0) {
        e->retries_done++;
        r->due = now + delay;
        if (heap_push(e, r) == 0) return;
        r->err = SD_ERR_INTERNAL;
    }
    done_push(e, r);
}

static void start_due(sd_engine *e)
{
    double now = sd_monotonic();
    while (e->heap_len > 0 && e->heap[0]->due <= now) {
        sd_request *r = e->heap[0];
        heap_remove(e, r);
        if (r->deadline > 0 && now >= r->deadline) {
            finish_now(e, r, SD_ERR_DEADLINE, "deadline passed before the request could be sent");
            continue;
        }
        admit(e, r);
    }
}

int sd_engine_step(sd_engine *e)
{
    if (e->closed) return 0;
    start_due(e);
    e->drv->perform(e);
    start_due(e); /* retries with no delay and hosts freed by completions */
    return e->active + e->waiting + e->ready;
}

double sd_engine_next_due(sd_engine *e)
{
    double d;
    if (e->heap_len == 0) return e->active > 0 ? 3600.0 : -1;
    d = e->heap[0]->due - sd_monotonic();
    return d > 0 ? d : 0;
}

void sd_engine_wait(sd_engine *e, double max_wait)
{
    double d = sd_engine_next_due(e);
    int ms;
    if (e->closed || max_wait <= 0) return;
    if (d >= 0 && d < max_wait) max_wait = d;
    if (e->active == 0 && e->heap_len == 0) return; /* nothing could wake us */
    ms = (int)ceil(max_wait * 1000.0);
    if (ms <= 0) return;
    e->drv->wait(e, ms);
}

void sd_engine_cancel(sd_engine *e, sd_request *r)
{
    sd_host *h;
    sd_request **pp;
    switch (r->state) {
    case SD_WAITING:
        heap_remove(e, r);
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
