/*
 * hv/sched.h - the vCPU scheduler (sched.c): per-pCPU run loops, and the
 * guest timers it serves on each pCPU's one hardware timer.
 */
#ifndef HV_SCHED_H
#define HV_SCHED_H

#include "core.h"

/* Run p's queue until every VM has ended; the last pCPU prints the report. */
void sched_run(struct pcpu *p) __attribute__((noreturn));
/* CPU features of the guest register state switched at dispatch (set by
 * pcpu_init in main.c; the comments at their definitions say why). */
extern bool cpu_has_pku, cpu_fxsave_leak;

#endif
