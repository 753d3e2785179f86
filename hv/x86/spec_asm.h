/*
 * hv/x86/spec_asm.h - speculation measures of the entry/exit stubs
 * (hv/svm/svm_entry.S, hv/vmx/vmx_entry.S; docs/security.md).
 *
 * Each measure is a "site": the code between a global label NAME and
 * NAME_end. At boot, before hv's text is checksummed and before the other
 * pCPUs start, spec_init() (x86/spec_hw.c) writes a jmp to NAME_end over
 * the start of every site this CPU does not need, so no flag is tested on
 * the exit path. Untouched, every site runs (the safe default).
 * tests/check-spec.py checks the binary: no ret and no call between a VM
 * exit and the RSB fill.
 */
#ifndef HV_X86_SPEC_ASM_H
#define HV_X86_SPEC_ASM_H

#define SPEC_MSR_SPEC_CTRL 0x48     /* SDM Vol. 4 table 2-2 */
#define SPEC_MSR_PRED_CMD 0x49
#define SPEC_MSR_FLUSH_CMD 0x10b

.macro SITE name
	.globl \name
\name:
.endm

/*
 * IA32_SPEC_CTRL := \src (a memory operand) unless it already holds
 * \cur. Clobbers RAX, RCX, RDX. The lfence keeps a mispredicted skip from
 * running on with the wrong value.
 */
.macro SPEC_CTRL_SWITCH to, from
	movq \to, %rax
	cmpq \from, %rax
	je 1f
	movq %rax, %rdx
	shrq $32, %rdx
	movl $SPEC_MSR_SPEC_CTRL, %ecx
	wrmsr
1:	lfence
.endm

/* Write 1 to MSR \msr (IBPB, L1D flush). Clobbers RAX, RCX, RDX. */
.macro WRMSR_ONE msr
	movl $\msr, %ecx
	movl $1, %eax
	xorl %edx, %edx
	wrmsr
.endm

/*
 * Overwrite all 32 return stack buffer entries (the deepest RSB of current
 * parts) with entries that point at a speculation trap, then drop them from
 * the stack: a ret predicted from one lands on int3. No ret is executed,
 * and no conditional branch (so no lfence: nothing to mispredict).
 */
.macro RSB_FILL_32
	.rept 32
	call 1f
	int3
1:
	.endr
	addq $(32 * 8), %rsp
.endm

/*
 * The one-entry sequence for eIBRS parts with PBRSB (post-barrier RSB
 * predictions): hv's first unbalanced ret after the exit must not use an
 * RSB entry the guest created. One harmless entry is enough.
 */
.macro RSB_FILL_1
	call 1f
	int3
1:	addq $8, %rsp
	lfence
.endm

/*
 * Clear the branch history (Intel's BHI guidance for parts without
 * BHI_DIS_S): enough taken branches that no guest-made history is left
 * for hv's indirect branches. Clobbers RAX, RCX.
 */
.macro CLEAR_BHB
	movl $5, %ecx
	.p2align 5
2:	movl $5, %eax
	jmp 3f
	.p2align 5
3:	jmp 4f
	int3
	.p2align 5
4:	decl %eax
	jnz 3b
	decl %ecx
	jnz 2b
	lfence
.endm

#endif
