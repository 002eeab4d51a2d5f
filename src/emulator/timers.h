/* timers.h: one thread that fires callbacks at monotonic deadlines.
 * The emulator uses it to resume suspended connections whose answer carries a
 * delay: hundreds of "slow" answers cost one heap entry each, not a thread
 * each, and the HTTP thread never sleeps. */
#ifndef SEEDANCE_EMU_TIMERS_H
#define SEEDANCE_EMU_TIMERS_H

#include <stddef.h>

typedef void (*emu_timer_fn)(void *arg);

struct emu_timers;

/* `fire` runs on the timer thread, without any timers lock held. */
struct emu_timers *emu_timers_new(emu_timer_fn fire, char *err, size_t errlen);
/* Schedules fire(arg) after `delay` seconds. Returns 0, or -1 when out of memory. */
int emu_timers_add(struct emu_timers *t, double delay, void *arg);
/* Stops and joins the thread, then hands every entry still pending to
 * `drain` (on the calling thread) so their owners can be released. */
void emu_timers_free(struct emu_timers *t, emu_timer_fn drain);

#endif
