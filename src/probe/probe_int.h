/* probe_int.h: what the parser families share: a bounds-checked view over the pieces of a
 * file, big/little-endian loads, error reporting, and the ISO-BMFF box header reader that
 * MP4/MOV and HEIF both walk with. Internal to src/probe/. */
#ifndef SEEDANCE_PROBE_INT_H
#define SEEDANCE_PROBE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "probe.h"

/* A file seen through its pieces. Every parser read goes through sd_rd. */
typedef struct sd_view {
    const sd_probe_piece *pc;
    size_t npc;
    uint64_t total;    /* file size, or SD_PROBE_SIZE_UNKNOWN */
    uint64_t hint_end; /* where the region being parsed ends, to size need_hint; 0 = none */
    const char *fmt;   /* format being parsed, for messages */
    int code;          /* first read failure: SD_PROBE_NEED_MORE or SD_PROBE_TRUNCATED */
    uint64_t need_off, need_len, need_hint;
    char *err;
    size_t errlen;
} sd_view;

/* need_hint is never below this (nor past the end of the file). */
#define SD_PROBE_MIN_HINT 4096

/* Pointer to the len bytes at file offset off, or NULL (failure recorded in v) if they
 * are past the end of the file or not inside one piece. len must be > 0. */
const unsigned char *sd_rd(sd_view *v, uint64_t off, uint64_t len);

/* The bytes from off to the end of the piece holding off (*avail of them), or NULL; never
 * records a failure. For scanning: sd_rd still decides what is missing. */
const unsigned char *sd_span(const sd_view *v, uint64_t off, uint64_t *avail);

/* After sd_rd returned NULL: the code to return (NEED_MORE or TRUNCATED). */
int sd_missing(sd_view *v);

/* Record a failure message (printf-style) and return code. */
#ifdef __GNUC__
__attribute__((format(printf, 3, 4)))
#endif
int sd_fail(sd_view *v, int code, const char *fmt, ...);

/* True if the file ends exactly at off (total known and equal). */
int sd_at_end(const sd_view *v, uint64_t off);

static inline uint32_t sd_be16(const unsigned char *p) { return ((uint32_t)p[0] << 8) | p[1]; }
static inline uint32_t sd_be24(const unsigned char *p)
{
    return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}
static inline uint32_t sd_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t sd_be64(const unsigned char *p)
{
    return ((uint64_t)sd_be32(p) << 32) | sd_be32(p + 4);
}
static inline uint32_t sd_le16(const unsigned char *p) { return p[0] | ((uint32_t)p[1] << 8); }
static inline uint32_t sd_le24(const unsigned char *p)
{
    return p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16);
}
static inline uint32_t sd_le32(const unsigned char *p)
{
    return p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t sd_le64(const unsigned char *p)
{
    return sd_le32(p) | ((uint64_t)sd_le32(p + 4) << 32);
}

#define SD_FOURCC(a, b, c, d) \
    (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* ISO-BMFF box: [off, end) with its header of hdr bytes; end may be SD_PROBE_SIZE_UNKNOWN
 * for a top-level box of size 0 ("to the end of the file") when the size is not known. */
typedef struct sd_box {
    uint64_t off, end;
    uint32_t hdr, type;
} sd_box;

/* Read the box header at off inside a parent ending at parent_end (SD_PROBE_SIZE_UNKNOWN
 * for the top level of a file of unknown size). Returns SD_PROBE_OK or a failure code. */
int sd_box_read(sd_view *v, uint64_t off, uint64_t parent_end, sd_box *b);

/* Walk the top level of an ISO-BMFF file for the first box of type want; on success *b is
 * it. A missing box is SD_PROBE_CORRUPT with "no <what>". */
int sd_box_find_top(sd_view *v, uint32_t want, const char *what, sd_box *b);

/* The families. Each fills out (type, format and what it measures) or returns a code with
 * a message. fmt is the name sd_probe_sniff gave. */
int sd_probe_png(sd_view *v, sd_probe_result *out);
int sd_probe_jpeg(sd_view *v, sd_probe_result *out);
int sd_probe_gif(sd_view *v, sd_probe_result *out);
int sd_probe_webp(sd_view *v, sd_probe_result *out);
int sd_probe_bmp(sd_view *v, sd_probe_result *out);
int sd_probe_tiff(sd_view *v, sd_probe_result *out);
int sd_probe_heif(sd_view *v, sd_probe_result *out, const char *fmt);
int sd_probe_mp4(sd_view *v, sd_probe_result *out, const char *fmt);
int sd_probe_wav(sd_view *v, sd_probe_result *out);
int sd_probe_mpa(sd_view *v, sd_probe_result *out);

/* MPEG audio frame header at p (4 bytes): 0 if invalid, else frame length in bytes and the
 * fields through the pointers (any may be NULL). Shared by sniffing and the MP3 parser. */
uint32_t sd_mpa_header(const unsigned char *p, uint32_t *rate, uint32_t *samples,
                       uint32_t *kbps, int *layer, int *mpeg1, int *mono);

#endif
