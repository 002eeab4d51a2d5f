/* sample_mp4.h: the MP4 every emulated generation serves (see sample_mp4.c). */
#ifndef SEEDANCE_EMU_SAMPLE_MP4_H
#define SEEDANCE_EMU_SAMPLE_MP4_H

#include <stddef.h>

/* Writes the video's bytes to `out` (unless NULL) and returns how many there are. */
size_t emu_sample_mp4(unsigned char *out);

#endif
