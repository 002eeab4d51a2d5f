/* fuzz_heif.c: HEIF/HEIC/AVIF (ISO-BMFF meta > iprp > ipco/ipma > ispe). */
#include "fuzz_common.h"

static int heif_family(sd_view *v, sd_probe_result *out, const char *fmt)
{
    return sd_probe_heif(v, out, fmt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(data, size, heif_family, "heif");
    return 0;
}
