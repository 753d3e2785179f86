/*
 * hv/x86/thunks.S - the branch thunks gcc calls (-mindirect-branch=thunk-extern
 * -mindirect-branch-register; Makefile SPEC_CFLAGS).
 *
 * Every indirect call or jmp in hv's C code is `call/jmp
 * __x86_indirect_thunk_REG`. Each thunk is a retpoline (a ret whose
 * prediction is an endless pause/lfence loop, so the BTB is never used for
 * hv's indirect branches), in a 32-byte slot of its own. On CPUs where
 * spec_init() (x86/spec_hw.c) chose (enhanced/automatic) IBRS instead, or
 * with `mitigations = off`, it overwrites the start of every slot with
 * `jmp *%REG; int3` once at boot, before hv's text is checksummed and
 * before any other pCPU runs; nothing is patched later.
 *
 * There is no return thunk: under every choice spec_decide() makes, hv's
 * returns are safe as plain `ret` (docs/security.md, "Returns").
 */
	.text

	.p2align 5
	.globl spec_thunks_start
spec_thunks_start:

.macro THUNK reg
	.p2align 5
	.globl __x86_indirect_thunk_\reg
	.type __x86_indirect_thunk_\reg, @function
__x86_indirect_thunk_\reg:
	call 1f
2:	pause                       /* the predicted return: spins harmlessly */
	lfence
	jmp 2b
1:	movq %\reg, (%rsp)          /* the real target replaces the return address */
	ret
	.size __x86_indirect_thunk_\reg, . - __x86_indirect_thunk_\reg
.endm

/* The order is the register number (SDM Vol. 2 table 2-2); spec_hw.c relies on it. */
	THUNK rax
	THUNK rcx
	THUNK rdx
	THUNK rbx
	THUNK rsp
	THUNK rbp
	THUNK rsi
	THUNK rdi
	THUNK r8
	THUNK r9
	THUNK r10
	THUNK r11
	THUNK r12
	THUNK r13
	THUNK r14
	THUNK r15

	.p2align 5
	.globl spec_thunks_end
spec_thunks_end:

/*
 * Static calls: the two vendor calls every VM exit makes and the two of
 * every guest interrupt's delivery (vendor.h) as
 * direct calls to a 5-byte `jmp` that spec_init() points at the backend's
 * function at boot (Linux's static_call). A direct call and a direct jmp
 * instead of a load and a retpoline: nothing for a guest to steer, and 4
 * instructions less per call. Until patched they lead to static_call_unset().
 */
.macro STATIC_CALL name
	.p2align 3
	.globl static_call_\name
	.type static_call_\name, @function
static_call_\name:
	jmp static_call_unset
	.size static_call_\name, . - static_call_\name
.endm
	STATIC_CALL vendor_run
	STATIC_CALL vendor_advance_rip
	STATIC_CALL vendor_irq_window
	STATIC_CALL vendor_inject_event

	.section .note.GNU-stack, "", @progbits
