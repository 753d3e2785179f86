/* expect: unprotected indirect branch
 * An indirect call that does not go through a retpoline thunk. */
	.text
	.globl f
f:
	call *%rax
	ret
	.section .note.GNU-stack, "", @progbits
