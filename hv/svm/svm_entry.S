/*
 * hv/svm/svm_entry.S - one round trip into an SVM guest.
 *
 * void svm_enter(struct guest_regs *regs, u64 vmcb_pa, u64 host_vmcb_pa);
 *
 * VMRUN switches only part of the state (APM Vol. 2 15.5); FS, GS, TR, LDTR,
 * KernelGsBase and the SYSCALL/SYSENTER MSRs are switched here with
 * VMSAVE/VMLOAD, so a guest can never leave its TR (and thus its IST stacks)
 * in hv. hv's own copy (host_vmcb_pa) is VMSAVEd once per pCPU by
 * svm_cpu_init(): hv never changes that state after, the same assumption
 * the VT-x host-state area makes (vmx.c writes it once per pCPU). Interrupts: hv runs with IF=0; inside a GIF=0 window it sets IF=1
 * so a host interrupt (the LAPIC timer) pending or arriving while the guest
 * runs causes an INTR #VMEXIT (PLATFORMS.md: clgi; sti; vmrun; cli; stgi).
 * The interrupt itself stays pending in the LAPIC; the caller takes it.
 * RAX, RSP and RIP of the guest live in the VMCB; the other 14 general
 * registers in *regs.
 *
 * Speculation (x86/spec_asm.h, docs/security.md): the guest's
 * IA32_SPEC_CTRL (regs->spec_ctrl) is loaded before VMRUN and hv's after
 * the exit, before anything can branch; VERW (AMD TSA) after hv's last
 * store before VMRUN;
 * after the exit the guest's values leave hv's registers, then IBPB (AMD
 * Retbleed/SRSO) and the RSB fill run before the first ret or call. Sites
 * this CPU does not need are jumped over (patched once at boot).
 */
#include "asm-offsets.h"
#include "../x86/spec_asm.h"

	.text
	.globl svm_enter
	.type svm_enter, @function
svm_enter:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi                  /* regs */
	pushq %rdx                  /* host save VMCB (the guest's comes back in RAX) */

SITE spec_svm_sc_entry
	SPEC_CTRL_SWITCH REGS_SPEC_CTRL(%rdi), spec_host_spec_ctrl(%rip)
SITE spec_svm_sc_entry_end
	/* VERW after hv's last store of its own data (the pushes above); what
	 * follows only loads the guest's state. One site after the other, so
	 * a CPU that needs neither jumps once. */
SITE spec_svm_verw
	verw spec_verw_sel(%rip)    /* clears CPU buffers (VERW_CLEAR) */
SITE spec_svm_verw_end

	clgi
	movq %rsi, %rax
	vmload %rax                 /* the guest's (hv's own: saved at svm_cpu_init) */
	sti                         /* GIF=0 holds interrupts until VMRUN */

	movq REGS_RBX(%rdi), %rbx
	movq REGS_RCX(%rdi), %rcx
	movq REGS_RDX(%rdi), %rdx
	movq REGS_RSI(%rdi), %rsi
	movq REGS_RBP(%rdi), %rbp
	movq REGS_R8(%rdi), %r8
	movq REGS_R9(%rdi), %r9
	movq REGS_R10(%rdi), %r10
	movq REGS_R11(%rdi), %r11
	movq REGS_R12(%rdi), %r12
	movq REGS_R13(%rdi), %r13
	movq REGS_R14(%rdi), %r14
	movq REGS_R15(%rdi), %r15
	movq REGS_RDI(%rdi), %rdi

	vmrun %rax                  /* RAX = guest VMCB; back here on #VMEXIT */

	pushq %rdi                  /* guest RDI; RAX is hv's again (VMCB pa) */
	movq 16(%rsp), %rdi         /* regs */
	movq %rbx, REGS_RBX(%rdi)
	movq %rcx, REGS_RCX(%rdi)
	movq %rdx, REGS_RDX(%rdi)
	movq %rsi, REGS_RSI(%rdi)
	movq %rbp, REGS_RBP(%rdi)
	movq %r8, REGS_R8(%rdi)
	movq %r9, REGS_R9(%rdi)
	movq %r10, REGS_R10(%rdi)
	movq %r11, REGS_R11(%rdi)
	movq %r12, REGS_R12(%rdi)
	movq %r13, REGS_R13(%rdi)
	movq %r14, REGS_R14(%rdi)
	movq %r15, REGS_R15(%rdi)
	popq REGS_RDI(%rdi)

	vmsave %rax                 /* guest FS/GS/TR/... back into its VMCB */
	movq (%rsp), %rax
	vmload %rax                 /* hv's TR etc. before any interrupt */
	cli
	stgi

	addq $16, %rsp
	popq %r15                   /* hv's callee-saved registers back ... */
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	xorl %ecx, %ecx             /* ... and no guest value left in the others */
	xorl %edx, %edx
	xorl %esi, %esi
	xorl %r8d, %r8d
	xorl %r9d, %r9d
	xorl %r10d, %r10d
	xorl %r11d, %r11d

	.globl spec_svm_exit_fill   /* check-spec.py: fill before the first ret/call */
spec_svm_exit_fill:
SITE spec_svm_sc_exit               /* RDI is still regs */
	SPEC_CTRL_SWITCH spec_host_spec_ctrl(%rip), REGS_SPEC_CTRL(%rdi)
SITE spec_svm_sc_exit_end
SITE spec_svm_ibpb
	WRMSR_ONE SPEC_MSR_PRED_CMD
SITE spec_svm_ibpb_end
SITE spec_svm_rsb_lite
	RSB_FILL_1
SITE spec_svm_rsb_lite_end
SITE spec_svm_rsb
	RSB_FILL_32
SITE spec_svm_rsb_end
	ret                         /* the first ret after the exit */
	.size svm_enter, . - svm_enter
	.section .note.GNU-stack, "", @progbits
