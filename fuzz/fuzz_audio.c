/* fuzz_audio.c: WAV (RIFF/RF64) and MPEG audio (ID3v2, Xing/Info, VBRI, CBR). */
#include "fuzz_common.h"

static int audio_family(sd_view *v, sd_probe_result *out, const char *fmt)
{
    (void)fmt;
    if (v->pc[0].n >= 4 && (!memcmp(v->pc[0].p, "RIFF", 4) || !memcmp(v->pc[0].p, "RF64", 4)
                            || !memcmp(v->pc[0].p, "BW64", 4)))
        return sd_probe_wav(v, out);
    return sd_probe_mpa(v, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(data, size, audio_family, "audio");
    return 0;
}
