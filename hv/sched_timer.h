/*
 * hv/sched_timer.h - guest timers on hv's per-pCPU timer (sched_timer.c).
 */
#ifndef HV_SCHED_TIMER_H
#define HV_SCHED_TIMER_H

#include "core.h"

/* After hv's timer fired with v running on p: fire due guest timers; true
 * if v's slice is over. */
bool sched_timer_tick(struct pcpu *p, struct vcpu *v);
/* v's guest-timer deadline may have changed: re-arm p's timer. */
void sched_timer_rearm(struct pcpu *p, struct vcpu *v);
/* (The running vCPU's new deadline: pcpu_timer_shorten, core.h.) The run
 * loop's part (sched.c): fire p's due sleepers (sleepers_tick asks the
 * count in line; pcpu_timer_arm, core.h, arms p's timer for v with
 * sleepers_tick's answer). */
u64 sleepers_tick_some(struct pcpu *p, u64 now);
static inline u64 sleepers_tick(struct pcpu *p, u64 now)
{
	if (!__atomic_load_n(&p->nsleepers, __ATOMIC_RELAXED))
		return 0;                      /* (the common case, in line) */
	return sleepers_tick_some(p, now);
}

#endif
