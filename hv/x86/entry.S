/*
 * hv/x86/entry.S - interrupt and exception entry stubs.
 *
 * Each stub pushes a dummy error code where the CPU does not push one
 * (SDM Vol. 3 6.13: vectors 8, 10-14, 17, 21, 29, 30 have one), then its
 * vector number, and jumps to a common path that saves the general
 * registers in the order of struct trap_frame (trap.h) and calls
 * trap_handler(frame).
 */
	.text
	.code64

.macro STUB vec
	.align 16
isr_stub_\vec:
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq $0
	.endif
	pushq $\vec
	jmp trap_common
.endm

.altmacro
.macro STUBS from, to
	STUB \from
	.if \to - \from
	STUBS %(\from + 1), \to
	.endif
.endm
	STUBS 0, 63
	STUBS 64, 127
	STUBS 128, 191
	STUBS 192, 255

trap_common:
	cld
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	movq %rsp, %rbx
	andq $-16, %rsp          /* SysV ABI stack alignment */
	call trap_handler
	movq %rbx, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp           /* vector and error code */
	iretq

/* The stub addresses, for the IDT builder (relocated like any data). */
	.section .data.rel.ro, "aw"
	.globl isr_stub_table
	.align 8
isr_stub_table:
.macro ADDR vec
	.quad isr_stub_\vec
.endm
.macro ADDRS from, to
	ADDR \from
	.if \to - \from
	ADDRS %(\from + 1), \to
	.endif
.endm
	ADDRS 0, 63
	ADDRS 64, 127
	ADDRS 128, 191
	ADDRS 192, 255
	.section .note.GNU-stack, "", @progbits
