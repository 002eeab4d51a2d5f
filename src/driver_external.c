/* driver_external.c: a driver with no I/O of its own. Attempts wait in an outbox that
 * Lua drains (engine:outbox()) and performs elsewhere — nginx cosockets, or a spec
 * standing in for a server — then reports back with engine:feed(). */
#include <stdlib.h>

#include "engine.h"

typedef struct ext_state {
    sd_request *head, *tail;
} ext_state;

static ext_state *state(sd_engine *e)
{
    if (e->drv_state == NULL) e->drv_state = calloc(1, sizeof(ext_state));
    return e->drv_state;
}

static int ext_start(sd_engine *e, sd_request *r)
{
    ext_state *s = state(e);
    if (s == NULL) {
        r->err = SD_ERR_INTERNAL;
        return -1;
    }
    r->next = NULL;
    r->driver_data = s; /* marks "in the outbox, not yet taken" */
    if (s->tail) s->tail->next = r;
    else s->head = r;
    s->tail = r;
    return 0;
}

static void ext_unlink(ext_state *s, sd_request *r)
{
    sd_request **pp, *prev = NULL;
    for (pp = &s->head; *pp; prev = *pp, pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            if (s->tail == r) s->tail = prev;
            r->next = NULL;
            return;
        }
    }
}

static void ext_abort(sd_engine *e, sd_request *r)
{
    ext_state *s = state(e);
    if (s && r->driver_data == s) ext_unlink(s, r);
    r->driver_data = NULL;
}

static int ext_perform(sd_engine *e) { return e->active; }

static void ext_wait(sd_engine *e, int ms)
{
    (void)e;
    (void)ms; /* whoever feeds us decides how to wait */
}

static void ext_close(sd_engine *e)
{
    free(e->drv_state);
    e->drv_state = NULL;
}

/* Takes the next attempt to perform, or NULL. */
sd_request *sd_external_take(sd_engine *e);
sd_request *sd_external_take(sd_engine *e)
{
    ext_state *s = state(e);
    sd_request *r = s ? s->head : NULL;
    if (r) {
        ext_unlink(s, r);
        r->driver_data = NULL;
    }
    return r;
}

const sd_driver sd_driver_external = {"external", ext_start, ext_abort, ext_perform, ext_wait, ext_close};
