/* clock.c: time sources for the emulator (see clock.h). */
#include <errno.h>
#include <time.h>

#include "clock.h"

double emu_clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double emu_clock_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int emu_clock_sleep(double seconds)
{
    struct timespec ts;
    if (!(seconds > 0)) return 0;           /* also rejects NaN */
    if (seconds > 1e9) seconds = 1e9;       /* keep tv_sec representable */
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec > 999999999L) ts.tv_nsec = 999999999L;
    /* No retry loop on EINTR on purpose: the caller wants to notice Ctrl-C. */
    if (nanosleep(&ts, NULL) != 0 && errno == EINTR) return -1;
    return 0;
}
