/*
 * hv/policy.c - the barrier decision on every vCPU entry. See policy.h for
 * the contract and the state; docs/barriers.md for the user's view.
 */
#include "policy.h"

const char *const bar_reason_names[BAR_REASONS] = {
	[BAR_ISSUED_CROSS_VM] = "cross-vm",
	[BAR_ISSUED_INTRA_VM] = "intra-vm",
	[BAR_ISSUED_MIGRATION] = "migration",
	[BAR_ISSUED_CONFIG] = "config",
	[BAR_ISSUED_POLICY] = "policy",
	[BAR_SKIP_CLEAN] = "clean",
	[BAR_SKIP_NOT_OPTED] = "not-opted-in",
	[BAR_SKIP_CONFIG] = "config",
	[BAR_SKIP_HOLE] = "hole",
};

void barrier_ctx_init(struct barrier_ctx *c, enum barrier_policy p, enum barrier_track t)
{
	c->policy = p;
	c->track = t;
	c->now = 1;
}

void barrier_pcpu_init(struct pcpu_barrier *p, unsigned id)
{
	*p = (struct pcpu_barrier){ .id = id, .last_vcpu = BAR_NONE, .only = BAR_NONE };
}

void barrier_vcpu_init(struct vcpu_barrier *v, unsigned gid, unsigned vm)
{
	*v = (struct vcpu_barrier){ .gid = gid, .vm = vm, .last_pcpu = BAR_NONE };
}

void barrier_vm_init(struct vm_barrier *vm, unsigned id, enum vm_ibpb knob)
{
	*vm = (struct vm_barrier){ .id = id, .knob = knob };
}

/*
 * Are v's own predictions on p stale, i.e. trained before v's latest guest
 * IBPB (which, done elsewhere, left p untouched)? Only asked when v is the
 * only vCPU with predictions on p. If hv still sees every IBPB of v, it knows
 * exactly; once v's writes pass through, any stint on another pCPU may have
 * contained one. (An IBPB on p itself resets p's state, see below.)
 */
static bool own_predictions_stale(const struct pcpu_barrier *p, const struct vcpu_barrier *v)
{
	if (p->only_stale)
		return true;       /* found stale before, and no barrier since */
	if (v->passthrough)
		return v->last_pcpu != (int)p->id;
	return v->last_ibpb > p->only_since;
}

/* What the contract demands for this entry (independent of the policy). */
static struct bar_decision contract(const struct pcpu_barrier *p, const struct vcpu_barrier *v,
				    const struct vm_barrier *vm)
{
	struct bar_decision d = { .required = false, .reason = BAR_SKIP_CLEAN };
	int me = (int)v->gid;
	bool others_here = p->only == BAR_MANY || (p->only != BAR_NONE && p->only != me);

	if (vm->knob == VM_IBPB_NEVER) {
		d.reason = BAR_SKIP_CONFIG;
		return d;
	}
	if (p->vm_mask & ~BIT(vm->id)) {
		d.required = true;
		d.reason = BAR_ISSUED_CROSS_VM;
		return d;
	}
	if (!barrier_vm_opted(vm)) {
		d.reason = others_here ? BAR_SKIP_NOT_OPTED : BAR_SKIP_CLEAN;
		return d;
	}
	/* Only V's vCPUs have run on p since its barrier, and V cares. */
	if (others_here)
		d.reason = BAR_ISSUED_INTRA_VM;
	else if (p->only == me && own_predictions_stale(p, v))
		d.reason = BAR_ISSUED_MIGRATION;
	else
		return d;
	d.required = true;
	if (!vm->guest_opted)
		d.reason = BAR_ISSUED_CONFIG;
	return d;
}

/* p's predictors were just cleaned and v runs (or is about to run) there. */
static void pcpu_clean_with(struct barrier_ctx *c, struct pcpu_barrier *p,
			    const struct vcpu_barrier *v)
{
	p->vm_mask = BIT(v->vm);
	p->only = (int)v->gid;
	p->only_since = c->now;
	p->only_stale = false;
}

struct bar_decision barrier_on_entry(struct barrier_ctx *c, struct pcpu_barrier *p,
				     struct vcpu_barrier *v, struct vm_barrier *vm)
{
	struct bar_decision d = contract(p, v, vm);
	bool rule;

	switch (c->policy) {
	case POLICY_NEVER:
		rule = false;
		break;
	case POLICY_SWITCH:
		rule = p->last_vcpu != (int)v->gid;
		break;
	case POLICY_SWITCH_MIGRATE:
		rule = p->last_vcpu != (int)v->gid ||
		       (v->last_pcpu != BAR_NONE && v->last_pcpu != (int)p->id);
		break;
	case POLICY_GUEST:
	default:
		rule = d.required;
		break;
	}
	if (vm->knob == VM_IBPB_NEVER)
		rule = false;

	d.barrier = rule;
	if (rule && !d.required)
		d.reason = BAR_ISSUED_POLICY;
	else if (!rule && d.required)
		d.reason = BAR_SKIP_HOLE;

	if (d.barrier) {
		pcpu_clean_with(c, p, v);
	} else {
		p->vm_mask |= BIT(v->vm);
		if (p->only == BAR_NONE) {
			p->only = (int)v->gid;
			p->only_since = c->now;
		} else if (p->only != (int)v->gid) {
			p->only = BAR_MANY;
			p->only_stale = false;   /* MANY needs a barrier anyway once opted in */
		} else if (d.reason == BAR_SKIP_HOLE && own_predictions_stale(p, v)) {
			p->only_stale = true;    /* v's stale predictions stay until a barrier */
		}
	}
	p->last_vcpu = (int)v->gid;
	v->last_pcpu = (int)p->id;
	c->now++;
	return d;
}

bool barrier_on_guest_pred_cmd(struct barrier_ctx *c, struct pcpu_barrier *p,
			       struct vcpu_barrier *v, struct vm_barrier *vm, u64 value)
{
	if (!(value & PRED_CMD_BIT_IBPB))
		return false;       /* SBPB alone: a weaker barrier, not an opt-in */
	vm->guest_opted = true;
	v->ibpb_writes_seen++;
	v->last_ibpb = c->now;
	pcpu_clean_with(c, p, v);   /* hv performed it here: p is clean but for v */
	c->now++;
	if (c->track == TRACK_PASSTHROUGH && !v->passthrough) {
		v->passthrough = true;
		return true;
	}
	return false;
}
