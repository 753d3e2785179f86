/*
 * hv/x86/trap.c - interrupts and exceptions taken while hv itself runs.
 *
 * An exception in hv is always a bug: print vector, error code, RIP and the
 * registers, then stop (exit code "panic"). Interrupts: the LAPIC timer and
 * the spurious vector.
 */
#include "../hv.h"
#include "apic.h"
#include "cpu.h"
#include "protect.h"
#include "trap.h"

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
};

static void dump_and_stop(struct trap_frame *f)
{
	console_force_unlock();
	const char *name = f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] : "unexpected vector";
	printk("\nhv: EXCEPTION IN HV: vector %llu (%s) error code 0x%llx\n",
	       (unsigned long long)f->vector, name, (unsigned long long)f->error);
	printk("  rip %016llx cs %04llx rflags %016llx\n", (unsigned long long)f->rip,
	       (unsigned long long)f->cs, (unsigned long long)f->rflags);
	printk("  rsp %016llx ss %04llx cr2 %016llx cr3 %016llx\n", (unsigned long long)f->rsp,
	       (unsigned long long)f->ss, (unsigned long long)read_cr2(), (unsigned long long)read_cr3());
	printk("  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n", (unsigned long long)f->rax,
	       (unsigned long long)f->rbx, (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	printk("  rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n", (unsigned long long)f->rsi,
	       (unsigned long long)f->rdi, (unsigned long long)f->rbp, (unsigned long long)f->r8);
	printk("  r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n", (unsigned long long)f->r9,
	       (unsigned long long)f->r10, (unsigned long long)f->r11, (unsigned long long)f->r12);
	printk("  r13 %016llx r14 %016llx r15 %016llx\n", (unsigned long long)f->r13,
	       (unsigned long long)f->r14, (unsigned long long)f->r15);
	platform_exit(HV_EXIT_PANIC);
}

/* NMIs that reached hv: a guest's NMI intercept (SVM, after STGI), the VT-x
 * NMI exit's `int $2`, or one while hv itself ran. Counted and reported
 * (kv hv.host_nmis); hv has no NMI sources of its own, so nothing else to do. */
u64 host_nmis;

void trap_handler(struct trap_frame *f)
{
	switch (f->vector) {
	case EXC_NMI:
		__atomic_add_fetch(&host_nmis, 1, __ATOMIC_RELAXED);
		return;
	case VEC_SPURIOUS:
		return;     /* no EOI for the spurious vector (SDM Vol. 3 10.9) */
	default:
		if (protect_fault_fixup(f))
			return;            /* the boot self-test's provoked #PF */
		dump_and_stop(f);
	}
}
