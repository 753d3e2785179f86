/* hv/x86/trap.h - interrupt/exception frames and hv's own vectors. */
#ifndef HV_X86_TRAP_H
#define HV_X86_TRAP_H

#include "../lib.h"

#define VEC_TIMER 0x20
#define VEC_WAKE 0x21      /* IPI: work was queued for an idle pCPU */
#define VEC_SPURIOUS 0xff

/* What entry.S pushes, lowest address first; the CPU pushed the tail. */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;    /* pushed by the CPU */
};

void trap_handler(struct trap_frame *f);
/* NMIs hv took (counted, never fatal: trap.c). */
extern u64 host_nmis;
void desc_init_cpu(unsigned cpu);
/* Point the IDT's gate of vec at a handler of its own (the table is shared:
 * every CPU sees it at once). */
void desc_set_gate(u8 vec, u64 addr);
/* hv's selectors (desc.c) and table bases, for VMX host-state fields. */
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18
u64 desc_gdt_base(unsigned cpu);
u64 desc_tss_base(unsigned cpu);
u64 desc_idt_base(void);
extern const u64 isr_stub_table[256];

#endif
