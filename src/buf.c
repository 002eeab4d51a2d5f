#include <stdlib.h>
#include <string.h>

#include "buf.h"

int sd_buf_append(sd_buf *b, const char *data, size_t n, size_t limit)
{
    if (n > limit || b->len > limit - n) return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->len + n + 1) cap *= 2;
        p = realloc(b->p, cap);
        if (p == NULL) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

void sd_buf_reserve(sd_buf *b, size_t want, size_t limit)
{
    char *p;
    if (want > limit || want + 1 <= b->cap) return;
    p = realloc(b->p, want + 1);
    if (p == NULL) return;
    b->p = p;
    b->cap = want + 1;
}

void sd_buf_reset(sd_buf *b)
{
    b->len = 0;
    if (b->p) b->p[0] = '\0';
}

void sd_buf_free(sd_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

char *sd_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *sd_strdup(const char *s) { return s ? sd_strndup(s, strlen(s)) : NULL; }
