/* expect: is not a retpoline
 * A thunk that is a plain indirect jump in the file (only boot-time
 * patching may make it one). */
	.text
	.globl __x86_indirect_thunk_rax, vmx_exit, spec_t_sc_exit, spec_t_rsb, spec_t_rsb_end
	.p2align 5
__x86_indirect_thunk_rax:
	jmp *%rax
	int3
vmx_exit:
spec_t_sc_exit:
spec_t_rsb:
	call 1f
	int3
1:	addq $8, %rsp
spec_t_rsb_end:
	ret
	.section .note.GNU-stack, "", @progbits
