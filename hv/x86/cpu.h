/*
 * hv/x86/cpu.h - one small wrapper per privileged instruction, plus the
 * architectural constants hv uses (Intel SDM Vol. 3, AMD APM Vol. 2).
 */
#ifndef HV_X86_CPU_H
#define HV_X86_CPU_H

#include "../lib.h"

#define CR0_PE BIT(0)
#define CR0_MP BIT(1)
#define CR0_TS BIT(3)
#define CR0_ET BIT(4)
#define CR0_NE BIT(5)
#define CR0_WP BIT(16)
#define CR0_PG BIT(31)
#define CR4_PAE BIT(5)
#define CR4_OSFXSR BIT(9)
#define CR4_OSXMMEXCPT BIT(10)
#define EFER_SCE BIT(0)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define EFER_NXE BIT(11)
#define EFER_SVME BIT(12)
#define RFLAGS_TF BIT(8)
#define RFLAGS_IF BIT(9)
#define RFLAGS_RF BIT(16)

#define MSR_TSC 0x10
#define MSR_TSC_AUX 0xc0000103
#define MSR_MISC_ENABLE 0x1a0
#define MISC_ENABLE_FAST_STRING BIT(0)
#define MSR_APIC_BASE 0x1b
#define MSR_SPEC_CTRL 0x48
#define MSR_PRED_CMD 0x49
#define MSR_PAT 0x277
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176

#define PRED_CMD_IBPB BIT(0)
#define PRED_CMD_SBPB BIT(7)

/* Exception vectors (SDM Vol. 3 6.3.1). */
enum { EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_UD = 6, EXC_DF = 8,
       EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13, EXC_PF = 14, EXC_AC = 17, EXC_MC = 18 };

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | ((u64)hi << 32);
}

static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

struct cpuid_regs { u32 eax, ebx, ecx, edx; };

static inline struct cpuid_regs cpuid(u32 leaf, u32 sub)
{
	/* Scalars, not the struct's members, as asm outputs: GCC gives a
	 * function whose local aggregate is an asm output a stack canary
	 * (-fstack-protector-strong), and CPUID exits pass through here. */
	u32 a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(sub));
	return (struct cpuid_regs){ a, b, c, d };
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | ((u64)hi << 32);
}

static inline u64 read_cr0(void) { u64 v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline u64 read_cr2(void) { u64 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline void write_cr2(u64 v) { __asm__ volatile("mov %0, %%cr2" ::"r"(v) : "memory"); }
static inline u64 read_cr3(void) { u64 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline u64 read_cr4(void) { u64 v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(u64 v) { __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
static inline void write_cr3(u64 v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static inline void write_cr4(u64 v) { __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }
static inline u64 read_rflags(void) { u64 v; __asm__ volatile("pushfq; popq %0" : "=r"(v)); return v; }

static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
static inline void pause(void) { __asm__ volatile("pause" ::: "memory"); }
/* sti; hlt: the sti shadow makes the pair atomic, so no wakeup is lost. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }

#define CR4_OSXSAVE BIT(18)
#define CR4_PKE BIT(22)

static inline u64 read_dr(int n)
{
	u64 v = 0;
	switch (n) {
	case 0: __asm__ volatile("mov %%db0, %0" : "=r"(v)); break;
	case 1: __asm__ volatile("mov %%db1, %0" : "=r"(v)); break;
	case 2: __asm__ volatile("mov %%db2, %0" : "=r"(v)); break;
	case 3: __asm__ volatile("mov %%db3, %0" : "=r"(v)); break;
	case 6: __asm__ volatile("mov %%db6, %0" : "=r"(v)); break;
	}
	return v;
}

static inline void write_dr(int n, u64 v)
{
	switch (n) {
	case 0: __asm__ volatile("mov %0, %%db0" ::"r"(v)); break;
	case 1: __asm__ volatile("mov %0, %%db1" ::"r"(v)); break;
	case 2: __asm__ volatile("mov %0, %%db2" ::"r"(v)); break;
	case 3: __asm__ volatile("mov %0, %%db3" ::"r"(v)); break;
	case 6: __asm__ volatile("mov %0, %%db6" ::"r"(v)); break;
	}
}

static inline u32 rdpkru(void)
{
	u32 eax, edx;
	__asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

static inline void wrpkru(u32 v)
{
	__asm__ volatile(".byte 0x0f, 0x01, 0xef" ::"a"(v), "c"(0), "d"(0));
}

static inline void xsetbv(u32 reg, u64 v)
{
	__asm__ volatile("xsetbv" ::"c"(reg), "a"((u32)v), "d"((u32)(v >> 32)));
}

static inline void fxsave(void *area) { __asm__ volatile("fxsave64 (%0)" ::"r"(area) : "memory"); }
static inline void fxrstor(const void *area) { __asm__ volatile("fxrstor64 (%0)" ::"r"(area) : "memory"); }

struct __attribute__((packed)) desc_ptr {
	u16 limit;
	u64 base;
};

static inline bool cpu_vendor_is(const char *v12)
{
	struct cpuid_regs r = cpuid(0, 0);
	char s[12];
	memcpy(s, &r.ebx, 4);
	memcpy(s + 4, &r.edx, 4);
	memcpy(s + 8, &r.ecx, 4);
	return memcmp(s, v12, 12) == 0;
}

/* The hypervisor CPUID leaf 0x40000000's 12-byte signature into sig; false
 * if CPUID.1:ECX[31] says no hypervisor is there. */
static inline bool hypervisor_signature(char sig[12])
{
	if (!(cpuid(1, 0).ecx & BIT(31)))
		return false;
	struct cpuid_regs r = cpuid(0x40000000, 0);
	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	return true;
}

/* Under QEMU (TCG or KVM). */
static inline bool platform_is_qemu(void)
{
	char sig[12];
	return hypervisor_signature(sig) &&
	       (memcmp(sig, "TCGTCGTCGTCG", 12) == 0 || memcmp(sig, "KVMKVMKVM", 9) == 0);
}

/* Under QEMU's TCG (its software CPU, not KVM): svm.c works around one of
 * its SVM bugs. */
static inline bool platform_is_qemu_tcg(void)
{
	char sig[12];
	return hypervisor_signature(sig) && memcmp(sig, "TCGTCGTCGTCG", 12) == 0;
}

#endif
