/*
 * hv/exits.h - generic VM-exit reasons and per-reason statistics, shared by
 * the core and the (pure) report formatter.
 */
#ifndef HV_EXITS_H
#define HV_EXITS_H

#include "policy.h"

/* Each backend maps its own exit codes onto these. */
enum exit_reason {
	EXIT_IO,
	EXIT_MSR_READ,
	EXIT_MSR_WRITE,
	EXIT_CPUID,
	EXIT_HLT,
	EXIT_HYPERCALL,
	EXIT_INTR,        /* host interrupt (timer tick) */
	EXIT_SLICE,       /* the backend's own slice timer expired (VMX preemption timer) */
	EXIT_SHUTDOWN,    /* triple fault */
	EXIT_NPF,         /* nested/EPT page fault */
	EXIT_VIRT_INSN,   /* SVM/VMX instruction in the guest: #UD */
	EXIT_CACHE,       /* INVD / WBINVD */
	EXIT_XSETBV,
	EXIT_EXCEPTION,   /* intercepted guest exception */
	EXIT_INVALID,     /* VM entry failed: hv built a bad guest state */
	EXIT_EMULATED,    /* the backend emulated it (CR4 write, RDPMC); skip insn_len */
	EXIT_IRQ_WINDOW,  /* the guest can take an interrupt now (vendor->irq_window) */
	EXIT_PAUSE,       /* PAUSE (SVM pause filter / VT-x PAUSE-loop exiting, or each PAUSE) */
	EXIT_OTHER,
	EXIT_COUNT
};
extern const char *const exit_reason_names[EXIT_COUNT];

/* Scheduler entries and barrier decisions, per VM and per pCPU. */
struct bar_stats {
	u64 entries;               /* scheduler dispatches (each gets a decision) */
	u64 switches;              /* entries where the pCPU last ran another vCPU */
	u64 by_reason[BAR_REASONS];
};

static inline u64 bar_stats_issued(const struct bar_stats *s)
{
	u64 n = 0;
	for (int r = 0; r < BAR_REASONS; r++)
		if (bar_reason_issued((enum bar_reason)r))
			n += s->by_reason[r];
	return n;
}

#endif
