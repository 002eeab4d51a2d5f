/* engine.h: seedance's request engine, sans-I/O at its heart.
 *
 * The engine owns requests, their deadlines, timers and retry decisions. It never touches
 * a socket: a driver (libcurl by default, or "external", fed by Lua: OpenResty cosockets or
 * a fake in tests) performs each attempt and reports how it ended through
 * sd_engine_finished(). No provider knowledge lives here. */
#ifndef SEEDANCE_ENGINE_H
#define SEEDANCE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "heap.h"

/* as large as curl's own error buffer, so its message is never cut */
#define CURL_ERROR_SIZE_COPY 256

typedef enum {
    SD_ERR_NONE = 0,
    SD_ERR_CONNECT,   /* never reached the server: always safe to repeat */
    SD_ERR_TIMEOUT,   /* the attempt's own timeout */
    SD_ERR_NETWORK,   /* reset or broken transfer after the request may have been sent */
    SD_ERR_TOO_LARGE, /* body over max_body */
    SD_ERR_CANCELLED,
    SD_ERR_DEADLINE,  /* the request's overall deadline passed */
    SD_ERR_FILE,      /* could not write the download target */
    SD_ERR_TLS,
    SD_ERR_INTERNAL
} sd_errkind;

typedef enum { SD_WAITING, SD_READY, SD_ACTIVE, SD_DONE } sd_state;

struct sd_sched;

typedef struct sd_config {
    double connect_timeout; /* seconds */
    double timeout;         /* per attempt, seconds */
    int retries;            /* default max retries for requests safe to repeat */
    double backoff_base;    /* first backoff cap, seconds */
    double backoff_max;
    double max_retry_after; /* a longer Retry-After ends the request (rate_limited) */
    int max_per_host;       /* transfers in flight per host; the rest wait in order */
    size_t max_body;        /* response bodies above this fail with SD_ERR_TOO_LARGE */
    int verify_tls;
    char *ca_file, *ca_path, *user_agent;
    uint64_t seed;
    int manual_clock;
} sd_config;

struct sd_engine;

/* What Lua holds a number for: a request or a timer. The id carries the slot in its low
 * bits and a generation above, so a stale id never finds a newer occupant. */
typedef struct sd_handle {
    sd_timer tm; /* first: the heap entry; its type tells what the handle is */
    double id;   /* the slot is its low bits: not kept twice (every poll embeds a handle) */
} sd_handle;

struct sd_poll;
struct sd_round;

typedef struct sd_request {
    sd_handle h;
    sd_state state;
    double deadline, timeout, started;
    int attempts, max_retries, idempotent;
    int retry_on[8], n_retry_on;
    char *method, *url, *body, *file, *host;
    size_t body_len, max_body;
    char **headers;
    int n_headers;
    int follow;          /* follow redirects (downloads); API calls never do */
    long long resume_from;
    int resume;          /* downloads: continue the file as it is on disk at each attempt */
    long long expected;  /* total bytes of the file once known (Content-Length/Range), else -1 */
    /* outcome of the latest attempt */
    long status;
    sd_buf resp_body, resp_headers;
    sd_errkind err;
    char errmsg[CURL_ERROR_SIZE_COPY];
    int sent;
    double retry_after; /* seconds the server asked for, -1 when it said nothing */
    long long file_bytes;
    /* bookkeeping */
    struct sd_poll *poll;    /* the scheduler's poll this request answers, if any */
    struct sd_round *round;  /* or the list round it is a page of, */
    int page;                /* and which page */
    int owned;               /* made by the scheduler: never handed to Lua */
    struct sd_request *next; /* done list or per-host ready list */
    void *driver_data;
} sd_request;

typedef struct sd_driver {
    const char *name;
    int (*start)(struct sd_engine *e, sd_request *r);   /* 0 ok; else r->err set */
    void (*abort)(struct sd_engine *e, sd_request *r);
    int (*perform)(struct sd_engine *e);               /* drive transfers; never blocks */
    void (*wait)(struct sd_engine *e, int ms);          /* block for I/O up to ms */
    void (*close)(struct sd_engine *e);
} sd_driver;

typedef struct sd_host {
    char *name;
    int active;
    sd_request *ready_head, *ready_tail;
} sd_host;

typedef struct sd_engine {
    sd_config cfg;
    const sd_driver *drv;
    void *drv_state;
    sd_handle **slots;          /* a free one links to the next (engine.c): sd_handle_at reads them */
    uint32_t nslots, free_head, nfree;
    uint32_t generation;
    sd_heap heap;               /* requests, polls, list rounds and Lua timers alike */
    double *fired;              /* ids of Lua timers that fell due, for Lua to collect */
    size_t nfired, capfired;
    int lua_timers;             /* Lua timers set and not yet fired or cancelled */
    int manual_clock;           /* tests: time moves only by sd_engine_advance */
    double clock;
    struct sd_sched *sched;     /* the poll scheduler (sched.c), made on first use */
    sd_request *done_head, *done_tail;
    sd_host *hosts;
    int nhosts;
    int active, waiting, ready, total;
    uint64_t rng;
    unsigned long retries_done;  /* counters for benchmarks and soak reports */
    unsigned long attempts_done;
    int closed;
} sd_engine;

typedef struct sd_submit {
    const char *method, *url, *body, *file;
    size_t body_len;
    const char **headers;
    int n_headers;
    double timeout, deadline, delay; /* deadline and delay relative to now; 0 = none */
    int retries;                     /* -1: engine default */
    int idempotent, follow;
    const int *retry_on;
    int n_retry_on;
    int resume;
    size_t max_body; /* 0: the engine's */
} sd_submit;

extern const sd_driver sd_driver_curl;
extern const sd_driver sd_driver_external;

int sd_engine_init(sd_engine *e, const sd_config *cfg, const sd_driver *drv, char *err, size_t errlen);
void sd_engine_close(sd_engine *e);
/* NULL on out-of-memory or a URL without a host (err says which). */
sd_request *sd_engine_submit(sd_engine *e, const sd_submit *s, char *err, size_t errlen);
/* Starts what is due, drives the transfers once; returns requests not yet done. Never sleeps. */
int sd_engine_step(sd_engine *e);
/* Blocks up to max_wait seconds, less when a timer falls due sooner. */
void sd_engine_wait(sd_engine *e, double max_wait);
/* Seconds until the next timer, -1 when none is set and nothing is in flight. */
double sd_engine_next_due(sd_engine *e);
sd_request *sd_engine_find(sd_engine *e, double id);
void sd_engine_cancel(sd_engine *e, sd_request *r);
/* A driver reports the end of an attempt; the engine retries or completes it. */
void sd_engine_finished(sd_engine *e, sd_request *r);
/* Pops one completed request; the caller frees it with sd_request_free. */
sd_request *sd_engine_pop_done(sd_engine *e);
void sd_request_free(sd_engine *e, sd_request *r);
const char *sd_errkind_name(sd_errkind k);
/* The engine's clock (monotonic seconds, or the manual one in tests). */
double sd_engine_now(const sd_engine *e);
void sd_engine_advance(sd_engine *e, double seconds);
/* Lua timers: an id, fired into e->fired when due (sd_engine_step). */
double sd_engine_timer(sd_engine *e, double delay);
int sd_engine_cancel_timer(sd_engine *e, double id);
/* Handles: allocate an id for h (type set by the caller), free it, find it. */
int sd_handle_alloc(sd_engine *e, sd_handle *h);
void sd_handle_free(sd_engine *e, sd_handle *h);
sd_handle *sd_handle_find(sd_engine *e, double id, sd_timer_type type);
/* The slot of an allocated handle (the low bits of its id), and the handle in a slot (NULL
 * when free or out of range): what a 4-byte mark of a handle holds and finds. */
uint32_t sd_handle_slot(const sd_handle *h);
sd_handle *sd_handle_at(sd_engine *e, uint32_t slot);
/* Queue a request built in C (the scheduler's polls) like a submitted one. */
sd_request *sd_engine_submit_owned(sd_engine *e, const sd_submit *s, struct sd_poll *p, char *err, size_t errlen);

/* retry.c */
double sd_retry_after(const char *headers, size_t len, double now_wall);
double sd_retry_delay(sd_engine *e, sd_request *r, double now);
double sd_rand01(uint64_t *state);
const char *sd_header_find(const char *headers, size_t len, const char *name, size_t *vlen);

#endif
