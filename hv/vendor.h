/*
 * hv/vendor.h - the one interface between the generic core and a hardware
 * virtualization backend (hv/svm for AMD-V, hv/vmx for Intel VT-x). Chosen
 * once at boot from CPUID; generic code never asks which vendor it runs on.
 */
#ifndef HV_VENDOR_H
#define HV_VENDOR_H

#include "guest_mem.h"
#include "mmio.h"
#include "core.h"

/* A segment register as emulation needs it (SDM Vol. 3A 3.4.5). */
struct guest_segment {
	u64 base;
	u32 limit;           /* in bytes (granularity applied) */
	u8 type;             /* descriptor type field: bit 1 writable (data), bit 2 expand-down */
	bool usable;         /* loaded with a usable descriptor (not null / not VT-x "unusable") */
	bool db;             /* D/B: an expand-down segment's upper bound is 4 GiB, else 64 KiB */
};

/* The guest state string I/O and MMIO emulation read (get_state) and write
 * back (set_state: RSP, RFLAGS and CR2 only). */
struct guest_state {
	struct guest_paging pg;
	enum insn_mode mode;
	unsigned cpl;
	u64 rip, rsp, rflags, cr2;
	struct guest_segment seg[SEG_COUNT];
};

struct linux_cpu_state;   /* hv/linux.h */
/* vendor_ops.irq_window's `want` (false/true read as NONE/INTR). */
enum { WINDOW_NONE = 0, WINDOW_INTR = 1, WINDOW_NMI = 2 };

struct vendor_ops {
	const char *name;
	/* Can this CPU run hv? NULL if yes, else a message for the user. */
	const char *(*probe)(void);
	/* Enable virtualization on the calling pCPU. */
	void (*cpu_init)(struct pcpu *p);
	/* Nested page table for vm's memory, ASID/VPID. */
	void (*vm_init)(struct vm *vm);
	/* Control structure and start state (mode from the config) for v. */
	void (*vcpu_init)(struct vcpu *v);
	/* Put v, which runs nowhere, into the state an AP takes at a start-up
	 * IPI (SDM Vol. 3A 9.1.1 table 9-1, 9.4.4): real mode, CS selector
	 * cs_sel with base cs_sel << 4, IP 0. General registers are the
	 * caller's (struct guest_regs). Not on any hot path. */
	void (*start_real)(struct vcpu *v, u16 cs_sel);
	/* Load a whole start state (segments in the VMX access-rights layout,
	 * control registers, EFER, GDTR, RIP/RSI/RBX) into v, which runs
	 * nowhere yet: a Linux kernel's entry (hv/linux_load.c). */
	void (*set_boot_state)(struct vcpu *v, const struct linux_cpu_state *s);
	/* Enter v on p until the next exit; fill *e. Interrupts enabled inside. */
	void (*run)(struct pcpu *p, struct vcpu *v, struct vm_exit *e);
	/* Registers kept in the vendor structure. */
	u64 (*get_rip)(struct vcpu *v);
	void (*set_rip)(struct vcpu *v, u64 rip);
	/* RIP += len: past the exiting instruction (one call on the hot path). */
	void (*advance_rip)(struct vcpu *v, u32 len);
	/* Deliver an exception to the guest at its next entry. */
	void (*inject_exception)(struct vcpu *v, u8 vector, bool has_error, u32 error);
	/* Guest interrupts (issue 11). Can v take an external interrupt at its
	 * next entry (RFLAGS.IF set, no STI/MOV SS shadow, no event already
	 * being injected)? If not and `want` is WINDOW_INTR, ask for an
	 * EXIT_IRQ_WINDOW exit as soon as it can (VINTR / interrupt-window
	 * exiting); WINDOW_NONE withdraws that request. WINDOW_NMI asks the
	 * same of an NMI instead: can one be injected now (not blocked by an
	 * NMI whose handler has not executed IRET yet, no shadow, no event
	 * queued)? If not, the backend arranges an EXIT_IRQ_WINDOW exit once
	 * it can (SVM: IRET intercept, then a single step past the IRET;
	 * VT-x: NMI-window exiting). */
	bool (*irq_window)(struct vcpu *v, unsigned want);
	/* Inject external interrupt `vector` (nmi false) or an NMI at the next
	 * entry; the caller has checked irq_window (WINDOW_NMI for an NMI).
	 * An injected NMI blocks the next until the guest's IRET. */
	void (*inject_event)(struct vcpu *v, bool nmi, u8 vector);
	/* MSRs whose guest copy lives in the vendor structure (EFER, PAT). */
	bool (*msr_read)(struct vcpu *v, u32 msr, u64 *val);
	bool (*msr_write)(struct vcpu *v, u32 msr, u64 val);
	/* Stop intercepting writes to PRED_CMD for v (passthrough). */
	void (*pred_cmd_passthrough)(struct vcpu *v);
	/* Read / write back the state instruction emulation needs (the slow
	 * path: string I/O and MMIO exits only). */
	void (*get_state)(struct vcpu *v, struct guest_state *s);
	void (*set_state)(struct vcpu *v, const struct guest_state *s);
	/* Print the guest's state, for fault reports. */
	void (*dump)(struct vcpu *v);
};

/* PAUSE exits after which a vCPU gives up its pCPU (hv/vcpu.c): 1 where
 * the CPU counts the loop itself (SVM pause filter, VT-x PAUSE-loop
 * exiting), more where every PAUSE exits. Set by the backend's probe. */
extern unsigned pause_exits_per_yield;
#define PAUSE_SW_EXITS 16

extern const struct vendor_ops *vendor;   /* chosen by hv_main (main.c) */
extern const struct vendor_ops svm_ops;
extern const struct vendor_ops vmx_ops;

/*
 * vendor->run and vendor->advance_rip as direct calls, for the exit path:
 * jumps patched at boot to the chosen backend's functions (x86/thunks.S,
 * spec_init()), so no retpoline runs on every exit.
 */
void static_call_vendor_run(struct pcpu *p, struct vcpu *v, struct vm_exit *e);
void static_call_vendor_advance_rip(struct vcpu *v, u32 len);

/* CR4 bits a guest may set (both backends' CR4-write checks). */
u64 guest_cr4_allowed(void);

#endif
