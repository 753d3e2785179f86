/*
 * hv/asm-offsets.c - offsets the assembly files need, computed by the
 * compiler (never copied by hand). The Makefile compiles this to assembly
 * and turns the "->NAME value" markers into build/asm-offsets.h.
 */
#include "core.h"

#define DEFINE(sym, val) __asm__ volatile("\n->" #sym " %0" ::"i"(val))
#define OFFSET(sym, type, field) DEFINE(sym, __builtin_offsetof(type, field))

void asm_offsets(void);
void asm_offsets(void)
{
	OFFSET(REGS_RAX, struct guest_regs, rax);   /* VMX: RAX is not in the VMCS */
	OFFSET(REGS_RBX, struct guest_regs, rbx);
	OFFSET(REGS_RCX, struct guest_regs, rcx);
	OFFSET(REGS_RDX, struct guest_regs, rdx);
	OFFSET(REGS_RSI, struct guest_regs, rsi);
	OFFSET(REGS_RDI, struct guest_regs, rdi);
	OFFSET(REGS_RBP, struct guest_regs, rbp);
	OFFSET(REGS_R8, struct guest_regs, r8);
	OFFSET(REGS_R9, struct guest_regs, r9);
	OFFSET(REGS_R10, struct guest_regs, r10);
	OFFSET(REGS_R11, struct guest_regs, r11);
	OFFSET(REGS_R12, struct guest_regs, r12);
	OFFSET(REGS_R13, struct guest_regs, r13);
	OFFSET(REGS_R14, struct guest_regs, r14);
	OFFSET(REGS_R15, struct guest_regs, r15);
	OFFSET(REGS_SPEC_CTRL, struct guest_regs, spec_ctrl);
}
