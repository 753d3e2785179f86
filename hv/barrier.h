/*
 * hv/barrier.h - carrying out barriers on this machine (the decision is
 * policy.c's). What the CPU offers decides whether a barrier really runs:
 *   hardware  the CPU enumerates IBPB: wrmsr PRED_CMD executes it;
 *   forced    the config says force_wrmsr: the wrmsr is executed although
 *             the CPU does not enumerate IBPB (an emulator that accepts it);
 *   virtual   neither: the barrier is counted and traced, nothing executes.
 */
#ifndef HV_BARRIER_H
#define HV_BARRIER_H

#include "core.h"

enum barrier_mode { BARRIER_HARDWARE, BARRIER_FORCED, BARRIER_VIRTUAL, BARRIER_UNAVAILABLE };
extern const char *const barrier_mode_names[];

struct barrier_caps {
	enum barrier_mode mode;        /* how hv's own barriers are carried out */
	bool cpu_ibpb;                 /* CPUID enumerates IBPB */
	bool cpu_ibpb_ret;             /* IBPB also flushes return predictions */
	bool cpu_sbpb;                 /* AMD SBPB */
	bool offer_guest;              /* guests see IBPB in CPUID, may write PRED_CMD */
	enum barrier_track track;      /* effective: trap if writes cannot pass through */
};
extern struct barrier_caps barrier_caps;
extern struct barrier_ctx barrier_ctx;
/* Held around each barrier decision and its trace record (sched.c, vcpu.c). */
extern struct spinlock policy_lock;

void barrier_init(const struct hv_config *cfg);
/* Issue one IBPB now (or record it), with return-stack stuffing if needed. */
void barrier_execute(void);
/* A guest's SBPB (PRED_CMD bit 7 alone). */
void barrier_execute_sbpb(void);
/* Do guests get SBPB (PRED_CMD bit 7, CPUID 8000_0021h EAX[27])? Only where
 * the CPU has it and hv offers IBPB: elsewhere bit 7 is reserved (#GP) in
 * every mode, as the CPU itself answers once writes pass through. */
static inline bool guest_has_sbpb(void)
{
	return barrier_caps.offer_guest && barrier_caps.cpu_sbpb;
}
/* Stuff the return stack buffer (asm). */
void rsb_stuff(void);

#endif
