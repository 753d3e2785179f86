/*
 * boot/mb2/entry.S - the Multiboot2 header and hv's first instructions when
 * GRUB (or any Multiboot2 loader) starts build/hv-mb2.elf.
 *
 * Machine state at mb2_start (Multiboot2 spec 3.3, i386): 32-bit protected
 * mode, paging off, CS/DS/ES/FS/GS/SS flat 4 GiB segments of the loader's
 * GDT (which we must not rely on: GDTR may be invalid), A20 on, IF = 0,
 * EAX = 0x36d76289, EBX = physical address of the boot information. ESP and
 * IDTR are undefined.
 *
 * What this file does, in order:
 *   1. zero .bss (the stack and the boot page tables live there);
 *   2. check that the CPU has long mode (else a message on COM1 and halt);
 *   3. build identity page tables for the low 4 GiB with 2 MiB pages
 *      (PML4 -> one PDPT -> four PDs; Intel SDM Vol. 3 4.5, AMD APM Vol. 2
 *      5.3), because hv is linked at a fixed low address and the core
 *      expects pa == va until it loads its own tables (hv/mm.c);
 *   4. enter long mode the architectural way (SDM Vol. 3 9.8.5 "Initializing
 *      IA-32e Mode", APM Vol. 2 14.6 "Enabling and Activating Long Mode"):
 *      CR4.PAE, CR3, EFER.LME, then CR0.PG, then a far jump to a 64-bit code
 *      segment of our own GDT;
 *   5. call mb2_main(magic, info) in C (mb2_main.c), which never returns.
 */
#include "multiboot2.h"

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_ET (1 << 4)
#define CR0_NE (1 << 5)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define PTE_P_W 0x003            /* present, writable */
#define PTE_P_W_PS 0x083         /* present, writable, 2 MiB page */
#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define COM1 0x3f8
#define BOOT_STACK_SIZE (128 * 1024)

/*
 * The header (spec 3.1): within the first 32 KiB of the file, 8-byte
 * aligned. The linker script puts .multiboot2 first. No address tag: GRUB
 * loads the ELF program headers as they are (physical = linked address).
 */
	.section .multiboot2, "a"
	.align 8
mb2_header:
	.long MB2_HEADER_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	.align 8
	/* No framebuffer request tag (3.1.10): with it, GRUB 2.06 for BIOS
	 * switches Bochs's VGA to VBE 640x480x8 and then corrupts its own heap
	 * ("free magic is broken"). Without it GRUB still reports the console
	 * it leaves (the framebuffer tag), which mb2_main.c uses. */
	.short MB2_HEADER_TAG_END, 0     /* end tag: type, flags */
	.long 8                          /* size */
mb2_header_end:

	.text
	.code32
	.globl mb2_start
mb2_start:
	cli
	cld
	movl %eax, %ebp                  /* magic: checked in C, with a message */
	movl %ebx, %esi                  /* boot information */

	/* 1. zero .bss; the loader need not, and our tables must start clean */
	movl $__mb2_bss_start, %edi
	movl $__mb2_bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb
	movl $boot_stack + BOOT_STACK_SIZE, %esp

	/* 2. long mode? CPUID 0x80000001 EDX[29] (LM) */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	btl $29, %edx
	jnc no_long_mode

	/* 3. PML4[0] -> PDPT; PDPT[0..3] -> PD0..PD3; PD entries map 2 MiB each */
	movl $boot_pdpt + PTE_P_W, boot_pml4
	movl $boot_pd + PTE_P_W, %eax
	xorl %ecx, %ecx
1:	movl %eax, boot_pdpt(, %ecx, 8)
	addl $4096, %eax
	incl %ecx
	cmpl $4, %ecx
	jb 1b
	movl $PTE_P_W_PS, %eax           /* entry i maps i * 2 MiB */
	xorl %ecx, %ecx
2:	movl %eax, boot_pd(, %ecx, 8)    /* upper halves stay 0 (zeroed .bss) */
	addl $0x200000, %eax
	incl %ecx
	cmpl $2048, %ecx
	jb 2b

	/* 4. long mode: GDT, PAE, CR3, EFER.LME, PG, far jump */
	lgdt boot_gdt_ptr
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	/* CD = NW = 0 (caches on), EM = TS = 0 (x87/SSE usable: hv saves guest FPU state) */
	movl $(CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $SEL_CODE64, $mb2_start64

/* No long mode: say so on COM1 (115200 8N1, as hv's console) and stop. */
no_long_mode:
	movw $COM1 + 1, %dx
	xorb %al, %al
	outb %al, %dx                    /* IER: no interrupts */
	movw $COM1 + 3, %dx
	movb $0x80, %al
	outb %al, %dx                    /* LCR: DLAB */
	movw $COM1, %dx
	movb $1, %al
	outb %al, %dx                    /* divisor 1 = 115200 */
	movw $COM1 + 1, %dx
	xorb %al, %al
	outb %al, %dx
	movw $COM1 + 3, %dx
	movb $3, %al
	outb %al, %dx                    /* 8N1 */
	movl $msg_no_long_mode, %esi
3:	lodsb
	testb %al, %al
	jz 5f
	movb %al, %bl
	movw $COM1 + 5, %dx              /* LSR: wait for THRE, bounded */
	movl $100000, %ecx
4:	inb %dx, %al
	testb $0x20, %al
	loopz 4b
	movw $COM1, %dx
	movb %bl, %al
	outb %al, %dx
	jmp 3b
5:	cli
	hlt
	jmp 5b

	.code64
mb2_start64:
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorl %eax, %eax
	movw %ax, %fs
	movw %ax, %gs
	fninit
	movl %ebp, %edi                  /* arg 1: magic (zero-extends) */
	movl %esi, %esi                  /* arg 2: info address; upper half was undefined */
	xorl %ebp, %ebp                  /* end of the frame-pointer chain for gdb */
	movl $boot_stack + BOOT_STACK_SIZE, %esp
	call mb2_main
6:	cli
	hlt
	jmp 6b

/*
 * The boot GDT (SDM Vol. 3 3.4.5; APM Vol. 2 4.8). The accessed bits are
 * preset so that the CPU never writes to it. The core installs its own GDT
 * (hv/x86/desc.c) early in hv_main.
 */
	.section .rodata
	.align 16
boot_gdt:
	.quad 0
	.quad 0x00af9b000000ffff         /* 0x08: 64-bit code (L=1), DPL 0 */
	.quad 0x00cf93000000ffff         /* 0x10: flat data */
boot_gdt_end:
boot_gdt_ptr:                            /* lgdt in 32-bit mode reads limit + 32-bit base */
	.short boot_gdt_end - boot_gdt - 1
	.long boot_gdt

msg_no_long_mode:
	.asciz "\r\nhv: error: this CPU has no long mode (CPUID 0x80000001 EDX[29]); hv needs an x86-64 CPU\r\n"

	.section .bss
	.align 4096
boot_pml4:
	.skip 4096
boot_pdpt:
	.skip 4096
boot_pd:
	.skip 4 * 4096
	.align 16
boot_stack:
	.skip BOOT_STACK_SIZE

	.section .note.GNU-stack, "", @progbits
