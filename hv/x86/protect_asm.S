/*
 * hv/x86/protect_asm.S - the probes of the boot-time self-test
 * (x86/protect.c): a write to hv's code, a call into hv's data, and a
 * minimal setjmp/longjmp to come back from __stack_chk_fail. They run once,
 * on the boot CPU, before any guest exists.
 */
	.text
	.code64

/* u64 protect_try_write(u8 *p): rewrite *p with its own value. Returns 0
 * if the write went through; 1 if it faulted: protect_fault_fixup() then
 * resumes at protect_write_fixup. */
	.globl protect_try_write, protect_write_insn, protect_write_fixup
protect_try_write:
	movb (%rdi), %al
protect_write_insn:
	movb %al, (%rdi)
	xorl %eax, %eax
	ret
protect_write_fixup:
	movl $1, %eax
	ret

/* u64 protect_try_exec(void *ret_byte): call a RET instruction in data.
 * Returns 0 if it ran; 1 if the fetch faulted: the fixup returns to our
 * caller's frame through the return address the call pushed. */
	.globl protect_try_exec, protect_exec_fixup
protect_try_exec:
	xorl %eax, %eax
	call __x86_indirect_thunk_rdi   /* through the retpoline like all of hv */
	ret
protect_exec_fixup:
	movl $1, %eax
	ret                         /* pops the address pushed by the call into the thunk */

/* int hv_setjmp(u64 buf[8]) / void hv_longjmp(u64 buf[8], int val):
 * callee-saved registers (SysV ABI), stack pointer and return address. */
	.globl hv_setjmp, hv_longjmp
hv_setjmp:
	movq %rbx, 0(%rdi)
	movq %rbp, 8(%rdi)
	movq %r12, 16(%rdi)
	movq %r13, 24(%rdi)
	movq %r14, 32(%rdi)
	movq %r15, 40(%rdi)
	leaq 8(%rsp), %rax
	movq %rax, 48(%rdi)
	movq (%rsp), %rax
	movq %rax, 56(%rdi)
	xorl %eax, %eax
	ret
hv_longjmp:
	movq 0(%rdi), %rbx
	movq 8(%rdi), %rbp
	movq 16(%rdi), %r12
	movq 24(%rdi), %r13
	movq 32(%rdi), %r14
	movq 40(%rdi), %r15
	movq 48(%rdi), %rsp
	movl %esi, %eax
	pushq 56(%rdi)              /* a return, not an indirect jump (check-spec.py) */
	ret

	.section .note.GNU-stack, "", @progbits
