/* expect: before any RSB fill
 * A ret right after the VM exit: it would use a guest-made RSB entry. */
	.text
	.globl run, spec_t_rsb, spec_t_rsb_end
run:
	vmrun %rax
	ret
spec_t_rsb:
	call 1f
	int3
1:	addq $8, %rsp
spec_t_rsb_end:
	ret
	.section .note.GNU-stack, "", @progbits
