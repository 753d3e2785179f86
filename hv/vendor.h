/*
 * hv/vendor.h - the one interface between the generic core and a hardware
 * virtualization backend (hv/svm for AMD-V, hv/vmx for Intel VT-x). Chosen
 * once at boot from CPUID; generic code never asks which vendor it runs on.
 */
#ifndef HV_VENDOR_H
#define HV_VENDOR_H

#include "vm.h"

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
	 * being injected)? If not and `want`, ask for an EXIT_IRQ_WINDOW exit
	 * as soon as it can (VINTR / interrupt-window exiting); `want` false
	 * withdraws the request. */
	bool (*irq_window)(struct vcpu *v, bool want);
	/* Inject external interrupt `vector` (nmi false) or an NMI at the next
	 * entry; the caller has checked irq_window. */
	void (*inject_event)(struct vcpu *v, bool nmi, u8 vector);
	/* MSRs whose guest copy lives in the vendor structure (EFER, PAT). */
	bool (*msr_read)(struct vcpu *v, u32 msr, u64 *val);
	bool (*msr_write)(struct vcpu *v, u32 msr, u64 val);
	/* Stop intercepting writes to PRED_CMD for v (passthrough). */
	void (*pred_cmd_passthrough)(struct vcpu *v);
	/* Print the guest's state, for fault reports. */
	void (*dump)(struct vcpu *v);
};

extern const struct vendor_ops *vendor;
extern const struct vendor_ops svm_ops;
extern const struct vendor_ops vmx_ops;

#endif
