/* probe_mp4.c: MP4 / QuickTime MOV duration, size and frame rate from the moov box.
 *
 * The moov may come first (a "fast start" file) or after the media data (what cameras and
 * most encoders write): the top-level walk goes box by box, so with only the head of a file
 * it stops at the first box header it cannot see and reports it as SD_PROBE_NEED_MORE, with
 * need_hint covering the rest of the file; once the moov header is seen, need_hint covers
 * the rest of the moov. 64-bit box sizes (size 1) and "to the end" (size 0) are honoured.
 *
 * Read, at fixed depths (no recursion): moov > mvhd (duration), mvex > mehd (fragmented
 * duration) and trex (default sample duration), trak > tkhd (display size), trak > mdia >
 * mdhd (timescale, duration), hdlr (vide/soun), minf > stbl > stsd (coded size) and stts
 * (frame count and total ticks: fps = frames * timescale / ticks). Width and height are the
 * coded size of the first video sample entry (tkhd's when that is 0); rotation is ignored.
 * A fragmented file (mvex, an empty stts) is timed from its fragments: every top-level
 * moof > traf > tfhd/trun of the video track (or the audio one), one header read per
 * fragment, so such a file needs its total size known. */
#include "probe_int.h"

#define MAX_TRAKS 16
#define MAX_TREX 16
#define ALL_ONES32 0xffffffffu

typedef struct trak_info {
    uint32_t handler, track_id, timescale;
    uint64_t mdur;             /* media duration in timescale units, 0 = unknown */
    uint64_t tk_w, tk_h;       /* tkhd, integer part of 16.16 */
    uint64_t st_w, st_h;       /* first stsd entry (visual) */
    uint64_t samples;          /* stts: total samples */
    double ticks;              /* stts: total of count * delta */
} trak_info;

typedef struct moov_info {
    uint32_t timescale;
    uint64_t duration, fragment_duration;
    trak_info trak[MAX_TRAKS];
    int ntrak;
    uint32_t trex_id[MAX_TREX], trex_dur[MAX_TREX];
    int ntrex;
} moov_info;

/* Bytes [box content + skip, + len) of b, or NULL with the failure code in *rc. */
static const unsigned char *content(sd_view *v, const sd_box *b, uint64_t skip, uint64_t len,
                                    int *rc)
{
    const unsigned char *p;
    if (b->end - b->off < (uint64_t)b->hdr + skip + len) {
        *rc = sd_fail(v, SD_PROBE_CORRUPT, "%s: box at offset %llu is too short", v->fmt,
                      (unsigned long long)b->off);
        return NULL;
    }
    if (!(p = sd_rd(v, b->off + b->hdr + skip, len))) *rc = sd_missing(v);
    return p;
}

static int read_stbl(sd_view *v, const sd_box *stbl, trak_info *t)
{
    uint64_t off = stbl->off + stbl->hdr;
    const unsigned char *p;
    sd_box b;
    int rc = SD_PROBE_OK;
    while (off < stbl->end) {
        if ((rc = sd_box_read(v, off, stbl->end, &b)) != SD_PROBE_OK) return rc;
        if (b.type == SD_FOURCC('s', 't', 's', 'd')) {
            uint32_t n;
            if (!(p = content(v, &b, 0, 8, &rc))) return rc;
            n = sd_be32(p + 4);
            /* first sample entry: size, format, 6 reserved, dref index, then for a visual
             * entry 16 bytes of version/vendor/quality and the 16-bit width and height */
            if (n >= 1 && b.end - b.off >= (uint64_t)b.hdr + 8 + 36) {
                if (!(p = content(v, &b, 8, 36, &rc))) return rc;
                t->st_w = sd_be16(p + 32);
                t->st_h = sd_be16(p + 34);
            }
        } else if (b.type == SD_FOURCC('s', 't', 't', 's')) {
            uint32_t n, i;
            if (!(p = content(v, &b, 0, 8, &rc))) return rc;
            n = sd_be32(p + 4);
            if ((uint64_t)n * 8 > b.end - b.off - b.hdr - 8)
                return sd_fail(v, SD_PROBE_CORRUPT, "%s: stts with %u entries overflows its box",
                               v->fmt, (unsigned)n);
            if (n > 0) {
                if (!(p = content(v, &b, 8, (uint64_t)n * 8, &rc))) return rc;
                t->samples = 0;
                t->ticks = 0;
                for (i = 0; i < n; i++) {
                    uint32_t count = sd_be32(p + 8 * (size_t)i), delta = sd_be32(p + 8 * (size_t)i + 4);
                    t->samples += count;
                    t->ticks += (double)count * delta;
                }
            }
        }
        off = b.end;
    }
    return rc;
}

/* Walk the children of parent, calling the reader for each of the wanted types. */
static int read_mdia(sd_view *v, const sd_box *mdia, trak_info *t)
{
    uint64_t off = mdia->off + mdia->hdr;
    const unsigned char *p;
    sd_box b, c, d;
    int rc = SD_PROBE_OK;
    while (off < mdia->end) {
        if ((rc = sd_box_read(v, off, mdia->end, &b)) != SD_PROBE_OK) return rc;
        if (b.type == SD_FOURCC('m', 'd', 'h', 'd')) {
            if (!(p = content(v, &b, 0, 4, &rc))) return rc;
            if (p[0] == 1) {
                if (!(p = content(v, &b, 20, 12, &rc))) return rc;
                t->timescale = sd_be32(p);
                t->mdur = sd_be64(p + 4);
                if (t->mdur == UINT64_MAX) t->mdur = 0;
            } else {
                if (!(p = content(v, &b, 12, 8, &rc))) return rc;
                t->timescale = sd_be32(p);
                t->mdur = sd_be32(p + 4);
                if (t->mdur == ALL_ONES32) t->mdur = 0;
            }
        } else if (b.type == SD_FOURCC('h', 'd', 'l', 'r')) {
            if (!(p = content(v, &b, 8, 4, &rc))) return rc;
            t->handler = sd_be32(p);
        } else if (b.type == SD_FOURCC('m', 'i', 'n', 'f')) {
            uint64_t o2 = b.off + b.hdr;
            while (o2 < b.end) {
                if ((rc = sd_box_read(v, o2, b.end, &c)) != SD_PROBE_OK) return rc;
                if (c.type == SD_FOURCC('s', 't', 'b', 'l')) {
                    d = c;
                    if ((rc = read_stbl(v, &d, t)) != SD_PROBE_OK) return rc;
                }
                o2 = c.end;
            }
        }
        off = b.end;
    }
    return rc;
}

static int read_trak(sd_view *v, const sd_box *trak, trak_info *t)
{
    uint64_t off = trak->off + trak->hdr;
    const unsigned char *p;
    sd_box b;
    int rc = SD_PROBE_OK;
    while (off < trak->end) {
        if ((rc = sd_box_read(v, off, trak->end, &b)) != SD_PROBE_OK) return rc;
        if (b.type == SD_FOURCC('t', 'k', 'h', 'd')) {
            if (!(p = content(v, &b, 0, 4, &rc))) return rc;
            if (p[0] == 1) {
                if (!(p = content(v, &b, 0, 96, &rc))) return rc;
                t->track_id = sd_be32(p + 20);
                t->tk_w = sd_be32(p + 88) >> 16;
                t->tk_h = sd_be32(p + 92) >> 16;
            } else {
                if (!(p = content(v, &b, 0, 84, &rc))) return rc;
                t->track_id = sd_be32(p + 12);
                t->tk_w = sd_be32(p + 76) >> 16;
                t->tk_h = sd_be32(p + 80) >> 16;
            }
        } else if (b.type == SD_FOURCC('m', 'd', 'i', 'a')) {
            if ((rc = read_mdia(v, &b, t)) != SD_PROBE_OK) return rc;
        }
        off = b.end;
    }
    return rc;
}

static int read_mvex(sd_view *v, const sd_box *mvex, moov_info *m)
{
    uint64_t off = mvex->off + mvex->hdr;
    const unsigned char *p;
    sd_box b;
    int rc = SD_PROBE_OK;
    while (off < mvex->end) {
        if ((rc = sd_box_read(v, off, mvex->end, &b)) != SD_PROBE_OK) return rc;
        if (b.type == SD_FOURCC('m', 'e', 'h', 'd')) {
            if (!(p = content(v, &b, 0, 4, &rc))) return rc;
            if (p[0] == 1) {
                if (!(p = content(v, &b, 4, 8, &rc))) return rc;
                m->fragment_duration = sd_be64(p);
            } else {
                if (!(p = content(v, &b, 4, 4, &rc))) return rc;
                m->fragment_duration = sd_be32(p);
            }
        } else if (b.type == SD_FOURCC('t', 'r', 'e', 'x') && m->ntrex < MAX_TREX) {
            if (!(p = content(v, &b, 0, 16, &rc))) return rc;
            m->trex_id[m->ntrex] = sd_be32(p + 4);
            m->trex_dur[m->ntrex] = sd_be32(p + 12);
            m->ntrex++;
        }
        off = b.end;
    }
    return rc;
}

static int read_moov(sd_view *v, const sd_box *moov, moov_info *m)
{
    uint64_t off = moov->off + moov->hdr;
    const unsigned char *p;
    sd_box b;
    int rc = SD_PROBE_OK;
    while (off < moov->end) {
        if ((rc = sd_box_read(v, off, moov->end, &b)) != SD_PROBE_OK) return rc;
        if (b.type == SD_FOURCC('c', 'm', 'o', 'v'))
            return sd_fail(v, SD_PROBE_UNSUPPORTED, "%s: compressed movie header (cmov)",
                           v->fmt);
        if (b.type == SD_FOURCC('m', 'v', 'h', 'd')) {
            if (!(p = content(v, &b, 0, 4, &rc))) return rc;
            if (p[0] == 1) {
                if (!(p = content(v, &b, 20, 12, &rc))) return rc;
                m->timescale = sd_be32(p);
                m->duration = sd_be64(p + 4);
                if (m->duration == UINT64_MAX) m->duration = 0;
            } else {
                if (!(p = content(v, &b, 12, 8, &rc))) return rc;
                m->timescale = sd_be32(p);
                m->duration = sd_be32(p + 4);
                if (m->duration == ALL_ONES32) m->duration = 0;
            }
        } else if (b.type == SD_FOURCC('t', 'r', 'a', 'k') && m->ntrak < MAX_TRAKS) {
            trak_info *t = &m->trak[m->ntrak++];
            if ((rc = read_trak(v, &b, t)) != SD_PROBE_OK) return rc;
        } else if (b.type == SD_FOURCC('m', 'v', 'e', 'x')) {
            if ((rc = read_mvex(v, &b, m)) != SD_PROBE_OK) return rc;
        }
        off = b.end;
    }
    return rc;
}

/* Fragmented MP4 (an empty moov, then moof+mdat pairs): total the samples and ticks of
 * one track over every moof > traf > trun, with durations per sample, or the traf's tfhd
 * default, or the trex default. The walk reads one header per fragment. */
static int read_traf(sd_view *v, const sd_box *traf, uint32_t track_id, uint32_t trex_dur,
                     uint64_t *samples, double *ticks)
{
    uint64_t off = traf->off + traf->hdr;
    uint32_t dflt = trex_dur, flags;
    const unsigned char *p;
    sd_box b;
    int rc = SD_PROBE_OK, mine = 0;
    while (off < traf->end) {
        if ((rc = sd_box_read(v, off, traf->end, &b)) != SD_PROBE_OK) return rc;
        if (b.type == SD_FOURCC('t', 'f', 'h', 'd')) {
            uint64_t skip = 8;
            if (!(p = content(v, &b, 0, 8, &rc))) return rc;
            flags = sd_be24(p + 1);
            mine = sd_be32(p + 4) == track_id;
            if (flags & 0x01) skip += 8;
            if (flags & 0x02) skip += 4;
            if (mine && (flags & 0x08)) {
                if (!(p = content(v, &b, skip, 4, &rc))) return rc;
                dflt = sd_be32(p);
            }
        } else if (b.type == SD_FOURCC('t', 'r', 'u', 'n') && mine) {
            uint32_t n, i, esz = 0, at;
            uint64_t skip = 8;
            if (!(p = content(v, &b, 0, 8, &rc))) return rc;
            flags = sd_be24(p + 1);
            n = sd_be32(p + 4);
            if (flags & 0x01) skip += 4;
            if (flags & 0x04) skip += 4;
            at = esz; /* the duration comes first in each entry */
            if (flags & 0x100) esz += 4;
            if (flags & 0x200) esz += 4;
            if (flags & 0x400) esz += 4;
            if (flags & 0x800) esz += 4;
            if ((uint64_t)n * esz > b.end - b.off - b.hdr - skip)
                return sd_fail(v, SD_PROBE_CORRUPT, "%s: trun with %u samples overflows its box",
                               v->fmt, (unsigned)n);
            *samples += n;
            if (!(flags & 0x100)) {
                *ticks += (double)n * dflt;
            } else if (n > 0) {
                if (!(p = content(v, &b, skip, (uint64_t)n * esz, &rc))) return rc;
                for (i = 0; i < n; i++) *ticks += sd_be32(p + (size_t)i * esz + at);
            }
        }
        off = b.end;
    }
    return rc;
}

static int read_fragments(sd_view *v, uint32_t track_id, uint32_t trex_dur, uint64_t *samples,
                          double *ticks)
{
    uint64_t off = 0;
    sd_box b, c;
    int rc;
    v->hint_end = v->total == SD_PROBE_SIZE_UNKNOWN ? 0 : v->total;
    while (!sd_at_end(v, off)) {
        if ((rc = sd_box_read(v, off, v->total, &b)) != SD_PROBE_OK) return rc;
        if (b.type == SD_FOURCC('m', 'o', 'o', 'f') && b.end != SD_PROBE_SIZE_UNKNOWN) {
            uint64_t o2 = b.off + b.hdr;
            while (o2 < b.end) {
                if ((rc = sd_box_read(v, o2, b.end, &c)) != SD_PROBE_OK) return rc;
                if (c.type == SD_FOURCC('t', 'r', 'a', 'f')
                    && (rc = read_traf(v, &c, track_id, trex_dur, samples, ticks)) != SD_PROBE_OK)
                    return rc;
                o2 = c.end;
            }
        }
        if (b.end == SD_PROBE_SIZE_UNKNOWN) break;
        off = b.end;
    }
    return SD_PROBE_OK;
}

int sd_probe_mp4(sd_view *v, sd_probe_result *out, const char *fmt)
{
    sd_box moov;
    moov_info m;
    const trak_info *vid = NULL, *aud = NULL;
    double dur = -1;
    int rc, i;

    if ((rc = sd_box_find_top(v, SD_FOURCC('m', 'o', 'o', 'v'), "moov box (movie header)",
                              &moov)) != SD_PROBE_OK)
        return rc;
    if (moov.end == SD_PROBE_SIZE_UNKNOWN)
        return sd_fail(v, SD_PROBE_UNSUPPORTED, "%s: moov box runs to an unknown end", fmt);
    v->hint_end = moov.end; /* from here on, ask for the rest of the moov at once */
    {
        trak_info zero = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        m.timescale = 0;
        m.duration = m.fragment_duration = 0;
        m.ntrak = m.ntrex = 0;
        for (i = 0; i < MAX_TRAKS; i++) m.trak[i] = zero;
    }
    if ((rc = read_moov(v, &moov, &m)) != SD_PROBE_OK) return rc;

    for (i = 0; i < m.ntrak; i++) {
        const trak_info *t = &m.trak[i];
        if (t->handler == SD_FOURCC('v', 'i', 'd', 'e') && !vid) vid = t;
        if (t->handler == SD_FOURCC('s', 'o', 'u', 'n') && !aud) aud = t;
    }
    if (!vid && !aud) return sd_fail(v, SD_PROBE_CORRUPT, "%s: no video or audio track", fmt);

    if (m.timescale && m.duration) dur = (double)m.duration / m.timescale;
    else if (m.timescale && m.fragment_duration) dur = (double)m.fragment_duration / m.timescale;
    else {
        for (i = 0; i < m.ntrak; i++) {
            const trak_info *t = &m.trak[i];
            if (t->timescale && t->mdur && (double)t->mdur / t->timescale > dur)
                dur = (double)t->mdur / t->timescale;
        }
    }
    if (m.ntrex > 0 && (dur < 0 || (vid && !vid->samples))) {
        /* fragmented: the fragments hold the samples */
        const trak_info *t = vid ? vid : aud;
        uint32_t trex_dur = 0;
        uint64_t samples = 0;
        double ticks = 0;
        for (i = 0; i < m.ntrex; i++)
            if (m.trex_id[i] == t->track_id) trex_dur = m.trex_dur[i];
        if ((rc = read_fragments(v, t->track_id, trex_dur, &samples, &ticks)) != SD_PROBE_OK)
            return rc;
        if (dur < 0 && t->timescale && ticks > 0) dur = ticks / t->timescale;
        if (vid && samples && ticks > 0) {
            m.trak[vid - m.trak].samples = samples;
            m.trak[vid - m.trak].ticks = ticks;
        }
    }
    out->format = fmt;
    out->duration = dur;
    if (!vid) {
        out->type = "audio";
        return SD_PROBE_OK;
    }
    out->type = "video";
    out->width = vid->st_w ? vid->st_w : vid->tk_w;
    out->height = vid->st_h ? vid->st_h : vid->tk_h;
    if (!out->width || !out->height) {
        out->width = out->height = 0;
        return sd_fail(v, SD_PROBE_CORRUPT, "%s: video track without a size", fmt);
    }
    if (vid->timescale && vid->samples && vid->ticks > 0) {
        out->fps = (double)vid->samples * vid->timescale / vid->ticks;
    } else if (vid->timescale) { /* fragmented: the default sample duration */
        for (i = 0; i < m.ntrex; i++)
            if (m.trex_id[i] == vid->track_id && m.trex_dur[i])
                out->fps = (double)vid->timescale / m.trex_dur[i];
    }
    return SD_PROBE_OK;
}
