/* clock.h: the engine's two clocks. Deadlines and timers use the monotonic one so a
 * wall-clock jump (NTP, suspend) can neither fire nor starve them. */
#ifndef SEEDANCE_CLOCK_H
#define SEEDANCE_CLOCK_H

double sd_monotonic(void);
double sd_walltime(void);
void sd_sleep(double seconds);

#endif
