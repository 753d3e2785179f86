/* expect: before the RSB fill
 * VT-x's HOST_RIP calls a function before filling the RSB. */
	.text
	.globl vmx_exit, helper, spec_t_sc_exit, spec_t_rsb, spec_t_rsb_end
helper:
	ret
vmx_exit:
spec_t_sc_exit:
	call helper
spec_t_rsb:
	call 1f
	int3
1:	addq $8, %rsp
spec_t_rsb_end:
	ret
	.section .note.GNU-stack, "", @progbits
