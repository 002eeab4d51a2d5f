/* probe_audio.c: WAV and MPEG audio (MP3; MP2/MP1 recognised) duration.
 *
 * WAV: the fmt chunk's byte rate and the data chunk's size (RIFF, RF64/BW64 with ds64; a
 * non-PCM file with a fact chunk uses its sample count). A data size larger than the file
 * (a truncated recording) counts only the bytes present.
 * MP3: skip ID3v2 tags, find the first frame (confirmed by the next frame's header, or by
 * a Xing/Info/VBRI header, or by the end of the file), then: Xing/Info or VBRI frame count
 * times samples per frame when present (VBR, and LAME's CBR "Info"), otherwise the audio
 * byte count over the bitrate (CBR), which needs the file's total size. */
#include <string.h>

#include "probe_int.h"

/* ---- WAV ----------------------------------------------------------------------------- */

int sd_probe_wav(sd_view *v, sd_probe_result *out)
{
    const unsigned char *p;
    uint64_t off = 12, data_off = 0, data_size = 0, ds64_data = 0, ds64_samples = 0;
    uint64_t fact_samples = 0;
    uint32_t tag = 0, rate = 0, byte_rate = 0;
    int have_fmt = 0, have_data = 0, rf64;
    if (!(p = sd_rd(v, 0, 12))) return sd_missing(v);
    rf64 = memcmp(p, "RIFF", 4) != 0;
    while (!(have_fmt && have_data)) {
        uint32_t size;
        if (sd_at_end(v, off)) break;
        if (!(p = sd_rd(v, off, 8))) return sd_missing(v);
        size = sd_le32(p + 4);
        if (memcmp(p, "fmt ", 4) == 0) {
            if (size < 16) return sd_fail(v, SD_PROBE_CORRUPT, "wav: fmt chunk too short");
            if (!(p = sd_rd(v, off + 8, 16))) return sd_missing(v);
            tag = sd_le16(p);
            rate = sd_le32(p + 4);
            byte_rate = sd_le32(p + 8);
            if (tag == 0xfffe && size >= 40) { /* WAVE_FORMAT_EXTENSIBLE: the GUID's tag */
                if (!(p = sd_rd(v, off + 8 + 24, 2))) return sd_missing(v);
                tag = sd_le16(p);
            }
            have_fmt = 1;
        } else if (memcmp(p, "ds64", 4) == 0 && rf64) {
            if (size < 24) return sd_fail(v, SD_PROBE_CORRUPT, "wav: ds64 chunk too short");
            if (!(p = sd_rd(v, off + 8, 24))) return sd_missing(v);
            ds64_data = sd_le64(p + 8);
            ds64_samples = sd_le64(p + 16);
        } else if (memcmp(p, "fact", 4) == 0 && size >= 4) {
            if (!(p = sd_rd(v, off + 8, 4))) return sd_missing(v);
            fact_samples = sd_le32(p);
        } else if (memcmp(p, "data", 4) == 0) {
            data_off = off + 8;
            data_size = size;
            if (rf64 && size == 0xffffffffu) data_size = ds64_data;
            else if (size == 0xffffffffu || (size == 0 && !sd_at_end(v, data_off)))
                data_size = UINT64_MAX; /* a streaming writer's placeholder: to the end */
            have_data = 1;
            if (data_size == UINT64_MAX) break;
        }
        if (rf64 && size == 0xffffffffu) break; /* a 64-bit chunk other than data */
        off += 8 + (uint64_t)size + (size & 1u);
    }
    if (!have_fmt) return sd_fail(v, SD_PROBE_CORRUPT, "wav: no fmt chunk");
    if (!have_data) return sd_fail(v, SD_PROBE_CORRUPT, "wav: no data chunk");
    if (v->total != SD_PROBE_SIZE_UNKNOWN) {
        uint64_t present = v->total > data_off ? v->total - data_off : 0;
        if (data_size > present) data_size = present;
    } else if (data_size == UINT64_MAX) {
        return sd_fail(v, SD_PROBE_UNSUPPORTED,
                       "wav: data runs to the end of a file of unknown size");
    }
    out->type = "audio";
    out->format = "wav";
    if (tag != 1 && tag != 3 && rate && (fact_samples || ds64_samples))
        out->duration = (double)(ds64_samples ? ds64_samples : fact_samples) / rate;
    else if (byte_rate)
        out->duration = (double)data_size / byte_rate;
    else
        return sd_fail(v, SD_PROBE_CORRUPT, "wav: byte rate 0");
    return SD_PROBE_OK;
}

/* ---- MPEG audio ---------------------------------------------------------------------- */

static const uint16_t kbps_tab[5][16] = {
    {0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0}, /* 1 L1 */
    {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0},    /* 1 L2 */
    {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0},     /* 1 L3 */
    {0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0},    /* 2 L1 */
    {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},         /* 2 L2/L3 */
};
static const uint32_t rate_tab[3][3] = {
    {44100, 48000, 32000}, {22050, 24000, 16000}, {11025, 12000, 8000}};

uint32_t sd_mpa_header(const unsigned char *p, uint32_t *rate, uint32_t *samples,
                       uint32_t *kbps, int *layer, int *mpeg1, int *mono)
{
    int ver, lay, bi, si, pad, m1, row;
    uint32_t br, sr, spf, len;
    if (p[0] != 0xff || (p[1] & 0xe0) != 0xe0) return 0;
    ver = (p[1] >> 3) & 3; /* 0 MPEG-2.5, 1 reserved, 2 MPEG-2, 3 MPEG-1 */
    lay = 4 - ((p[1] >> 1) & 3);
    bi = p[2] >> 4;
    si = (p[2] >> 2) & 3;
    pad = (p[2] >> 1) & 1;
    if (ver == 1 || lay == 4 || bi == 0 || bi == 15 || si == 3 || (p[3] & 3) == 2) return 0;
    m1 = ver == 3;
    row = m1 ? lay - 1 : (lay == 1 ? 3 : 4);
    br = kbps_tab[row][bi];
    sr = rate_tab[m1 ? 0 : ver == 2 ? 1 : 2][si];
    spf = lay == 1 ? 384 : (lay == 3 && !m1) ? 576 : 1152;
    if (lay == 1) len = (12000 * br / sr + (uint32_t)pad) * 4;
    else len = spf / 8 * 1000 * br / sr + (uint32_t)pad;
    if (len < 4) return 0;
    if (rate) *rate = sr;
    if (samples) *samples = spf;
    if (kbps) *kbps = br;
    if (layer) *layer = lay;
    if (mpeg1) *mpeg1 = m1;
    if (mono) *mono = (p[3] >> 6) == 3;
    return len;
}

/* sd_rd for what may legitimately be absent (past the end of the file): then NULL with no
 * failure left behind. Bytes that exist but were not given are still a failure (*need set),
 * so a file probed in pieces reads exactly like the whole file. */
static const unsigned char *opt_rd(sd_view *v, uint64_t off, uint64_t len, int *need)
{
    sd_view save = *v;
    const unsigned char *p = sd_rd(v, off, len);
    *need = 0;
    if (p) return p;
    if (v->code == SD_PROBE_NEED_MORE && save.code != SD_PROBE_NEED_MORE) {
        *need = 1;
        return NULL;
    }
    *v = save;
    return NULL;
}

#define MAX_ID3_TAGS 16
#define MAX_SCAN 65536 /* junk tolerated between the tags and the first frame */

int sd_probe_mpa(sd_view *v, sd_probe_result *out)
{
    const unsigned char *p;
    uint64_t off = 0, pos, audio_end;
    uint32_t len = 0, rate = 0, spf = 0, kbps = 0, frames = 0;
    int layer = 0, m1 = 0, mono = 0, tags, vbr = 0, need = 0;

    for (tags = 0; tags < MAX_ID3_TAGS; tags++) {
        if (sd_at_end(v, off)) break;
        if (!(p = sd_rd(v, off, 10))) return sd_missing(v);
        if (memcmp(p, "ID3", 3) != 0) break;
        if ((p[6] | p[7] | p[8] | p[9]) & 0x80)
            return sd_fail(v, SD_PROBE_CORRUPT, "mp3: ID3v2 tag size is not syncsafe");
        off += 10 + (((uint64_t)p[6] << 21) | ((uint64_t)p[7] << 14) | ((uint64_t)p[8] << 7) | p[9]);
        if (p[5] & 0x10) off += 10; /* footer */
    }
    for (pos = off;; pos++) {
        if (pos - off > MAX_SCAN)
            return sd_fail(v, SD_PROBE_CORRUPT, "mp3: no MPEG audio frame found");
        if (sd_at_end(v, pos))
            return sd_fail(v, SD_PROBE_CORRUPT, "mp3: no MPEG audio frame found");
        {   /* skip to the next 0xFF in what is at hand */
            uint64_t avail = 0, lim;
            const unsigned char *s = sd_span(v, pos, &avail), *ff;
            lim = MAX_SCAN + 1 - (pos - off);
            if (avail > lim) avail = lim;
            if (s && avail > 1) {
                ff = memchr(s, 0xff, (size_t)avail - 1);
                if (!ff) {
                    pos += avail - 2; /* the loop's pos++ lands on the last byte */
                    continue;
                }
                pos += (uint64_t)(ff - s);
            }
        }
        if (pos - off > MAX_SCAN || sd_at_end(v, pos))
            return sd_fail(v, SD_PROBE_CORRUPT, "mp3: no MPEG audio frame found");
        if (!(p = sd_rd(v, pos, 4))) {
            if (v->code == SD_PROBE_TRUNCATED)
                return sd_fail(v, SD_PROBE_CORRUPT, "mp3: no MPEG audio frame found");
            return sd_missing(v);
        }
        if (p[0] != 0xff) continue;
        len = sd_mpa_header(p, &rate, &spf, &kbps, &layer, &m1, &mono);
        if (!len) continue;
        /* a Xing/Info or VBRI header confirms the frame and gives the frame count */
        if (layer == 3) {
            uint64_t xo = pos + 4 + (m1 ? (mono ? 17 : 32) : (mono ? 9 : 17));
            const unsigned char *x;
            if ((x = opt_rd(v, xo, 12, &need)) && (!memcmp(x, "Xing", 4) || !memcmp(x, "Info", 4))) {
                if (x[7] & 1) frames = sd_be32(x + 8);
                vbr = 1;
            } else if (need) {
                return sd_missing(v);
            } else if ((x = opt_rd(v, pos + 36, 18, &need)) && !memcmp(x, "VBRI", 4)) {
                frames = sd_be32(x + 14);
                vbr = 1;
            } else if (need) {
                return sd_missing(v);
            }
        }
        if (vbr) break;
        {
            const unsigned char *q = opt_rd(v, pos + len, 4, &need);
            uint32_t r2 = 0;
            int l2 = 0;
            if (need) return sd_missing(v);
            if (!q) break; /* a last (or only) frame, maybe with a few stray bytes after it */
            if (sd_mpa_header(q, &r2, NULL, NULL, &l2, NULL, NULL) && r2 == rate && l2 == layer)
                break;
        }
    }
    out->type = "audio";
    out->format = layer == 3 ? "mp3" : layer == 2 ? "mp2" : "mp1";
    if (vbr && frames) {
        out->duration = (double)frames * spf / rate;
        return SD_PROBE_OK;
    }
    if (v->total == SD_PROBE_SIZE_UNKNOWN) return SD_PROBE_OK; /* CBR: duration unknown */
    audio_end = v->total;
    if (audio_end >= pos + 128) {
        if ((p = opt_rd(v, audio_end - 128, 3, &need)) && !memcmp(p, "TAG", 3))
            audio_end -= 128; /* ID3v1 */
        if (need) return sd_missing(v);
    }
    out->duration = (double)(audio_end - pos) * 8.0 / (kbps * 1000.0);
    return SD_PROBE_OK;
}
