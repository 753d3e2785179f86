/*
 * hv/x86/rsb.S - overwrite the return stack buffer with harmless entries.
 *
 * Needed after an IBPB on AMD parts that do not enumerate IBPB_RET
 * (CPUID 8000_0008h EBX[30]): there IBPB leaves return predictions intact.
 * 32 calls whose return addresses point at a speculation trap fill the RSB;
 * the pushed addresses are then dropped.
 */
	.text
	.globl rsb_stuff
	.type rsb_stuff, @function
rsb_stuff:
	movl $16, %ecx
1:
	call 2f
3:	pause
	lfence
	jmp 3b
2:
	call 4f
5:	pause
	lfence
	jmp 5b
4:
	decl %ecx
	jnz 1b
	addq $(32 * 8), %rsp
	ret
	.size rsb_stuff, . - rsb_stuff
	.section .note.GNU-stack, "", @progbits
