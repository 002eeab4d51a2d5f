/* probe.c: the dispatcher (signature sniffing), the bounds-checked view over pieces, and the
 * ISO-BMFF box reader shared by probe_mp4.c and probe_heif.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "probe_int.h"

/* ---- the view ---------------------------------------------------------------------- */

static void set_need(sd_view *v, int code, uint64_t off, uint64_t len)
{
    if (v->code) return; /* the first failure is the one that matters */
    v->code = code;
    v->need_off = off;
    v->need_len = len;
    /* a range request for a few KiB costs what one for 8 bytes does */
    v->need_hint = len > SD_PROBE_MIN_HINT ? len : SD_PROBE_MIN_HINT;
    if (v->hint_end > off && v->hint_end - off > v->need_hint) v->need_hint = v->hint_end - off;
    if (v->total != SD_PROBE_SIZE_UNKNOWN && v->total > off && v->need_hint > v->total - off)
        v->need_hint = v->total - off;
}

const unsigned char *sd_rd(sd_view *v, uint64_t off, uint64_t len)
{
    size_t i;
    if (len == 0) len = 1;
    if (v->total != SD_PROBE_SIZE_UNKNOWN && (off > v->total || len > v->total - off)) {
        set_need(v, SD_PROBE_TRUNCATED, off, len);
        return NULL;
    }
    if (off > UINT64_MAX - len) { /* only reachable with an unknown total */
        set_need(v, SD_PROBE_TRUNCATED, off, len);
        return NULL;
    }
    for (i = 0; i < v->npc; i++) {
        const sd_probe_piece *pc = &v->pc[i];
        if (off >= pc->offset && off - pc->offset <= pc->n && len <= pc->n - (off - pc->offset))
            return pc->p + (size_t)(off - pc->offset);
    }
    set_need(v, SD_PROBE_NEED_MORE, off, len);
    return NULL;
}

const unsigned char *sd_span(const sd_view *v, uint64_t off, uint64_t *avail)
{
    size_t i;
    for (i = 0; i < v->npc; i++) {
        const sd_probe_piece *pc = &v->pc[i];
        if (off >= pc->offset && off - pc->offset < pc->n) {
            uint64_t n = pc->n - (off - pc->offset);
            if (v->total != SD_PROBE_SIZE_UNKNOWN)
                n = off >= v->total ? 0 : (n > v->total - off ? v->total - off : n);
            if (n == 0) return NULL;
            *avail = n;
            return pc->p + (size_t)(off - pc->offset);
        }
    }
    return NULL;
}

int sd_fail(sd_view *v, int code, const char *fmt, ...)
{
    if (v->err && v->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->err, v->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

int sd_missing(sd_view *v)
{
    if (v->code == SD_PROBE_NEED_MORE)
        return sd_fail(v, SD_PROBE_NEED_MORE,
                       "%s: need %llu more bytes at offset %llu (not in the data given)", v->fmt,
                       (unsigned long long)v->need_len, (unsigned long long)v->need_off);
    if (v->code == SD_PROBE_TRUNCATED)
        return sd_fail(v, SD_PROBE_TRUNCATED,
                       "%s: truncated: needs %llu bytes at offset %llu, the file has %llu", v->fmt,
                       (unsigned long long)v->need_len, (unsigned long long)v->need_off,
                       (unsigned long long)v->total);
    return sd_fail(v, SD_PROBE_CORRUPT, "%s: read failed", v->fmt); /* not reached */
}

int sd_at_end(const sd_view *v, uint64_t off)
{
    return v->total != SD_PROBE_SIZE_UNKNOWN && off >= v->total;
}

/* ---- ISO-BMFF boxes ----------------------------------------------------------------- */

static void fourcc_str(uint32_t t, char s[5])
{
    int i;
    for (i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)(t >> (24 - 8 * i));
        s[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    s[4] = 0;
}

int sd_box_read(sd_view *v, uint64_t off, uint64_t parent_end, sd_box *b)
{
    const unsigned char *p;
    uint64_t size;
    char name[5];
    if (parent_end != SD_PROBE_SIZE_UNKNOWN && (off > parent_end || parent_end - off < 8))
        return sd_fail(v, SD_PROBE_CORRUPT, "%s: box header at offset %llu overflows its parent",
                       v->fmt, (unsigned long long)off);
    if (!(p = sd_rd(v, off, 8))) return sd_missing(v);
    b->off = off;
    b->type = sd_be32(p + 4);
    b->hdr = 8;
    size = sd_be32(p);
    fourcc_str(b->type, name);
    if (size == 1) {
        if (parent_end != SD_PROBE_SIZE_UNKNOWN && parent_end - off < 16)
            return sd_fail(v, SD_PROBE_CORRUPT, "%s: box '%s' at offset %llu is cut short",
                           v->fmt, name, (unsigned long long)off);
        if (!(p = sd_rd(v, off + 8, 8))) return sd_missing(v);
        size = sd_be64(p);
        b->hdr = 16;
        if (size < 16)
            return sd_fail(v, SD_PROBE_CORRUPT, "%s: box '%s' at offset %llu has size %llu",
                           v->fmt, name, (unsigned long long)off, (unsigned long long)size);
    } else if (size == 0) {
        b->end = parent_end; /* to the end of the parent (of the file at the top level) */
        return SD_PROBE_OK;
    } else if (size < 8) {
        return sd_fail(v, SD_PROBE_CORRUPT, "%s: box '%s' at offset %llu has size %llu", v->fmt,
                       name, (unsigned long long)off, (unsigned long long)size);
    }
    if (off > UINT64_MAX - size)
        return sd_fail(v, SD_PROBE_CORRUPT, "%s: box '%s' at offset %llu has size %llu", v->fmt,
                       name, (unsigned long long)off, (unsigned long long)size);
    b->end = off + size;
    if (parent_end != SD_PROBE_SIZE_UNKNOWN && b->end > parent_end) {
        if (parent_end == v->total)
            return sd_fail(v, SD_PROBE_TRUNCATED,
                           "%s: truncated: box '%s' at offset %llu needs %llu bytes, the file "
                           "has %llu",
                           v->fmt, name, (unsigned long long)off, (unsigned long long)size,
                           (unsigned long long)v->total);
        return sd_fail(v, SD_PROBE_CORRUPT, "%s: box '%s' at offset %llu overflows its parent",
                       v->fmt, name, (unsigned long long)off);
    }
    return SD_PROBE_OK;
}

int sd_box_find_top(sd_view *v, uint32_t want, const char *what, sd_box *b)
{
    uint64_t off = 0;
    int rc;
    v->hint_end = v->total == SD_PROBE_SIZE_UNKNOWN ? 0 : v->total;
    for (;;) {
        if (sd_at_end(v, off)) break;
        rc = sd_box_read(v, off, v->total, b);
        if (rc != SD_PROBE_OK) return rc;
        if (b->type == want) return SD_PROBE_OK;
        if (b->end == SD_PROBE_SIZE_UNKNOWN) break; /* last box, to the end of the file */
        off = b->end;
    }
    return sd_fail(v, SD_PROBE_CORRUPT, "%s: no %s", v->fmt, what);
}

/* ---- sniffing ------------------------------------------------------------------------ */

static int is_heif_brand(uint32_t b)
{
    switch (b) {
    case SD_FOURCC('h', 'e', 'i', 'c'): case SD_FOURCC('h', 'e', 'i', 'x'):
    case SD_FOURCC('h', 'e', 'v', 'c'): case SD_FOURCC('h', 'e', 'v', 'x'):
    case SD_FOURCC('h', 'e', 'i', 'm'): case SD_FOURCC('h', 'e', 'i', 's'):
    case SD_FOURCC('h', 'e', 'v', 'm'): case SD_FOURCC('h', 'e', 'v', 's'):
        return 1;
    default:
        return 0;
    }
}

static const char *sniff_ftyp(const unsigned char *p, size_t n)
{
    uint32_t major = sd_be32(p + 8), size = sd_be32(p);
    size_t i, end;
    int generic = major == SD_FOURCC('m', 'i', 'f', '1') || major == SD_FOURCC('m', 's', 'f', '1')
               || major == SD_FOURCC('m', 'i', 'f', '2');
    if (is_heif_brand(major)) return "heif";
    if (major == SD_FOURCC('a', 'v', 'i', 'f') || major == SD_FOURCC('a', 'v', 'i', 's'))
        return "avif";
    if (major == SD_FOURCC('q', 't', ' ', ' ')) return "mov";
    if (!generic) return "mp4";
    /* mif1/msf1: the compatible brands say which codec */
    end = size < n ? size : n;
    for (i = 16; i + 4 <= end; i += 4) {
        uint32_t c = sd_be32(p + i);
        if (c == SD_FOURCC('a', 'v', 'i', 'f') || c == SD_FOURCC('a', 'v', 'i', 's')) return "avif";
    }
    return "heif";
}

static int syncsafe(const unsigned char *p)
{
    return !((p[0] | p[1] | p[2] | p[3]) & 0x80);
}

const char *sd_probe_sniff(const unsigned char *p, size_t n)
{
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    int layer;
    if (p == NULL) return NULL;
    if (n >= 8 && memcmp(p, png, 8) == 0) return "png";
    if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) return "jpeg";
    if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0)) return "gif";
    if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0) return "webp";
    if (n >= 12 && (memcmp(p, "RIFF", 4) == 0 || memcmp(p, "RF64", 4) == 0
                    || memcmp(p, "BW64", 4) == 0) && memcmp(p + 8, "WAVE", 4) == 0)
        return "wav";
    if (n >= 18 && p[0] == 'B' && p[1] == 'M') {
        uint32_t dib = sd_le32(p + 14);
        if (dib == 12 || dib == 16 || dib == 40 || dib == 52 || dib == 56 || dib == 64
            || dib == 108 || dib == 124)
            return "bmp";
    }
    if (n >= 8 && ((p[0] == 'I' && p[1] == 'I' && (p[2] == 42 || p[2] == 43) && p[3] == 0)
                   || (p[0] == 'M' && p[1] == 'M' && p[2] == 0 && (p[3] == 42 || p[3] == 43))))
        return "tiff";
    if (n >= 12 && memcmp(p + 4, "ftyp", 4) == 0) return sniff_ftyp(p, n);
    if (n >= 8 && (memcmp(p + 4, "moov", 4) == 0 || memcmp(p + 4, "mdat", 4) == 0
                   || memcmp(p + 4, "wide", 4) == 0 || memcmp(p + 4, "free", 4) == 0
                   || memcmp(p + 4, "skip", 4) == 0 || memcmp(p + 4, "pnot", 4) == 0)) {
        uint32_t size = sd_be32(p);
        if (size == 0 || size == 1 || size >= 8) return "mov";
    }
    if (n >= 10 && memcmp(p, "ID3", 3) == 0 && p[3] >= 2 && p[3] <= 4 && p[4] != 0xff
        && syncsafe(p + 6))
        return "mp3"; /* an ID3v2 tag; what follows decides mp3/mp2/mp1 */
    if (n >= 4 && sd_mpa_header(p, NULL, NULL, NULL, &layer, NULL, NULL))
        return layer == 3 ? "mp3" : layer == 2 ? "mp2" : "mp1";
    return NULL;
}

/* ---- dispatch ------------------------------------------------------------------------ */

static void reset(sd_probe_result *out, uint64_t total)
{
    memset(out, 0, sizeof *out);
    out->type = NULL;
    out->format = NULL;
    out->duration = -1;
    out->fps = -1;
    out->bytes = total;
}

int sd_probe_pieces(const sd_probe_piece *pieces, size_t npieces, uint64_t total,
                    sd_probe_result *out, char *err, size_t errlen)
{
    sd_view v;
    const char *fmt = NULL;
    size_t i;
    int rc;

    if (err && errlen) err[0] = 0;
    reset(out, total);
    if (total == 0) {
        if (err && errlen) snprintf(err, errlen, "empty file");
        return SD_PROBE_UNKNOWN;
    }
    memset(&v, 0, sizeof v);
    v.pc = pieces;
    v.npc = npieces > SD_PROBE_MAX_PIECES ? SD_PROBE_MAX_PIECES : npieces;
    v.total = total;
    v.err = err;
    v.errlen = errlen;
    v.fmt = "probe";
    for (i = 0; i < v.npc; i++) {
        if (pieces[i].offset == 0 && pieces[i].p) {
            size_t n = pieces[i].n;
            if (total != SD_PROBE_SIZE_UNKNOWN && n > total) n = (size_t)total;
            if (n < 16 && (total == SD_PROBE_SIZE_UNKNOWN || n < total)) continue;
            fmt = sd_probe_sniff(pieces[i].p, n);
            break;
        }
    }
    if (i == v.npc) {
        out->need_offset = 0;
        out->need_size = total == SD_PROBE_SIZE_UNKNOWN || total > 16 ? 16 : total;
        out->need_hint = SD_PROBE_HEAD_SIZE;
        if (total != SD_PROBE_SIZE_UNKNOWN && out->need_hint > total) out->need_hint = total;
        if (total == 0) return sd_fail(&v, SD_PROBE_UNKNOWN, "empty file");
        return sd_fail(&v, SD_PROBE_NEED_MORE, "need the first bytes of the file");
    }
    if (!fmt) return sd_fail(&v, SD_PROBE_UNKNOWN, "unknown media format (no known signature "
                                                   "in the first bytes)");
    v.fmt = fmt;
    if (!strcmp(fmt, "png")) rc = sd_probe_png(&v, out);
    else if (!strcmp(fmt, "jpeg")) rc = sd_probe_jpeg(&v, out);
    else if (!strcmp(fmt, "gif")) rc = sd_probe_gif(&v, out);
    else if (!strcmp(fmt, "webp")) rc = sd_probe_webp(&v, out);
    else if (!strcmp(fmt, "bmp")) rc = sd_probe_bmp(&v, out);
    else if (!strcmp(fmt, "tiff")) rc = sd_probe_tiff(&v, out);
    else if (!strcmp(fmt, "heif") || !strcmp(fmt, "avif")) rc = sd_probe_heif(&v, out, fmt);
    else if (!strcmp(fmt, "mp4") || !strcmp(fmt, "mov")) rc = sd_probe_mp4(&v, out, fmt);
    else if (!strcmp(fmt, "wav")) rc = sd_probe_wav(&v, out);
    else rc = sd_probe_mpa(&v, out);

    if (rc == SD_PROBE_NEED_MORE) {
        out->need_offset = v.need_off;
        out->need_size = v.need_len;
        out->need_hint = v.need_hint;
    }
    if (rc != SD_PROBE_OK) {
        const char *t = out->type, *f = out->format;
        uint64_t no = out->need_offset, ns = out->need_size, nh = out->need_hint;
        reset(out, total);
        out->type = t; /* what was recognised stays, for the message's sake */
        out->format = f ? f : fmt;
        out->need_offset = no;
        out->need_size = ns;
        out->need_hint = nh;
        if (err && errlen && !err[0]) sd_fail(&v, rc, "%s: cannot be read", fmt);
        return rc;
    }
    if (out->fps >= 0) out->fps = floor(out->fps * 1000.0 + 0.5) / 1000.0;
    return SD_PROBE_OK;
}

int sd_probe_buffer(const unsigned char *p, size_t n, sd_probe_result *out, char *err,
                    size_t errlen)
{
    sd_probe_piece pc;
    pc.p = p;
    pc.n = p ? n : 0;
    pc.offset = 0;
    return sd_probe_pieces(&pc, 1, (uint64_t)pc.n, out, err, errlen);
}
