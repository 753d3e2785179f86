/*
 * hv/vcpu.c - what hv does on each VM exit, for every vendor.
 *
 * The backend turns its exit into a struct vm_exit; this file decides.
 * Fast paths (console output, CPUID, MSR access) return ACTION_RESUME and the
 * run loop re-enters the guest without passing through the scheduler.
 */
#include "barrier.h"
#include "emulate.h"
#include "hv.h"
#include "hypercall.h"
#include "port_io.h"
#include "sched_timer.h"
#include "spec.h"
#include "trace.h"
#include "vcpu.h"
#include "vendor.h"
#include "vm.h"
#include "vplat.h"
#include "x86/apic.h"
#include "x86/cpu.h"

static void skip(struct vcpu *v, const struct vm_exit *e)
{
	static_call_vendor_advance_rip(v, e->insn_len);
}

static void inject_gp(struct vcpu *v)
{
	vendor->inject_exception(v, EXC_GP, true, 0);
}

/* MMIO to a device page: the vCPU's own xAPIC page and the IOAPIC through
 * the VM's bus (vplat.c), else hv's test device (`test_device = on`). */
static bool vplat_mmio_fn(void *ctx, u64 gpa, unsigned size, bool write, u64 *val)
{
	return vplat_mmio_access(ctx, gpa, size, write, val) == 0;
}

static bool device_lookup(struct vcpu *v, u64 gpa, mmio_access_fn *fn, void **ctx)
{
	if (vplat_mmio_device(v, gpa)) {
		*fn = vplat_mmio_fn;
		*ctx = v;
		return true;
	}
	return test_device_lookup(v, gpa, fn, ctx);
}

static enum exit_action handle_io(struct vcpu *v, struct vm_exit *e)
{
	if (e->io.string)
		return vcpu_string_io(v, e);
	u64 mask = e->io.size == 4 ? 0xffffffffull : e->io.size == 2 ? 0xffff : 0xff;
	u64 val = v->regs.rax & mask;
	if (port_access(v, e->io.port, e->io.size, !e->io.in, &val))
		return ACTION_STOP;
	if (e->io.in) {
		v->regs.rax = (v->regs.rax & ~mask) | (val & mask);
		if (e->io.size == 4)
			v->regs.rax &= 0xffffffffull;  /* 32-bit results zero-extend */
	}
	skip(v, e);
	return ACTION_RESUME;
}

/* ---- CPUID ---- */

/*
 * Every leaf is built from an allow-list (docs/guest-abi.md "CPUID"): a
 * feature bit reaches the guest only if hv lets the guest use what it
 * enumerates (its instructions run natively or are emulated, its MSRs are
 * emulated or switched). Leaves hv does not list read as zeros. APIC ids
 * and topology are the vCPU's, never the pCPU's (Intel SDM Vol. 2A CPUID
 * leaves 01h, 0Bh, 1Fh; AMD APM Vol. 3 E.4.20 leaf 8000_001Eh).
 */
#define MAX_BASIC_LEAF 0x16u
#define MAX_EXT_LEAF 0x80000021u

/* Leaf 01h ECX: SSE3 PCLMULQDQ SSSE3 CX16 PCID SSE4.1 SSE4.2 MOVBE POPCNT AES RDRAND.
 * Not: MONITOR VMX SMX EST TM2 SDBG FMA PDCM DCA x2APIC TSC-deadline XSAVE
 * OSXSAVE AVX F16C (no XSAVE state, no LAPIC timer, MSRs hv does not emulate). */
#define CPUID_1_ECX (BIT(0) | BIT(1) | BIT(9) | BIT(13) | BIT(17) | BIT(19) | BIT(20) | BIT(22) | \
		     BIT(23) | BIT(25) | BIT(30))
/* Leaf 01h EDX: FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP PGE CMOV PAT PSE36
 * CLFSH MMX FXSR SSE SSE2 SS. Not: MTRR MCA PSN DS ACPI HTT TM PBE. */
#define CPUID_1_EDX (BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | \
		     BIT(9) | BIT(11) | BIT(13) | BIT(15) | BIT(16) | BIT(17) | BIT(19) | BIT(23) | \
		     BIT(24) | BIT(25) | BIT(26) | BIT(27))
/* Leaf 07h.0 EBX: FSGSBASE BMI1 FDP_EXCPTN_ONLY SMEP BMI2 ERMS INVPCID
 * FPU-CS/DS-deprecated RDSEED ADX SMAP CLFLUSHOPT CLWB SHA. Not: TSC_ADJUST SGX
 * HLE/RTM AVX2 AVX-512* PQM/PQE MPX PT. */
#define CPUID_7_EBX (BIT(0) | BIT(3) | BIT(6) | BIT(7) | BIT(8) | BIT(9) | BIT(10) | BIT(13) | \
		     BIT(18) | BIT(19) | BIT(20) | BIT(23) | BIT(24) | BIT(29))
/* Leaf 07h.0 ECX: PREFETCHWT1 UMIP PKU GFNI CLDEMOTE MOVDIRI MOVDIR64B. Not:
 * OSPKE (it mirrors a CR4 bit hv does not track here), WAITPKG, CET, LA57,
 * RDPID (IA32_TSC_AUX is not switched), KL, ENQCMD, SGX_LC, PKS, AVX forms. */
#define CPUID_7_ECX (BIT(0) | BIT(2) | BIT(3) | BIT(8) | BIT(25) | BIT(27) | BIT(28))
/* Leaf 07h.0 EDX, besides the speculation bits: FSRM SERIALIZE. */
#define CPUID_7_EDX (BIT(4) | BIT(14))
/* Leaf 8000_0001h ECX: LAHF AltMovCr8 ABM SSE4A MisAlignSse 3DNowPrefetch TBM.
 * Not: CmpLegacy SVM ExtApicSpace OSVW IBS XOP SKINIT WDT LWP FMA4 TCE NodeId
 * TopologyExtensions PerfCtr* DataBkptExt PerfTsc MwaitExtended. */
#define CPUID_81_ECX (BIT(0) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | BIT(21))
/* Leaf 8000_0001h EDX: leaf 01h's list (AMD repeats those bits) plus SYSCALL NX
 * MmxExt FFXSR Page1GB LM 3DNowExt 3DNow. Not RDTSCP (IA32_TSC_AUX). */
#define CPUID_81_EDX (CPUID_1_EDX | BIT(11) | BIT(20) | BIT(22) | BIT(25) | BIT(26) | BIT(29) | \
		      BIT(30) | BIT(31))
/* Leaf 8000_0008h EBX bits 0-11: CLZERO, RstrFpErrPtrs (XSaveErPtr), WBNOINVD. */
#define CPUID_88_EBX_LOW (BIT(0) | BIT(2) | BIT(9))

/*
 * SPECULATION-CONTROL BITS (docs/security.md, issue 10 defects 3 and 4): the
 * one place that decides them, from spec_cpuid_bits() (hv/x86/spec_hw.c),
 * which offers IBRS/STIBP/SSBD only where hv really switches them.
 * Leaf 07h.0 EDX: IBRS/IBPB(26) STIBP(27) ARCH_CAPABILITIES(29) SSBD(31) off,
 * L1D_FLUSH(28) off (IA32_FLUSH_CMD is not emulated), IBPB on where hv offers
 * it; MD_CLEAR(10) (VERW, no MSR) passes through. Leaf 8000_0008h EBX bits 12-31: IBPB(12) IBRS(14)
 * STIBP(15) IBRS_ALWAYS_ON(16) STIBP_ALWAYS_ON(17) SSBD(24) IBPB_RET(30) off,
 * IBPB(12) and IBPB_RET(30) on as offered; the others pass through.
 * Leaf 8000_0021h EAX passes through, except SBPB(27) (below).
 */
/* Not inlined: their out-parameters would give handle_cpuid a stack canary. */
static __attribute__((noinline)) u32 spec_7_edx(u32 host)
{
	/* MD_CLEAR(10) (VERW, no MSR) passes through; L1D_FLUSH(28) stays off
	 * (IA32_FLUSH_CMD is not emulated); spec_cpuid_bits() decides IBRS/IBPB,
	 * STIBP, ARCH_CAPABILITIES and SSBD from what hv really switches. */
	u32 ebx = 0, edx = host & BIT(10);
	spec_cpuid_bits(7, 0, &ebx, &edx);
	return edx;
}

static __attribute__((noinline)) u32 spec_88_ebx(u32 host)
{
	u32 ebx = host & 0xfffff000u, edx = 0;
	spec_cpuid_bits(0x80000008, 0, &ebx, &edx);
	return ebx;
}

/* SBPB (8000_0021h EAX[27]) only where the CPU has it and hv offers IBPB (docs/barriers.md). */
static u32 spec_821_eax(u32 host)
{
	return (host & ~BIT(27)) | (guest_has_sbpb() ? BIT(27) : 0);
}
/* ---- end of the speculation-control bits ---- */

/* Leaf 0Bh / 1Fh: the VM's own flat topology (one thread per core). */
static __attribute__((noinline)) struct cpuid_regs topology_leaf(const struct vcpu *v, u32 sub)
{
	struct cpuid_regs r = { 0, 0, sub & 0xff, v->id };
	unsigned n = v->vm->nvcpus, shift = 0;
	while ((1u << shift) < n)
		shift++;
	if (sub == 0) {                       /* SMT level: 1 thread */
		r.ebx = 1;
		r.ecx |= 1u << 8;
	} else if (sub == 1) {                /* core level: every vCPU */
		r.eax = shift;
		r.ebx = n;
		r.ecx |= 2u << 8;
	}
	return r;
}

/*
 * The TSC rate where guests look for it (docs/guest-abi.md): the virtual
 * LAPIC timer counts at the TSC rate (hv/dev/lapic.h), so one clock
 * answers all three leaves.
 *  - 15h (Intel SDM Vol. 2A CPUID, "Time Stamp Counter and Nominal Core
 *    Crystal Clock"): TSC = ECX * EBX / EAX; ECX (the crystal) = the TSC
 *    rate itself, ratio 1/1 (or ECX = half of it, 2/1, above 4 GHz). Linux
 *    on an Intel vendor takes its TSC rate and its APIC timer period (the
 *    crystal) from here (arch/x86/kernel/tsc.c native_calibrate_tsc).
 *  - 16h: base, maximum and bus (reference) frequency in MHz.
 *  - 4000_0010h (the VMware/ACRN convention): EAX = TSC kHz, EBX = LAPIC
 *    timer kHz.
 */
static __attribute__((noinline)) struct cpuid_regs timing_leaf(u32 leaf)
{
	u64 khz = tsc_per_ms, hz = khz * 1000;
	u32 mhz = (u32)(khz / 1000);
	if (leaf == 0x15)
		return hz <= 0xffffffffull ? (struct cpuid_regs){ 1, 1, (u32)hz, 0 }
					   : (struct cpuid_regs){ 1, 2, (u32)(hz / 2), 0 };
	if (leaf == 0x16)
		return (struct cpuid_regs){ mhz & 0xffff, mhz & 0xffff, mhz & 0xffff, 0 };
	return (struct cpuid_regs){ (u32)khz, (u32)khz, 0, 0 };
}

/* Four bytes of a signature string as CPUID returns them (little endian),
 * without taking a local's address (no stack canary on the exit path). */
static inline u32 sig_word(const char *s)
{
	return (u32)(u8)s[0] | (u32)(u8)s[1] << 8 | (u32)(u8)s[2] << 16 | (u32)(u8)s[3] << 24;
}

static inline __attribute__((always_inline)) void handle_cpuid(struct vcpu *v)
{
	u32 leaf = (u32)v->regs.rax, sub = (u32)v->regs.rcx;
	struct cpuid_regs r, h;
	/* The host CPUID runs for the hypervisor leaves too (its result is
	 * dropped below): one range check on the rare leaves, not on all. */
	h = cpuid(leaf, sub);
	switch (leaf) {
	case 0:
		r = h;
		if (r.eax > MAX_BASIC_LEAF)
			r.eax = MAX_BASIC_LEAF;
		break;
	case 1:
		r.eax = h.eax;                                       /* family, model, stepping */
		r.ebx = (h.ebx & 0xffff) | (v->id << 24);            /* brand, CLFLUSH size; APIC id */
		r.ecx = (h.ecx & CPUID_1_ECX) | BIT(31);             /* + hypervisor present */
		r.ecx |= BIT(21) | BIT(24);  /* x2APIC, TSC-deadline: hv's virtual LAPIC (vplat.c, docs/platform.md) */
		r.edx = h.edx & CPUID_1_EDX;
		break;
	case 0x15:                                                   /* TSC / crystal clock */
	case 0x16:                                                   /* frequencies */
	case 0x40000010:                                             /* hv: TSC and APIC timer kHz */
		r = timing_leaf(leaf);
		break;
	case 2:                                                      /* cache descriptors */
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:                                             /* brand string */
	case 0x80000005:
	case 0x80000006:                                             /* cache and TLB sizes */
		r = h;
		break;
	case 6:                                                      /* power: ARAT only, the */
		r = (struct cpuid_regs){ BIT(2), 0, 0, 0 };          /* virtual APIC timer never stops */
		break;
	case 4:                                                      /* caches, without the core counts */
		r = h;
		r.eax &= 0x3fff;
		break;
	case 7:
		r = (struct cpuid_regs){ 0 };                        /* EAX = 0: no subleaf 1 and up */
		if (sub == 0) {
			r.ebx = h.ebx & CPUID_7_EBX;
			r.ecx = h.ecx & CPUID_7_ECX;
			r.edx = (h.edx & CPUID_7_EDX) | spec_7_edx(h.edx);
		}
		break;
	case 0xb:
	case 0x1f:
		r = topology_leaf(v, sub);
		break;
	case 0x80000000:
		r = h;
		if (r.eax > MAX_EXT_LEAF)
			r.eax = MAX_EXT_LEAF;
		break;
	case 0x80000001:
		r = (struct cpuid_regs){ h.eax, 0, h.ecx & CPUID_81_ECX, h.edx & CPUID_81_EDX };
		break;
	case 0x80000007:
		r = (struct cpuid_regs){ 0, 0, 0, h.edx & BIT(8) };  /* invariant TSC only */
		break;
	case 0x80000008:                                             /* address sizes; ECX (core count), EDX: 0 */
		r = (struct cpuid_regs){ h.eax & 0xffffff, (h.ebx & CPUID_88_EBX_LOW) | spec_88_ebx(h.ebx), 0, 0 };
		break;
	case 0x8000001e:
		r = (struct cpuid_regs){ v->id, 0, 0, 0 };           /* extended APIC id */
		break;
	case 0x80000021:
		r = (struct cpuid_regs){ spec_821_eax(h.eax), 0, 0, 0 };
		break;
	case 0x40000000:                                             /* hv's own leaves */
		r.eax = HV_CPUID_MAX_LEAF;
		r.ebx = sig_word(HV_CPUID_SIGNATURE);
		r.ecx = sig_word(HV_CPUID_SIGNATURE + 4);
		r.edx = sig_word(HV_CPUID_SIGNATURE + 8);
		break;
	default:
		r = (struct cpuid_regs){ 0 };                        /* not listed (4000_0001h-4000_000Fh too): zeros */
		break;
	}
	v->regs.rax = r.eax;
	v->regs.rbx = r.ebx;
	v->regs.rcx = r.ecx;
	v->regs.rdx = r.edx;
}

/* ---- MSRs ---- */

bool spec_guest_write_spec_ctrl(struct vcpu *v, u64 val)
{
	/* Where the CPU has the MSR, only its bits; else the virtual IBRS/STIBP/SSBD. */
	u64 ok = spec_plan.has_spec_ctrl ? spec_plan.spec_ctrl_bits : 7;
	if (val & ~ok)
		return false;
	v->spec_ctrl = val;
	if (spec_plan.has_spec_ctrl) {
		v->regs.spec_ctrl = val;   /* loaded at the next entry (svm_entry.S / vmx_entry.S) */
		if (spec_plan.v_spec_ctrl)
			svm_set_v_spec_ctrl(v, val);
	}
	return true;
}

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
			/* Bit 0 IBPB; bit 7 SBPB only where the CPU has it (then, as on
			 * that CPU, accepted in every mode; not an opt-in); others
			 * reserved: #GP, as the CPU gives once writes pass through. */
			ok = barrier_caps.offer_guest &&
			     !(val & ~(PRED_CMD_IBPB | (guest_has_sbpb() ? PRED_CMD_SBPB : 0)));
			if (ok)
				guest_pred_cmd(p, v, val);
			break;
		case MSR_MISC_ENABLE:
			/* Kept only (nothing it controls is switched): Linux's
			 * verify_cpu reads and may write it on an Intel vendor with
			 * no IDT yet, so a #GP here is a triple fault. */
			v->misc_enable = val;
			break;
		case MSR_TSC_AUX:
			/* Kept, never loaded: RDTSCP and RDPID stay hidden (CPUID), but
			 * Linux writes TSC_AUX on every CPU as it starts (setup_getcpu),
			 * where an AP has no #GP handler yet. 32 bits (AMD APM 2 17.1). */
			ok = !(val >> 32);
			if (ok)
				v->tsc_aux = val;
			break;
		case MSR_SPEC_CTRL:
			/* IBRS, STIBP, SSBD: applied while the guest runs where the CPU has them (spec.h) */
			ok = (spec_plan.has_spec_ctrl || barrier_caps.offer_guest) && spec_guest_write_spec_ctrl(v, val);
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
		case MSR_TSC_AUX:
			val = v->tsc_aux;
			break;
		case MSR_MISC_ENABLE:
			val = v->misc_enable;
			break;
		case MSR_SPEC_CTRL:       /* (VT-x reads the real MSR without an exit: spec.h) */
			ok = spec_plan.has_spec_ctrl || barrier_caps.offer_guest;
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
	if (v->state == VCPU_RUNNABLE)
		vm->nrunnable--;
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
	if (__builtin_expect(e->cpl != 0, 0)) {
		/* Only the guest kernel may call hv, as with KVM (which returns
		 * -KVM_EPERM, also -1): docs/guest-abi.md. */
		r->rax = HC_ERROR;
		v->vm->hypercalls_refused++;
		return ACTION_RESUME;
	}
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
			u64 i = array_index_nospec(r->rbx, HV_COUNTERS);
			v->vm->counters[i] = r->rcx;
			v->vm->counters_set |= 1u << i;
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
		v->home = pcpus[array_index_nospec(r->rbx, npcpus)];
		v->pin = (int)r->rbx;      /* stays there: stealing leaves pinned vCPUs alone */
		return ACTION_YIELD;
	default:
		r->rax = HC_ERROR;
		return ACTION_RESUME;
	}
}

/* ---- PAUSE loops ---- */

/*
 * A vCPU spinning with PAUSE on a lock another vCPU holds (Linux's AP
 * call-in, TSC sync, stop_machine) would burn its whole slice while the
 * holder waits in the same pCPU's queue. The backend intercepts PAUSE in
 * VMs of more than one vCPU: SVM with the pause filter (an exit after
 * 3000 PAUSEs less than 128 cycles apart) where CPUID 8000_000Ah EDX[10,12]
 * has it, VT-x with PAUSE-loop exiting (a loop longer than 4096 TSC ticks,
 * PAUSEs at most 128 apart), else every PAUSE exits and hv counts
 * (pause_exits_per_yield). When the count is reached and another vCPU waits
 * in this pCPU's queue, this one yields to it (vendor.c owns the count).
 */
static __attribute__((noinline)) enum exit_action pause_exit(struct pcpu *p, struct vcpu *v, struct vm_exit *e)
{
	skip(v, e);
	if (++v->pause_run < pause_exits_per_yield)
		return ACTION_RESUME;
	v->pause_run = 0;
	if (!__atomic_load_n(&p->rq_head, __ATOMIC_RELAXED))
		return ACTION_RESUME;          /* nobody here to give the pCPU to */
	v->pause_yields++;
	trace_add(p, TR_YIELD, v->gid, 1, 0, 0);
	return ACTION_YIELD;
}

/* ---- the dispatcher ---- */

/* Exits handled by skipping the instruction: the backend must have its length. */
#define NEEDS_LENGTH (BIT(EXIT_IO) | BIT(EXIT_MSR_READ) | BIT(EXIT_MSR_WRITE) | BIT(EXIT_CPUID) | \
		      BIT(EXIT_HLT) | BIT(EXIT_HYPERCALL) | BIT(EXIT_CACHE) | BIT(EXIT_PAUSE))

static bool needs_length(enum exit_reason r)
{
	return (NEEDS_LENGTH >> r) & 1;
}

static __attribute__((noinline, cold)) enum exit_action bad_length(struct vcpu *v, struct vm_exit *e)
{
	vm_fail(v, "%s exit, but the instruction at rip 0x%llx is not one (changed under hv?)",
		exit_reason_names[e->reason], (unsigned long long)vendor->get_rip(v));
	return ACTION_STOP;
}

static __attribute__((noinline)) enum exit_action cpuid_exit(struct vcpu *v, u32 insn_len)
{
	handle_cpuid(v);
	static_call_vendor_advance_rip(v, insn_len);
	return ACTION_RESUME;
}

static __attribute__((noinline)) enum exit_action handle_exit_other(struct vcpu *v, struct pcpu *p,
								    struct vm_exit *e);

/* HLT with IF=1 waits for an interrupt; one already deliverable ends it at
 * once, injected here (the vCPU does not pass through the scheduler). With
 * IF=0 only a reset would end it. */
static __attribute__((noinline)) enum exit_action hlt_exit(struct vcpu *v, struct pcpu *p, struct vm_exit *e)
{
	skip(v, e);
	/* (it injects only if the guest can take it: IF=1, and skipping HLT
	 * ended any STI shadow; one look at the window, not two) */
	if ((v->irq_check || v->lapic.nmi_pending) && vplat_deliver(v))
		return ACTION_RESUME;
	v->halt_if = static_call_vendor_irq_window(v, WINDOW_NONE);
	trace_add(p, TR_HALT, v->gid, 0, 0, 0);
	return ACTION_BLOCK;
}

/* A host interrupt: they reach hv only here (it runs with IF=0 otherwise),
 * so this is the one place the slice timer can have fired; also a guest
 * timer's deadline and an IPI's kick. */
static __attribute__((noinline)) enum exit_action intr_exit(struct vcpu *v, struct pcpu *p)
{
	sti();                     /* take the pending host interrupt (timer) now */
	__asm__ volatile("nop");
	cli();
	/* hv's timer or not (a wake IPI), the TSC says what is due: a timer
	 * that fired early, or not at all, is armed again (sched_timer_tick). */
	if (sched_timer_tick(p, v))
		return ACTION_PREEMPT;     /* (an injected interrupt waits in the VMCB/VMCS) */
	irq_check(v);              /* a guest timer, or an IPI's kick */
	return ACTION_RESUME;
}

/* WRMSR: the x2APIC writes of an interrupt's round trip (EOI, ICR, SELF
 * IPI) and a TSC deadline on a straight path, done and the interrupt they
 * let through already delivered (vplat_fast_wrmsr; the SVM backend takes
 * most of them itself, in its fast path); the rest, and any of those the
 * APIC refuses, through handle_msr. */
static __attribute__((noinline)) enum exit_action msr_write_exit(struct vcpu *v, struct pcpu *p, struct vm_exit *e)
{
	u32 msr = (u32)v->regs.rcx;
	u64 val = (v->regs.rax & 0xffffffffull) | (v->regs.rdx << 32);
	/* (A tickless guest's timer: Linux re-arms it at every tick.) */
	if (vplat_fast_wrmsr(p, v, msr, val)) {
		skip(v, e);
		return ACTION_RESUME;
	}
	return handle_msr(p, v, e, true);
}

/*
 * The fast exits first, on a straight path: CPUID, a hypercall, a port
 * with no device. Nothing here takes a local's address, so this function
 * needs no stack canary; everything else (and whatever does take one) is in
 * handle_exit_other. docs/benchmarks.md "Exit paths after the merge".
 */
enum exit_action vcpu_handle_exit(struct vcpu *v, struct pcpu *p, struct vm_exit *e)
{
	enum exit_reason why = e->reason;
	v->exits[why]++;
	if (needs_length(why) && (e->insn_len == 0 || e->insn_len > 15))
		return bad_length(v, e);
	if (why == EXIT_CPUID)
		return cpuid_exit(v, e->insn_len);   /* a tail call: nothing kept across it */
	if (why == EXIT_HYPERCALL)
		return handle_hypercall(p, v, e);
	if (why == EXIT_IO && !e->io.string && vplat_port_unclaimed(&v->vm->plat, e->io.port, e->io.size)) {
		if (e->io.in) {                /* an empty bus reads all ones */
			u64 mask = e->io.size == 4 ? 0xffffffffull : e->io.size == 2 ? 0xffff : 0xff;
			v->regs.rax |= mask;
			if (e->io.size == 4)
				v->regs.rax &= 0xffffffffull;  /* 32-bit results zero-extend */
		}
		skip(v, e);
		return ACTION_RESUME;
	}
	if (why == EXIT_MSR_WRITE)
		return msr_write_exit(v, p, e);      /* tail calls */
	if (why == EXIT_HLT)
		return hlt_exit(v, p, e);
	if (why == EXIT_INTR)
		return intr_exit(v, p);
	return handle_exit_other(v, p, e);
}

static enum exit_action handle_exit_other(struct vcpu *v, struct pcpu *p, struct vm_exit *e)
{
	switch (e->reason) {
	case EXIT_IO:
		return handle_io(v, e);
	case EXIT_CPUID:                   /* (vcpu_handle_exit takes these) */
		return cpuid_exit(v, e->insn_len);
	case EXIT_MSR_READ:
		return handle_msr(p, v, e, false);
	case EXIT_MSR_WRITE:
		return handle_msr(p, v, e, true);
	case EXIT_HYPERCALL:
		return handle_hypercall(p, v, e);
	case EXIT_HLT:                     /* (vcpu_handle_exit takes these) */
		return hlt_exit(v, p, e);
	case EXIT_IRQ_WINDOW:
		irq_check(v);
		return ACTION_RESUME;
	case EXIT_PAUSE:
		return pause_exit(p, v, e);
	case EXIT_CACHE:
		skip(v, e);                /* INVD would drop other VMs' dirty lines: never run it */
		return ACTION_RESUME;
	case EXIT_EMULATED:
		skip(v, e);                /* insn_len 0: the backend injected a fault instead */
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
		/* A device page (the vCPU's xAPIC page, the IOAPIC, hv's test
		 * device): decode and emulate the access (hv/mmio.c). */
		enum exit_action act;
		u64 dl = v->lapic.timer_deadline;
		if (vcpu_mmio_exit(v, e, device_lookup, &act)) {
			/* A write to the xAPIC timer's initial count, LVT or divide
			 * register moves the deadline: re-arm this pCPU's timer, as the
			 * x2APIC MSR path does (else the tick waits for the slice end). */
			if (v->lapic.timer_deadline != dl)
				sched_timer_rearm(p, v);
			if (act == ACTION_RESUME)
				irq_check(v);  /* an EOI, a TPR write, an IPI */
			return act;
		}
		vm_fail(v, "vCPU %u accessed guest-physical 0x%llx, outside its %llu MiB of memory",
			v->id, (unsigned long long)e->npf.gpa, (unsigned long long)(v->vm->mem_size >> 20));
		return ACTION_STOP;
	}
	case EXIT_INVALID:
		vm_fail(v, "VM entry failed: the hardware rejected vCPU %u's state (exit 0x%llx)", v->id,
			(unsigned long long)e->raw);
		return ACTION_STOP;
	case EXIT_EXCEPTION:
		if (e->exc.vector == EXC_DB || e->exc.vector == EXC_AC)
			return ACTION_RESUME;  /* reflected by the backend, as the CPU would deliver it */
		if (e->exc.vector == EXC_MC) {
			/* A machine check while this vCPU ran: its memory or state may be
			 * corrupt and hv cannot tell which VM caused it; end this VM
			 * (docs/security.md). hv's own state is not touched by a guest. */
			vm_fail(v, "machine check (#MC) while vCPU %u ran at rip 0x%llx: the VM is ended",
				v->id, (unsigned long long)vendor->get_rip(v));
			return ACTION_STOP;
		}
		vm_fail(v, "unexpected exit 0x%llx (exception %u)", (unsigned long long)e->raw, e->exc.vector);
		return ACTION_STOP;
	case EXIT_OTHER:
		if (e->what) {
			vm_fail(v, "%s at rip 0x%llx: not emulated", e->what,
				(unsigned long long)vendor->get_rip(v));
			return ACTION_STOP;
		}
		/* fall through */
	default:
		vm_fail(v, "unexpected exit 0x%llx (%s)", (unsigned long long)e->raw, exit_reason_names[e->reason]);
		return ACTION_STOP;
	}
}
