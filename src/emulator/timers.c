/* timers.c: a binary min-heap of deadlines served by one thread (see timers.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "timers.h"

struct entry {
    double due;              /* emu_clock_monotonic() seconds */
    unsigned long seq;       /* ties fire in insertion order */
    void *arg;
};

struct emu_timers {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;     /* signalled on a new earliest entry and on stop */
    struct entry *heap;
    size_t n, cap;
    unsigned long seq;
    int stopping;
    emu_timer_fn fire;
};

static int earlier(const struct entry *a, const struct entry *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void sift_up(struct entry *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        struct entry tmp;
        if (!earlier(&h[i], &h[p])) break;
        tmp = h[i]; h[i] = h[p]; h[p] = tmp;
        i = p;
    }
}

static void sift_down(struct entry *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        struct entry tmp;
        if (l < n && earlier(&h[l], &h[m])) m = l;
        if (r < n && earlier(&h[r], &h[m])) m = r;
        if (m == i) break;
        tmp = h[i]; h[i] = h[m]; h[m] = tmp;
        i = m;
    }
}

static struct timespec abs_deadline(double due)
{
    struct timespec ts;
    ts.tv_sec = (time_t)due;
    ts.tv_nsec = (long)((due - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec > 999999999L) ts.tv_nsec = 999999999L;
    return ts;
}

static void *run(void *ud)
{
    struct emu_timers *t = ud;
    pthread_mutex_lock(&t->lock);
    while (!t->stopping) {
        double now;
        if (t->n == 0) {
            pthread_cond_wait(&t->wake, &t->lock);
            continue;
        }
        now = emu_clock_monotonic();
        if (t->heap[0].due > now) {
            struct timespec ts = abs_deadline(t->heap[0].due);
            pthread_cond_timedwait(&t->wake, &t->lock, &ts);
            continue;
        }
        {
            void *arg = t->heap[0].arg;
            t->heap[0] = t->heap[--t->n];
            sift_down(t->heap, t->n, 0);
            /* Fire unlocked: the callback may take other locks (MHD's), and
             * the HTTP thread may be adding an entry meanwhile. */
            pthread_mutex_unlock(&t->lock);
            t->fire(arg);
            pthread_mutex_lock(&t->lock);
        }
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

struct emu_timers *emu_timers_new(emu_timer_fn fire, char *err, size_t errlen)
{
    pthread_condattr_t attr;
    int rc;
    struct emu_timers *t = calloc(1, sizeof *t);
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->fire = fire;
    pthread_mutex_init(&t->lock, NULL);
    /* Waits are on the monotonic clock, like the deadlines themselves. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&t->wake, &attr);
    pthread_condattr_destroy(&attr);
    rc = pthread_create(&t->thread, NULL, run, t);
    if (rc != 0) {
        snprintf(err, errlen, "timer thread: %s", strerror(rc));
        pthread_cond_destroy(&t->wake);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return NULL;
    }
    return t;
}

int emu_timers_add(struct emu_timers *t, double delay, void *arg)
{
    struct entry e;
    pthread_mutex_lock(&t->lock);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct entry *h = realloc(t->heap, cap * sizeof *h);
        if (h == NULL) {
            pthread_mutex_unlock(&t->lock);
            return -1;
        }
        t->heap = h;
        t->cap = cap;
    }
    e.due = emu_clock_monotonic() + (delay > 0 ? delay : 0);
    e.seq = t->seq++;
    e.arg = arg;
    t->heap[t->n] = e;
    sift_up(t->heap, t->n++);
    if (t->heap[0].seq == e.seq) pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    return 0;
}

void emu_timers_free(struct emu_timers *t, emu_timer_fn drain)
{
    size_t i;
    if (t == NULL) return;
    pthread_mutex_lock(&t->lock);
    t->stopping = 1;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    for (i = 0; i < t->n; i++)
        if (drain != NULL) drain(t->heap[i].arg);
    free(t->heap);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t);
}
