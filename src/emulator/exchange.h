/* exchange.h: one HTTP request and its answer, as passed between the HTTP
 * side (httpd.c, which knows libmicrohttpd) and the app side (luaapp.c, which
 * knows Lua). Neither side sees the other's library. */
#ifndef SEEDANCE_EMU_EXCHANGE_H
#define SEEDANCE_EMU_EXCHANGE_H

#include <stddef.h>

struct emu_header {
    const char *name;
    const char *value;
};

/* Borrowed pointers, valid for the duration of one app call. */
struct emu_request {
    const char *method;
    const char *path;          /* percent-decoded, without the query */
    const char *raw_query;     /* "" when absent */
    const struct emu_header *headers;
    size_t nheaders;
    const char *body;
    size_t body_len;
};

/* Owned by whoever holds it; release with emu_response_clear. */
struct emu_response {
    int status;
    char **headers;            /* name, value, name, value, ... (malloc'd) */
    size_t nheaders;           /* number of pairs */
    char *body;                /* malloc'd, may be NULL when body_len is 0 */
    size_t body_len;
    double delay;              /* seconds to hold the answer back; 0 = none */
    int close;                 /* drop the connection instead of answering */
    long truncate;             /* >= 0: announce body_len, send this many bytes, drop */
};

void emu_response_init(struct emu_response *r);
void emu_response_clear(struct emu_response *r);
/* Copies name and value; returns 0, or -1 when out of memory. */
int emu_response_add_header(struct emu_response *r, const char *name, const char *value);

#endif
