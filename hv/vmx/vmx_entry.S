/*
 * hv/vmx/vmx_entry.S - one round trip into a VMX guest.
 *
 * int vmx_enter(struct guest_regs *regs, bool launched);
 *
 * VM entry loads the guest's RSP, RIP, RFLAGS, control registers, segment
 * state and the MSRs the VMCS names from the current VMCS (SDM Vol. 3C
 * 26.3.2); VM exit loads hv's from the host-state area (27.5). The other 15
 * general registers are not switched by the CPU: this stub loads them from
 * *regs before VMLAUNCH/VMRESUME and stores them back after the exit.
 *
 * The host-state area says RIP = vmx_exit below and RSP = the value this
 * stub writes into HOST_RSP right before entering, so after an exit the
 * stack is exactly as it was at entry, with regs on top.
 *
 * Interrupts: hv runs with IF=0 and VM exit clears RFLAGS (27.5.3), so
 * nothing is taken in this stub. External interrupts and the preemption
 * timer cause VM exits whatever the guest's IF (pin-based controls).
 *
 * Returns 0 after a VM exit (including the VM-entry failures that exit
 * with bit 31 of the exit reason set, 26.8), 1 for VMfailInvalid (CF=1:
 * no current VMCS) and 2 for VMfailValid (ZF=1: the VM-instruction error
 * field says why, 30.4). On VMfail the CPU stays in hv and the guest's
 * registers in *regs are unchanged.
 */
#include "asm-offsets.h"
#include "vmcs.h"

	.text
	.globl vmx_enter
	.type vmx_enter, @function
vmx_enter:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi                  /* regs: on top of the stack while the guest runs */

	movl $VMCS_HOST_RSP_ENCODING, %eax
	vmwrite %rsp, %rax          /* exit lands with this RSP */
	jbe .Lfailed                /* CF or ZF: VMfail (flags still say which) */

	testb %sil, %sil            /* launched? ZF survives the movs below */
	movq REGS_RAX(%rdi), %rax
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
	jnz .Lresume
	vmlaunch                    /* returns only on VMfail */
	jmp .Lfailed
.Lresume:
	vmresume                    /* returns only on VMfail */

.Lfailed:
	movl $2, %eax               /* VMfailValid (ZF) ... */
	movl $1, %ecx
	cmovcl %ecx, %eax           /* ... or VMfailInvalid (CF) */
	addq $8, %rsp               /* drop regs */
	jmp .Lout

	.globl vmx_exit
	.type vmx_exit, @function
vmx_exit:                           /* HOST_RIP: every VM exit lands here */
	pushq %rdi                  /* guest RDI */
	movq 8(%rsp), %rdi          /* regs */
	movq %rax, REGS_RAX(%rdi)
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
	addq $8, %rsp               /* drop regs */
	xorl %eax, %eax

.Lout:
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size vmx_enter, . - vmx_enter
	.section .note.GNU-stack, "", @progbits
