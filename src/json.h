/* json.h: reading answers in C without building them. jsmn (Debian libjsmn-dev) tokenizes
 * a body into a reusable token array; a dotted path ("data.status") finds one value. The
 * scheduler uses it to tell an unchanged status answer from a changed one without handing
 * anything to Lua, and to walk a list page without a record per item. */
#ifndef SEEDANCE_JSON_H
#define SEEDANCE_JSON_H

#include <stddef.h>

enum { SD_J_OBJECT = 1, SD_J_ARRAY = 2, SD_J_STRING = 3, SD_J_PRIMITIVE = 4 };

typedef struct sd_json {
    const char *s;
    void *t; /* jsmn's tokens */
    int n, cap;
} sd_json;

/* Tokenize s[0..len); 0 when it is JSON (reusing j's token array), -1 when not. */
int sd_json_parse(sd_json *j, const char *s, size_t len);
void sd_json_free(sd_json *j);
/* Token i's type (SD_J_*; 0 when out of range) and how many members or items it has. */
int sd_json_type(const sd_json *j, int i);
int sd_json_size(const sd_json *j, int i);
/* The token after the whole value at token i (its next sibling). */
int sd_json_skip(const sd_json *j, int i);
/* The value at dotted `path` below token `from` (0: the root), or -1. */
int sd_json_path(const sd_json *j, int from, const char *path);
/* A string or primitive value's bytes, as written (escapes left as they are). */
const char *sd_json_bytes(const sd_json *j, int i, size_t *len);
/* Where the whole value at token i lies in the text: [*a, *b). 0, or -1. */
int sd_json_span(const sd_json *j, int i, size_t *a, size_t *b);
/* A number value (also a numeric string); 0 and *out set, or -1. */
int sd_json_number(const sd_json *j, int i, double *out);

#endif
