/* fuzz_common.h: what every probe fuzz target does with one input, given its family's
 * parser. Three ways in:
 *  1. the family parser directly over the whole input (no signature needed to reach it);
 *  2. the dispatcher, sd_probe_buffer (signature sniffing, then the parser);
 *  3. the range-request loop a URL prober runs: start from the first 64 bytes of a file of
 *     known size, add exactly the [need_offset, need_offset + need_size) range each
 *     SD_PROBE_NEED_MORE asks for (or a 1 KiB block from there), and check the contract: the range lies inside the file,
 *     was not already given, and once the loop ends the answer is the whole-file answer.
 *  4. the same head with the size unknown, which must never read past what it was given.
 * Any violated invariant aborts, which libFuzzer reports as a crash. */
#ifndef SEEDANCE_FUZZ_COMMON_H
#define SEEDANCE_FUZZ_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe_int.h"

typedef int (*family_fn)(sd_view *v, sd_probe_result *out, const char *fmt);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_result(int rc, const sd_probe_result *r, const char *err)
{
    if (rc > 0 || rc < SD_PROBE_NEED_MORE) abort();
    if (err && rc != SD_PROBE_OK && err[0] == 0) abort(); /* every failure says why */
    if (rc == SD_PROBE_OK) {
        if (!r->type || !r->format) abort();
        if (r->duration != r->duration || r->fps != r->fps) abort(); /* NaN */
        if (isinf(r->duration) || isinf(r->fps)) abort();
    }
}

static int same(const sd_probe_result *a, const sd_probe_result *b)
{
    return a->type == b->type && a->format == b->format && a->width == b->width
        && a->height == b->height && a->bytes == b->bytes
        && (a->duration == b->duration || (a->duration != a->duration && b->duration != b->duration))
        && (a->fps == b->fps || (a->fps != a->fps && b->fps != b->fps));
}

static int covered(const sd_probe_piece *pc, size_t n, uint64_t off, uint64_t len)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (off >= pc[i].offset && off - pc[i].offset <= pc[i].n
            && len <= pc[i].n - (off - pc[i].offset))
            return 1;
    return 0;
}

static void fuzz_one(const uint8_t *data, size_t size, family_fn fn, const char *fmt)
{
    sd_probe_result whole, r;
    sd_probe_piece pc[SD_PROBE_MAX_PIECES];
    char err[256];
    size_t npc;
    uint64_t want;
    int rc, rc_whole;

    /* 1. the family parser, whole input */
    {
        sd_view v;
        memset(&v, 0, sizeof v);
        memset(&r, 0, sizeof r);
        r.duration = r.fps = -1;
        pc[0].p = data;
        pc[0].n = size;
        pc[0].offset = 0;
        v.pc = pc;
        v.npc = 1;
        v.total = size;
        v.fmt = fmt;
        v.err = err;
        v.errlen = sizeof err;
        err[0] = 0;
        rc = fn(&v, &r, fmt);
        if (rc == SD_PROBE_NEED_MORE) abort(); /* the whole file never needs more */
        check_result(rc, &r, err);
    }

    /* 2. the dispatcher */
    rc_whole = sd_probe_buffer(data, size, &whole, err, sizeof err);
    if (rc_whole == SD_PROBE_NEED_MORE) abort();
    check_result(rc_whole, &whole, err);

    /* 3. range requests against a known size */
    pc[0].p = data;
    pc[0].n = size < 64 ? size : 64;
    pc[0].offset = 0;
    npc = 1;
    for (;;) {
        /* messages are checked in 1 and 2; formatting them every round is slow */
        rc = sd_probe_pieces(pc, npc, size, &r, NULL, 0);
        check_result(rc, &r, NULL);
        if (rc != SD_PROBE_NEED_MORE) break;
        if (r.need_size == 0 || r.need_offset > size || r.need_size > size - r.need_offset)
            abort(); /* asked for bytes outside the file */
        if (r.need_hint < r.need_size) abort();
        if (covered(pc, npc, r.need_offset, r.need_size)) abort(); /* asked for what it has */
        if (npc == SD_PROBE_MAX_PIECES) return;
        /* odd sizes fetch the bare minimum (the most rounds), even ones a 1 KiB block */
        want = r.need_size;
        if (!(size & 1) && want < 1024) want = size - r.need_offset < 1024 ? size - r.need_offset : 1024;
        pc[npc].p = data + r.need_offset;
        pc[npc].n = (size_t)want;
        pc[npc].offset = r.need_offset;
        npc++;
    }
    if (rc != rc_whole) abort();
    if (rc == SD_PROBE_OK && !same(&r, &whole)) abort();

    /* 4. the same head, size unknown */
    pc[0].n = size < 64 ? size : 64;
    rc = sd_probe_pieces(pc, 1, SD_PROBE_SIZE_UNKNOWN, &r, NULL, 0);
    check_result(rc, &r, NULL);
    if (rc == SD_PROBE_NEED_MORE && (r.need_size == 0 || covered(pc, 1, r.need_offset, r.need_size)))
        abort();
}

#endif
