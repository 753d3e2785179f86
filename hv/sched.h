/*
 * hv/sched.h - the vCPU scheduler (sched.c): per-pCPU run loops, and the
 * guest timers it serves on each pCPU's one hardware timer.
 */
#ifndef HV_SCHED_H
#define HV_SCHED_H

#include "vm.h"

/* Run p's queue until every VM has ended; the last pCPU prints the report. */
void sched_run(struct pcpu *p) __attribute__((noreturn));
/* Guest timers on hv's per-pCPU timer (sched.c). After hv's timer fired
 * with v running on p: fire due guest timers; true if v's slice is over. */
bool sched_timer_tick(struct pcpu *p, struct vcpu *v);
/* v's guest-timer deadline may have changed: re-arm p's timer. */
void sched_timer_rearm(struct pcpu *p, struct vcpu *v);
/* CPU features of the guest register state switched at dispatch (set by
 * pcpu_init in main.c; the comments at their definitions say why). */
extern bool cpu_has_pku, cpu_fxsave_leak;

#endif
