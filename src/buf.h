/* buf.h: a growable byte buffer with a hard cap, for response bodies and headers, and the
 * string copies the core makes. */
#ifndef SEEDANCE_BUF_H
#define SEEDANCE_BUF_H

#include <stddef.h>

typedef struct sd_buf {
    char *p;
    size_t len, cap;
} sd_buf;

/* 0 on success, -1 when growing would pass `limit` bytes or memory ran out. */
int sd_buf_append(sd_buf *b, const char *data, size_t n, size_t limit);
/* Make room for `want` bytes in one allocation when the size is known in advance (a body's
 * Content-Length), so the buffer is not doubled past it; nothing when want > limit. A
 * failure is left for the next append to report. */
void sd_buf_reserve(sd_buf *b, size_t want, size_t limit);
void sd_buf_reset(sd_buf *b);
void sd_buf_free(sd_buf *b);

/* A NUL-terminated malloc'd copy of n bytes of s (NULL when out of memory). */
char *sd_strndup(const char *s, size_t n);
/* A malloc'd copy of s; NULL for NULL (or when out of memory). */
char *sd_strdup(const char *s);

#endif
