/*
 * hv/x86/desc.c - hv's own GDT, TSS and IDT (SDM Vol. 3 ch. 3, 7.7, 6.14).
 *
 * One GDT and TSS per physical CPU (the TSS carries that CPU's IST stacks for
 * #DF, NMI and #MC, so a fault on a broken stack still reaches the dump); one
 * IDT shared by all CPUs.
 */
#include "../hv.h"
#include "../config.h"
#include "cpu.h"
#include "trap.h"


struct __attribute__((packed)) tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
};
_Static_assert(sizeof(struct tss64) == 104, "TSS layout (SDM Vol. 3 Figure 8-11)");

struct __attribute__((packed)) idt_gate {
	u16 offset_lo, selector;
	u8 ist, type_attr;
	u16 offset_mid;
	u32 offset_hi, reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate");

static u64 gdt[CFG_MAX_PCPUS][5] __attribute__((aligned(16)));
static struct tss64 tss[CFG_MAX_PCPUS] __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static bool idt_built;

enum { IST_DF = 1, IST_NMI = 2, IST_MC = 3 };

static void build_idt(void)
{
	for (int v = 0; v < 256; v++) {
		u64 a = isr_stub_table[v];   /* (apic_init_cpu replaces VEC_TIMER's and VEC_WAKE's) */
		idt[v] = (struct idt_gate){
			.offset_lo = (u16)a, .selector = SEL_CODE,
			.ist = v == EXC_DF ? IST_DF : v == EXC_NMI ? IST_NMI : v == 18 ? IST_MC : 0,
			.type_attr = 0x8e, /* present, DPL 0, 64-bit interrupt gate */
			.offset_mid = (u16)(a >> 16), .offset_hi = (u32)(a >> 32),
		};
	}
	idt_built = true;
}

void desc_set_gate(u8 vec, u64 addr)
{
	idt[vec].offset_lo = (u16)addr;
	idt[vec].offset_mid = (u16)(addr >> 16);
	idt[vec].offset_hi = (u32)(addr >> 32);
}

/* Load GDT, TSS and IDT on the calling CPU; reload every segment register. */
void desc_init_cpu(unsigned cpu)
{
	ASSERT(cpu < CFG_MAX_PCPUS, "cpu %u", cpu);
	if (!idt_built)
		build_idt();

	struct tss64 *t = &tss[cpu];
	for (int i = 0; i < 3; i++)
		t->ist[i] = va_to_pa(page_alloc(2)) + 2 * 4096;
	t->iomap_base = sizeof(*t);    /* no I/O bitmap: CPL 0 only */

	u64 base = va_to_pa(t), limit = sizeof(*t) - 1;
	u64 *g = gdt[cpu];
	g[0] = 0;
	g[1] = 0x00af9b000000ffffull;  /* 64-bit code: L=1, P, DPL0, type execute/read */
	g[2] = 0x00cf93000000ffffull;  /* data: P, DPL0, read/write, 4 GiB */
	g[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
	       (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	g[4] = base >> 32;             /* upper half of the 16-byte TSS descriptor */

	struct desc_ptr gp = { sizeof(gdt[cpu]) - 1, va_to_pa(g) };
	struct desc_ptr ip = { sizeof(idt) - 1, va_to_pa(idt) };
	__asm__ volatile(
		"lgdt %0\n\t"
		"lidt %1\n\t"
		"pushq %2\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movw %w3, %%ax\n\t"
		"movw %%ax, %%ds\n\t"
		"movw %%ax, %%es\n\t"
		"movw %%ax, %%ss\n\t"
		"xorl %%eax, %%eax\n\t"
		"movw %%ax, %%fs\n\t"
		"movw %%ax, %%gs\n\t"
		"movw %w4, %%ax\n\t"
		"ltr %%ax\n\t"
		:
		: "m"(gp), "m"(ip), "i"(SEL_CODE), "i"(SEL_DATA), "i"(SEL_TSS)
		: "rax", "memory");
}

/* For backends that must name hv's host state explicitly (VMX host fields). */
u64 desc_gdt_base(unsigned cpu) { return va_to_pa(gdt[cpu]); }
u64 desc_tss_base(unsigned cpu) { return va_to_pa(&tss[cpu]); }
u64 desc_idt_base(void) { return va_to_pa(idt); }
