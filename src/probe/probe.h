/* probe.h: media probing over untrusted bytes (seedance.core's `probe`).
 *
 * The parsers are pure functions over byte buffers: no Lua, no I/O, no allocation, every
 * read bounds-checked, no recursion. They see a file as a set of "pieces" (byte ranges at
 * known offsets of a file whose total size may or may not be known), so that a caller that
 * only has the head of a file (a local read, an HTTP range request) can learn exactly which
 * further bytes would let the parse finish: the MP4 whose moov is at the end, the TIFF whose
 * IFD is at the end, the JPEG whose SOF follows 200 KB of EXIF.
 *
 * The "need more" contract (SD_PROBE_NEED_MORE):
 *   out->need_offset  absolute file offset of the first byte the parser could not read;
 *   out->need_size    the minimum number of bytes from need_offset that lets it progress;
 *   out->need_hint    a suggested size (>= need_size) that probably lets it finish, e.g. the
 *                     rest of the moov box; callers fetch min(need_hint, their cap) but at
 *                     least need_size, add the bytes as one more piece, and call again.
 *   Each round satisfies at least one read that failed before, so the loop terminates; a
 *   caller still caps the rounds (8 is plenty) and the total bytes fetched.
 *   When the total size is known, a read beyond it is SD_PROBE_TRUNCATED, never NEED_MORE.
 *   A whole file given as one buffer (sd_probe_buffer) never yields NEED_MORE.
 */
#ifndef SEEDANCE_PROBE_H
#define SEEDANCE_PROBE_H

#include <stddef.h>
#include <stdint.h>

#define SD_PROBE_SIZE_UNKNOWN UINT64_MAX

/* Result codes. */
enum {
    SD_PROBE_OK = 0,
    SD_PROBE_UNKNOWN = -1,     /* no known signature */
    SD_PROBE_CORRUPT = -2,     /* known format, impossible values */
    SD_PROBE_TRUNCATED = -3,   /* needs bytes past the end of the file */
    SD_PROBE_UNSUPPORTED = -4, /* known format, a variant not parsed (e.g. compressed moov) */
    SD_PROBE_NEED_MORE = -5    /* needs bytes that exist but were not given: see need_* */
};

typedef struct sd_probe_result {
    const char *type;   /* "image" | "video" | "audio"; static string; NULL if unknown */
    const char *format; /* "png" "jpeg" "gif" "webp" "bmp" "tiff" "heif" "avif" "mp4" "mov"
                           "wav" "mp3" "mp2" "mp1"; static string; NULL if unknown */
    uint64_t width, height; /* pixels; 0 = unknown (EXIF/tkhd rotation is ignored) */
    double duration;        /* seconds; < 0 = unknown */
    double fps;             /* frames per second, rounded to 1/1000; < 0 = unknown */
    uint64_t bytes;         /* total size of the file; SD_PROBE_SIZE_UNKNOWN if not known */
    uint64_t need_offset, need_size, need_hint; /* valid with SD_PROBE_NEED_MORE only */
} sd_probe_result;

/* One range of the file: bytes [offset, offset + n) are at p. */
typedef struct sd_probe_piece {
    const unsigned char *p;
    size_t n;
    uint64_t offset;
} sd_probe_piece;

#define SD_PROBE_MAX_PIECES 32

/* Probe a whole file held in one buffer (total size = n). Returns an SD_PROBE_* code; on
 * failure err (if errlen > 0) holds one readable sentence. */
int sd_probe_buffer(const unsigned char *p, size_t n, sd_probe_result *out, char *err,
                    size_t errlen);

/* Probe a file given as pieces (at most SD_PROBE_MAX_PIECES; the one at offset 0 decides the
 * format and must hold at least the first 16 bytes, or the whole file if shorter). total is
 * the file's size or SD_PROBE_SIZE_UNKNOWN. Overlapping pieces are allowed. */
int sd_probe_pieces(const sd_probe_piece *pieces, size_t npieces, uint64_t total,
                    sd_probe_result *out, char *err, size_t errlen);

/* The format name whose signature the first n bytes carry, or NULL. Strict enough that a
 * short path name does not pass for media ("BM_x.bmp" is not a BMP). */
const char *sd_probe_sniff(const unsigned char *p, size_t n);

/* Bytes a caller should read first: enough for every format's header in the common case. */
#define SD_PROBE_HEAD_SIZE 65536

#ifndef SD_PROBE_NO_LUA
struct lua_State;
/* core.probe(path_or_bytes [, opts]) -> info | nil, message [, need]   (see probe_lua.c) */
int sd_l_probe(struct lua_State *L);
#endif

#endif
