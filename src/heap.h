/* heap.h: the engine's one timer heap. Every timed thing (a request waiting for its turn
 * or its retry, a poll, a list round, a Lua timer) embeds an sd_timer, so one min-heap
 * orders them all and one clock decides what is due. */
#ifndef SEEDANCE_HEAP_H
#define SEEDANCE_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef enum { SD_TM_REQUEST, SD_TM_LUA, SD_TM_POLL, SD_TM_ROUND } sd_timer_type;

typedef struct sd_timer {
    double due;
    uint32_t idx; /* position in the heap; SD_HEAP_NONE when not in it */
    sd_timer_type type; /* 16 bytes in all: one is embedded in every polled object's poll */
} sd_timer;

#define SD_HEAP_NONE UINT32_MAX

typedef struct sd_heap {
    sd_timer **v;
    size_t len, cap;
} sd_heap;

/* 0, or -1 when out of memory (the timer is then not in the heap). */
int sd_heap_push(sd_heap *h, sd_timer *t);
void sd_heap_remove(sd_heap *h, sd_timer *t);
/* Move a timer already in the heap (or push it) to a new due time. */
int sd_heap_set(sd_heap *h, sd_timer *t, double due);
void sd_heap_free(sd_heap *h);
#define sd_heap_top(h) ((h)->len ? (h)->v[0] : NULL)
#define sd_timer_queued(t) ((t)->idx != SD_HEAP_NONE)

#endif
