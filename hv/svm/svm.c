/*
 * hv/svm/svm.c - the AMD-V (SVM) backend: AMD APM Vol. 2 ch. 15.
 *
 * Per pCPU: EFER.SVME, a host save area (VM_HSAVE_PA) and a page for the
 * VMSAVE of hv's own segment state. Per VM: a nested page table mapping
 * exactly its RAM, and an ASID. Per vCPU: a VMCB and an MSR permission map
 * (per vCPU because the PRED_CMD passthrough is per vCPU). One I/O
 * permission map for everybody: every port is intercepted.
 */
#include "../guest_layout.h"
#include "../guest_mem.h"
#include "../hv.h"
#include "../insn.h"
#include "../linux.h"
#include "../pagetable.h"
#include "../spec.h"
#include "../vendor.h"
#include "../vplat.h"
#include "../x86/apic.h"
#include "../x86/cpu.h"
#include "../x86/trap.h"
#include "vmcb.h"

#define MSR_VM_CR 0xc0010114
#define MSR_VM_HSAVE_PA 0xc0010117
#define VM_CR_SVMDIS BIT(4)

struct svm_pcpu {
	void *hsave;           /* VM_HSAVE_PA: VMRUN's host state */
	struct vmcb *host;     /* VMSAVE/VMLOAD target for hv's own state */
	u32 next_asid;         /* ASIDs are handed out per pCPU ... */
	u64 asid_gen;          /* ... in generations; a new one flushes the TLB */
};

struct svm_vm {
	u64 *npt;              /* nested PML4 */
};

struct svm_vcpu {
	struct vmcb *vmcb;
	u8 *msrpm;
	u64 asid_gen;          /* generation of vmcb->control.asid ... */
	struct pcpu *asid_pcpu;/* ... on this pCPU */
	/* The code TLB and the last decoded exiting instructions (hv/guest_mem.h). */
	struct code_cache cc;
	/* NMI blocking, which SVM leaves to the hypervisor (APM 15.21.3: an
	 * NMI injected through EVENTINJ is taken whatever the CPU's own NMI
	 * mask says): set when hv injects an NMI, until the guest's IRET has
	 * executed. The IRET intercept exits *before* the IRET (iret_rip =
	 * its address); it has executed once RIP is elsewhere, and if an NMI
	 * waits meanwhile a single step (RFLAGS.TF, #DB intercepted) brings
	 * the exit right after it. */
	bool nmi_blocked, iret_seen, nmi_step;
	bool pause_sw;                /* no pause filter: PAUSE intercepted only while
	                               * another vCPU waits in this pCPU's queue */
	u8 entry_extra;               /* ENTRY_*: work before the next VMRUN (svm_run) */
	u64 iret_rip;
	u64 step_rflags, step_dr6;    /* the guest's TF/RF and DR6 before the step */
};

void svm_enter(struct guest_regs *regs, u64 vmcb_pa, u64 host_vmcb_pa);

static bool has_nrips;
static bool has_pause_filter, has_pf_threshold;
static u8 guest_flush;         /* TLB_CONTROL value that flushes one guest's ASID */
static u32 max_asid;
/*
 * QEMU TCG (7.2 at least): VMRUN delivers an EVENTINJ external interrupt
 * at once but leaves the vector as the CPU's pending exception
 * (cs->exception_index). Until the next #VMEXIT or exception overwrites it,
 * any stop of QEMU's execution loop (its round-robin kick between CPUs,
 * the end of an -icount budget at a timer deadline) delivers that vector a
 * second time, whatever the guest's IF. A Linux guest interrupted in user
 * mode then takes the second one at the first instruction of the handler,
 * before SWAPGS, and loops in page faults on %gs (docs/platform.md).
 *
 * So under TCG hv injects an external interrupt through the virtual
 * interrupt instead (APM 15.21.4: V_IRQ with V_INTR_VECTOR, TPR ignored, no
 * VINTR intercept), which QEMU delivers through its ordinary interrupt path
 * at the guest's first instruction boundary and then clears (V_IRQ reads 0
 * at the next exit). hv acknowledges the vector in its APIC model when it
 * injects, as with EVENTINJ; the guest cannot tell, since every access to
 * its APIC exits and none can happen before the delivery. Only a host
 * event pending at VMRUN (INTR, NMI, SMI, INIT: taken before a virtual
 * interrupt) or a delivery cut short (EXITINTINFO) can leave V_IRQ set at an
 * exit (V_IRQ set without the VINTR intercept, which only a window request
 * sets); svm_virq_settle then moves the vector to EVENTINJ.
 *
 * An event that must go through EVENTINJ (the re-injection of EXITINTINFO,
 * such a moved V_IRQ) keeps the other defence: hv sends itself an IPI
 * before the entry. A host interrupt pending at VMRUN is taken at QEMU's
 * first instruction boundary in the guest, before the loop looks at its
 * stop requests: it becomes an INTR #VMEXIT right after the delivery, which
 * clears the stale vector (hv/vcpu.c takes it at the EXIT_INTR). It costs
 * an exit, which V_IRQ avoids on every ordinary injection. Set by probe.
 */
static bool tcg_inject_fix;
/*
 * What the next VMRUN must do besides entering, in one byte, so that the
 * common entry tests one field (svm_run; the fast exits' path lengths are
 * measured in make bench): ENTRY_PAUSE re-decides the PAUSE intercept
 * (pause_sw; set at the exits after which another vCPU may be waiting:
 * a host interrupt, HLT, PAUSE, and at the first entry), ENTRY_KICK sends
 * the TCG kick (an external interrupt was put in EVENTINJ), ENTRY_TSC
 * times the guest (tsc_split, for the whole run).
 */
enum { ENTRY_PAUSE = 1, ENTRY_KICK = 2, ENTRY_TSC = 4 };
static u8 *iopm;

static struct svm_vcpu *sv(struct vcpu *v) { return v->vendor; }

static const char *svm_probe(void)
{
	if (!cpu_vendor_is("AuthenticAMD") && !cpu_vendor_is("HygonGenuine"))
		return "not an AMD CPU (SVM backend)";
	if (cpuid(0x80000000, 0).eax < 0x8000000a || !(cpuid(0x80000001, 0).ecx & BIT(2)))
		return "this CPU has no SVM (AMD-V): CPUID 8000_0001h ECX[2] is clear";
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS)
		return "SVM is disabled by the firmware (VM_CR.SVMDIS): enable virtualization (SVM mode) in the firmware setup";
	struct cpuid_regs r = cpuid(0x8000000a, 0);
	if (!(r.edx & BIT(0)))
		return "this CPU has SVM but no nested paging (CPUID 8000_000Ah EDX[0])";
	has_nrips = r.edx & BIT(3);
	/* FlushByAsid (8000_000Ah EDX[6]): TLB_CONTROL 3 flushes just this ASID,
	 * else 1 flushes every ASID (APM 15.16.1). */
	guest_flush = (r.edx & BIT(6)) ? TLB_CONTROL_FLUSH_ASID : TLB_CONTROL_FLUSH_ALL;
	max_asid = r.ebx - 1;      /* ASID 0 is the host's */
	if (max_asid < 1)
		return "this CPU reports no guest ASIDs (CPUID 8000_000Ah EBX)";
	tcg_inject_fix = platform_is_qemu_tcg();
	/* PAUSE loops (hv/vcpu.c pause_exit): the pause filter (EDX[10]) and its
	 * threshold (EDX[12]) where the CPU has them (APM 15.14.4), else every
	 * PAUSE exits and hv counts. */
	has_pause_filter = r.edx & BIT(10);
	has_pf_threshold = r.edx & BIT(12);
	pause_exits_per_yield = has_pause_filter ? 1 : PAUSE_SW_EXITS;
	printk("hv: SVM rev %u, %u ASIDs, nested paging, NRIPS %s, PAUSE loops: %s\n", r.eax & 0xff, r.ebx,
	       has_nrips ? "yes" : "no (instruction lengths decoded by hv)",
	       has_pf_threshold ? "pause filter with threshold" : has_pause_filter ? "pause filter" :
	       "no pause filter: every PAUSE exits while another vCPU waits on the pCPU, counted by hv");
	return NULL;
}

static void svm_cpu_init(struct pcpu *p)
{
	struct svm_pcpu *s = kzalloc(sizeof(*s));
	s->hsave = page_alloc(1);
	s->host = page_alloc(1);
	s->next_asid = 1;
	s->asid_gen = 1;
	p->vendor = s;
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, va_to_pa(s->hsave));
	/* hv's FS/GS/TR/LDTR/KernelGsBase/SYSCALL/SYSENTER state, once: svm_enter
	 * VMLOADs it after every exit (hv never changes it after this point). */
	__asm__ volatile("vmsave %%rax" ::"a"(va_to_pa(s->host)) : "memory");
	if (!iopm) {
		iopm = page_alloc(3);
		memset(iopm, 0xff, 3 * 4096);   /* intercept every port */
	}
}

static void *npt_alloc(void *ctx)
{
	(void)ctx;
	return page_alloc(1);
}

/* NPT entries: the guest's accesses are user accesses (APM 15.25.5), so U=1. */
static const struct pt_format npt_format = {
	.table_bits = BIT(0) | BIT(1) | BIT(2),
	.leaf_bits = BIT(0) | BIT(1) | BIT(2),
	.large_bits = BIT(0) | BIT(1) | BIT(2) | PT_PS,
	.present_mask = BIT(0),
	.alloc_page = npt_alloc,
};

static void svm_vm_init(struct vm *vm)
{
	struct svm_vm *s = kzalloc(sizeof(*s));
	s->npt = page_alloc(1);
	if (pt_map(s->npt, &npt_format, 0, vm->mem_pa, vm->mem_size))
		PANIC("cannot build the nested page table of vm %s", vm->name);
	vm->vendor = s;
}

/* MSR permission map: 2 bits per MSR (read, write), APM 15.11. */
static bool msrpm_bit(u32 msr, unsigned *byte, unsigned *shift)
{
	u32 base;
	if (msr <= 0x1fff)
		base = 0;
	else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		base = 0x800, msr -= 0xc0000000;
	else if (msr >= 0xc0010000 && msr <= 0xc0011fff)
		base = 0x1000, msr -= 0xc0010000;
	else
		return false;
	*byte = base + msr / 4;
	*shift = (msr % 4) * 2;
	return true;
}

static void msrpm_set(u8 *map, u32 msr, bool intercept_read, bool intercept_write)
{
	unsigned byte, shift;
	if (!msrpm_bit(msr, &byte, &shift))
		return;
	map[byte] &= ~(3u << shift);
	map[byte] |= (intercept_read ? 1u : 0) << shift | (intercept_write ? 2u : 0) << shift;
}

/*
 * The deliberate exceptions to "intercept every MSR": state that VMLOAD and
 * VMSAVE switch per vCPU anyway, so the guest may touch its own copy.
 */
static const u32 passthrough_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
	MSR_SFMASK, MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP,
};

static void seg(struct vmcb_seg *s, u16 sel, u16 attrib, u32 limit, u64 base)
{
	*s = (struct vmcb_seg){ .selector = sel, .attrib = attrib, .limit = limit, .base = base };
}

/* Real mode, CS = cs_sel (base cs_sel << 4), flat 64 KiB data segments. */
static void real_state(struct vmcb_save *g, u16 cs_sel, u64 rip, u64 rsp)
{
	seg(&g->cs, cs_sel, 0x9b, 0xffff, (u64)cs_sel << 4);
	seg(&g->ds, 0, 0x93, 0xffff, 0);
	g->es = g->ss = g->fs = g->gs = g->ds;
	seg(&g->gdtr, 0, 0, 0xffff, 0);
	seg(&g->idtr, 0, 0, 0x3ff, 0);
	g->cr0 = CR0_ET;
	g->cr3 = g->cr4 = 0;
	g->efer = EFER_SVME;
	g->rip = rip;
	g->rsp = rsp;
}

static bool svm_irq_window(struct vcpu *v, unsigned want);

/* vendor->start_real: the start-up IPI state (SDM Vol. 3A table 9-1). */
static void svm_start_real(struct vcpu *v, u16 cs_sel)
{
	struct vmcb *vmcb = sv(v)->vmcb;
	real_state(&vmcb->save, cs_sel, 0, 0);
	vmcb->save.rflags = 0x2;
	vmcb->save.dr7 = 0x400;
	vmcb->save.dr6 = 0xffff0ff0;
	vmcb->control.event_inj = 0;
	vmcb->control.interrupt_shadow = 0;
	vmcb->control.intercept_misc1 &= ~INTERCEPT_IRET;
	sv(v)->nmi_blocked = sv(v)->iret_seen = sv(v)->nmi_step = false;   /* INIT */
	vmcb->control.v_intr &= ~(u64)V_IRQ;   /* an untaken interrupt is dropped */
	svm_irq_window(v, false);
}

/* vendor->set_boot_state: a Linux entry state (hv/linux.h). VMX access
 * rights compress to the VMCB's 12-bit attrib (APM Vol. 2 15.5.1). */
static void boot_seg(struct vmcb_seg *d, const struct linux_seg *s)
{
	seg(d, s->sel, (u16)((s->attr & 0xff) | ((s->attr >> 4) & 0xf00)), s->limit, s->base);
}

static void svm_set_boot_state(struct vcpu *v, const struct linux_cpu_state *st)
{
	struct vmcb_save *g = &sv(v)->vmcb->save;
	boot_seg(&g->cs, &st->cs);
	boot_seg(&g->ds, &st->ds);
	boot_seg(&g->es, &st->es);
	boot_seg(&g->ss, &st->ss);
	boot_seg(&g->fs, &st->fs);
	boot_seg(&g->gs, &st->gs);
	boot_seg(&g->tr, &st->tr);
	seg(&g->gdtr, 0, 0, st->gdt_limit, st->gdt_base);
	seg(&g->idtr, 0, 0, 0, 0);
	g->cr0 = st->cr0;
	g->cr3 = st->cr3;
	g->cr4 = st->cr4;
	g->efer = st->efer | EFER_SVME;
	g->rip = st->rip;
	g->rsp = 0;
	g->rflags = st->rflags;
	v->regs.rsi = st->rsi;
	v->regs.rbx = st->rbx;
}

static void svm_vcpu_init(struct vcpu *v)
{
	struct svm_vcpu *s = kzalloc(sizeof(*s));
	struct svm_vm *svm = v->vm->vendor;
	code_cache_init(&s->cc);             /* nothing decoded yet */
	s->vmcb = page_alloc(1);
	s->msrpm = page_alloc(2);
	memset(s->msrpm, 0xff, 2 * 4096);
	for (unsigned i = 0; i < ARRAY_SIZE(passthrough_msrs); i++)
		msrpm_set(s->msrpm, passthrough_msrs[i], false, false);
	v->vendor = s;
	v->hv_bytes += sizeof(*s) + 3 * 4096;   /* VMCB + 8 KiB MSR permission map */

	struct vmcb_control *c = &s->vmcb->control;
	/* CR0/CR4 writes: #GP where hardware gives it (QEMU TCG accepts impossible
	 * values, after which its guest may never see a host interrupt again). */
	c->intercept_cr = INTERCEPT_CR0_WRITE | INTERCEPT_CR4_WRITE;
	/* #DB and #AC always (a #DB during #DB delivery, an #AC during #AC
	 * delivery loop inside the CPU without an exit: CVE-2015-8104 and
	 * CVE-2015-5307), reflected to the guest; #MC ends the VM (hv/vcpu.c). */
	c->intercept_exceptions = BIT(EXC_DB) | BIT(EXC_AC) | BIT(EXC_MC);
	c->intercept_misc1 = INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_SMI | INTERCEPT_INIT | INTERCEPT_RDPMC |
			     INTERCEPT_CPUID | INTERCEPT_INVD | INTERCEPT_HLT | INTERCEPT_INVLPGA |
			     INTERCEPT_IOIO_PROT | INTERCEPT_MSR_PROT | INTERCEPT_SHUTDOWN;
	c->intercept_misc2 = INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD |
			     INTERCEPT_VMSAVE | INTERCEPT_STGI | INTERCEPT_CLGI | INTERCEPT_SKINIT |
			     INTERCEPT_WBINVD | INTERCEPT_MONITOR | INTERCEPT_MWAIT | INTERCEPT_XSETBV;
	if (v->vm->nvcpus > 1 && has_pause_filter) {   /* PAUSE loops matter with a lock holder */
		c->intercept_misc1 |= INTERCEPT_PAUSE;
		c->pause_filter_count = 3000;       /* an exit after 3000 PAUSEs ... */
		if (has_pf_threshold)
			c->pause_filter_threshold = 128;    /* ... at most 128 cycles apart (KVM's values) */
	}
	/* Without the filter every PAUSE would exit (a guest's 2,000,000-PAUSE
	 * delay loop then costs 2,000,000 exits): intercept only while another
	 * vCPU waits in this pCPU's queue, the one case a yield helps (svm_run). */
	s->pause_sw = v->vm->nvcpus > 1 && !has_pause_filter;
	s->entry_extra = (s->pause_sw ? ENTRY_PAUSE : 0) | (tsc_split ? ENTRY_TSC : 0);
	c->iopm_base_pa = va_to_pa(iopm);
	c->msrpm_base_pa = va_to_pa(s->msrpm);
	c->v_intr = VINTR_MASKING;       /* guest IF does not gate host interrupts */
	c->np_control = NP_ENABLE;
	c->n_cr3 = va_to_pa(svm->npt);

	struct vmcb_save *g = &s->vmcb->save;
	g->g_pat = 0x0007040600070406ull;   /* the reset value */
	g->dr6 = 0xffff0ff0;
	g->dr7 = 0x400;
	g->rflags = 0x2;
	seg(&g->ldtr, 0, 0x82, 0xffff, 0);
	seg(&g->tr, 0, 0x8b, 0xffff, 0);    /* busy TSS, needed only for checks */
	if (v->vm->cfg->mode == GUEST_MODE_REAL) {
		real_state(g, 0, GUEST_REAL_LOAD, GUEST_REAL_LOAD - v->id * GUEST_REAL_STACK);
	} else {
		seg(&g->cs, 0x08, 0xa9b, 0xffffffff, 0);  /* P S DPL0 code, L=1, G=1 */
		seg(&g->ds, 0x10, 0xc93, 0xffffffff, 0);  /* P S DPL0 data, DB=1, G=1 */
		g->es = g->ss = g->fs = g->gs = g->ds;
		seg(&g->gdtr, 0, 0, 0x17, GUEST_GDT);
		seg(&g->idtr, 0, 0, 0, 0);
		g->cr0 = CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE;
		g->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
		g->cr3 = GUEST_PML4;
		g->efer = EFER_LME | EFER_LMA | EFER_SVME;
		g->rip = GUEST_LONG_LOAD;
		g->rsp = v->vm->mem_size - v->id * GUEST_LONG_STACK;
	}
}

static u64 svm_get_rip(struct vcpu *v) { return sv(v)->vmcb->save.rip; }
static void svm_set_rip(struct vcpu *v, u64 rip) { sv(v)->vmcb->save.rip = rip; }
static void svm_advance_rip(struct vcpu *v, u32 len) { sv(v)->vmcb->save.rip += len; }

static void svm_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
	sv(v)->vmcb->control.event_inj = vector | EVENTINJ_TYPE_EXCEPTION | EVENTINJ_VALID |
					 (has_error ? EVENTINJ_EV | ((u64)error << 32) : 0);
}

/*
 * Under TCG: the external interrupt svm_inject_event put in V_IRQ was taken
 * (V_IRQ reads 0), or an exit came first (a host event at the entry; see
 * tcg_inject_fix) and it moves to EVENTINJ, ahead of anything newer, so
 * that V_IRQ is free for the window and a later vector cannot overtake it.
 * Called before V_IRQ or EVENTINJ is decided again (svm_irq_window).
 */
static __attribute__((noinline)) void svm_virq_settle(struct svm_vcpu *s)
{
	struct vmcb_control *c = &s->vmcb->control;
	c->v_intr &= ~(u64)V_IRQ;
	c->event_inj = (u8)(c->v_intr >> V_INTR_VECTOR_SHIFT) | EVENTINJ_TYPE_INTR | EVENTINJ_VALID;
	s->entry_extra |= ENTRY_KICK;
}

/* An injection waits in V_IRQ (a window request sets the VINTR intercept too). */
static inline bool virq_injection_waits(const struct vmcb_control *c)
{
	return (c->v_intr & V_IRQ) && !(c->intercept_misc1 & INTERCEPT_VINTR);
}

/*
 * NMI window (APM 15.21.3, 15.20 "IRET intercept"): can an NMI be injected
 * now? Not while the last one's handler runs (until its IRET has executed),
 * nor in a shadow or with an event queued. While blocked: before the IRET
 * the IRET intercept (set at injection) brings the exit; at the IRET or in
 * a shadow a single step does. An event already queued is delivered first;
 * the NMI then waits for the next exit (at the latest the slice timer's).
 */
static bool svm_nmi_window(struct vcpu *v)
{
	struct svm_vcpu *s = sv(v);
	struct vmcb *vmcb = s->vmcb;
	if (s->iret_seen && vmcb->save.rip != s->iret_rip)
		s->nmi_blocked = s->iret_seen = false;     /* the IRET has executed */
	bool shadow = vmcb->control.interrupt_shadow & INTERRUPT_SHADOW;
	if (!s->nmi_blocked && !shadow && !(vmcb->control.event_inj & EVENTINJ_VALID))
		return true;
	if (!s->nmi_step && !(vmcb->control.event_inj & EVENTINJ_VALID) &&
	    (shadow || (s->nmi_blocked && s->iret_seen))) {
		s->nmi_step = true;
		s->step_rflags = vmcb->save.rflags & (RFLAGS_TF | RFLAGS_RF);
		s->step_dr6 = vmcb->save.dr6;
		vmcb->save.rflags |= RFLAGS_TF | RFLAGS_RF;
	}
	return false;
}

/*
 * Interrupt window (APM 15.21.4): the guest can take an external interrupt
 * if RFLAGS.IF is set, no STI/MOV SS shadow is active and no event is
 * already queued in EVENTINJ. Otherwise a virtual interrupt request (V_IRQ,
 * highest priority, TPR ignored) with the VINTR intercept exits as soon as
 * the guest could take it.
 */
static bool svm_irq_window(struct vcpu *v, unsigned want)
{
	if (__builtin_expect(virq_injection_waits(&sv(v)->vmcb->control), 0))
		svm_virq_settle(sv(v));
	if (want == WINDOW_NMI)
		return svm_nmi_window(v);
	struct vmcb_control *c = &sv(v)->vmcb->control;
	/* (Not during hv's NMI-window single step: the frame would hold its TF.) */
	bool can = (sv(v)->vmcb->save.rflags & RFLAGS_IF) && !(c->interrupt_shadow & INTERRUPT_SHADOW) &&
		   !(c->event_inj & EVENTINJ_VALID) && !sv(v)->nmi_step;
	/* QEMU TCG (7.2) does not load the VMCB's interrupt shadow at VMRUN
	 * (helper_vmrun ignores INT_STATE): a window requested inside an
	 * STI shadow exits at once, and the interrupt then goes in before the
	 * shadowed instruction, the HLT of `sti; hlt` included, which the
	 * handler returns to. There the request waits for the next exit (the
	 * HLT's own, or any other: irq_check stays set). */
	if (can || !want || (tcg_inject_fix && (c->interrupt_shadow & INTERRUPT_SHADOW))) {
		c->v_intr &= ~(u64)V_IRQ;
		c->intercept_misc1 &= ~INTERCEPT_VINTR;
	} else {
		c->v_intr |= V_IRQ | V_INTR_PRIO_MAX | V_IGN_TPR;
		c->intercept_misc1 |= INTERCEPT_VINTR;
	}
	return can;
}

static void svm_inject_event(struct vcpu *v, bool nmi, u8 vector)
{
	struct svm_vcpu *s = sv(v);
	if (nmi) {
		s->vmcb->control.event_inj = 2 | EVENTINJ_TYPE_NMI | EVENTINJ_VALID;
		s->nmi_blocked = true;                 /* until the handler's IRET */
		s->iret_seen = false;
		s->vmcb->control.intercept_misc1 |= INTERCEPT_IRET;
		return;
	}
	if (tcg_inject_fix) {          /* V_IRQ, not EVENTINJ (see tcg_inject_fix) */
		struct vmcb_control *c = &s->vmcb->control;
		c->v_intr = (c->v_intr & ~V_INTR_VECTOR_MASK) | V_IRQ | V_INTR_PRIO_MAX | V_IGN_TPR |
			    ((u64)vector << V_INTR_VECTOR_SHIFT);
		return;
	}
	s->vmcb->control.event_inj = vector | EVENTINJ_TYPE_INTR | EVENTINJ_VALID;
}

/* Code size the guest executes in, from CS.L / CS.D and CR0.PE. */
static enum insn_mode code_mode(const struct vmcb_save *g)
{
	if (!(g->cr0 & CR0_PE))
		return INSN_MODE_16;
	if ((g->efer & EFER_LMA) && (g->cs.attrib & BIT(9)))
		return INSN_MODE_64;
	return (g->cs.attrib & BIT(10)) ? INSN_MODE_32 : INSN_MODE_16;
}

/*
 * Decoding the exiting instruction from guest memory (no NRIPS). `decode`
 * is one of the decoders of hv/insn.c behind a common signature: it
 * returns the length or an INSN_ERR_* value, filling *ctx as it likes.
 */
typedef int (*insn_decoder)(const u8 *bytes, size_t avail, enum insn_mode mode, void *ctx);

/*
 * Run `decode` on the bytes at the guest's CS:RIP. Returns its result; when
 * it decoded the bytes in place through the guest's current translation,
 * *in_place points at them in hv's view of guest RAM (else NULL), so the
 * caller may remember them.
 */
static int decode_exiting(struct vcpu *v, insn_decoder decode, void *ctx, const u8 **in_place)
{
	struct svm_vcpu *s = sv(v);
	struct vmcb_save *g = &s->vmcb->save;
	int len;

	/*
	 * The code TLB is current only while the guest's paging registers are
	 * unchanged and the paging-structure entries that translated the page
	 * still hold the same values (a remapped page is noticed even without
	 * a TLB flush hv could see).
	 */
	*in_place = NULL;
	struct guest_paging pg = { g->cr0, g->cr3, g->cr4, g->efer };
	enum insn_mode mode = code_mode(g);
	u64 la = mode == INSN_MODE_64 ? g->rip : (g->cs.base + g->rip) & 0xffffffffull;
	u64 off = la & 0xfff;
	struct code_cache *c = &s->cc;
	bool cached = c->valid && c->la_page == la - off && c->pg.cr3 == pg.cr3 &&
		      c->pg.cr0 == pg.cr0 && c->pg.cr4 == pg.cr4 && c->pg.efer == pg.efer;
	u64 cached_gpa = c->gpa_page;
	bool current = cached && guest_walk_unchanged(&c->walk);
	if (!current) {
		struct guest_walk w;
		u64 gpa;
		if (guest_walk(v->vm, &pg, la - off, &gpa, &w) && guest_phys_ok(v->vm, gpa, 4096)) {
			/* (this also forgets the remembered instruction, which may be
			 * in another frame now: docs/security.md I8) */
			code_cache_set_page(c, &pg, la - off, gpa, &w);
			current = true;
		} else if (!cached) {
			c->valid = false;
		}       /* else the old translation stays: see the end */
	}
	if (current && off <= 4096 - INSN_MAX_LEN) {
		const u8 *host = guest_phys_ptr(v->vm, c->gpa_page + off);
		len = decode(host, INSN_MAX_LEN, mode, ctx);
		if (len > 0) {
			*in_place = host;
			return len;
		}
	} else {
		/* The bytes may cross into the next page, or the walk failed. */
		u8 bytes[INSN_MAX_LEN];
		size_t n = guest_read_linear(v->vm, &pg, la, bytes, sizeof(bytes));
		len = decode(bytes, n, mode, ctx);
		if (len > 0)
			return len;
	}

	/*
	 * The guest's page tables, as they are now, do not lead to this
	 * instruction (typically: it overwrote an entry without invalidating
	 * it). Yet its CPU just ran it, so it used a translation it had cached,
	 * as a CPU may until the guest invalidates it (SDM Vol. 3 4.10.4.3,
	 * APM Vol. 2 5.5.3). The best guess at that translation is the one hv
	 * cached for the same page and paging registers; the decoder still
	 * checks the bytes there. (Found by random guest seed 259,
	 * docs/security.md D10.) Otherwise the first attempt's error stands.
	 */
	if (cached && off <= 4096 - INSN_MAX_LEN && !(current && c->gpa_page == cached_gpa)) {
		int again = decode(guest_phys_ptr(v->vm, cached_gpa + off), INSN_MAX_LEN, mode, ctx);
		if (again > 0)
			return again;
	}
	return len;
}

static int decode_kind(const u8 *bytes, size_t avail, enum insn_mode mode, void *kind)
{
	return insn_length(bytes, avail, mode, *(const enum insn_kind *)kind);
}

/*
 * The length of the exiting instruction, decoded; 0 if the bytes there are
 * not the instruction the exit claims (or cannot be read). Remembers an
 * instruction decoded in place for insn_len()'s fast path.
 */
static __attribute__((noinline)) u32 insn_len_decode(struct vcpu *v, enum insn_kind kind)
{
	struct svm_vcpu *s = sv(v);
	struct vmcb_save *g = &s->vmcb->save;
	const u8 *host;
	int len = decode_exiting(v, decode_kind, &kind, &host);

	if (host && len > 0 && len <= 8)   /* in place: all 8 bytes are in the page */
		code_cache_remember(&s->cc, g->rip, g->cs.base, g->cs.attrib, host, (u32)len);
	else
		code_cache_forget_insn(&s->cc);
	return len > 0 ? (u32)len : 0;
}

/*
 * Length of the instruction that caused this exit: the CPU's nRIP when it
 * has NRIPS, else decoded. Fast path: the same instruction as one of the
 * last few decoded exits in this code page (a loop of CPUIDs, hypercalls or
 * MSR accesses; an interrupt's ICR write, HLT and EOI): same RIP and
 * CS (so the same linear address and code size), same paging registers and
 * paging-structure entries (so the same guest-physical bytes), and those
 * bytes unchanged: then it is the same instruction, of the same length.
 * (Its kind was checked against the bytes when it was decoded; the same
 * bytes cannot be another kind of instruction.)
 */
static inline __attribute__((always_inline)) u32 insn_len(struct vcpu *v, enum insn_kind kind)
{
	struct svm_vcpu *s = sv(v);
	struct vmcb *vmcb = s->vmcb;
	struct vmcb_save *g = &vmcb->save;
	if (has_nrips && vmcb->control.next_rip > g->rip)
		return (u32)(vmcb->control.next_rip - g->rip);
	struct guest_paging now = { g->cr0, g->cr3, g->cr4, g->efer };
	u32 len = code_cache_insn_hit(&s->cc, g->rip, g->cs.base, g->cs.attrib, &now);
	if (len)
		return len;
	return insn_len_decode(v, kind);
}

/* Guest register by x86 encoding number (0 = rAX ... 15 = r15). */
static u64 gpr_value(struct vcpu *v, unsigned n)
{
	struct guest_regs *r = &v->regs;
	const u64 vals[16] = { r->rax, r->rcx, r->rdx, r->rbx, sv(v)->vmcb->save.rsp, r->rbp,
			       r->rsi, r->rdi, r->r8, r->r9, r->r10, r->r11, r->r12,
			       r->r13, r->r14, r->r15 };
	return vals[n & 15];
}

/* CR0 as the guest may write it (SDM Vol. 3 2.5, AMD APM Vol. 2 3.1.1). */
/*
 * A TLB flush of the guest's ASID at the next VMRUN (APM 15.16), for an
 * emulated CR write after which a CPU flushes its TLB. Written straight into
 * TLB_CONTROL, which svm_run clears after each VMRUN (not before: that lost
 * the request, docs/security.md I7); svm_run may widen it to a full flush.
 */
static void request_guest_flush(struct vcpu *v, struct vmcb *vmcb)
{
	vmcb->control.tlb_control = guest_flush;
	__atomic_add_fetch(&v->vm->guest_tlb_flushes, 1, __ATOMIC_RELAXED);
}

static int cr0_check(struct vcpu *v, u64 val)
{
	struct vmcb *vmcb = sv(v)->vmcb;
	struct vmcb_save *g = &vmcb->save;
	const u64 known = CR0_PE | CR0_MP | BIT(2) | BIT(3) | CR0_ET | CR0_NE | CR0_WP |
			  BIT(18) | BIT(29) | BIT(30) | CR0_PG;
	if (val >> 32)
		return -1;
	val = (val & known) | CR0_ET;                 /* reserved bits are ignored */
	if ((val & BIT(29)) && !(val & BIT(30)))
		return -1;                            /* NW without CD */
	if ((val & CR0_PG) && !(val & CR0_PE))
		return -1;
	bool pg_on = (val & CR0_PG) && !(g->cr0 & CR0_PG);
	bool pg_off = !(val & CR0_PG) && (g->cr0 & CR0_PG);
	if (pg_off && (g->efer & EFER_LMA)) {
		if (g->cs.attrib & BIT(9))
			return -1;                    /* not in 64-bit code */
		g->efer &= ~EFER_LMA;                 /* leaving long mode */
	}
	if (pg_on && (g->efer & EFER_LME)) {
		if (!(g->cr4 & CR4_PAE))
			return -1;
		g->efer |= EFER_LMA;                  /* entering long mode */
	}
	if (pg_on || pg_off)
		request_guest_flush(v, vmcb);
	g->cr0 = val;
	return 0;
}

/*
 * CR4 bits the guest may set: guest_cr4_allowed() (hv/vendor.c). A change of
 * PGE, PAE, PCIDE or SMEP flushes the guest's TLB on a CPU (SDM Vol. 3A
 * 4.10.4.1), so hv asks VMRUN to flush the guest's ASID (APM 15.16).
 */
#define CR4_PGE BIT(7)
#define CR4_PCIDE BIT(17)
#define CR4_SMEP BIT(20)
static int cr4_check(struct vcpu *v, u64 val)
{
	struct vmcb_save *g = &sv(v)->vmcb->save;
	if ((val & ~guest_cr4_allowed()) || ((g->efer & EFER_LMA) && !(val & CR4_PAE)))
		return -1;
	if ((val ^ g->cr4) & (CR4_PGE | CR4_PAE | CR4_PCIDE | CR4_SMEP))
		request_guest_flush(v, sv(v)->vmcb);
	g->cr4 = val;
	return 0;
}

/*
 * A guest write to CR0 (MOV, CLTS, LMSW) or CR4 (MOV). Intercepted so a
 * guest cannot turn on what hv hides or does not switch (CR4.OSXSAVE: XCR0
 * and the AVX state are shared; VMXE/SMXE: no nested virtualisation), and
 * so that impossible values get #GP as on hardware. Returns the instruction
 * length (emulated), 0 (a #GP was injected) or -1 with *what naming what
 * hv found (the VM ends: LMSW with a memory operand, or bytes that are no
 * CR write at all).
 */
/* What insn_cr_write found, for decode_exiting(). */
struct cr_write_found {
	enum cr_write_op op;
	unsigned cr, gpr;
};

static int decode_cr_write(const u8 *bytes, size_t avail, enum insn_mode mode, void *found)
{
	struct cr_write_found *f = found;
	return insn_cr_write(bytes, avail, mode, &f->op, &f->cr, &f->gpr);
}

static __attribute__((noinline)) int cr_write(struct vcpu *v, unsigned which, const char **what)
{
	struct vmcb *vmcb = sv(v)->vmcb;
	struct vmcb_save *g = &vmcb->save;
	struct cr_write_found f = { CRW_MOV, 0, 0 };
	const u8 *host;

	/* Decoded from guest memory: the length is needed anyway without NRIPS. */
	int len = decode_exiting(v, decode_cr_write, &f, &host);
	if (len == INSN_ERR_MEMORY) {
		*what = "LMSW with a memory operand";
		return -1;
	}
	if (len <= 0 || f.cr != which) {
		*what = which == 0 ? "a CR0 write by no instruction hv recognises (changed under hv?)"
				   : "a CR4 write by no instruction hv recognises (changed under hv?)";
		return -1;
	}
	u64 val;
	if (f.op == CRW_CLTS) {
		val = g->cr0 & ~CR0_TS;
	} else if (f.op == CRW_LMSW) {
		/* LMSW loads CR0[3:0] (PE MP EM TS) but cannot clear PE (SDM Vol. 2A LMSW). */
		u64 src = gpr_value(v, f.gpr) & 0xf;
		val = (g->cr0 & ~0xeull) | src | (g->cr0 & CR0_PE);
	} else {
		val = gpr_value(v, f.gpr);
		if (code_mode(g) != INSN_MODE_64)
			val &= 0xffffffffull;
	}
	if ((which == 0 ? cr0_check(v, val) : cr4_check(v, val)) < 0) {
		svm_inject_exception(v, EXC_GP, true, 0);
		return 0;
	}
	return len;
}

/* svm_enter_extra's rarer cases: the TCG kick, the guest-time split. */
static __attribute__((noinline)) void svm_enter_rare(struct pcpu *p, struct vcpu *v, struct svm_vcpu *s,
						      struct svm_pcpu *sp)
{
	struct vmcb *vmcb = s->vmcb;
	if ((s->entry_extra & ENTRY_KICK) &&
	    (vmcb->control.event_inj & (EVENTINJ_VALID | EVENTINJ_TYPE_MASK)) == (EVENTINJ_VALID | EVENTINJ_TYPE_INTR))
		apic_send_ipi(p->apic_id, VEC_WAKE);   /* hv runs with IF=0: it waits for VMRUN */
	s->entry_extra &= ENTRY_TSC;                   /* the one that lasts */
	if (s->entry_extra & ENTRY_TSC) {              /* the guest's time, for the report (core.h) */
		u64 t0 = rdtsc();
		svm_enter(&v->regs, va_to_pa(vmcb), va_to_pa(sp->host));
		v->enter_tsc += rdtsc() - t0;
	} else {
		svm_enter(&v->regs, va_to_pa(vmcb), va_to_pa(sp->host));
	}
}

/* svm_run's entry when s->entry_extra asks for more than VMRUN. The PAUSE
 * decision (the commonest: after every HLT of a pause_sw guest) ends in a
 * tail call of the entry, the rest goes to svm_enter_rare. */
static __attribute__((noinline)) void svm_enter_extra(struct pcpu *p, struct vcpu *v, struct svm_vcpu *s,
						       struct svm_pcpu *sp)
{
	struct vmcb *vmcb = s->vmcb;
	u8 extra = s->entry_extra;
	if (extra & ENTRY_PAUSE) {
		if (__atomic_load_n(&p->rq_head, __ATOMIC_RELAXED))
			vmcb->control.intercept_misc1 |= INTERCEPT_PAUSE;
		else
			vmcb->control.intercept_misc1 &= ~INTERCEPT_PAUSE;
		extra &= ~ENTRY_PAUSE;
		s->entry_extra = extra;
	}
	if (extra)
		svm_enter_rare(p, v, s, sp);
	else
		svm_enter(&v->regs, va_to_pa(vmcb), va_to_pa(sp->host));
}

/*
 * The fast path of an INTR exit (like KVM's fast path for its preemption
 * timer; docs/benchmarks.md, sixth pass): hv takes the host interrupt (its
 * timer, a wake IPI), and when nothing is left for the run loop (not the
 * slice's end, no sleeper on this pCPU, no console input to poll, no INIT,
 * the VM still running, budget left) it does what the exit handler's INTR
 * path (vcpu.c intr_exit, sched_timer_tick) would: fire v's guest timer if
 * due, re-arm hv's timer for the slice end or v's next deadline, deliver a
 * waiting interrupt, decide the PAUSE intercept; then v enters again. True:
 * done. False: the exit handler does it all.
 */
static __attribute__((noinline)) bool svm_fast_intr(struct vcpu *v, struct svm_vcpu *s)
{
	struct pcpu *p = s->asid_pcpu;   /* where v runs (svm_run's ASID check) */
	if (p->fast_left <= 1)
		return false;
	sti();                           /* take the pending host interrupt now */
	__asm__ volatile("nop");
	cli();
	u64 now = rdtsc();
	if (__atomic_load_n(&p->nsleepers, __ATOMIC_RELAXED) || vplat_console_vm || v->init_req ||
	    vm_ended(v->vm) || now + tsc_per_10us >= p->slice_end_tsc)
		return false;
	/* (hv's timer or a wake IPI: the TSC says what is due, and hv's
	 * timer is armed again either way, as sched_timer_tick does.) */
	u64 dl = v->lapic.timer_deadline;
	if (dl && now >= dl)
		vplat_timer_tick(v, now);    /* fired and delivered */
	else if (v->irq_check)
		vplat_deliver(v);            /* a wake IPI's interrupt check */
	pcpu_timer_arm(p, v, now, 0);
	if (s->pause_sw) {               /* svm_enter_extra's decision, here */
		if (__atomic_load_n(&p->rq_head, __ATOMIC_RELAXED))
			s->vmcb->control.intercept_misc1 |= INTERCEPT_PAUSE;
		else
			s->vmcb->control.intercept_misc1 &= ~INTERCEPT_PAUSE;
	}
	v->exits[EXIT_INTR]++;
	p->fast_left--;
	return true;
}

static void svm_run(struct pcpu *p, struct vcpu *v, struct vm_exit *e)
{
	struct svm_vcpu *s = sv(v);
	struct vmcb *vmcb = s->vmcb;
	struct svm_pcpu *sp = p->vendor;

	/*
	 * A fresh ASID whenever the vCPU comes to a pCPU it was not last given
	 * one on: its old translations there may predate guest TLB flushes it
	 * did elsewhere, and vCPUs never share an ASID (a guest flush on one
	 * vCPU must not be relied on by another). When a pCPU runs out, a new
	 * generation starts with a full flush (APM 15.16).
	 */
	/* TLB_CONTROL holds 0 or a guest flush requested since the last VMRUN. */
	if (__builtin_expect(s->asid_pcpu != p || s->asid_gen != sp->asid_gen, 0)) {
		if (sp->next_asid > max_asid) {
			sp->asid_gen++;
			sp->next_asid = 1;
			vmcb->control.tlb_control = TLB_CONTROL_FLUSH_ALL;
		}
		vmcb->control.asid = sp->next_asid++;
		s->asid_gen = sp->asid_gen;
		s->asid_pcpu = p;
		if (sp->asid_gen == 1 && vmcb->control.asid == 1)
			vmcb->control.tlb_control = TLB_CONTROL_FLUSH_ALL;   /* first guest on this pCPU */
	}
enter:
	vmcb->save.rax = v->regs.rax;
	if (__builtin_expect(s->entry_extra, 0))
		svm_enter_extra(p, v, s, sp);
	else
		svm_enter(&v->regs, va_to_pa(vmcb), va_to_pa(sp->host));
	v->regs.rax = vmcb->save.rax;
	vmcb->control.tlb_control = 0;   /* done; the exit's handling may request the next */

	u64 code = vmcb->control.exit_code;
	u64 info1 = vmcb->control.exit_info1;
	enum insn_kind kind = INSN_CPUID;
	bool need_len = false;
	/* The commonest decoded exits first (CPUID, WRMSR, VMMCALL): one
	 * compare each, not the jump table's range checks (docs/benchmarks.md). */
	if (code == SVM_EXIT_CPUID) {
		e->reason = EXIT_CPUID;
		need_len = true;
	} else if (code == SVM_EXIT_MSR && info1) {
		/*
		 * A WRMSR second (an instruction intercept: never in an event's
		 * delivery either), for the fast path (like KVM's
		 * handle_fastpath_set_msr_irqoff; docs/benchmarks.md, sixth
		 * pass): a WRMSR the platform finishes by itself (an x2APIC EOI,
		 * ICR or self-IPI, a TSC deadline: a timer tick's and an IPI's
		 * round trip) goes straight back into the guest, as the exit
		 * handler would send it (a fast exit, sched.c), counted the same
		 * and within the run loop's budget of fast exits in a row. The
		 * rest, and a length that does not decode (the VM ends), go to
		 * the exit handler. (A VM ended by another pCPU is noticed at
		 * the latest at the budget's end or the next INTR exit, the
		 * slice timer's: a WRMSR of these reaches nothing outside the
		 * VM.) p is reloaded from the ASID check's record
		 * (where v runs) and RIP advanced before the call, so that
		 * nothing of this lives across VMRUN or the call (no register
		 * saved for it on every exit).
		 */
		e->reason = EXIT_MSR_WRITE;
		u32 len = insn_len(v, INSN_WRMSR);
		e->insn_len = len;
		p = s->asid_pcpu;
		if (!len || p->fast_left <= 1)
			return;
		u64 val = (v->regs.rax & 0xffffffffull) | (v->regs.rdx << 32);
		vmcb->save.rip += len;
		if (!vplat_fast_wrmsr(p, v, (u32)v->regs.rcx, val)) {
			vmcb->save.rip -= e->insn_len;   /* the exit handler skips it */
			return;
		}
		v->exits[EXIT_MSR_WRITE]++;
		p = s->asid_pcpu;
		p->fast_left--;
		sp = p->vendor;
		goto enter;
	} else if (code == SVM_EXIT_VMMCALL) {
		e->reason = EXIT_HYPERCALL;
		e->cpl = vmcb->save.cpl;
		kind = INSN_VMMCALL;
		need_len = true;
	} else {
		e->raw = code;            /* (for the exits that may be reported by it) */
		e->insn_len = 0;          /* unless a case below sets it */
		if ((u32)code == SVM_EXIT_INVALID) {
			e->reason = EXIT_INVALID;
			return;
		}
		/* An event the exit cut short is delivered again at the next
		 * entry (APM 15.7.2: EXITINTINFO has EVENTINJ's format). The two
		 * instruction intercepts above never interrupt a delivery. */
		if (__builtin_expect(vmcb->control.exit_int_info & EVENTINJ_VALID, 0)) {
			vmcb->control.event_inj = vmcb->control.exit_int_info;
			if (tcg_inject_fix) {
				s->entry_extra |= ENTRY_KICK;
				/* A V_IRQ delivery the exit cut short: EXITINTINFO
				 * holds it (or the fault it raised); V_IRQ must not
				 * deliver it a second time. */
				if (virq_injection_waits(&vmcb->control))
					vmcb->control.v_intr &= ~(u64)V_IRQ;
			}
		}
		/* The exits of ports, RDMSR and HLT by compares in that order,
		 * the rest by the switch (docs/benchmarks.md). */
		if (code == SVM_EXIT_IOIO) {
			e->reason = EXIT_IO;
			e->io.port = (u16)(info1 >> 16);
			e->io.size = info1 & IOIO_SZ32 ? 4 : info1 & IOIO_SZ16 ? 2 : 1;
			e->io.in = info1 & IOIO_IN;
			e->io.string = info1 & IOIO_STR;
			e->io.rep = info1 & IOIO_REP;
			e->insn_len = (u32)(vmcb->control.exit_info2 - vmcb->save.rip);
			return;
		}
		if (code == SVM_EXIT_MSR) {     /* a read (writes: above) */
			e->reason = EXIT_MSR_READ;
			kind = INSN_RDMSR;
			need_len = true;
			goto length;
		}
		if (code == SVM_EXIT_HLT) {
			if (s->pause_sw)
				s->entry_extra |= ENTRY_PAUSE;
			/* Skipping HLT ends the STI shadow it may sit in (sti; hlt),
			 * so the interrupt window is open at once (vplat.c). */
			vmcb->control.interrupt_shadow = 0;
			e->reason = EXIT_HLT;
			kind = INSN_HLT;
			need_len = true;
			goto length;
		}
		switch (code) {
		case SVM_EXIT_IRET:
			/* Before the NMI handler's IRET: it executes at the next
			 * entry; svm_nmi_window sees RIP move past it. */
			vmcb->control.intercept_misc1 &= ~INTERCEPT_IRET;
			sv(v)->iret_seen = true;
			sv(v)->iret_rip = vmcb->save.rip;
			e->reason = EXIT_IRQ_WINDOW;
			break;
		case SVM_EXIT_EXCP_BASE + EXC_DB:
			if (!sv(v)->nmi_step)
				goto exception;
			/* hv's single step for the NMI window: the guest's TF/RF
			 * and DR6 come back; a #DB the guest's own TF also asked
			 * for is still delivered. */
			sv(v)->nmi_step = false;
			vmcb->save.rflags = (vmcb->save.rflags & ~(u64)(RFLAGS_TF | RFLAGS_RF)) | sv(v)->step_rflags;
			if (sv(v)->step_rflags & RFLAGS_TF) {
				vmcb->save.dr6 |= sv(v)->step_dr6;
				goto exception;
			}
			vmcb->save.dr6 = sv(v)->step_dr6;
			e->reason = EXIT_IRQ_WINDOW;
			break;
		case SVM_EXIT_PAUSE:
			if (s->pause_sw)
				s->entry_extra |= ENTRY_PAUSE;
			e->reason = EXIT_PAUSE;
			kind = INSN_PAUSE;
			need_len = true;
			break;
		case SVM_EXIT_VINTR:
			e->reason = EXIT_IRQ_WINDOW;
			vmcb->control.v_intr &= ~(u64)V_IRQ;
			vmcb->control.intercept_misc1 &= ~INTERCEPT_VINTR;
			break;
		case SVM_EXIT_INVD:
		case SVM_EXIT_WBINVD:
			/* QEMU 7.2 reports INVD with WBINVD's code: accept either; both are skipped. */
			e->reason = EXIT_CACHE;
			kind = INSN_WBINVD;        /* or INVD: see below */
			need_len = true;
			break;
		case SVM_EXIT_RDPMC:
			/* No PMU is virtualised: counters read 0 (the host's must not leak). */
			e->reason = EXIT_EMULATED;
			kind = INSN_RDPMC;
			need_len = true;
			v->regs.rax = 0;
			v->regs.rdx = 0;
			break;
		case SVM_EXIT_WRITE_CR0:
		case SVM_EXIT_WRITE_CR4: {
			int len = cr_write(v, code == SVM_EXIT_WRITE_CR0 ? 0 : 4, &e->what);
			e->reason = len >= 0 ? EXIT_EMULATED : EXIT_OTHER;
			e->insn_len = len > 0 ? (u32)len : 0;
			break;
		}
		case SVM_EXIT_XSETBV:
			e->reason = EXIT_XSETBV;
			break;
		case SVM_EXIT_INTR:
			if (svm_fast_intr(v, s)) {
				p = s->asid_pcpu;   /* (as after the WRMSR fast path) */
				sp = p->vendor;
				goto enter;
			}
			if (s->pause_sw)
				s->entry_extra |= ENTRY_PAUSE;
			/* fall through */
		case SVM_EXIT_NMI:
		case SVM_EXIT_SMI:
		case SVM_EXIT_INIT:
			e->reason = EXIT_INTR;
			break;
		case SVM_EXIT_SHUTDOWN:
			e->reason = EXIT_SHUTDOWN;
			break;
		case SVM_EXIT_NPF:
			e->reason = EXIT_NPF;
			e->npf.error = info1;
			e->npf.gpa = vmcb->control.exit_info2;
			break;
		case SVM_EXIT_VMRUN:
		case SVM_EXIT_VMLOAD:
		case SVM_EXIT_VMSAVE:
		case SVM_EXIT_STGI:
		case SVM_EXIT_CLGI:
		case SVM_EXIT_SKINIT:
		case SVM_EXIT_INVLPGA:
		case SVM_EXIT_MONITOR:
		case SVM_EXIT_MWAIT:
			e->reason = EXIT_VIRT_INSN;
			break;
		default:
		exception:
			if (code >= SVM_EXIT_EXCP_BASE && code < SVM_EXIT_EXCP_BASE + 32) {
				e->reason = EXIT_EXCEPTION;
				e->exc.vector = (u8)(code - SVM_EXIT_EXCP_BASE);
				e->exc.error = (u32)info1;
				/* #DB and #AC are reflected: the VMCB's DR6 already holds
				 * the #DB's status bits (the exception's side effects come
				 * before the intercept, as KVM relies on), so the guest sees
				 * the #DB the CPU raised. #AC's error code is 0. */
				if (e->exc.vector == EXC_DB || e->exc.vector == EXC_AC)
					svm_inject_exception(v, e->exc.vector, e->exc.vector == EXC_AC, 0);
			} else {
				e->reason = EXIT_OTHER;
			}
			break;
		}
	}
length:
	if (need_len) {                   /* one call site: the fast path is inlined once */
		e->insn_len = insn_len(v, kind);
		if (!e->insn_len && e->reason == EXIT_CACHE)
			e->insn_len = insn_len_decode(v, INSN_INVD);
		if (!e->insn_len && code == SVM_EXIT_RDPMC)
			e->reason = EXIT_OTHER;   /* not an RDPMC there: the VM ends */
	}
}

static bool svm_msr_read(struct vcpu *v, u32 msr, u64 *val)
{
	struct vmcb_save *g = &sv(v)->vmcb->save;
	switch (msr) {
	case MSR_EFER:
		*val = g->efer & ~EFER_SVME;   /* no nested virtualization */
		return true;
	case MSR_PAT:
		*val = g->g_pat;
		return true;
	default:
		return false;
	}
}

static bool svm_msr_write(struct vcpu *v, u32 msr, u64 val)
{
	struct vmcb_save *g = &sv(v)->vmcb->save;
	switch (msr) {
	case MSR_EFER:
		/* SCE, LME, LMA (read-only: kept), NXE; SVME stays hv's. */
		if (val & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
			return false;
		if (((val ^ g->efer) & EFER_LME) && (g->cr0 & CR0_PG))
			return false;          /* LME may not change while paging is on (APM 14.5) */
		g->efer = (val & ~EFER_LMA) | (g->efer & EFER_LMA) | EFER_SVME;
		return true;
	case MSR_PAT:
		for (int i = 0; i < 8; i++) {
			u8 t = (u8)(val >> (i * 8));
			if (t == 2 || t == 3 || t > 7)
				return false;   /* reserved memory types (SDM 11.12.2) */
		}
		g->g_pat = val;
		return true;
	default:
		return false;
	}
}

static void svm_pred_cmd_passthrough(struct vcpu *v)
{
	msrpm_set(sv(v)->msrpm, MSR_PRED_CMD, true, false);
}

static void svm_dump(struct vcpu *v)
{
	struct vmcb *vmcb = sv(v)->vmcb;
	struct vmcb_save *g = &vmcb->save;
	struct guest_regs *r = &v->regs;
	printk("  exit 0x%llx info1 0x%llx info2 0x%llx\n", (unsigned long long)vmcb->control.exit_code,
	       (unsigned long long)vmcb->control.exit_info1, (unsigned long long)vmcb->control.exit_info2);
	printk("  rip %016llx rsp %016llx rflags %016llx cs %04x cpl %u\n", (unsigned long long)g->rip,
	       (unsigned long long)g->rsp, (unsigned long long)g->rflags, g->cs.selector, g->cpl);
	printk("  cr0 %016llx cr3 %016llx cr4 %016llx efer %016llx\n", (unsigned long long)g->cr0,
	       (unsigned long long)g->cr3, (unsigned long long)g->cr4, (unsigned long long)g->efer);
	printk("  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n", (unsigned long long)r->rax,
	       (unsigned long long)r->rbx, (unsigned long long)r->rcx, (unsigned long long)r->rdx);
	printk("  rsi %016llx rdi %016llx rbp %016llx\n", (unsigned long long)r->rsi,
	       (unsigned long long)r->rdi, (unsigned long long)r->rbp);
}

/* APM Vol. 2 15.5.1 / table B-2: SPEC_CTRL at 2E0h of the state save area. */
#define VMCB_SAVE_SPEC_CTRL (0x400 + 0x2e0)

/* With V_SPEC_CTRL (CPUID 8000_000Ah EDX[20]) VMRUN loads the guest's value from here. */
void svm_set_v_spec_ctrl(struct vcpu *v, u64 val)
{
	*(u64 *)((u8 *)sv(v)->vmcb + VMCB_SAVE_SPEC_CTRL) = val;
}

/* Segment from the VMCB (APM Vol. 2 15.5.1: attrib packs descriptor bits
 * 8-15 and 20-23: type 3:0, S 4, DPL 6:5, P 7, AVL 8, L 9, D/B 10, G 11). */
static struct guest_segment svm_seg(const struct vmcb_seg *sg)
{
	return (struct guest_segment){ sg->base, sg->limit, (u8)(sg->attrib & 0xf), (sg->attrib & BIT(7)) != 0,
				       (sg->attrib & BIT(10)) != 0 };
}

static void svm_get_state(struct vcpu *v, struct guest_state *st)
{
	const struct vmcb_save *g = &sv(v)->vmcb->save;
	st->pg = (struct guest_paging){ g->cr0, g->cr3, g->cr4, g->efer };
	st->mode = code_mode(g);
	st->cpl = g->cpl;
	st->rip = g->rip;
	st->rsp = g->rsp;
	st->rflags = g->rflags;
	st->cr2 = g->cr2;
	st->seg[SEG_ES] = svm_seg(&g->es);
	st->seg[SEG_CS] = svm_seg(&g->cs);
	st->seg[SEG_SS] = svm_seg(&g->ss);
	st->seg[SEG_DS] = svm_seg(&g->ds);
	st->seg[SEG_FS] = svm_seg(&g->fs);
	st->seg[SEG_GS] = svm_seg(&g->gs);
	if (!(g->cr0 & CR0_PE) || (g->rflags & BIT(17)))   /* real / virtual-8086 mode: all usable */
		for (int i = 0; i < SEG_COUNT; i++)
			st->seg[i].usable = true;
}

static void svm_set_state(struct vcpu *v, const struct guest_state *st)
{
	struct vmcb_save *g = &sv(v)->vmcb->save;
	g->rsp = st->rsp;
	g->rflags = st->rflags;
	g->cr2 = st->cr2;
}

const struct vendor_ops svm_ops = {
	.name = "svm",
	.probe = svm_probe,
	.cpu_init = svm_cpu_init,
	.vm_init = svm_vm_init,
	.vcpu_init = svm_vcpu_init,
	.start_real = svm_start_real,
	.set_boot_state = svm_set_boot_state,
	.run = svm_run,
	.get_rip = svm_get_rip,
	.set_rip = svm_set_rip,
	.advance_rip = svm_advance_rip,
	.inject_exception = svm_inject_exception,
	.irq_window = svm_irq_window,
	.inject_event = svm_inject_event,
	.msr_read = svm_msr_read,
	.msr_write = svm_msr_write,
	.pred_cmd_passthrough = svm_pred_cmd_passthrough,
	.get_state = svm_get_state,
	.set_state = svm_set_state,
	.dump = svm_dump,
};
