/* json.c: jsmn behind the small sd_json API (see json.h). */
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#include <jsmn.h>

#include "json.h"

#define TOK(j) ((jsmntok_t *)(j)->t)

/* list pages of a few hundred items need a few thousand tokens; past this, not our answer */
#define MAX_TOKENS (1 << 20)

int sd_json_parse(sd_json *j, const char *s, size_t len)
{
    jsmn_parser p;
    int r;
    if (len > (size_t)0x7fffffff) return -1;
    for (;;) {
        if (j->cap == 0) {
            j->t = malloc(256 * sizeof(jsmntok_t));
            if (j->t == NULL) return -1;
            j->cap = 256;
        }
        jsmn_init(&p);
        r = jsmn_parse(&p, s, len, TOK(j), (unsigned)j->cap);
        if (r == JSMN_ERROR_NOMEM && j->cap < MAX_TOKENS) {
            jsmntok_t *t = realloc(j->t, (size_t)j->cap * 4 * sizeof *t);
            if (t == NULL) return -1;
            j->t = t;
            j->cap *= 4;
            continue;
        }
        break;
    }
    if (r < 1) return -1;
    /* one value, nothing but space after it */
    if (TOK(j)[0].end < 0) return -1;
    {
        size_t i = (size_t)TOK(j)[0].end;
        while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
        if (i != len) return -1;
    }
    j->s = s;
    j->n = r;
    return 0;
}

void sd_json_free(sd_json *j)
{
    free(j->t);
    j->t = NULL;
    j->n = j->cap = 0;
}

int sd_json_skip(const sd_json *j, int i)
{
    int left = 1;
    while (left > 0 && i < j->n) {
        const jsmntok_t *t = &TOK(j)[i];
        left--;
        if (t->type == JSMN_OBJECT) left += 2 * t->size;
        else if (t->type == JSMN_ARRAY) left += t->size;
        i++;
    }
    return i;
}

static int key_is(const sd_json *j, int i, const char *k, size_t klen)
{
    const jsmntok_t *t = &TOK(j)[i];
    return t->type == JSMN_STRING && (size_t)(t->end - t->start) == klen &&
           memcmp(j->s + t->start, k, klen) == 0;
}

int sd_json_path(const sd_json *j, int from, const char *path)
{
    int i = from;
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t klen = dot ? (size_t)(dot - path) : strlen(path);
        int n, k;
        if (i < 0 || i >= j->n || TOK(j)[i].type != JSMN_OBJECT) return -1;
        n = TOK(j)[i].size;
        k = i + 1;
        i = -1;
        while (n-- > 0 && k + 1 < j->n) {
            if (key_is(j, k, path, klen)) {
                i = k + 1;
                break;
            }
            k = sd_json_skip(j, k + 1);
        }
        if (i < 0) return -1;
        path += klen + (dot ? 1 : 0);
    }
    return i;
}

const char *sd_json_bytes(const sd_json *j, int i, size_t *len)
{
    const jsmntok_t *t;
    if (i < 0 || i >= j->n) return NULL;
    t = &TOK(j)[i];
    if (t->type != JSMN_STRING && t->type != JSMN_PRIMITIVE) return NULL;
    *len = (size_t)(t->end - t->start);
    return j->s + t->start;
}

int sd_json_number(const sd_json *j, int i, double *out)
{
    size_t len;
    const char *b = sd_json_bytes(j, i, &len);
    char tmp[64], *end;
    if (b == NULL || len == 0 || len >= sizeof tmp) return -1;
    memcpy(tmp, b, len);
    tmp[len] = '\0';
    *out = strtod(tmp, &end);
    return (*end == '\0' && *out == *out) ? 0 : -1;
}

int sd_json_type(const sd_json *j, int i)
{
    return (i >= 0 && i < j->n) ? (int)TOK(j)[i].type : 0;
}

int sd_json_size(const sd_json *j, int i)
{
    return (i >= 0 && i < j->n) ? TOK(j)[i].size : 0;
}

int sd_json_span(const sd_json *j, int i, size_t *a, size_t *b)
{
    const jsmntok_t *t;
    if (i < 0 || i >= j->n) return -1;
    t = &TOK(j)[i];
    /* a string token excludes its quotes */
    *a = (size_t)t->start - (t->type == JSMN_STRING ? 1 : 0);
    *b = (size_t)t->end + (t->type == JSMN_STRING ? 1 : 0);
    return 0;
}
