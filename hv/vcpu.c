/*
 * hv/vcpu.c - what hv does on each VM exit, for every vendor.
 *
 * The backend turns its exit into a struct vm_exit; this file decides.
 * Fast paths (console output, CPUID, MSR access) return ACTION_RESUME and the
 * run loop re-enters the guest without passing through the scheduler.
 */
#include "barrier.h"
#include "hv.h"
#include "hypercall.h"
#include "trace.h"
#include "vendor.h"
#include "x86/apic.h"
#include "x86/cpu.h"

static void skip(struct vcpu *v, const struct vm_exit *e)
{
	vendor->advance_rip(v, e->insn_len);
}

static void inject_gp(struct vcpu *v)
{
	vendor->inject_exception(v, EXC_GP, true, 0);
}

/* A guest interrupt may be deliverable now: inject it before the next entry. */
static inline void irq_check(struct vcpu *v)
{
	if (v->irq_check)
		vplat_deliver(v);
}

/* ---- ports: the VM's devices (vplat.c) ---- */

static enum exit_action handle_io(struct vcpu *v, struct vm_exit *e)
{
	if (e->io.string) {
		vm_fail(v, "string I/O (ins/outs) on port 0x%x is not supported", e->io.port);
		return ACTION_STOP;
	}
	u64 mask = e->io.size == 4 ? 0xffffffffull : e->io.size == 2 ? 0xffff : 0xff;
	u64 val = ~0ull;                       /* an empty bus reads all ones */
	/* Most ports have no device near them: no lock, no search (the bus
	 * never changes after vplat_init). */
	if (!vplat_port_unclaimed(&v->vm->plat, e->io.port, e->io.size)) {
		val = v->regs.rax & mask;
		enum reset_reason why = vplat_port_io(v, e->io.port, e->io.size, !e->io.in, &val);
		if (why != RESET_NONE) {
			vm_end(v->vm, RESULT_SHUTDOWN, -1, "vCPU %u requested a %s", v->id, reset_reason_name(why));
			return ACTION_STOP;
		}
		irq_check(v);          /* COM1's interrupt, through the IOAPIC */
	}
	if (e->io.in) {
		v->regs.rax = (v->regs.rax & ~mask) | (val & mask);
		if (e->io.size == 4)
			v->regs.rax &= 0xffffffffull;  /* 32-bit results zero-extend */
	}
	skip(v, e);
	return ACTION_RESUME;
}

/* ---- CPUID ---- */

static void handle_cpuid(struct vcpu *v)
{
	u32 leaf = (u32)v->regs.rax, sub = (u32)v->regs.rcx;
	struct cpuid_regs r;
	if (leaf >= 0x40000000 && leaf <= 0x400000ff) {
		r = (struct cpuid_regs){ 0 };
		if (leaf == 0x40000000) {
			r.eax = 0x40000000;
			memcpy(&r.ebx, HV_CPUID_SIGNATURE, 4);
			memcpy(&r.ecx, HV_CPUID_SIGNATURE + 4, 4);
			memcpy(&r.edx, HV_CPUID_SIGNATURE + 8, 4);
		}
	} else {
		r = cpuid(leaf, sub);
		switch (leaf) {
		case 1:
			r.ecx &= ~(BIT(5) | BIT(3) | BIT(26) | BIT(27) | BIT(28) | BIT(12) | BIT(29));
			/* VMX MONITOR XSAVE OSXSAVE AVX FMA F16C: XCR0 is x87|SSE */
			/* devices (issue 11): x2APIC and TSC-deadline are hv's
			 * virtual LAPIC (vplat.c, docs/platform.md). */
			r.ecx |= BIT(21) | BIT(24);
			r.ecx |= BIT(31);                                          /* hypervisor present */
			r.ebx = (r.ebx & 0x00ffffff) | (v->id << 24);              /* initial APIC id */
			break;
		case 7:
			if (sub == 0) {
				r.edx &= ~(BIT(26) | BIT(27) | BIT(29) | BIT(31));  /* IBRS/IBPB STIBP ARCH_CAP SSBD */
				/* AVX2, AVX-512*: need XCR0 state hv does not enable */
				r.ebx &= ~(BIT(5) | BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31));
				if (barrier_caps.offer_guest)
					r.edx |= BIT(26);     /* IBPB, and so IA32_SPEC_CTRL (handled below) */
			}
			break;
		case 6:
			r.eax |= BIT(2);      /* devices (issue 11): ARAT, the virtual APIC timer never stops */
			break;
		case 0xd:
			r = (struct cpuid_regs){ 0 };         /* no XSAVE */
			break;
		case 0x80000001:
			r.ecx &= ~BIT(2);                       /* no SVM */
			break;
		case 0x80000008:
			r.ebx &= ~(BIT(12) | BIT(14) | BIT(15) | BIT(16) | BIT(17) | BIT(24) | BIT(30));
			if (barrier_caps.offer_guest)
				r.ebx |= BIT(12) | (barrier_caps.cpu_ibpb_ret ? BIT(30) : 0);
			break;
		case 0x8000000a:
			r = (struct cpuid_regs){ 0 };         /* SVM features: none */
			break;
		}
	}
	v->regs.rax = r.eax;
	v->regs.rbx = r.ebx;
	v->regs.rcx = r.ecx;
	v->regs.rdx = r.edx;
}

/* ---- MSRs ---- */

static void guest_pred_cmd(struct pcpu *p, struct vcpu *v, u64 val)
{
	bool passthrough;
	if (val & PRED_CMD_IBPB)
		barrier_execute();         /* the guest's own barrier, done by hv */
	else if (val & PRED_CMD_SBPB)
		barrier_execute_sbpb();
	spin_lock(&policy_lock);
	trace_add(p, TR_IBPB, v->gid, val, 0, 0);
	v->vm->pred_cmd_writes++;
	passthrough = barrier_on_guest_pred_cmd(&barrier_ctx, &p->bar, &v->bar, &v->vm->bar, val);
	spin_unlock(&policy_lock);
	p->pred_cmd_writes++;
	if (passthrough)
		vendor->pred_cmd_passthrough(v);
}

static enum exit_action handle_msr(struct pcpu *p, struct vcpu *v, struct vm_exit *e, bool write)
{
	u32 msr = (u32)v->regs.rcx;
	u64 val = (v->regs.rax & 0xffffffffull) | (v->regs.rdx << 32);
	bool ok = true;

	if (write) {
		switch (msr) {
		case MSR_PRED_CMD:
			/* Bit 0 IBPB; bit 7 SBPB (accepted, not an opt-in); others reserved. */
			ok = barrier_caps.offer_guest && !(val & ~(PRED_CMD_IBPB | PRED_CMD_SBPB));
			if (ok)
				guest_pred_cmd(p, v, val);
			break;
		case MSR_SPEC_CTRL:
			/* IBRS, STIBP, SSBD: kept per vCPU (docs/barriers.md: not applied). */
			ok = barrier_caps.offer_guest && !(val & ~7ull);
			if (ok)
				v->spec_ctrl = val;
			break;
		default:
			if (vplat_is_lapic_msr(msr)) {
				u64 dl = v->lapic.timer_deadline;
				ok = vplat_lapic_msr(v, msr, true, &val) == LAPIC_OK;
				if (v->lapic.timer_deadline != dl)
					sched_timer_rearm(p, v);
			} else
				ok = vendor->msr_write(v, msr, val);
			break;
		}
	} else {
		switch (msr) {
		case MSR_TSC:
			val = rdtsc();
			break;
		case MSR_SPEC_CTRL:
			ok = barrier_caps.offer_guest;
			val = v->spec_ctrl;
			break;
		default:
			if (vplat_is_lapic_msr(msr))
				ok = vplat_lapic_msr(v, msr, false, &val) == LAPIC_OK;
			else
				ok = vendor->msr_read(v, msr, &val);
			break;
		}
		if (ok) {
			v->regs.rax = val & 0xffffffffull;
			v->regs.rdx = val >> 32;
		}
	}
	if (!ok)
		inject_gp(v);              /* like a CPU without that MSR */
	else
		skip(v, e);
	irq_check(v);                  /* after an APIC MSR: EOI, TPR, an IPI to self */
	return ACTION_RESUME;
}

/* ---- hypercalls ---- */

static enum exit_action vcpu_stop(struct pcpu *p, struct vcpu *v, int status)
{
	struct vm *vm = v->vm;
	bool last;
	if (v->line_len)
		console_flush(v);
	spin_lock(&vm->lock);
	v->state = VCPU_STOPPED;
	vm->nstopped++;
	if (status && !vm->status_set) {
		vm->status = status;
		vm->status_set = true;
	}
	last = vm->nstopped == vm->nvcpus;
	spin_unlock(&vm->lock);
	trace_add(p, TR_STOP, v->gid, (u64)status, 0, 0);
	if (last)
		vm_end(vm, RESULT_EXIT, vm->status, "every vCPU called exit");
	else
		vm_check_halted(vm);
	return ACTION_STOP;
}

static enum exit_action handle_hypercall(struct pcpu *p, struct vcpu *v, struct vm_exit *e)
{
	struct guest_regs *r = &v->regs;
	u64 nr = r->rax & 0xffffffffull;
	skip(v, e);
	switch (nr) {
	case HC_EXIT:
		return vcpu_stop(p, v, (int)(r->rbx & 0xff));
	case HC_YIELD:
		r->rax = 0;
		trace_add(p, TR_YIELD, v->gid, 0, 0, 0);
		return ACTION_YIELD;
	case HC_VCPU_ID:
		r->rax = v->id;
		r->rbx = v->vm->nvcpus;
		return ACTION_RESUME;
	case HC_REPORT:
		if (r->rbx >= HV_COUNTERS) {
			r->rax = HC_ERROR;
		} else {
			v->vm->counters[r->rbx] = r->rcx;
			v->vm->counters_set |= 1u << r->rbx;
			r->rax = 0;
		}
		return ACTION_RESUME;
	case HC_MIGRATE:
		if (r->rbx >= npcpus) {
			r->rax = HC_ERROR;
			return ACTION_RESUME;
		}
		r->rax = 0;
		if (r->rbx == p->id)
			return ACTION_RESUME;
		trace_add(p, TR_MIGRATE, v->gid, r->rbx, 0, 0);
		v->home = pcpus[r->rbx];
		v->pin = (int)r->rbx;      /* stays there: stealing leaves pinned vCPUs alone */
		return ACTION_YIELD;
	default:
		r->rax = HC_ERROR;
		return ACTION_RESUME;
	}
}

/* ---- the dispatcher ---- */

/* Exits handled by skipping the instruction: the backend must have its length. */
#define NEEDS_LENGTH (BIT(EXIT_IO) | BIT(EXIT_MSR_READ) | BIT(EXIT_MSR_WRITE) | BIT(EXIT_CPUID) | \
		      BIT(EXIT_HLT) | BIT(EXIT_HYPERCALL) | BIT(EXIT_CACHE))

static bool needs_length(enum exit_reason r)
{
	return (NEEDS_LENGTH >> r) & 1;
}

enum exit_action vcpu_handle_exit(struct vcpu *v, struct pcpu *p, struct vm_exit *e)
{
	v->exits[e->reason]++;
	if (needs_length(e->reason) && (e->insn_len == 0 || e->insn_len > 15)) {
		vm_fail(v, "%s exit, but the instruction at rip 0x%llx is not one (changed under hv?)",
			exit_reason_names[e->reason], (unsigned long long)vendor->get_rip(v));
		return ACTION_STOP;
	}
	switch (e->reason) {
	case EXIT_IO:
		return handle_io(v, e);
	case EXIT_CPUID:
		handle_cpuid(v);
		skip(v, e);
		return ACTION_RESUME;
	case EXIT_MSR_READ:
		return handle_msr(p, v, e, false);
	case EXIT_MSR_WRITE:
		return handle_msr(p, v, e, true);
	case EXIT_HYPERCALL:
		return handle_hypercall(p, v, e);
	case EXIT_HLT:
		skip(v, e);
		/* HLT with IF=1 waits for an interrupt; one already pending
		 * ends it at once. With IF=0 only a reset would. */
		v->halt_if = vendor->irq_window(v, false);
		if (v->halt_if && v->irq_check && vplat_irq_pending(v)) {
			vplat_deliver(v);
			return ACTION_RESUME;
		}
		trace_add(p, TR_HALT, v->gid, 0, 0, 0);
		return ACTION_BLOCK;
	case EXIT_IRQ_WINDOW:
		irq_check(v);
		return ACTION_RESUME;
	case EXIT_CACHE:
		skip(v, e);                /* INVD would drop other VMs' dirty lines: never run it */
		return ACTION_RESUME;
	case EXIT_EMULATED:
		skip(v, e);                /* insn_len 0: the backend injected a fault instead */
		return ACTION_RESUME;
	case EXIT_INTR:
		/* Host interrupts reach hv only here (it runs with IF=0 otherwise),
		 * so this is the one place the slice timer can have fired. */
		sti();                     /* take the pending host interrupt (timer) now */
		__asm__ volatile("nop");
		cli();
		if (apic_timer_take() && sched_timer_tick(p, v))
			return ACTION_PREEMPT;     /* (an injected interrupt waits in the VMCB/VMCS) */
		irq_check(v);              /* a guest timer, or an IPI's kick */
		return ACTION_RESUME;
	case EXIT_SLICE:
		return ACTION_PREEMPT;
	case EXIT_VIRT_INSN:
	case EXIT_XSETBV:
		vendor->inject_exception(v, EXC_UD, false, 0);
		return ACTION_RESUME;
	case EXIT_SHUTDOWN:
		vm_end(v->vm, RESULT_SHUTDOWN, -1, "vCPU %u triple-faulted (shutdown) at rip 0x%llx",
		       v->id, (unsigned long long)vendor->get_rip(v));
		return ACTION_STOP;
	case EXIT_NPF: {
		const char *dev = vplat_mmio_device(v, e->npf.gpa);
		if (dev) {
			/* Join point for the MMIO instruction emulator (issue 11):
			 * decode the access, then vplat_mmio_access(). */
			vm_fail(v, "vCPU %u accessed guest-physical 0x%llx (%s): MMIO emulation is not joined yet",
				v->id, (unsigned long long)e->npf.gpa, dev);
			return ACTION_STOP;
		}
		vm_fail(v, "vCPU %u accessed guest-physical 0x%llx, outside its %llu MiB of memory",
			v->id, (unsigned long long)e->npf.gpa, (unsigned long long)(v->vm->mem_size >> 20));
		return ACTION_STOP;
	}
	case EXIT_INVALID:
		vm_fail(v, "VM entry failed: the hardware rejected vCPU %u's state (exit 0x%llx)", v->id,
			(unsigned long long)e->raw);
		return ACTION_STOP;
	case EXIT_OTHER:
		if (e->what) {
			vm_fail(v, "%s at rip 0x%llx: not emulated", e->what,
				(unsigned long long)vendor->get_rip(v));
			return ACTION_STOP;
		}
		/* fall through */
	case EXIT_EXCEPTION:
	default:
		vm_fail(v, "unexpected exit 0x%llx (%s)", (unsigned long long)e->raw, exit_reason_names[e->reason]);
		return ACTION_STOP;
	}
}
