/* expect: SPEC_CTRL not restored
 * The RSB is filled, but hv's IA32_SPEC_CTRL is never put back. */
	.text
	.globl run, spec_t_rsb, spec_t_rsb_end
run:
	vmrun %rax
spec_t_rsb:
	call 1f
	int3
1:	addq $8, %rsp
spec_t_rsb_end:
	ret
	.section .note.GNU-stack, "", @progbits
