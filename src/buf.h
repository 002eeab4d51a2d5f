/* buf.h: a growable byte buffer with a hard cap, for response bodies and headers. */
#ifndef SEEDANCE_BUF_H
#define SEEDANCE_BUF_H

#include <stddef.h>

typedef struct sd_buf {
    char *p;
    size_t len, cap;
} sd_buf;

/* 0 on success, -1 when growing would pass `limit` bytes or memory ran out. */
int sd_buf_append(sd_buf *b, const char *data, size_t n, size_t limit);
void sd_buf_reset(sd_buf *b);
void sd_buf_free(sd_buf *b);

#endif
