/* fuzz_image.c: PNG, JPEG, GIF, WebP, BMP, TIFF. The first byte picks the parser, so one
 * target covers the family; the rest of the input is the file. */
#include "fuzz_common.h"

static int pick;

static int image_family(sd_view *v, sd_probe_result *out, const char *fmt)
{
    (void)fmt;
    switch (pick % 6) {
    case 0: return sd_probe_png(v, out);
    case 1: return sd_probe_jpeg(v, out);
    case 2: return sd_probe_gif(v, out);
    case 3: return sd_probe_webp(v, out);
    case 4: return sd_probe_bmp(v, out);
    default: return sd_probe_tiff(v, out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *f;
    if (size < 1) return 0;
    /* a file with a known signature goes to its own parser; anything else is dealt by byte 0 */
    f = sd_probe_sniff(data, size);
    if (f && !strcmp(f, "png")) pick = 0;
    else if (f && !strcmp(f, "jpeg")) pick = 1;
    else if (f && !strcmp(f, "gif")) pick = 2;
    else if (f && !strcmp(f, "webp")) pick = 3;
    else if (f && !strcmp(f, "bmp")) pick = 4;
    else if (f && !strcmp(f, "tiff")) pick = 5;
    else pick = data[0];
    fuzz_one(data, size, image_family, "image");
    return 0;
}
