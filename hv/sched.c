/*
 * hv/sched.c - the vCPU scheduler: per-pCPU round-robin run queues.
 *
 * A vCPU runs until it yields, halts, stops or its time slice (LAPIC
 * one-shot timer, armed when it is dispatched) runs out; then the next one
 * in the queue goes. Queue operations are O(1), so a switch costs the same
 * with 2 or 256 vCPUs on a pCPU. With guests that only yield, the order is
 * fully deterministic, which the tests rely on for exact counts.
 *
 * Several pCPUs: each has its own queue and lock; an idle pCPU steals an
 * unpinned vCPU from the longest other queue; HC_MIGRATE moves a vCPU to a
 * named pCPU (and pins it there). Locking rules: docs/locking.md.
 *
 * The barrier decision is taken here, at dispatch, and the barrier (if any)
 * is issued right before the vCPU enters: nothing but hv runs in between.
 */
#include "barrier.h"
#include "end_report.h"
#include "hv.h"
#include "sched.h"
#include "sched_timer.h"
#include "trace.h"
#include "vcpu.h"
#include "vendor.h"
#include "vm.h"
#include "vplat.h"
#include "x86/apic.h"
#include "x86/cpu.h"
#include "x86/trap.h"

/* Take the first runnable vCPU of p's queue (p locked); with `unpinned`, skip pinned ones. */
static struct vcpu *rq_take(struct pcpu *p, bool unpinned)
{
	struct vcpu **link = &p->rq_head, *prev = NULL;
	while (*link) {
		struct vcpu *v = *link;
		if (v->state != VCPU_RUNNABLE || !unpinned || v->pin < 0) {
			*link = v->rq_next;
			if (p->rq_tail == v)
				p->rq_tail = prev;
			p->rq_len--;
			v->queued = false;
			if (v->state == VCPU_RUNNABLE)
				return v;
			continue;                  /* dropped a stopped/halted vCPU */
		}
		prev = v;
		link = &v->rq_next;
	}
	return NULL;
}

static struct vcpu *rq_pop(struct pcpu *p)
{
	spin_lock(&p->rq_lock);
	struct vcpu *v = rq_take(p, false);
	spin_unlock(&p->rq_lock);
	return v;
}

/* Idle p: take an unpinned vCPU from the busiest other queue. */
static struct vcpu *steal(struct pcpu *p)
{
	struct pcpu *victim = NULL;
	for (unsigned i = 0; i < npcpus; i++)
		if (pcpus[i] != p && pcpus[i]->rq_len && (!victim || pcpus[i]->rq_len > victim->rq_len))
			victim = pcpus[i];
	if (!victim)
		return NULL;
	spin_lock(&victim->rq_lock);
	struct vcpu *v = rq_take(victim, true);
	spin_unlock(&victim->rq_lock);
	if (v) {
		v->home = p;
		p->steals++;
	}
	return v;
}

static bool all_vms_ended(void)
{
	for (unsigned i = 0; i < nvms; i++)
		if (!vm_ended(vms[i]))
			return false;
	return true;
}

static void count_decision(struct bar_stats *s, const struct bar_decision *d, bool switched)
{
	s->entries++;
	s->switches += switched;
	s->by_reason[d->reason]++;
}

/*
 * Guest register state that neither VMRUN nor VM entry switches, kept per
 * vCPU and swapped here: FPU/SSE (FXSAVE image), DR0-DR3 and DR6, and PKRU
 * where the CPU has protection keys. hv itself never uses any of them, so the
 * registers may keep a vCPU's values while it is away; they are loaded again
 * only if another vCPU used this pCPU in between (or this one ran elsewhere).
 * AVX state cannot leak: hv keeps XCR0 at x87|SSE (pcpu_init), so guests
 * cannot use YMM/ZMM registers at all.
 */
bool cpu_has_pku;
/*
 * AMD CPUs without the FXSAVE error-pointer fix (CPUID 8000_0008h EBX[2]
 * clear): FXRSTOR leaves x87 FIP, FDP and FOP alone unless the image has an
 * exception pending, so the next vCPU would read the last one's. As Linux
 * does, hv first executes an x87 load of its own (after FNCLEX and EMMS, so
 * it can neither fault nor overflow) that sets them to hv's values.
 */
bool cpu_fxsave_leak;
static const u32 fpu_scrub_word;

static void xstate_load(struct pcpu *p, struct vcpu *v)
{
	if (p->fpu_owner == v && p->fpu_gen == v->fpu_gen)
		return;
	if (cpu_fxsave_leak)
		__asm__ volatile("fnclex; emms; fildl %0" ::"m"(fpu_scrub_word));
	fxrstor(v->fpu);
	for (int i = 0; i < 4; i++)
		write_dr(i, v->dr[i]);
	write_dr(6, v->dr6);
	if (cpu_has_pku)
		wrpkru(v->pkru);
	p->fpu_owner = v;
	p->fpu_gen = v->fpu_gen;
}

static void xstate_save(struct pcpu *p, struct vcpu *v)
{
	fxsave(v->fpu);
	for (int i = 0; i < 4; i++)
		v->dr[i] = read_dr(i);
	v->dr6 = read_dr(6);
	if (cpu_has_pku)
		v->pkru = rdpkru();
	p->fpu_gen = ++v->fpu_gen;
}

/* v halts with IF=1 and an armed, unmasked APIC timer: its home pCPU's
 * timer will wake it (sleepers_tick). */
static void sleep_on_timer(struct vcpu *v)
{
	struct vm *vm = v->vm;
	spin_lock(&vm->lock);
	if (v->state == VCPU_HALTED && !v->timer_sleep) {
		v->timer_sleep = v->home;
		__atomic_add_fetch(&v->home->nsleepers, 1, __ATOMIC_RELAXED);
	}
	spin_unlock(&vm->lock);
}

/* Exits the run loop re-enters from without reading the clock (run_vcpu). */
#define FAST_EXITS (BIT(EXIT_CPUID) | BIT(EXIT_IO) | BIT(EXIT_HYPERCALL) | BIT(EXIT_MSR_READ) | \
		    BIT(EXIT_MSR_WRITE))
/* ... at most this many in a row: then the clock and the run limit are
 * looked at anyway. A CPU (or an emulator: Bochs 2.7's SVM while the guest
 * has IF=0) that never hands hv its timer interrupt during a guest's run
 * must not let a guest looping on fast exits outlive its limit_ms
 * (hostile-rep-huge on bochs-ryzen). */
#define FAST_EXIT_BUDGET 64

/* The slice in TSC units and in host APIC timer ticks (sched_run sets
 * them, the same on every pCPU, once the clocks are calibrated). */
static u64 slice_tsc;
static u32 slice_ticks;

/* Dispatch v on p and run it until it gives up the pCPU. */
static void run_vcpu(struct pcpu *p, struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct vm_exit e = { 0 };       /* e.what stays NULL unless a backend sets it */
	enum exit_action action;
	bool switched = p->current != v;
	u64 t_start = tsc_split ? rdtsc() : 0, in_guest = v->enter_tsc;

	if (__builtin_expect(v->init_req, 0)) {
		if (!vplat_init_ap(v))         /* an INIT came: to wait-for-SIPI, not run */
			vm_check_halted(vm);
		return;
	}

	/* A vCPU runs on one pCPU at a time: a second dispatch while another
	 * pCPU still runs it (or is saving its state) would mix two copies of
	 * its registers. Never seen; ends the VM with the reason if it ever is. */
	u32 other = __atomic_exchange_n(&v->running_on, p->id + 1, __ATOMIC_ACQ_REL);
	if (__builtin_expect(other != 0, 0)) {
		vm_end(vm, RESULT_FAULT, -1, "hv scheduler error: vCPU %u dispatched on pCPU %u while pCPU %u runs it",
		       v->id, p->id, other - 1);
		return;
	}

	spin_lock(&policy_lock);       /* decisions and their trace in one order */
	struct bar_decision d = barrier_on_entry(&barrier_ctx, &p->bar, &v->bar, &vm->bar);
	trace_add(p, TR_ENTRY, v->gid, 0, d.barrier, (u8)d.reason);
	count_decision(&vm->stats, &d, switched);
	spin_unlock(&policy_lock);
	count_decision(&p->stats, &d, switched);
	p->current = v;

	xstate_load(p, v);
	/* (The last slice's timer is re-armed here, not stopped when that
	 * slice ended: one that fired meanwhile leaves its flag and a pending
	 * interrupt, and EXIT_INTR's sched_timer_tick preempts only at the
	 * new slice's end by the TSC; the idle loop arms its own.) */
	u64 now = rdtsc();
	p->slice_end_tsc = now + slice_tsc;
	if (__builtin_expect(v->lapic.timer_deadline || p->nsleepers, 0)) {
		pcpu_timer_arm(p, v, now, sleepers_tick(p, now));
	} else {
		p->timer_at = p->slice_end_tsc;
		apic_timer_oneshot_ticks(slice_ticks);
	}
	if (d.barrier)
		barrier_execute();             /* last thing before the guest runs */

	u64 dispatched = now, t0 = dispatched, t1;
	if (v->irq_check)
		vplat_deliver(v);              /* a guest interrupt came while it was away */
	p->fast_left = FAST_EXIT_BUDGET;   /* (shared with the backends' fast paths) */
	if (__builtin_expect(!vm->first_entry_tsc, 0))
		__atomic_compare_exchange_n(&vm->first_entry_tsc, &(u64){ 0 }, dispatched, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	for (;;) {
		static_call_vendor_run(p, v, &e);
		action = vcpu_handle_exit(v, p, &e);
		/* The fast exits (CPUID, a hypercall, a port, an MSR: each one
		 * retires a guest instruction or delivers a fault to the guest)
		 * go straight back: no clock read, no limit check. Those come at
		 * every other exit: host interrupts and the slice timer, which
		 * fire at least once a slice while guest instructions retire, and
		 * exits that may retire none (an exception intercept looping in
		 * event delivery, hostile-db-loop), and after FAST_EXIT_BUDGET fast
		 * exits in a row; so the VM's time and its run limit are still
		 * counted in full (docs/benchmarks.md). */
		if (__builtin_expect(action == ACTION_RESUME && ((FAST_EXITS >> e.reason) & 1) && --p->fast_left &&
				     !vm_ended(vm), 1))
			continue;
		p->fast_left = FAST_EXIT_BUDGET;
		/* An INIT came (vplat.c start_ap) and this exit lets the vCPU leave
		 * the pCPU (VT-x: its VMCS is clear after these): switch it out;
		 * its next dispatch takes it to wait-for-SIPI. */
		if (__builtin_expect(v->init_req, 0) && (e.reason == EXIT_INTR || e.reason == EXIT_SLICE ||
							  e.reason == EXIT_HLT)) {
			action = ACTION_YIELD;
			t1 = rdtsc();
			break;
		}
		t1 = rdtsc();
		/* hv's handling of its exits counts as the VM's time */
		__atomic_add_fetch(&vm->run_tsc, t1 - t0, __ATOMIC_RELAXED);
		t0 = t1;
		if (vm_ended(vm))
			action = ACTION_STOP;
		/* The run limit is checked after every exit that does not end the
		 * vCPU, a yield or a halt included: a guest that yields (or halts
		 * and is woken) in a loop must still reach its limit. */
		if (action != ACTION_STOP && vm->limit_tsc && vm->run_tsc >= vm->limit_tsc) {
			vm_end(vm, RESULT_LIMIT, -1, "ran for its limit of %llu ms",
			       (unsigned long long)vm->cfg->limit_ms);
			action = ACTION_STOP;
			break;
		}
		if (action != ACTION_RESUME)   /* preempted (slice used up), yield, halt, stop */
			break;
	}
	p->busy_tsc += t1 - dispatched;
	xstate_save(p, v);
	__atomic_store_n(&v->running_on, 0, __ATOMIC_RELEASE);   /* everything saved */

	switch (action) {
	case ACTION_PREEMPT:
		trace_add(p, TR_PREEMPT, v->gid, 0, 0, 0);
		/* fall through */
	case ACTION_YIELD:
		if (v->home != p)
			v->home->migrations_in++;
		sched_enqueue(v->home, v);
		break;
	case ACTION_BLOCK:
		spin_lock(&vm->lock);
		if (v->state == VCPU_RUNNABLE) {
			v->state = VCPU_HALTED;
			vm->nrunnable--;
		}
		spin_unlock(&vm->lock);
		/* An IPI that came between the HLT exit and HALTED found the vCPU
		 * running and did not wake it: look again (vplat_wake). Its
		 * sender set irq_check (under the platform lock) before it took
		 * vm->lock to look at the state, so after HALTED was set under
		 * vm->lock, irq_check clear means no such IPI. */
		if (((v->halt_if && __atomic_load_n(&v->irq_check, __ATOMIC_ACQUIRE)) || v->lapic.nmi_pending) &&
		    vplat_irq_pending(v))
			vplat_wake(v);
		else if (v->halt_if && vplat_timer_can_wake(&v->lapic))
			sleep_on_timer(v);
		vm_check_halted(vm);
		break;
	default:
		break;
	}
	if (__builtin_expect(tsc_split, 0)) {
		in_guest = v->enter_tsc - in_guest;
		__atomic_add_fetch(&vm->guest_tsc, in_guest, __ATOMIC_RELAXED);
		__atomic_add_fetch(&vm->hv_tsc, rdtsc() - t_start - in_guest, __ATOMIC_RELAXED);
	}
}

static volatile u32 finishing;

/* The first pCPU to see every VM ended prints the report, once all are idle. */
static void finish(struct pcpu *p) __attribute__((noreturn));
static void finish(struct pcpu *p)
{
	if (__atomic_exchange_n(&finishing, 1, __ATOMIC_ACQ_REL)) {
		for (;;)
			sti_hlt();             /* another pCPU reports; wait for the end */
	}
	u64 deadline = rdtsc() + 1000 * tsc_per_ms;
	for (unsigned i = 0; i < npcpus; i++)
		while (pcpus[i] != p && !pcpus[i]->idle && rdtsc() < deadline)
			pause();
	trace_print();
	report_print();
	platform_exit(report_all_ok() ? HV_EXIT_PASS : HV_EXIT_FAIL);
}

void sched_run(struct pcpu *p)
{
	__atomic_store_n(&slice_tsc, hv_cfg->slice_us * tsc_per_ms / 1000, __ATOMIC_RELAXED);
	__atomic_store_n(&slice_ticks, apic_timer_ticks(slice_tsc), __ATOMIC_RELAXED);
	p->start_tsc = rdtsc();
	for (;;) {
		struct vcpu *v = rq_pop(p);
		if (!v && npcpus > 1)
			v = steal(p);
		if (v) {
			run_vcpu(p, v);
			continue;
		}
		if (all_vms_ended()) {
			p->idle = true;
			finish(p);
		}
		/* Nothing runnable here: fire the guest timers that are due, then
		 * sleep until a tick, the next guest deadline or a wake-up IPI. */
		u64 now = rdtsc(), next = sleepers_tick(p, now);
		spin_lock(&p->rq_lock);
		p->idle = !p->rq_head;
		spin_unlock(&p->rq_lock);
		if (p->idle) {
			u64 d = slice_tsc;
			if (next && (next > now ? next - now : 1) < d)
				d = next > now ? next - now : 1;
			apic_timer_oneshot_tsc(d);
			sti_hlt();
			vplat_input_poll();    /* console_input: polled once a slice at least */
		}
		p->idle = false;
	}
}
