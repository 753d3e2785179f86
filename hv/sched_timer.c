/*
 * hv/sched_timer.c - the guest timers on each pCPU's one hardware timer,
 * for the run loop (sched.c: dispatch, idle) and the exit handler (vcpu.c:
 * hv's timer fired, a guest re-programmed its APIC timer).
 */
#include "hv.h"
#include "sched_timer.h"
#include "vplat.h"
#include "x86/apic.h"
#include "x86/cpu.h"

/*
 * Guest timers. Each pCPU has one hardware timer (hv/x86/apic.c); it is
 * armed for the earliest of: the running vCPU's slice end, the running
 * vCPU's APIC-timer deadline, and the deadlines of vCPUs halted on this pCPU
 * waiting for their APIC timer ("sleepers"). Deadlines are absolute guest
 * TSC values kept in each vCPU's LAPIC, so they survive migration: the pCPU
 * a vCPU is dispatched on arms for it.
 */

/* Fire the due timers of the vCPUs halted on p, waking those that got an
 * interrupt; returns the earliest deadline still ahead, 0 if none. */
u64 sleepers_tick_some(struct pcpu *p, u64 now)
{
	u64 next = 0;
	for (unsigned i = 0; i < nvms; i++) {
		struct vm *vm = vms[i];
		for (unsigned j = 0; j < vm->nvcpus; j++) {
			struct vcpu *s = vm->vcpus[j];
			if (__atomic_load_n(&s->timer_sleep, __ATOMIC_RELAXED) != p)
				continue;
			u64 dl = s->lapic.timer_deadline;
			if (dl && now >= dl && vplat_timer_fire(s, now))
				vplat_wake(s);
			else if ((dl = s->lapic.timer_deadline) && (!next || dl < next))
				next = dl;
		}
	}
	return next;
}

bool sched_timer_tick(struct pcpu *p, struct vcpu *v)
{
	u64 now = rdtsc();
	u64 dl = v->lapic.timer_deadline;
	if (dl && now >= dl)
		vplat_timer_fire(v, now);
	u64 next = sleepers_tick(p, now);
	vplat_input_poll();                    /* console_input: what hv's COM1 got */
	/* The slice timer was armed just before slice_end_tsc was taken: allow
	 * it to be 10 us early rather than re-arm for the crumb. */
	if (now + tsc_per_10us >= p->slice_end_tsc)
		return true;
	pcpu_timer_arm(p, v, now, next);
	return false;
}

void sched_timer_rearm(struct pcpu *p, struct vcpu *v)
{
	u64 now = rdtsc();
	pcpu_timer_arm(p, v, now, sleepers_tick(p, now));
}
