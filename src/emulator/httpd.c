/* httpd.c: libmicrohttpd glue (see httpd.h).
 *
 * Per request, MHD calls the access handler several times: once when the
 * headers are in, once per body chunk, once when the body is complete, and
 * once more after a suspended connection is resumed. `struct exchange`
 * carries the request across those calls and is freed by the completion
 * callback, which MHD calls exactly once per request. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "clock.h"
#include "httpd.h"
#include "timers.h"

/* Benchmarks open hundreds of keep-alive connections; leave room for more. */
#define CONNECTION_LIMIT 16384
/* An idle keep-alive connection is dropped after this long (seconds). */
#define IDLE_TIMEOUT 300
/* Request bodies beyond this get a 413: the services take JSON, not uploads. */
#define MAX_BODY (64u * 1024u * 1024u)
/* How long stop() waits for parked connections to unwind before MHD_stop_daemon. */
#define DRAIN_SECONDS 2.0

enum phase { PHASE_HEADERS, PHASE_BODY, PHASE_PARKED, PHASE_ANSWERED };

struct emu_httpd {
    struct MHD_Daemon *daemon;
    struct emu_app *app;
    struct emu_timers *timers;
    pthread_mutex_t lock;      /* guards stopping and parked */
    pthread_cond_t drained;
    int stopping;
    size_t parked;             /* connections suspended on a delay */
};

struct exchange {
    struct emu_httpd *h;
    struct MHD_Connection *conn;
    char *target;              /* raw request-target, for the undecoded query */
    char *body;
    size_t len, cap;
    int too_large;
    enum phase phase;
    struct emu_response resp;  /* held while parked */
};

/* Body of an answer cut short on purpose (resp.truncate). */
struct truncated {
    char *body;
    size_t limit;
};

static struct exchange *exchange_new(struct emu_httpd *h, struct MHD_Connection *conn,
                                     const char *uri)
{
    struct exchange *x = calloc(1, sizeof *x);
    if (x == NULL) return NULL;
    x->h = h;
    x->conn = conn;
    emu_response_init(&x->resp);
    if (uri != NULL) {
        size_t n = strlen(uri) + 1;
        x->target = malloc(n);
        if (x->target != NULL) memcpy(x->target, uri, n);
    }
    return x;
}

static void exchange_free(struct exchange *x)
{
    if (x == NULL) return;
    emu_response_clear(&x->resp);
    free(x->target);
    free(x->body);
    free(x);
}

/* MHD_OPTION_URI_LOG_CALLBACK: the only place MHD shows the request-target
 * before it splits off and decodes the query; the app wants it raw too. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    return exchange_new(cls, conn, uri);
}

static void leave_park(struct emu_httpd *h, int *stopping);

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct exchange *x = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    /* A parked connection can end without its handler running again (the
     * daemon stopping, the peer gone); stop() still waits for the count. */
    if (x != NULL && x->phase == PHASE_PARKED) leave_park(x->h, NULL);
    exchange_free(x);
    *con_cls = NULL;
}

static int append_body(struct exchange *x, const char *data, size_t n)
{
    if (x->too_large || x->len + n > MAX_BODY) {
        x->too_large = 1;
        return 0;
    }
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 1024;
        char *p;
        while (cap < x->len + n + 1) cap *= 2;
        p = realloc(x->body, cap);
        if (p == NULL) return -1;
        x->body = p;
        x->cap = cap;
    }
    memcpy(x->body + x->len, data, n);
    x->len += n;
    return 0;
}

/* --- gathering request headers ------------------------------------------ */

struct header_list {
    struct emu_header fixed[32];
    struct emu_header *items;
    size_t n, cap;
    int failed;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind,
                                      const char *key, const char *value)
{
    struct header_list *l = cls;
    (void)kind;
    if (l->n == l->cap) {
        size_t cap = l->cap * 2;
        struct emu_header *p;
        if (l->items == l->fixed) {
            p = malloc(cap * sizeof *p);
            if (p != NULL) memcpy(p, l->fixed, l->n * sizeof *p);
        } else {
            p = realloc(l->items, cap * sizeof *p);
        }
        if (p == NULL) {
            l->failed = 1;
            return MHD_NO;
        }
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n].name = key;
    l->items[l->n].value = value != NULL ? value : "";
    l->n++;
    return MHD_YES;
}

/* --- sending ------------------------------------------------------------ */

static ssize_t read_truncated(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct truncated *t = cls;
    size_t left;
    /* Ending with an error makes MHD drop the connection: the client has
     * been promised Content-Length bytes and must notice it got fewer. */
    if (pos >= t->limit) return MHD_CONTENT_READER_END_WITH_ERROR;
    left = t->limit - (size_t)pos;
    if (left > max) left = max;
    memcpy(buf, t->body + pos, left);
    return (ssize_t)left;
}

static void free_truncated(void *cls)
{
    struct truncated *t = cls;
    free(t->body);
    free(t);
}

static struct MHD_Response *make_body(struct emu_response *r)
{
    struct MHD_Response *mr;
    if (r->truncate >= 0 && (size_t)r->truncate < r->body_len) {
        struct truncated *t = malloc(sizeof *t);
        if (t == NULL) return NULL;
        t->body = r->body;
        t->limit = (size_t)r->truncate;
        mr = MHD_create_response_from_callback(r->body_len, 16 * 1024, read_truncated,
                                               t, free_truncated);
        if (mr == NULL) {
            free(t);
            return NULL;
        }
        r->body = NULL;          /* now owned by the response */
        return mr;
    }
    mr = MHD_create_response_from_buffer(r->body_len, r->body != NULL ? r->body : (void *)"",
                                         r->body != NULL ? MHD_RESPMEM_MUST_FREE
                                                         : MHD_RESPMEM_PERSISTENT);
    if (mr != NULL) r->body = NULL;
    return mr;
}

/* Queues x->resp on the connection; MHD_NO drops the connection instead. */
static enum MHD_Result send_response(struct exchange *x)
{
    struct emu_response *r = &x->resp;
    struct MHD_Response *mr;
    enum MHD_Result rc;
    size_t i;

    if (r->close) return MHD_NO;
    mr = make_body(r);
    if (mr == NULL) return MHD_NO;
    for (i = 0; i < r->nheaders; i++)
        MHD_add_response_header(mr, r->headers[2 * i], r->headers[2 * i + 1]);
    rc = MHD_queue_response(x->conn, (unsigned int)r->status, mr);
    MHD_destroy_response(mr);
    emu_response_clear(r);
    return rc;
}

static enum MHD_Result send_status(struct exchange *x, int status, const char *json)
{
    emu_response_clear(&x->resp);
    x->resp.status = status;
    x->resp.body_len = strlen(json);
    x->resp.body = malloc(x->resp.body_len + 1);
    if (x->resp.body == NULL) return MHD_NO;
    memcpy(x->resp.body, json, x->resp.body_len + 1);
    emu_response_add_header(&x->resp, "Content-Type", "application/json");
    return send_response(x);
}

/* --- parking (delayed answers) ------------------------------------------- */

/* Timer thread, and stop(): MHD_resume_connection is safe from any thread. */
static void unpark(void *arg)
{
    struct exchange *x = arg;
    MHD_resume_connection(x->conn);
}

static enum MHD_Result park(struct exchange *x)
{
    struct emu_httpd *h = x->h;
    pthread_mutex_lock(&h->lock);
    /* Checked under the lock that stop() takes before freeing the timers, so
     * no connection is parked on a timer thread that is going away. */
    if (h->stopping) {
        pthread_mutex_unlock(&h->lock);
        return MHD_NO;
    }
    MHD_suspend_connection(x->conn);
    x->phase = PHASE_PARKED;
    h->parked++;
    if (emu_timers_add(h->timers, x->resp.delay, x) != 0)
        MHD_resume_connection(x->conn);   /* out of memory: answer without the delay */
    pthread_mutex_unlock(&h->lock);
    return MHD_YES;
}

static void leave_park(struct emu_httpd *h, int *stopping)
{
    pthread_mutex_lock(&h->lock);
    if (stopping != NULL) *stopping = h->stopping;
    h->parked--;
    if (h->parked == 0) pthread_cond_signal(&h->drained);
    pthread_mutex_unlock(&h->lock);
}

/* Back from the timer: answer, unless the server is stopping. */
static enum MHD_Result unparked(struct exchange *x)
{
    int stopping;
    leave_park(x->h, &stopping);
    x->phase = PHASE_ANSWERED;
    if (stopping) return MHD_NO;
    return send_response(x);
}

/* --- the access handler ---------------------------------------------------- */

static enum MHD_Result dispatch(struct exchange *x, const char *url, const char *method)
{
    struct emu_request req;
    struct header_list hl;
    const char *q = x->target != NULL ? strchr(x->target, '?') : NULL;

    if (x->too_large)
        return send_status(x, 413, "{\"error\":\"emulator: request body too large\"}");

    hl.items = hl.fixed;
    hl.n = 0;
    hl.cap = sizeof hl.fixed / sizeof hl.fixed[0];
    hl.failed = 0;
    MHD_get_connection_values(x->conn, MHD_HEADER_KIND, collect_header, &hl);

    req.method = method;
    req.path = url;
    req.raw_query = q != NULL ? q + 1 : "";
    req.headers = hl.items;
    req.nheaders = hl.n;
    req.body = x->body;
    req.body_len = x->len;
    emu_app_handle(x->h->app, &req, &x->resp);
    if (hl.items != hl.fixed) free(hl.items);

    if (x->resp.delay > 0) return park(x);
    return send_response(x);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct exchange *x = *con_cls;
    (void)version;
    if (x == NULL) {   /* no URI callback ran (should not happen); carry on without a query */
        x = *con_cls = exchange_new(cls, conn, NULL);
        if (x == NULL) return MHD_NO;
    }
    switch (x->phase) {
    case PHASE_HEADERS:
        /* Returning here lets MHD send "100 Continue" and start on the body. */
        x->phase = PHASE_BODY;
        return MHD_YES;
    case PHASE_BODY:
        if (*upload_data_size != 0) {
            if (append_body(x, upload_data, *upload_data_size) != 0) return MHD_NO;
            *upload_data_size = 0;
            return MHD_YES;
        }
        return dispatch(x, url, method);
    case PHASE_PARKED:
        return unparked(x);
    case PHASE_ANSWERED:
        break;
    }
    return MHD_NO;
}

/* --- start / stop ----------------------------------------------------------- */

static struct emu_httpd *start_threads(int listen_fd, struct emu_app *app, char *err, size_t errlen)
{
    struct emu_httpd *h = calloc(1, sizeof *h);
    unsigned int flags;
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        close(listen_fd);
        return NULL;
    }
    h->app = app;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->drained, NULL);
    h->timers = emu_timers_new(unpark, err, errlen);
    if (h->timers == NULL) {
        close(listen_fd);
        goto fail;
    }
    /* One epoll thread for all connections; suspend/resume for delays. No
     * MHD_USE_ERROR_LOG: dropped connections are the point of fault tests,
     * and MHD would report each one on stderr. */
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME
            | MHD_USE_TURBO;
    h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
                                 MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT,
                                 MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                                 MHD_OPTION_END);
    if (h->daemon == NULL) {
        snprintf(err, errlen, "cannot start the HTTP daemon");
        /* Whether MHD closed the socket it was given on failure is not
         * documented; close it only if it is still open. */
        if (fcntl(listen_fd, F_GETFD) != -1) close(listen_fd);
        emu_timers_free(h->timers, NULL);
        goto fail;
    }
    return h;

fail:
    pthread_cond_destroy(&h->drained);
    pthread_mutex_destroy(&h->lock);
    free(h);
    return NULL;
}

/* Threads inherit the creator's signal mask. Ours must not take the
 * process's SIGINT: lua.c's handler has to run on the Lua thread, where it
 * also cuts short emucore.sleep, or Ctrl-C would go unnoticed. */
static void block_async_signals(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    pthread_sigmask(SIG_BLOCK, &all, old);
}

struct emu_httpd *emu_httpd_start(int listen_fd, struct emu_app *app, char *err, size_t errlen)
{
    sigset_t old;
    struct emu_httpd *h;
    block_async_signals(&old);
    h = start_threads(listen_fd, app, err, errlen);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return h;
}

void emu_httpd_stop(struct emu_httpd *h)
{
    double give_up;
    if (h == NULL) return;
    pthread_mutex_lock(&h->lock);
    h->stopping = 1;
    pthread_mutex_unlock(&h->lock);

    /* MHD_stop_daemon must not meet a suspended connection, so every parked
     * one is resumed now (it will be dropped, not answered), and we wait for
     * the HTTP thread to have seen them all. */
    emu_timers_free(h->timers, unpark);
    give_up = emu_clock_monotonic() + DRAIN_SECONDS;
    pthread_mutex_lock(&h->lock);
    while (h->parked > 0 && emu_clock_monotonic() < give_up) {
        struct timespec ts;
        double at = emu_clock_now() + 0.05;
        ts.tv_sec = (time_t)at;
        ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
        pthread_cond_timedwait(&h->drained, &h->lock, &ts);
    }
    pthread_mutex_unlock(&h->lock);

    MHD_stop_daemon(h->daemon);
    pthread_cond_destroy(&h->drained);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
