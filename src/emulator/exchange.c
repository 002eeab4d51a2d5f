/* exchange.c: ownership helpers for struct emu_response (see exchange.h). */
#include <stdlib.h>
#include <string.h>

#include "exchange.h"

void emu_response_init(struct emu_response *r)
{
    memset(r, 0, sizeof *r);
    r->status = 200;
    r->truncate = -1;
}

void emu_response_clear(struct emu_response *r)
{
    size_t i;
    for (i = 0; i < 2 * r->nheaders; i++) free(r->headers[i]);
    free(r->headers);
    free(r->body);
    emu_response_init(r);
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL) memcpy(p, s, n);
    return p;
}

int emu_response_add_header(struct emu_response *r, const char *name, const char *value)
{
    char **h = realloc(r->headers, 2 * (r->nheaders + 1) * sizeof *h);
    char *n, *v;
    if (h == NULL) return -1;
    r->headers = h;
    n = dup_string(name);
    v = dup_string(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return -1;
    }
    h[2 * r->nheaders] = n;
    h[2 * r->nheaders + 1] = v;
    r->nheaders++;
    return 0;
}
