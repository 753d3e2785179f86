/* expect: pass
 * A well-formed exit path and thunk, in the shape hv's stubs have
 * (tests/check-spec.py --self-test). */
	.text
	.globl run, __x86_indirect_thunk_rax, spec_t_sc_exit, spec_t_sc_exit_end
	.globl spec_t_rsb, spec_t_rsb_end
run:
	call __x86_indirect_thunk_rax
	vmrun %rax
	xorl %ecx, %ecx
spec_t_sc_exit:
	cmpq $0, %rax
	je 1f
	wrmsr
1:	lfence
spec_t_sc_exit_end:
spec_t_rsb:
	.rept 32
	call 2f
	int3
2:
	.endr
	addq $256, %rsp
spec_t_rsb_end:
	ret
	.p2align 5
__x86_indirect_thunk_rax:
	call 1f
2:	pause
	lfence
	jmp 2b
1:	movq %rax, (%rsp)
	ret
	.section .note.GNU-stack, "", @progbits
