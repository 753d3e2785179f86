/* hv/hypercall.h - hypercall numbers; guest/hv.inc and docs/guest-abi.md say the same. */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H

enum hypercall {
	HC_EXIT = 0,       /* rbx = status: this vCPU stops */
	HC_YIELD = 1,      /* give up the pCPU */
	HC_VCPU_ID = 2,    /* rax = vCPU id, rbx = vCPU count */
	HC_REPORT = 3,     /* rbx = counter index (0..15), rcx = value */
	HC_MIGRATE = 4,    /* rbx = pCPU: test-only move */
};
#define HC_ERROR (~0ull)

#define HV_CONSOLE_PORT 0x3f8
#define HV_CPUID_SIGNATURE "hvhypervisor"
#define HV_CPUID_MAX_LEAF 0x40000010u  /* EAX of 4000_0000h: the highest hv leaf */
#define HV_CPUID_TIMING_LEAF 0x40000010u /* EAX TSC kHz, EBX LAPIC timer kHz */

#endif
