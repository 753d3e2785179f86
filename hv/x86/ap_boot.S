/*
 * hv/x86/ap_boot.S - where an application processor starts after
 * INIT-SIPI-SIPI (SDM Vol. 3 8.4.4 "MP initialization example"; AMD APM
 * Vol. 2 15.27.8 for SVM parts).
 *
 * The SIPI starts the AP in real mode at CS = page >> 4, IP = 0, so this code
 * is copied to a page below 1 MiB (smp.c) and must not depend on where hv
 * was loaded: everything absolute is read from the parameter block at the
 * end of that page, which the boot CPU fills in before each start. The AP
 * goes real mode -> 32-bit protected mode -> long mode on low identity page
 * tables (below 4 GiB, as a 32-bit CR3 requires), then switches to hv's page
 * tables and stack and calls ap_entry(cpu).
 */
#define PARAMS 0xf00            /* offset of the parameter block in the page */
#define P_GDT_LIMIT (PARAMS + 0)  /* u16; the u32 base follows (lgdt operand) */
#define P_GDT_BASE (PARAMS + 2)
#define P_FAR32 (PARAMS + 8)      /* u32 offset, u16 selector */
#define P_FAR64 (PARAMS + 16)     /* u32 offset, u16 selector */
#define P_LOW_CR3 (PARAMS + 24)
#define P_CR3 (PARAMS + 32)
#define P_STACK (PARAMS + 40)
#define P_ENTRY (PARAMS + 48)
#define P_CPU (PARAMS + 56)
#define P_GDT (PARAMS + 64)       /* 4 descriptors */

	.text
	.globl ap_boot_start, ap_boot_end, ap_boot_pm32, ap_boot_lm64
	.code16
ap_boot_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	xorl %ebx, %ebx             /* EBX = this page's linear address, kept */
	movw %ax, %bx               /* through the mode switches */
	shll $4, %ebx
	lgdtl P_GDT_LIMIT
	movl %cr0, %eax
	orl $1, %eax                /* PE */
	movl %eax, %cr0
	ljmpl *P_FAR32

	.code32
ap_boot_pm32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $0x20, %eax             /* PAE */
	movl %eax, %cr4
	movl P_LOW_CR3(%ebx), %eax
	movl %eax, %cr3
	movl %ebx, %esi             /* CPUID clobbers EBX */
	movl $0x80000001, %eax
	cpuid
	xorl %edi, %edi
	btl $20, %edx               /* NX: CPUID 8000_0001h EDX[20] */
	jnc 1f
	movl $0x800, %edi           /* EFER.NXE: hv's tables set NX bits (hv/mm.c) */
1:	movl %esi, %ebx
	movl $0xc0000080, %ecx      /* EFER.LME */
	rdmsr
	orl $0x100, %eax
	orl %edi, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000000, %eax       /* PG: long mode, compatibility sub-mode */
	movl %eax, %cr0
	ljmpl *P_FAR64(%ebx)

	.code64
ap_boot_lm64:
	movq P_CR3(%rbx), %rax      /* hv's own page tables */
	movq %rax, %cr3
	movq P_STACK(%rbx), %rsp
	movl P_CPU(%rbx), %edi
	movq P_ENTRY(%rbx), %rax
	xorl %ebp, %ebp
	pushq $0                    /* no return address: ap_entry never returns */
	jmpq *%rax
ap_boot_end:
	.section .note.GNU-stack, "", @progbits
