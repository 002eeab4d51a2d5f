/* probe_image.c: width and height of PNG, JPEG, GIF, WebP, BMP and TIFF from their headers.
 * Sizes are the stored ones: EXIF orientation (a 90-degree turn swaps them) is ignored,
 * which no limit notices since every side and ratio bound is symmetric. */
#include <string.h>

#include "probe_int.h"

#define MAX_SIDE 0x7fffffffu /* nothing larger is a real image; also keeps W*H exact in a double */

static int image_ok(sd_view *v, sd_probe_result *out, const char *fmt, uint64_t w, uint64_t h)
{
    if (w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE)
        return sd_fail(v, SD_PROBE_CORRUPT, "%s: impossible size %llux%llu", fmt,
                       (unsigned long long)w, (unsigned long long)h);
    out->type = "image";
    out->format = fmt;
    out->width = w;
    out->height = h;
    return SD_PROBE_OK;
}

/* ---- PNG ----------------------------------------------------------------------------- */

static uint32_t crc32_png(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        c ^= p[i];
        for (k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

int sd_probe_png(sd_view *v, sd_probe_result *out)
{
    const unsigned char *p;
    uint64_t off = 8;
    /* Apple's "CgBI" PNGs put one chunk before IHDR; everyone else starts with IHDR. */
    if (!(p = sd_rd(v, off, 8))) return sd_missing(v);
    if (memcmp(p + 4, "CgBI", 4) == 0) {
        uint32_t len = sd_be32(p);
        if (len > 64) return sd_fail(v, SD_PROBE_CORRUPT, "png: oversized CgBI chunk");
        off += 12 + (uint64_t)len;
    }
    if (!(p = sd_rd(v, off, 25))) return sd_missing(v);
    if (sd_be32(p) != 13 || memcmp(p + 4, "IHDR", 4) != 0)
        return sd_fail(v, SD_PROBE_CORRUPT, "png: the first chunk is not a 13-byte IHDR");
    if (crc32_png(p + 4, 17) != sd_be32(p + 21))
        return sd_fail(v, SD_PROBE_CORRUPT, "png: IHDR checksum mismatch");
    return image_ok(v, out, "png", sd_be32(p + 8), sd_be32(p + 12));
}

/* ---- JPEG ---------------------------------------------------------------------------- */

static int is_sof(unsigned m)
{
    /* SOF0-3, 5-7, 9-11, 13-15: baseline, extended, progressive, lossless, hierarchical,
     * arithmetic. C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames. */
    return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

int sd_probe_jpeg(sd_view *v, sd_probe_result *out)
{
    const unsigned char *p;
    uint64_t off = 2;
    for (;;) {
        unsigned m;
        uint32_t len;
        if (!(p = sd_rd(v, off, 2))) return sd_missing(v);
        if (p[0] != 0xff)
            return sd_fail(v, SD_PROBE_CORRUPT, "jpeg: no marker at offset %llu",
                           (unsigned long long)off);
        m = p[1];
        if (m == 0xff) { /* fill byte before a marker */
            off += 1;
            continue;
        }
        if ((m >= 0xd0 && m <= 0xd7) || m == 0x01) { /* RSTn, TEM: no length */
            off += 2;
            continue;
        }
        if (m == 0x00 || m == 0xd8 || m == 0xd9 || m == 0xda)
            return sd_fail(v, SD_PROBE_CORRUPT, "jpeg: marker 0x%02X before any frame header",
                           m);
        if (!(p = sd_rd(v, off + 2, 2))) return sd_missing(v);
        len = sd_be16(p);
        if (len < 2)
            return sd_fail(v, SD_PROBE_CORRUPT, "jpeg: segment length %u at offset %llu",
                           (unsigned)len, (unsigned long long)off);
        if (is_sof(m)) {
            if (len < 8)
                return sd_fail(v, SD_PROBE_CORRUPT, "jpeg: frame header too short");
            if (!(p = sd_rd(v, off + 4, 6))) return sd_missing(v);
            if (sd_be16(p + 1) == 0)
                return sd_fail(v, SD_PROBE_UNSUPPORTED,
                               "jpeg: height defined after the first scan (DNL)");
            return image_ok(v, out, "jpeg", sd_be16(p + 3), sd_be16(p + 1));
        }
        off += 2 + (uint64_t)len;
    }
}

/* ---- GIF ----------------------------------------------------------------------------- */

int sd_probe_gif(sd_view *v, sd_probe_result *out)
{
    const unsigned char *p;
    uint64_t off;
    uint32_t w, h;
    if (!(p = sd_rd(v, 0, 13))) return sd_missing(v);
    w = sd_le16(p + 6);
    h = sd_le16(p + 8);
    if (w && h) return image_ok(v, out, "gif", w, h);
    /* A zero logical screen: decoders use the first image's size. */
    off = 13;
    if (p[10] & 0x80) off += 3u * (2u << (p[10] & 7));
    for (;;) {
        if (!(p = sd_rd(v, off, 1))) return sd_missing(v);
        if (p[0] == 0x2c) {
            if (!(p = sd_rd(v, off, 10))) return sd_missing(v);
            return image_ok(v, out, "gif", sd_le16(p + 5), sd_le16(p + 7));
        }
        if (p[0] != 0x21) return sd_fail(v, SD_PROBE_CORRUPT, "gif: no image descriptor");
        off += 2; /* introducer, label; then sub-blocks until an empty one */
        for (;;) {
            if (!(p = sd_rd(v, off, 1))) return sd_missing(v);
            off += 1 + (uint64_t)p[0];
            if (p[0] == 0) break;
        }
    }
}

/* ---- WebP ---------------------------------------------------------------------------- */

int sd_probe_webp(sd_view *v, sd_probe_result *out)
{
    const unsigned char *p;
    uint32_t riff, csize;
    if (!(p = sd_rd(v, 0, 20))) return sd_missing(v);
    riff = sd_le32(p + 4);
    csize = sd_le32(p + 16);
    if (riff < 12 || (riff & 1u))
        return sd_fail(v, SD_PROBE_CORRUPT, "webp: RIFF size %u", (unsigned)riff);
    if (v->total != SD_PROBE_SIZE_UNKNOWN && (uint64_t)riff + 8 > v->total)
        return sd_fail(v, SD_PROBE_TRUNCATED,
                       "webp: truncated: RIFF size says %llu bytes, the file has %llu",
                       (unsigned long long)riff + 8, (unsigned long long)v->total);
    if (memcmp(p + 12, "VP8 ", 4) == 0) {
        if (csize < 10) return sd_fail(v, SD_PROBE_CORRUPT, "webp: VP8 chunk too short");
        if (!(p = sd_rd(v, 20, 10))) return sd_missing(v);
        if ((p[0] & 1) || p[3] != 0x9d || p[4] != 0x01 || p[5] != 0x2a)
            return sd_fail(v, SD_PROBE_CORRUPT, "webp: VP8 key frame header missing");
        return image_ok(v, out, "webp", sd_le16(p + 6) & 0x3fff, sd_le16(p + 8) & 0x3fff);
    }
    if (memcmp(p + 12, "VP8L", 4) == 0) {
        uint32_t b;
        if (csize < 5) return sd_fail(v, SD_PROBE_CORRUPT, "webp: VP8L chunk too short");
        if (!(p = sd_rd(v, 20, 5))) return sd_missing(v);
        if (p[0] != 0x2f) return sd_fail(v, SD_PROBE_CORRUPT, "webp: VP8L signature missing");
        b = sd_le32(p + 1);
        if (b >> 29) return sd_fail(v, SD_PROBE_CORRUPT, "webp: VP8L version %u", b >> 29);
        return image_ok(v, out, "webp", (b & 0x3fff) + 1, ((b >> 14) & 0x3fff) + 1);
    }
    if (memcmp(p + 12, "VP8X", 4) == 0) {
        if (csize < 10) return sd_fail(v, SD_PROBE_CORRUPT, "webp: VP8X chunk too short");
        if (!(p = sd_rd(v, 20, 10))) return sd_missing(v);
        return image_ok(v, out, "webp", (uint64_t)sd_le24(p + 4) + 1,
                        (uint64_t)sd_le24(p + 7) + 1);
    }
    return sd_fail(v, SD_PROBE_CORRUPT, "webp: first chunk is not VP8, VP8L or VP8X");
}

/* ---- BMP ----------------------------------------------------------------------------- */

int sd_probe_bmp(sd_view *v, sd_probe_result *out)
{
    const unsigned char *p;
    uint32_t dib;
    int64_t w, h;
    if (!(p = sd_rd(v, 0, 26))) return sd_missing(v);
    dib = sd_le32(p + 14);
    if (dib == 12) { /* BITMAPCOREHEADER: unsigned 16-bit sides */
        w = sd_le16(p + 18);
        h = sd_le16(p + 20);
    } else { /* BITMAPINFOHEADER and later, OS/2 2.x: signed 32-bit, height < 0 = top-down */
        w = (int32_t)sd_le32(p + 18);
        h = (int32_t)sd_le32(p + 22);
        if (h < 0) h = -h;
    }
    if (w <= 0 || h <= 0)
        return sd_fail(v, SD_PROBE_CORRUPT, "bmp: impossible size %lldx%lld", (long long)w,
                       (long long)h);
    return image_ok(v, out, "bmp", (uint64_t)w, (uint64_t)h);
}

/* ---- TIFF ---------------------------------------------------------------------------- */

int sd_probe_tiff(sd_view *v, sd_probe_result *out)
{
    const unsigned char *p;
    int le, big;
    uint64_t ifd, count, i, w = 0, h = 0, esz;
    if (!(p = sd_rd(v, 0, 8))) return sd_missing(v);
    le = p[0] == 'I';
    big = (le ? sd_le16(p + 2) : sd_be16(p + 2)) == 43;
    if (big) { /* BigTIFF: offset size 8, zero, 64-bit first IFD offset */
        if ((le ? sd_le16(p + 4) : sd_be16(p + 4)) != 8 || (p[6] | p[7]))
            return sd_fail(v, SD_PROBE_CORRUPT, "tiff: bad BigTIFF header");
        if (!(p = sd_rd(v, 8, 8))) return sd_missing(v);
        ifd = le ? sd_le64(p) : sd_be64(p);
    } else {
        ifd = le ? sd_le32(p + 4) : sd_be32(p + 4);
    }
    if (ifd < 8) return sd_fail(v, SD_PROBE_CORRUPT, "tiff: first IFD at offset %llu",
                                (unsigned long long)ifd);
    v->hint_end = ifd + (big ? 8 + 32 * 20 + 8 : 2 + 32 * 12 + 4); /* most IFDs: < 32 tags */
    if (!(p = sd_rd(v, ifd, big ? 8 : 2))) return sd_missing(v);
    count = big ? (le ? sd_le64(p) : sd_be64(p)) : (le ? sd_le16(p) : sd_be16(p));
    esz = big ? 20 : 12;
    if (count == 0 || count > 0xffff)
        return sd_fail(v, SD_PROBE_CORRUPT, "tiff: IFD with %llu entries",
                       (unsigned long long)count);
    ifd += big ? 8 : 2;
    v->hint_end = ifd + count * esz;
    for (i = 0; i < count && !(w && h); i++) {
        uint32_t tag, type;
        uint64_t n, val;
        if (!(p = sd_rd(v, ifd + i * esz, esz))) return sd_missing(v);
        tag = le ? sd_le16(p) : sd_be16(p);
        if (tag != 256 && tag != 257) continue;
        type = le ? sd_le16(p + 2) : sd_be16(p + 2);
        n = big ? (le ? sd_le64(p + 4) : sd_be64(p + 4)) : (le ? sd_le32(p + 4) : sd_be32(p + 4));
        p += big ? 12 : 8; /* the value, left-justified in its field */
        if (n < 1) return sd_fail(v, SD_PROBE_CORRUPT, "tiff: empty size tag");
        if (type == 3) val = le ? sd_le16(p) : sd_be16(p);
        else if (type == 4) val = le ? sd_le32(p) : sd_be32(p);
        else if (type == 16 && big) val = le ? sd_le64(p) : sd_be64(p);
        else return sd_fail(v, SD_PROBE_CORRUPT, "tiff: size tag of type %u", (unsigned)type);
        if (tag == 256) w = val;
        else h = val;
    }
    if (!w || !h) return sd_fail(v, SD_PROBE_CORRUPT, "tiff: no ImageWidth/ImageLength");
    return image_ok(v, out, "tiff", w, h);
}
