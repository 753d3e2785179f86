/* expect: leaves the straight-line exit path
 * The exit path jumps elsewhere before the fill (the check cannot follow it). */
	.text
	.globl run, spec_t_sc_exit, spec_t_rsb, spec_t_rsb_end
run:
	vmrun %rax
spec_t_sc_exit:
	jmp 2f
spec_t_rsb:
	call 1f
	int3
1:	addq $8, %rsp
spec_t_rsb_end:
	ret
2:	ret
	.section .note.GNU-stack, "", @progbits
