/*
 * tests/unit/test_policy.c - hand-written scenario tests of the IBPB barrier
 * policy (hv/policy.c) against the contract in hv/policy.h.
 *
 * The world: pCPUs p0 and p1; VM 0 with vCPUs v0 v1 (gids 0, 1), VM 1 with
 * vCPUs v2 v3 (gids 2, 3). Every barrier_on_entry() call is checked for the
 * exact barrier / required / reason it returns; every PRED_CMD write for the
 * exact "stop intercepting" answer. tests/exhaustive.c checks the same code
 * against an independent oracle over all short event sequences; these tests
 * pin down the named situations by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define NP 2
#define NV 4
#define NVM 2

struct sim {
	struct barrier_ctx ctx;
	struct pcpu_barrier p[NP];
	struct vcpu_barrier v[NV];
	struct vm_barrier vm[NVM];
};

static struct sim sim;

static const enum barrier_policy all_policies[] = {
	POLICY_NEVER, POLICY_SWITCH, POLICY_SWITCH_MIGRATE, POLICY_GUEST,
};
static const enum barrier_track all_tracks[] = { TRACK_PASSTHROUGH, TRACK_TRAP };

static const char *pol_str(enum barrier_policy p)
{
	switch (p) {
	case POLICY_NEVER: return "never";
	case POLICY_SWITCH: return "switch";
	case POLICY_SWITCH_MIGRATE: return "switch-migrate";
	case POLICY_GUEST: return "guest";
	}
	return "?";
}

static const char *reason_str(enum bar_reason r)
{
	return (unsigned)r < BAR_REASONS ? bar_reason_names[r] : "?";
}

static void sim_init(enum barrier_policy pol, enum barrier_track track, enum vm_ibpb knob0,
		     enum vm_ibpb knob1)
{
	memset(&sim, 0xa5, sizeof(sim));   /* the init functions must set everything */
	barrier_ctx_init(&sim.ctx, pol, track);
	for (unsigned i = 0; i < NP; i++)
		barrier_pcpu_init(&sim.p[i], i);
	for (unsigned i = 0; i < NV; i++)
		barrier_vcpu_init(&sim.v[i], i, i / 2);
	barrier_vm_init(&sim.vm[0], 0, knob0);
	barrier_vm_init(&sim.vm[1], 1, knob1);
}

/* An expected decision. */
struct want {
	bool barrier, required;
	enum bar_reason reason;
};

/* vCPU v enters pCPU p; the decision must be exactly (barrier, required, reason). */
static void enter_at(unsigned v, unsigned p, struct want w, int line)
{
	bool barrier = w.barrier, required = w.required;
	enum bar_reason reason = w.reason;
	u64 now = sim.ctx.now;
	struct bar_decision d =
		barrier_on_entry(&sim.ctx, &sim.p[p], &sim.v[v], &sim.vm[sim.v[v].vm]);
	if (d.barrier != barrier || d.required != required || d.reason != reason)
		print_error("line %d: policy %s track %s: v%u enters p%u: expected barrier=%d "
			    "required=%d reason=%s, got barrier=%d required=%d reason=%s\n",
			    line, pol_str(sim.ctx.policy),
			    sim.ctx.track == TRACK_TRAP ? "trap" : "passthrough", v, p, barrier,
			    required, reason_str(reason), d.barrier, d.required,
			    reason_str(d.reason));
	assert_int_equal(d.barrier, barrier);
	assert_int_equal(d.required, required);
	assert_int_equal(d.reason, reason);
	/* an issued barrier has an "issued" reason, a skipped one a "skipped" reason */
	assert_int_equal(bar_reason_issued(d.reason), d.barrier);
	/* the state the header describes */
	assert_int_equal(sim.p[p].last_vcpu, (int)v);
	assert_int_equal(sim.v[v].last_pcpu, (int)p);
	assert_true(sim.p[p].vm_mask & BIT(sim.v[v].vm));
	if (d.barrier) {
		assert_int_equal(sim.p[p].vm_mask, BIT(sim.v[v].vm));
		assert_int_equal(sim.p[p].only, (int)v);
	}
	assert_int_equal(sim.ctx.now, now + 1);
}

/* vCPU v, running on p, writes value to PRED_CMD and it exits to hv. */
static void write_at(unsigned v, unsigned p, u64 value, bool stop_intercepting, int line)
{
	u64 now = sim.ctx.now;
	u64 seen = sim.v[v].ibpb_writes_seen;
	bool r = barrier_on_guest_pred_cmd(&sim.ctx, &sim.p[p], &sim.v[v], &sim.vm[sim.v[v].vm],
					   value);
	if (r != stop_intercepting)
		print_error("line %d: track %s: v%u writes %#llx on p%u: expected %d, got %d\n",
			    line, sim.ctx.track == TRACK_TRAP ? "trap" : "passthrough", v,
			    (unsigned long long)value, p, stop_intercepting, r);
	assert_int_equal(r, stop_intercepting);
	if (value & PRED_CMD_BIT_IBPB) {
		/* a guest IBPB: time advances, it is recorded, the VM opted in */
		assert_int_equal(sim.ctx.now, now + 1);
		assert_int_equal(sim.v[v].ibpb_writes_seen, seen + 1);
		assert_int_equal(sim.v[v].last_ibpb, now);
		assert_true(sim.vm[sim.v[v].vm].guest_opted);
		/* it cleaned p: only v's VM, only v, are there now */
		assert_int_equal(sim.p[p].vm_mask, BIT(sim.v[v].vm));
		assert_int_equal(sim.p[p].only, (int)v);
	} else {
		assert_int_equal(sim.ctx.now, now);
		assert_int_equal(sim.v[v].ibpb_writes_seen, seen);
	}
}

#define ENTER(v, p, want) enter_at((v), (p), (want), __LINE__)
#define WRITE(v, p, value, stop) write_at((v), (p), (value), (stop), __LINE__)

/* Shorthands for the decisions: barrier/skip, required or not. */
#define ISSUED_REQ(r) ((struct want){ true, true, (r) })
#define ISSUED_POLICY ((struct want){ true, false, BAR_ISSUED_POLICY })
#define SKIP(r) ((struct want){ false, false, (r) })
#define HOLE ((struct want){ false, true, BAR_SKIP_HOLE })

/* ---- init, names ------------------------------------------------------------- */

static void test_init(void **state)
{
	(void)state;
	sim_init(POLICY_GUEST, TRACK_TRAP, VM_IBPB_AUTO, VM_IBPB_ALWAYS);
	assert_int_equal(sim.ctx.policy, POLICY_GUEST);
	assert_int_equal(sim.ctx.track, TRACK_TRAP);
	assert_int_equal(sim.ctx.now, 1);
	for (unsigned i = 0; i < NP; i++) {
		assert_int_equal(sim.p[i].id, i);
		assert_int_equal(sim.p[i].last_vcpu, BAR_NONE);
		assert_int_equal(sim.p[i].only, BAR_NONE);
		assert_int_equal(sim.p[i].vm_mask, 0);
	}
	for (unsigned i = 0; i < NV; i++) {
		assert_int_equal(sim.v[i].gid, i);
		assert_int_equal(sim.v[i].vm, i / 2);
		assert_int_equal(sim.v[i].last_pcpu, BAR_NONE);
		assert_int_equal(sim.v[i].last_ibpb, 0);
		assert_false(sim.v[i].passthrough);
		assert_int_equal(sim.v[i].ibpb_writes_seen, 0);
	}
	assert_int_equal(sim.vm[0].id, 0);
	assert_int_equal(sim.vm[0].knob, VM_IBPB_AUTO);
	assert_false(sim.vm[0].guest_opted);
	assert_int_equal(sim.vm[1].id, 1);
	assert_int_equal(sim.vm[1].knob, VM_IBPB_ALWAYS);
	assert_false(sim.vm[1].guest_opted);
}

static void test_reason_names(void **state)
{
	(void)state;
	static const char *const want[BAR_REASONS] = {
		[BAR_ISSUED_CROSS_VM] = "cross-vm",   [BAR_ISSUED_INTRA_VM] = "intra-vm",
		[BAR_ISSUED_MIGRATION] = "migration", [BAR_ISSUED_CONFIG] = "config",
		[BAR_ISSUED_POLICY] = "policy",       [BAR_SKIP_CLEAN] = "clean",
		[BAR_SKIP_NOT_OPTED] = "not-opted-in", [BAR_SKIP_CONFIG] = "config",
		[BAR_SKIP_HOLE] = "hole",
	};
	for (int r = 0; r < BAR_REASONS; r++) {
		assert_non_null(bar_reason_names[r]);
		assert_string_equal(bar_reason_names[r], want[r]);
		assert_int_equal(bar_reason_issued((enum bar_reason)r), r <= BAR_ISSUED_POLICY);
	}
}

/* ---- one VM, two vCPUs, one pCPU ------------------------------------------------ */

/* guest: a VM that never wrote PRED_CMD gets no barriers between its vCPUs. */
static void test_guest_not_opted(void **state)
{
	(void)state;
	for (size_t t = 0; t < 2; t++) {
		sim_init(POLICY_GUEST, all_tracks[t], VM_IBPB_AUTO, VM_IBPB_AUTO);
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(1, 0, SKIP(BAR_SKIP_NOT_OPTED));
		ENTER(0, 0, SKIP(BAR_SKIP_NOT_OPTED));
		ENTER(1, 0, SKIP(BAR_SKIP_NOT_OPTED));
		ENTER(0, 0, SKIP(BAR_SKIP_NOT_OPTED));
		ENTER(1, 0, SKIP(BAR_SKIP_NOT_OPTED));
		ENTER(1, 0, SKIP(BAR_SKIP_NOT_OPTED));   /* v0's predictions are still there */
		assert_int_equal(sim.p[0].only, BAR_MANY);
		assert_int_equal(sim.p[0].vm_mask, BIT(0));
		/* one vCPU alone on a pCPU: clean every time */
		ENTER(0, 1, SKIP(BAR_SKIP_CLEAN));
		ENTER(0, 1, SKIP(BAR_SKIP_CLEAN));
		assert_false(barrier_vm_opted(&sim.vm[0]));
	}
}

/* never: same as guest for a VM that did not opt in. */
static void test_never_not_opted(void **state)
{
	(void)state;
	sim_init(POLICY_NEVER, TRACK_PASSTHROUGH, VM_IBPB_AUTO, VM_IBPB_AUTO);
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	ENTER(1, 0, SKIP(BAR_SKIP_NOT_OPTED));
	ENTER(0, 0, SKIP(BAR_SKIP_NOT_OPTED));
	ENTER(1, 0, SKIP(BAR_SKIP_NOT_OPTED));
}

/* switch (and switch-migrate on one pCPU): a barrier whenever the vCPU differs
 * from the last one, the very first entry included. */
static void test_switch_not_opted(void **state)
{
	(void)state;
	static const enum barrier_policy pols[] = { POLICY_SWITCH, POLICY_SWITCH_MIGRATE };
	for (size_t i = 0; i < 2; i++) {
		for (size_t t = 0; t < 2; t++) {
			sim_init(pols[i], all_tracks[t], VM_IBPB_AUTO, VM_IBPB_AUTO);
			ENTER(0, 0, ISSUED_POLICY);   /* last_vcpu starts at none */
			ENTER(1, 0, ISSUED_POLICY);
			ENTER(0, 0, ISSUED_POLICY);
			ENTER(1, 0, ISSUED_POLICY);
			ENTER(1, 0, SKIP(BAR_SKIP_CLEAN));   /* same vCPU: no switch */
			ENTER(1, 0, SKIP(BAR_SKIP_CLEAN));
			ENTER(0, 0, ISSUED_POLICY);
			ENTER(1, 0, ISSUED_POLICY);
			/* first entry on the other pCPU is a switch from none too */
			ENTER(1, 1, ISSUED_POLICY);
			ENTER(1, 1, SKIP(BAR_SKIP_CLEAN));
		}
	}
}

/* After a vCPU wrote IBPB, every switch between the VM's vCPUs is a barrier. */
static void test_guest_opted_intra_vm(void **state)
{
	(void)state;
	for (size_t t = 0; t < 2; t++) {
		enum barrier_track track = all_tracks[t];
		sim_init(POLICY_GUEST, track, VM_IBPB_AUTO, VM_IBPB_AUTO);
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(1, 0, SKIP(BAR_SKIP_NOT_OPTED));
		ENTER(0, 0, SKIP(BAR_SKIP_NOT_OPTED));
		WRITE(0, 0, 1, track == TRACK_PASSTHROUGH);
		assert_true(barrier_vm_opted(&sim.vm[0]));
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));   /* the IBPB cleaned p0 */
		ENTER(1, 0, ISSUED_REQ(BAR_ISSUED_INTRA_VM));
		ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_INTRA_VM));
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(1, 0, ISSUED_REQ(BAR_ISSUED_INTRA_VM));
		ENTER(1, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(1, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_INTRA_VM));
		ENTER(1, 0, ISSUED_REQ(BAR_ISSUED_INTRA_VM));
		/* v1 never wrote PRED_CMD itself: the VM opted in, that is enough */
		assert_int_equal(sim.v[1].ibpb_writes_seen, 0);
	}
}

/* The same with switch: required and issued; with never: a hole each time. */
static void test_opted_intra_vm_other_policies(void **state)
{
	(void)state;
	sim_init(POLICY_SWITCH, TRACK_TRAP, VM_IBPB_AUTO, VM_IBPB_AUTO);
	ENTER(0, 0, ISSUED_POLICY);
	WRITE(0, 0, 1, false);
	ENTER(1, 0, ISSUED_REQ(BAR_ISSUED_INTRA_VM));
	ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_INTRA_VM));
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));

	sim_init(POLICY_NEVER, TRACK_TRAP, VM_IBPB_AUTO, VM_IBPB_AUTO);
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	WRITE(0, 0, 1, false);
	ENTER(1, 0, HOLE);
	ENTER(0, 0, HOLE);
	ENTER(0, 0, HOLE);   /* v1's predictions are still there: nothing cleaned them */
	ENTER(1, 0, HOLE);
	/* a guest IBPB is a barrier: after it, p0 is clean for the writer */
	WRITE(1, 0, 1, false);
	ENTER(1, 0, SKIP(BAR_SKIP_CLEAN));
	ENTER(0, 0, HOLE);
}

/* ---- two VMs -------------------------------------------------------------------- */

/* Alternating VMs on one pCPU: cross-vm every switch, whatever the opt-in. */
static void test_two_vms_alternating(void **state)
{
	(void)state;
	for (size_t t = 0; t < 2; t++) {
		enum barrier_track track = all_tracks[t];

		sim_init(POLICY_GUEST, track, VM_IBPB_AUTO, VM_IBPB_AUTO);
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(2, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
		ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
		ENTER(2, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
		ENTER(2, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(3, 0, SKIP(BAR_SKIP_NOT_OPTED));   /* same VM, not opted in */
		ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
		ENTER(1, 0, SKIP(BAR_SKIP_NOT_OPTED));
		ENTER(3, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));

		for (int s = 0; s < 2; s++) {
			enum barrier_policy pol = s ? POLICY_SWITCH_MIGRATE : POLICY_SWITCH;
			sim_init(pol, track, VM_IBPB_AUTO, VM_IBPB_AUTO);
			ENTER(0, 0, ISSUED_POLICY);
			ENTER(2, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
			ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
			ENTER(2, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
			ENTER(2, 0, SKIP(BAR_SKIP_CLEAN));
			ENTER(3, 0, ISSUED_POLICY);
			ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
		}

		sim_init(POLICY_NEVER, track, VM_IBPB_AUTO, VM_IBPB_AUTO);
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(2, 0, HOLE);
		ENTER(0, 0, HOLE);
		ENTER(2, 0, HOLE);
		ENTER(2, 0, HOLE);   /* VM 0's predictions are still on p0 */
		assert_int_equal(sim.p[0].vm_mask, BIT(0) | BIT(1));
	}
}

/* Two VMs on two pCPUs, then swapping pCPUs. */
static void test_two_vms_two_pcpus(void **state)
{
	(void)state;
	sim_init(POLICY_GUEST, TRACK_PASSTHROUGH, VM_IBPB_AUTO, VM_IBPB_AUTO);
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	ENTER(2, 1, SKIP(BAR_SKIP_CLEAN));
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	ENTER(2, 1, SKIP(BAR_SKIP_CLEAN));
	ENTER(0, 1, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
	ENTER(2, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
	/* VM 1 on p0 now, VM 0 on p1: each stays clean where it is */
	ENTER(3, 0, SKIP(BAR_SKIP_NOT_OPTED));
	ENTER(1, 1, SKIP(BAR_SKIP_NOT_OPTED));
	ENTER(1, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
}

/* ---- the per-VM knob ------------------------------------------------------------ */

/* ibpb = never: no barrier for this VM's entries, whatever the policy. */
static void test_knob_never(void **state)
{
	(void)state;
	for (size_t i = 0; i < 4; i++) {
		for (size_t t = 0; t < 2; t++) {
			sim_init(all_policies[i], all_tracks[t], VM_IBPB_NEVER, VM_IBPB_AUTO);
			ENTER(0, 0, SKIP(BAR_SKIP_CONFIG));
			ENTER(1, 0, SKIP(BAR_SKIP_CONFIG));
			ENTER(0, 0, SKIP(BAR_SKIP_CONFIG));
			ENTER(0, 1, SKIP(BAR_SKIP_CONFIG));
			/* the guest's own IBPB still counts, but does not change that */
			WRITE(0, 1, 1, all_tracks[t] == TRACK_PASSTHROUGH);
			assert_false(barrier_vm_opted(&sim.vm[0]));
			ENTER(1, 1, SKIP(BAR_SKIP_CONFIG));
			ENTER(0, 0, SKIP(BAR_SKIP_CONFIG));
			ENTER(1, 0, SKIP(BAR_SKIP_CONFIG));
			/* nor do another VM's predictions */
			ENTER(2, 0, all_policies[i] == POLICY_NEVER ? HOLE
								    : ISSUED_REQ(BAR_ISSUED_CROSS_VM));
			ENTER(0, 0, SKIP(BAR_SKIP_CONFIG));
		}
	}
}

/* A VM with ibpb = never next to a normal one: the other VM stays protected. */
static void test_knob_never_next_to_auto(void **state)
{
	(void)state;
	sim_init(POLICY_GUEST, TRACK_PASSTHROUGH, VM_IBPB_NEVER, VM_IBPB_AUTO);
	ENTER(0, 0, SKIP(BAR_SKIP_CONFIG));
	ENTER(2, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
	ENTER(0, 0, SKIP(BAR_SKIP_CONFIG));
	ENTER(2, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
	ENTER(2, 0, SKIP(BAR_SKIP_CLEAN));

	sim_init(POLICY_SWITCH, TRACK_PASSTHROUGH, VM_IBPB_NEVER, VM_IBPB_AUTO);
	ENTER(0, 0, SKIP(BAR_SKIP_CONFIG));   /* the switch rule is overridden */
	ENTER(2, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
	ENTER(0, 0, SKIP(BAR_SKIP_CONFIG));
	ENTER(1, 0, SKIP(BAR_SKIP_CONFIG));
	ENTER(3, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
}

/* ibpb = always: intra-VM switches get barriers from the start, reason config. */
static void test_knob_always(void **state)
{
	(void)state;
	for (size_t t = 0; t < 2; t++) {
		enum barrier_track track = all_tracks[t];

		sim_init(POLICY_GUEST, track, VM_IBPB_ALWAYS, VM_IBPB_AUTO);
		assert_true(barrier_vm_opted(&sim.vm[0]));
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(1, 0, ISSUED_REQ(BAR_ISSUED_CONFIG));
		ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_CONFIG));
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(1, 0, ISSUED_REQ(BAR_ISSUED_CONFIG));
		/* without a guest IBPB, moving between pCPUs needs nothing */
		ENTER(1, 1, SKIP(BAR_SKIP_CLEAN));
		ENTER(1, 0, SKIP(BAR_SKIP_CLEAN));
		/* other VMs: cross-vm as usual */
		ENTER(2, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
		ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_CROSS_VM));
		/* once the guest opts in itself, the reason is its own */
		WRITE(0, 0, 1, track == TRACK_PASSTHROUGH);
		ENTER(1, 0, ISSUED_REQ(BAR_ISSUED_INTRA_VM));
		ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_INTRA_VM));

		sim_init(POLICY_SWITCH, track, VM_IBPB_ALWAYS, VM_IBPB_AUTO);
		ENTER(0, 0, ISSUED_POLICY);
		ENTER(1, 0, ISSUED_REQ(BAR_ISSUED_CONFIG));
		ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_CONFIG));
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));

		sim_init(POLICY_NEVER, track, VM_IBPB_ALWAYS, VM_IBPB_AUTO);
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(1, 0, HOLE);
		ENTER(0, 0, HOLE);
	}
}

/* ---- migration ------------------------------------------------------------------ */

/*
 * The January 2026 hole: v0 runs on p0, moves to p1, does an IBPB there (which
 * leaves p0 untouched) and comes back to p0, where its pre-IBPB predictions are.
 */
static void test_migration_hole(void **state)
{
	(void)state;
	/* guest + trap: hv saw the IBPB, and knows p0 was left behind */
	sim_init(POLICY_GUEST, TRACK_TRAP, VM_IBPB_AUTO, VM_IBPB_AUTO);
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	ENTER(0, 1, SKIP(BAR_SKIP_CLEAN));
	WRITE(0, 1, 1, false);
	ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_MIGRATION));
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	ENTER(0, 1, SKIP(BAR_SKIP_CLEAN));   /* p1 was cleaned by the IBPB itself */
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));   /* p0 by the barrier */

	/* guest + passthrough: the first IBPB exits; hv saw it, same outcome */
	sim_init(POLICY_GUEST, TRACK_PASSTHROUGH, VM_IBPB_AUTO, VM_IBPB_AUTO);
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	ENTER(0, 1, SKIP(BAR_SKIP_CLEAN));
	WRITE(0, 1, 1, true);
	ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_MIGRATION));
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	/* from now on hv cannot see v0's IBPBs: every move back is suspect */
	ENTER(0, 1, ISSUED_REQ(BAR_ISSUED_MIGRATION));
	ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_MIGRATION));

	for (size_t t = 0; t < 2; t++) {
		enum barrier_track track = all_tracks[t];

		/* switch: the same vCPU again on p0 is not a switch: a hole */
		sim_init(POLICY_SWITCH, track, VM_IBPB_AUTO, VM_IBPB_AUTO);
		ENTER(0, 0, ISSUED_POLICY);
		ENTER(0, 1, ISSUED_POLICY);
		WRITE(0, 1, 1, track == TRACK_PASSTHROUGH);
		ENTER(0, 0, HOLE);

		/* switch-migrate: the move is a barrier */
		sim_init(POLICY_SWITCH_MIGRATE, track, VM_IBPB_AUTO, VM_IBPB_AUTO);
		ENTER(0, 0, ISSUED_POLICY);
		ENTER(0, 1, ISSUED_POLICY);
		WRITE(0, 1, 1, track == TRACK_PASSTHROUGH);
		ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_MIGRATION));
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(0, 1, track == TRACK_TRAP ? ISSUED_POLICY : ISSUED_REQ(BAR_ISSUED_MIGRATION));

		/* never: a hole */
		sim_init(POLICY_NEVER, track, VM_IBPB_AUTO, VM_IBPB_AUTO);
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(0, 1, SKIP(BAR_SKIP_CLEAN));
		WRITE(0, 1, 1, track == TRACK_PASSTHROUGH);
		ENTER(0, 0, HOLE);
		/* p0 is still not cleaned; with trap hv knows it exactly (with
		 * passthrough its required= is only an estimate, see exhaustive.c) */
		if (track == TRACK_TRAP)
			ENTER(0, 0, HOLE);
	}

	/* ibpb = always and the vCPU's own IBPB elsewhere: reason migration (it opted in) */
	sim_init(POLICY_GUEST, TRACK_TRAP, VM_IBPB_ALWAYS, VM_IBPB_AUTO);
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	ENTER(0, 1, SKIP(BAR_SKIP_CLEAN));
	WRITE(0, 1, 1, false);
	ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_MIGRATION));
}

/* Moving without an IBPB in between: trap knows nothing happened. */
static void test_migration_without_ibpb(void **state)
{
	(void)state;
	sim_init(POLICY_GUEST, TRACK_TRAP, VM_IBPB_AUTO, VM_IBPB_AUTO);
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	WRITE(0, 0, 1, false);   /* opt in, on p0 itself */
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	ENTER(0, 1, SKIP(BAR_SKIP_CLEAN));
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));   /* exact: no IBPB since p0 was clean */
	ENTER(0, 1, SKIP(BAR_SKIP_CLEAN));
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	/* an IBPB on p0 cleans p0 only: p1 still holds v0's older predictions */
	WRITE(0, 0, 1, false);
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	ENTER(0, 1, ISSUED_REQ(BAR_ISSUED_MIGRATION));   /* p1 has pre-IBPB v0 */

	/* passthrough after the first write: hv must assume an IBPB elsewhere */
	sim_init(POLICY_GUEST, TRACK_PASSTHROUGH, VM_IBPB_AUTO, VM_IBPB_AUTO);
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	WRITE(0, 0, 1, true);
	assert_true(sim.v[0].passthrough);
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	ENTER(0, 1, SKIP(BAR_SKIP_CLEAN));   /* p1 was never used */
	ENTER(0, 0, ISSUED_REQ(BAR_ISSUED_MIGRATION));   /* conservative */
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));

	/* a vCPU that never wrote IBPB in an opted-in VM: exact under both tracks */
	for (size_t t = 0; t < 2; t++) {
		sim_init(POLICY_GUEST, all_tracks[t], VM_IBPB_AUTO, VM_IBPB_AUTO);
		ENTER(1, 1, SKIP(BAR_SKIP_CLEAN));
		WRITE(1, 1, 1, all_tracks[t] == TRACK_PASSTHROUGH);
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(0, 1, ISSUED_REQ(BAR_ISSUED_INTRA_VM));
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
		ENTER(0, 1, SKIP(BAR_SKIP_CLEAN));
	}
}

/* ---- PRED_CMD writes ------------------------------------------------------------ */

static void test_pred_cmd_passthrough(void **state)
{
	(void)state;
	sim_init(POLICY_GUEST, TRACK_PASSTHROUGH, VM_IBPB_AUTO, VM_IBPB_AUTO);
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	WRITE(0, 0, PRED_CMD_BIT_SBPB, false);   /* SBPB alone: no opt-in */
	WRITE(0, 0, 0, false);
	assert_false(sim.vm[0].guest_opted);
	assert_false(barrier_vm_opted(&sim.vm[0]));
	assert_false(sim.v[0].passthrough);
	assert_int_equal(sim.v[0].last_ibpb, 0);
	ENTER(1, 0, SKIP(BAR_SKIP_NOT_OPTED));   /* so no intra-VM barrier */
	ENTER(0, 0, SKIP(BAR_SKIP_NOT_OPTED));

	WRITE(0, 0, PRED_CMD_BIT_IBPB, true);    /* the first IBPB: stop intercepting */
	assert_true(sim.v[0].passthrough);
	assert_true(barrier_vm_opted(&sim.vm[0]));
	assert_int_equal(sim.v[0].ibpb_writes_seen, 1);
	WRITE(0, 0, PRED_CMD_BIT_IBPB, false);   /* already told */
	WRITE(0, 0, PRED_CMD_BIT_IBPB | PRED_CMD_BIT_SBPB, false);
	WRITE(0, 0, PRED_CMD_BIT_SBPB, false);
	assert_int_equal(sim.v[0].ibpb_writes_seen, 3);
	assert_true(sim.v[0].passthrough);

	/* per vCPU: v1's first IBPB (with SBPB set too) stops its intercept */
	ENTER(1, 0, ISSUED_REQ(BAR_ISSUED_INTRA_VM));
	WRITE(1, 0, PRED_CMD_BIT_SBPB, false);
	assert_false(sim.v[1].passthrough);
	WRITE(1, 0, PRED_CMD_BIT_IBPB | PRED_CMD_BIT_SBPB, true);
	assert_true(sim.v[1].passthrough);
	WRITE(1, 0, PRED_CMD_BIT_IBPB, false);

	/* VM 1 is unaffected by VM 0's opt-in */
	assert_false(sim.vm[1].guest_opted);
	assert_false(sim.v[2].passthrough);
	ENTER(2, 1, SKIP(BAR_SKIP_CLEAN));
	ENTER(3, 1, SKIP(BAR_SKIP_NOT_OPTED));
	WRITE(2, 1, 1, true);
}

static void test_pred_cmd_trap(void **state)
{
	(void)state;
	sim_init(POLICY_GUEST, TRACK_TRAP, VM_IBPB_AUTO, VM_IBPB_AUTO);
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	WRITE(0, 0, PRED_CMD_BIT_SBPB, false);
	assert_false(barrier_vm_opted(&sim.vm[0]));
	for (int i = 0; i < 5; i++)
		WRITE(0, 0, PRED_CMD_BIT_IBPB, false);
	WRITE(0, 0, PRED_CMD_BIT_IBPB | PRED_CMD_BIT_SBPB, false);
	assert_int_equal(sim.v[0].ibpb_writes_seen, 6);
	assert_false(sim.v[0].passthrough);
	assert_true(barrier_vm_opted(&sim.vm[0]));
	ENTER(1, 0, ISSUED_REQ(BAR_ISSUED_INTRA_VM));
	WRITE(1, 0, PRED_CMD_BIT_IBPB, false);
	assert_false(sim.v[1].passthrough);

	/* an SBPB-only write is not a barrier: another VM's predictions stay */
	sim_init(POLICY_NEVER, TRACK_TRAP, VM_IBPB_AUTO, VM_IBPB_AUTO);
	ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
	ENTER(2, 0, HOLE);
	WRITE(2, 0, PRED_CMD_BIT_SBPB, false);
	ENTER(2, 0, HOLE);
	WRITE(2, 0, PRED_CMD_BIT_IBPB, false);   /* a real IBPB is */
	ENTER(2, 0, SKIP(BAR_SKIP_CLEAN));
	ENTER(0, 0, HOLE);
}

/* ---- barrier_vm_opted ----------------------------------------------------------- */

static void test_vm_opted(void **state)
{
	(void)state;
	struct vm_barrier vm;

	barrier_vm_init(&vm, 3, VM_IBPB_AUTO);
	assert_int_equal(vm.id, 3);
	assert_false(barrier_vm_opted(&vm));
	vm.guest_opted = true;
	assert_true(barrier_vm_opted(&vm));

	barrier_vm_init(&vm, 4, VM_IBPB_ALWAYS);
	assert_true(barrier_vm_opted(&vm));
	vm.guest_opted = true;
	assert_true(barrier_vm_opted(&vm));

	barrier_vm_init(&vm, 5, VM_IBPB_NEVER);
	assert_false(barrier_vm_opted(&vm));
	vm.guest_opted = true;
	assert_false(barrier_vm_opted(&vm));

	/* opting in through a write */
	for (size_t t = 0; t < 2; t++) {
		sim_init(POLICY_GUEST, all_tracks[t], VM_IBPB_AUTO, VM_IBPB_NEVER);
		ENTER(0, 0, SKIP(BAR_SKIP_CLEAN));
		assert_false(barrier_vm_opted(&sim.vm[0]));
		WRITE(0, 0, PRED_CMD_BIT_SBPB, false);
		assert_false(barrier_vm_opted(&sim.vm[0]));
		WRITE(0, 0, PRED_CMD_BIT_IBPB, all_tracks[t] == TRACK_PASSTHROUGH);
		assert_true(barrier_vm_opted(&sim.vm[0]));
		ENTER(2, 1, SKIP(BAR_SKIP_CONFIG));
		WRITE(2, 1, PRED_CMD_BIT_IBPB, all_tracks[t] == TRACK_PASSTHROUGH);
		assert_true(sim.vm[1].guest_opted);
		assert_false(barrier_vm_opted(&sim.vm[1]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_guest_not_opted),
		cmocka_unit_test(test_never_not_opted),
		cmocka_unit_test(test_switch_not_opted),
		cmocka_unit_test(test_guest_opted_intra_vm),
		cmocka_unit_test(test_opted_intra_vm_other_policies),
		cmocka_unit_test(test_two_vms_alternating),
		cmocka_unit_test(test_two_vms_two_pcpus),
		cmocka_unit_test(test_knob_never),
		cmocka_unit_test(test_knob_never_next_to_auto),
		cmocka_unit_test(test_knob_always),
		cmocka_unit_test(test_migration_hole),
		cmocka_unit_test(test_migration_without_ibpb),
		cmocka_unit_test(test_pred_cmd_passthrough),
		cmocka_unit_test(test_pred_cmd_trap),
		cmocka_unit_test(test_vm_opted),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
