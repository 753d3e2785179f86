/*
 * hv/vendor.c - what hv keeps about its hardware backend (vendor.h): the
 * pointer to the one chosen at boot (hv_main, by probing each in turn), and
 * the checks both backends share.
 */
#include "hv.h"
#include "vendor.h"
#include "x86/cpu.h"

const struct vendor_ops *vendor;
/* Set by the chosen backend's probe; hv/vcpu.c's PAUSE exits read it. */
unsigned pause_exits_per_yield = 1;

/* CR4 bits a guest may set (both backends): what the CPU has, minus what hv hides. */
u64 guest_cr4_allowed(void)
{
	static u64 ok;
	if (!ok) {
		struct cpuid_regs l1 = cpuid(1, 0), l7 = cpuid(7, 0);
		u64 bits = 0x7ff;                             /* VME .. OSXMMEXCPT (SDM Vol. 3A 2.5) */
		bits |= (l7.ecx & BIT(2)) ? BIT(11) : 0;      /* UMIP */
		bits |= (l7.ebx & BIT(0)) ? BIT(16) : 0;      /* FSGSBASE */
		bits |= (l1.ecx & BIT(17)) ? BIT(17) : 0;     /* PCIDE */
		bits |= (l7.ebx & BIT(7)) ? BIT(20) : 0;      /* SMEP */
		bits |= (l7.ebx & BIT(20)) ? BIT(21) : 0;     /* SMAP */
		bits |= (l7.ecx & BIT(3)) ? BIT(22) : 0;      /* PKE: PKRU is switched per vCPU */
		ok = bits;                                    /* not: LA57 VMXE SMXE OSXSAVE KL CET PKS UINTR LAM */
	}
	return ok;
}
