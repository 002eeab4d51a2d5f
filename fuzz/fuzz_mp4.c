/* fuzz_mp4.c: MP4/MOV (moov at either end, 64-bit and to-the-end box sizes, fragments). */
#include "fuzz_common.h"

static int mp4_family(sd_view *v, sd_probe_result *out, const char *fmt)
{
    return sd_probe_mp4(v, out, fmt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(data, size, mp4_family, "mp4");
    return 0;
}
