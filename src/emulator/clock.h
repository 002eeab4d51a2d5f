/* clock.h: the emulator's notion of time. Wall clock for what the app reports
 * (timestamps in answers), monotonic for what it waits on (delays), so that a
 * clock step never shortens or stretches a "slow answer". */
#ifndef SEEDANCE_EMU_CLOCK_H
#define SEEDANCE_EMU_CLOCK_H

double emu_clock_now(void);        /* unix seconds, sub-second precision */
double emu_clock_monotonic(void);  /* seconds since an arbitrary origin */
/* Sleeps up to `seconds`; returns 0 when the whole time passed, -1 when a
 * signal cut it short (so lua.c's SIGINT hook gets to run). */
int emu_clock_sleep(double seconds);

#endif
