/* heap.c: an intrusive binary min-heap on sd_timer.due. */
#include <stdlib.h>

#include "heap.h"

static void swap(sd_heap *h, size_t a, size_t b)
{
    sd_timer *t = h->v[a];
    h->v[a] = h->v[b];
    h->v[b] = t;
    h->v[a]->idx = (uint32_t)a;
    h->v[b]->idx = (uint32_t)b;
}

static void up(sd_heap *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p]->due <= h->v[i]->due) break;
        swap(h, p, i);
        i = p;
    }
}

static void down(sd_heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->len && h->v[l]->due < h->v[m]->due) m = l;
        if (r < h->len && h->v[r]->due < h->v[m]->due) m = r;
        if (m == i) break;
        swap(h, i, m);
        i = m;
    }
}

int sd_heap_push(sd_heap *h, sd_timer *t)
{
    if (h->len >= SD_HEAP_NONE) {
        t->idx = SD_HEAP_NONE;
        return -1;
    }
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        sd_timer **v = realloc(h->v, cap * sizeof *v);
        if (v == NULL) {
            t->idx = SD_HEAP_NONE;
            return -1;
        }
        h->v = v;
        h->cap = cap;
    }
    t->idx = (uint32_t)h->len;
    h->v[h->len++] = t;
    up(h, t->idx);
    return 0;
}

void sd_heap_remove(sd_heap *h, sd_timer *t)
{
    size_t i = t->idx;
    if (i == SD_HEAP_NONE || i >= h->len || h->v[i] != t) return;
    t->idx = SD_HEAP_NONE;
    h->len--;
    if (i != h->len) {
        h->v[i] = h->v[h->len];
        h->v[i]->idx = (uint32_t)i;
        down(h, i);
        up(h, i);
    }
}

int sd_heap_set(sd_heap *h, sd_timer *t, double due)
{
    if (!sd_timer_queued(t)) {
        t->due = due;
        return sd_heap_push(h, t);
    }
    t->due = due;
    down(h, t->idx);
    up(h, t->idx);
    return 0;
}

void sd_heap_free(sd_heap *h)
{
    free(h->v);
    h->v = NULL;
    h->len = h->cap = 0;
}
