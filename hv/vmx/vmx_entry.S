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
 *
 * Speculation (x86/spec_asm.h, docs/security.md): the guest's
 * IA32_SPEC_CTRL (regs->spec_ctrl) is loaded before entry and hv's right
 * after the exit (and after a VMfail); L1D flush (L1TF) and VERW
 * (MDS/TAA/MMIO/RFDS) after hv's last store before entry; after the exit the guest's values
 * leave hv's registers and the RSB fill and branch-history clearing run
 * before the first ret or call. Sites this CPU does not need are jumped
 * over (patched once at boot).
 */
#include "asm-offsets.h"
#include "vmcs.h"
#include "../x86/spec_asm.h"

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

SITE spec_vmx_sc_entry
	SPEC_CTRL_SWITCH REGS_SPEC_CTRL(%rdi), spec_host_spec_ctrl(%rip)
SITE spec_vmx_sc_entry_end
SITE spec_vmx_l1d
	WRMSR_ONE SPEC_MSR_FLUSH_CMD
SITE spec_vmx_l1d_end
	/* VERW after hv's last store of its own data; what follows only loads
	 * the guest's registers (adjacent sites: one jmp skips all three). */
SITE spec_vmx_verw
	verw spec_verw_sel(%rip)    /* clears CPU buffers (MD_CLEAR); changes ZF only */
SITE spec_vmx_verw_end

	btl $0, %esi                /* launched -> CF; the movs below keep it */
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
	jc .Lresume
	vmlaunch                    /* returns only on VMfail */
	jmp .Lfailed
.Lresume:
	vmresume                    /* returns only on VMfail */

.Lfailed:
	movl $2, %esi               /* VMfailValid (ZF) ... */
	movl $1, %ecx
	cmovcl %ecx, %esi           /* ... or VMfailInvalid (CF) */
	movq (%rsp), %rdi           /* regs */
SITE spec_vmx_sc_fail
	SPEC_CTRL_SWITCH spec_host_spec_ctrl(%rip), REGS_SPEC_CTRL(%rdi)
SITE spec_vmx_sc_fail_end
	movl %esi, %eax
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
	xorl %ecx, %ecx             /* no guest value left in hv's registers: */
	xorl %edx, %edx             /* these here, the callee-saved ones by */
	xorl %esi, %esi             /* the pops at .Lout (RDI: still regs) */
	xorl %r8d, %r8d
	xorl %r9d, %r9d
	xorl %r10d, %r10d
	xorl %r11d, %r11d
	.globl spec_vmx_exit_fill   /* check-spec.py: fill before the first ret/call */
spec_vmx_exit_fill:
SITE spec_vmx_sc_exit
	SPEC_CTRL_SWITCH spec_host_spec_ctrl(%rip), REGS_SPEC_CTRL(%rdi)
SITE spec_vmx_sc_exit_end
SITE spec_vmx_rsb_lite
	RSB_FILL_1
SITE spec_vmx_rsb_lite_end
SITE spec_vmx_rsb
	RSB_FILL_32
SITE spec_vmx_rsb_end
SITE spec_vmx_bhb
	CLEAR_BHB
SITE spec_vmx_bhb_end
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
