/* probe_heif.c: HEIF/HEIC (and AVIF, the same container) image size from the 'ispe'
 * property of the primary item: meta > pitm names the item, meta > iprp > ipma lists its
 * properties as indices into meta > iprp > ipco. An iPhone HEIC's primary item is a grid
 * whose ispe is the full picture, while its 512x512 tiles have their own: so the primary
 * item's ispe is the answer, and only without pitm/ipma is the largest ispe used. */
#include "probe_int.h"

#define MAX_ISPE 64

typedef struct ispe_rec {
    uint32_t index, w, h;
} ispe_rec;

static int read_ipco(sd_view *v, const sd_box *ipco, ispe_rec *tab, int *ntab)
{
    uint64_t off = ipco->off + ipco->hdr;
    uint32_t index = 0;
    sd_box b;
    int rc;
    while (off < ipco->end) {
        if ((rc = sd_box_read(v, off, ipco->end, &b)) != SD_PROBE_OK) return rc;
        index++;
        if (b.type == SD_FOURCC('i', 's', 'p', 'e') && *ntab < MAX_ISPE) {
            const unsigned char *p;
            if (b.end - b.off < (uint64_t)b.hdr + 12)
                return sd_fail(v, SD_PROBE_CORRUPT, "%s: ispe box too short", v->fmt);
            if (!(p = sd_rd(v, b.off + b.hdr, 12))) return sd_missing(v);
            tab[*ntab].index = index;
            tab[*ntab].w = sd_be32(p + 4);
            tab[*ntab].h = sd_be32(p + 8);
            (*ntab)++;
        }
        off = b.end;
    }
    return SD_PROBE_OK;
}

/* The ispe associated with item in ipma, as an index into tab, or -1. */
static int read_ipma(sd_view *v, const sd_box *ipma, uint32_t item, const ispe_rec *tab,
                     int ntab, int *found)
{
    const unsigned char *p;
    uint64_t off = ipma->off + ipma->hdr, end = ipma->end;
    uint32_t entries, e;
    int version, wide;
    *found = -1;
    if (end - off < 8) return sd_fail(v, SD_PROBE_CORRUPT, "%s: ipma box too short", v->fmt);
    if (!(p = sd_rd(v, off, 8))) return sd_missing(v);
    version = p[0];
    wide = p[3] & 1; /* flags & 1: 16-bit property indices */
    entries = sd_be32(p + 4);
    off += 8;
    for (e = 0; e < entries; e++) {
        uint32_t id, nassoc, a, idlen = version < 1 ? 2 : 4, alen = wide ? 2 : 1;
        if (end - off < (uint64_t)idlen + 1)
            return sd_fail(v, SD_PROBE_CORRUPT, "%s: ipma entry overflows its box", v->fmt);
        if (!(p = sd_rd(v, off, idlen + 1))) return sd_missing(v);
        id = idlen == 2 ? sd_be16(p) : sd_be32(p);
        nassoc = p[idlen];
        off += idlen + 1;
        if (end - off < (uint64_t)nassoc * alen)
            return sd_fail(v, SD_PROBE_CORRUPT, "%s: ipma entry overflows its box", v->fmt);
        if (id != item) {
            off += (uint64_t)nassoc * alen;
            continue;
        }
        for (a = 0; a < nassoc; a++) {
            uint32_t idx;
            int t;
            if (!(p = sd_rd(v, off, alen))) return sd_missing(v);
            idx = wide ? (sd_be16(p) & 0x7fff) : (p[0] & 0x7fu);
            off += alen;
            for (t = 0; t < ntab; t++)
                if (tab[t].index == idx) {
                    *found = t;
                    return SD_PROBE_OK;
                }
        }
        return SD_PROBE_OK;
    }
    return SD_PROBE_OK;
}

int sd_probe_heif(sd_view *v, sd_probe_result *out, const char *fmt)
{
    sd_box meta, b, ipco = {0, 0, 0, 0}, ipma = {0, 0, 0, 0};
    ispe_rec tab[MAX_ISPE];
    int ntab = 0, have_pitm = 0, have_ipco = 0, have_ipma = 0, pick = -1, rc, t;
    uint32_t primary = 0;
    uint64_t off;
    const unsigned char *p;

    if ((rc = sd_box_find_top(v, SD_FOURCC('m', 'e', 't', 'a'), "meta box", &meta)) != 0)
        return rc;
    if (meta.end == SD_PROBE_SIZE_UNKNOWN) /* a size-0 meta in a file of unknown size */
        return sd_fail(v, SD_PROBE_UNSUPPORTED, "%s: meta box runs to an unknown end", fmt);
    v->hint_end = meta.end;
    off = meta.off + meta.hdr + 4; /* full box: version and flags */
    while (off < meta.end) {
        if ((rc = sd_box_read(v, off, meta.end, &b)) != SD_PROBE_OK) return rc;
        if (b.type == SD_FOURCC('p', 'i', 't', 'm')) {
            if (b.end - b.off < (uint64_t)b.hdr + 6)
                return sd_fail(v, SD_PROBE_CORRUPT, "%s: pitm box too short", fmt);
            if (!(p = sd_rd(v, b.off + b.hdr, 6))) return sd_missing(v);
            if (p[0] >= 1 && b.end - b.off < (uint64_t)b.hdr + 8)
                return sd_fail(v, SD_PROBE_CORRUPT, "%s: pitm box too short", fmt);
            if (p[0] >= 1 && !(p = sd_rd(v, b.off + b.hdr, 8))) return sd_missing(v);
            primary = p[0] >= 1 ? sd_be32(p + 4) : sd_be16(p + 4);
            have_pitm = 1;
        } else if (b.type == SD_FOURCC('i', 'p', 'r', 'p')) {
            uint64_t o2 = b.off + b.hdr;
            sd_box c;
            while (o2 < b.end) {
                if ((rc = sd_box_read(v, o2, b.end, &c)) != SD_PROBE_OK) return rc;
                if (c.type == SD_FOURCC('i', 'p', 'c', 'o') && !have_ipco) {
                    ipco = c;
                    have_ipco = 1;
                } else if (c.type == SD_FOURCC('i', 'p', 'm', 'a') && !have_ipma) {
                    ipma = c;
                    have_ipma = 1;
                }
                o2 = c.end;
            }
        }
        off = b.end;
    }
    if (!have_ipco) return sd_fail(v, SD_PROBE_CORRUPT, "%s: no ipco (item properties)", fmt);
    if ((rc = read_ipco(v, &ipco, tab, &ntab)) != SD_PROBE_OK) return rc;
    if (ntab == 0) return sd_fail(v, SD_PROBE_CORRUPT, "%s: no ispe (image size) property", fmt);
    if (have_pitm && have_ipma) {
        if ((rc = read_ipma(v, &ipma, primary, tab, ntab, &pick)) != SD_PROBE_OK) return rc;
    }
    if (pick < 0) { /* no association: the largest picture declared */
        pick = 0;
        for (t = 1; t < ntab; t++)
            if ((uint64_t)tab[t].w * tab[t].h > (uint64_t)tab[pick].w * tab[pick].h) pick = t;
    }
    if (tab[pick].w == 0 || tab[pick].h == 0)
        return sd_fail(v, SD_PROBE_CORRUPT, "%s: impossible size %ux%u", fmt,
                       (unsigned)tab[pick].w, (unsigned)tab[pick].h);
    out->type = "image";
    out->format = fmt;
    out->width = tab[pick].w;
    out->height = tab[pick].h;
    return SD_PROBE_OK;
}
