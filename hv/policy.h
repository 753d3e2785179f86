/*
 * hv/policy.h - the IBPB barrier policy (DESIGN.md section 2), pure logic.
 *
 * The contract, per physical CPU p, when vCPU v of VM V is about to enter p:
 *  I1  p holds no predictions trained by another VM since p's last barrier
 *      (waived when V is configured ibpb = never);
 *  I2  if V has opted in (a vCPU of V wrote PRED_CMD bit 0, or V is
 *      configured ibpb = always): p holds no predictions trained by another
 *      vCPU of V, nor by v itself before v's latest guest IBPB (a guest's IBPB
 *      cleans only the pCPU it ran on: the January 2026 migration hole).
 *
 * State kept to decide that exactly, in O(1) per entry:
 *  - per pCPU: the set of VMs with predictions on p since its last barrier
 *    (a bit mask), and whether exactly one vCPU ("only") or several ran there,
 *    with the time the only one first entered;
 *  - per vCPU: the pCPU it entered last, the time of its latest guest IBPB
 *    hv saw, and whether its PRED_CMD writes still exit (passthrough drops
 *    the intercept after the first write; from then on hv must assume an
 *    IBPB whenever the vCPU ran somewhere else);
 *  - per VM: opted in or not.
 * Time is a counter that advances at every entry and every guest IBPB.
 *
 * Everything here is pure: ids, not pointers into hv's objects, so the host
 * tests and the exhaustive checker drive the very same code hv runs. The
 * caller serialises calls (hv holds the scheduler lock).
 */
#ifndef HV_POLICY_H
#define HV_POLICY_H

#include "config.h"

#define BAR_NONE (-1)
#define BAR_MANY (-2)
#define PRED_CMD_BIT_IBPB 0x1ull   /* IA32_PRED_CMD bit 0 */
#define PRED_CMD_BIT_SBPB 0x80ull  /* bit 7, AMD: selective barrier */

enum bar_reason {
	/* a barrier was issued because ... */
	BAR_ISSUED_CROSS_VM,   /* I1: another VM's predictions were on p */
	BAR_ISSUED_INTRA_VM,   /* I2: another vCPU of this (opted-in) VM */
	BAR_ISSUED_MIGRATION,  /* I2: v's own predictions from before its latest IBPB */
	BAR_ISSUED_CONFIG,     /* intra-VM or migration, needed only because of ibpb = always */
	BAR_ISSUED_POLICY,     /* the policy's rule, though the contract did not need it */
	/* no barrier was issued because ... */
	BAR_SKIP_CLEAN,        /* nothing on p that v must not see */
	BAR_SKIP_NOT_OPTED,    /* only this VM's vCPUs, and the VM never asked for IBPB */
	BAR_SKIP_CONFIG,       /* the VM is configured ibpb = never */
	BAR_SKIP_HOLE,         /* the contract needed one and the policy skipped it */
	BAR_REASONS
};
extern const char *const bar_reason_names[BAR_REASONS];
static inline bool bar_reason_issued(enum bar_reason r) { return r <= BAR_ISSUED_POLICY; }

struct vm_barrier {
	unsigned id;            /* < 32 */
	enum vm_ibpb knob;
	bool guest_opted;       /* a vCPU wrote PRED_CMD with bit 0 set */
};

struct vcpu_barrier {
	unsigned gid;           /* unique across VMs */
	unsigned vm;            /* vm_barrier.id */
	int last_pcpu;          /* BAR_NONE before the first entry */
	u64 last_ibpb;          /* time of the latest guest IBPB hv saw, 0 = none */
	bool passthrough;       /* PRED_CMD writes no longer exit */
	u64 ibpb_writes_seen;   /* PRED_CMD writes with bit 0 that exited */
};

struct pcpu_barrier {
	unsigned id;
	int last_vcpu;          /* gid entered last, BAR_NONE at boot */
	int only;               /* gid, BAR_NONE (clean) or BAR_MANY */
	u64 only_since;         /* when `only` first entered since the barrier */
	u32 vm_mask;            /* VMs with predictions on p since its barrier */
	bool only_stale;        /* `only`'s predictions here are known to predate
				   its latest IBPB (a needed barrier was skipped) */
};

struct barrier_ctx {
	enum barrier_policy policy;
	enum barrier_track track;
	u64 now;                /* starts at 1 */
};

struct bar_decision {
	bool barrier;           /* issue one now, immediately before entry */
	bool required;          /* what the contract demands (for reports) */
	enum bar_reason reason;
};

void barrier_ctx_init(struct barrier_ctx *c, enum barrier_policy p, enum barrier_track t);
void barrier_pcpu_init(struct pcpu_barrier *p, unsigned id);
void barrier_vcpu_init(struct vcpu_barrier *v, unsigned gid, unsigned vm);
void barrier_vm_init(struct vm_barrier *vm, unsigned id, enum vm_ibpb knob);

/*
 * v (of vm) is about to enter p. Decide whether to issue a barrier, and
 * update the state as if the decision was carried out and v entered.
 */
struct bar_decision barrier_on_entry(struct barrier_ctx *c, struct pcpu_barrier *p,
				     struct vcpu_barrier *v, struct vm_barrier *vm);

/*
 * A PRED_CMD write by v on p exited to hv. value is what the guest wrote
 * (already checked for reserved bits). hv performs the barrier (or records
 * it). Returns true if the caller must now stop intercepting v's PRED_CMD
 * writes (track = passthrough, first IBPB write).
 */
bool barrier_on_guest_pred_cmd(struct barrier_ctx *c, struct pcpu_barrier *p,
			       struct vcpu_barrier *v, struct vm_barrier *vm, u64 value);

static inline bool barrier_vm_opted(const struct vm_barrier *vm)
{
	if (vm->knob == VM_IBPB_NEVER)
		return false;
	return vm->knob == VM_IBPB_ALWAYS || vm->guest_opted;
}

#endif
