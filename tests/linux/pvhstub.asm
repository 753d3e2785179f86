; tests/linux/pvhstub.asm - a tiny loader that carries out a load list made
; by tests/linux/plan.c (hv/linux.c + hv/acpi.c on the host), inside QEMU TCG:
; it checks hv's Linux boot plan end to end before hv can load Linux itself.
;
; QEMU boots this as a PVH kernel (-kernel stub.elf, the load list as
; -initrd): 32-bit protected mode, paging off, EBX = QEMU's hvm_start_info.
; The stub copies every record to its guest-physical address, loads the
; register state the plan gives (linux_cpu_state()), and jumps to Linux's
; entry: the 64-bit bzImage entry in long mode, or the PVH entry in 32-bit
; protected mode. QEMU's own ACPI tables and firmware data are left behind;
; Linux finds ours through boot_params.acpi_rsdp_addr / start_info.rsdp_paddr.
;
; SeaBIOS leaves 0xC0000-0xFFFFF read-only (shadow RAM); the plan puts the
; ACPI tables at 0xE0000, so the stub first makes that range writable
; through the i440FX host bridge's PAM registers (PCI 0:0.0 offsets
; 0x59-0x5F, value 0x33 = read and write to DRAM; Intel 82441FX datasheet
; 3.2.18), and checks that the RSDP landed.

%define COM1 0x3f8
%define ST_FORMAT 8
%define ST_ENTRY 12
%define ST_RSI 16
%define ST_RBX 20
%define ST_CR0 24
%define ST_CR3 28
%define ST_CR4 32
%define ST_EFER 36
%define ST_GDT_BASE 40
%define ST_GDT_LIMIT 44
%define ST_CS 48
%define ST_DS 52
%define RECORDS 56

section .note.Xen note alloc align=4
	dd 4, 8, 18                 ; namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY
	db "Xen", 0
	dq _start

section .text
bits 32
global _start
_start:
	cli
	mov esp, stack_top
	mov esi, msg_hello
	call puts
	cmp dword [ebx + 12], 0     ; hvm_start_info.nr_modules
	je fail_nomod
	mov esi, [ebx + 16]         ; modlist_paddr
	mov ebp, [esi]              ; module 0: the load list
	cmp dword [ebp], 'HVLL'
	jne fail_magic

	; The plan tells Linux there is no 8259 (MADT without PCAT_COMPAT, hardware-
	; reduced ACPI), as under hv. QEMU has one, left by SeaBIOS with the PIT's
	; IRQ 0 unmasked at vector 8: mask both PICs (OCW1) so none arrives.
	mov al, 0xff
	out 0xa1, al
	out 0x21, al

	mov ecx, 0x59               ; PAM0..PAM6
.pam:	mov eax, ecx
	and eax, 0xfc
	or eax, 0x80000000          ; config address: bus 0, device 0, function 0
	mov dx, 0xcf8
	out dx, eax
	mov edx, ecx
	and edx, 3
	add edx, 0xcfc
	mov al, 0x33
	out dx, al
	inc ecx
	cmp ecx, 0x60
	jb .pam

	mov ecx, [ebp + 4]          ; record count
	lea esi, [ebp + RECORDS]
.rec:	test ecx, ecx
	jz .done
	push ecx
	mov edi, [esi]
	mov ecx, [esi + 4]
	mov eax, [esi + 8]
	add esi, 12
	test eax, eax
	jnz .zero
	rep movsb
	add esi, 3                  ; data is padded to 4 bytes
	and esi, ~3
	jmp .next
.zero:	xor eax, eax
	rep stosb
.next:	pop ecx
	dec ecx
	jmp .rec
.done:
	cmp dword [0xe0000], 'RSD '
	jne fail_acpi
	mov esi, msg_loaded
	call puts

	mov eax, [ebp + ST_GDT_BASE]
	mov [gdtr + 2], eax
	mov eax, [ebp + ST_GDT_LIMIT]
	mov [gdtr], ax
	lgdt [gdtr]
	mov eax, [ebp + ST_CS]
	mov [farptr + 4], ax
	cmp dword [ebp + ST_FORMAT], 2
	je pvh

	; 64-bit entry: CR4 (PAE), CR3, EFER.LME, then CR0.PG switches to IA-32e
	; mode (Intel SDM Vol. 3A 10.8.5); a far jump loads the 64-bit CS.
	mov eax, [ebp + ST_CR4]
	mov cr4, eax
	mov eax, [ebp + ST_CR3]
	mov cr3, eax
	mov ecx, 0xc0000080         ; IA32_EFER
	rdmsr
	mov edx, [ebp + ST_EFER]
	and edx, 0x100              ; LME; LMA is set by the processor
	or eax, edx
	xor edx, edx
	wrmsr
	mov eax, [ebp + ST_CR0]
	mov cr0, eax
	mov dword [farptr], long_entry
	jmp far [farptr]

pvh:	mov dword [farptr], pvh_entry
	jmp far [farptr]
pvh_entry:
	mov eax, [ebp + ST_DS]
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, [ebp + ST_CR0]
	mov cr0, eax
	mov ebx, [ebp + ST_RBX]     ; hvm_start_info
	mov eax, [ebp + ST_ENTRY]
	jmp eax

bits 64
long_entry:
	mov ebp, ebp                ; zero-extend: upper halves are undefined after the switch
	mov eax, [rbp + ST_DS]
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov fs, ax
	mov gs, ax
	mov esi, [rbp + ST_RSI]     ; boot_params
	mov eax, [rbp + ST_ENTRY]
	jmp rax

bits 32
fail_nomod:
	mov esi, msg_nomod
	jmp fail
fail_magic:
	mov esi, msg_magic
	jmp fail
fail_acpi:
	mov esi, msg_acpi
fail:	call puts
.h:	hlt
	jmp .h

; puts: the NUL-terminated string at ESI to COM1 (polling LSR bit 5, THR empty)
puts:	lodsb
	test al, al
	jz .r
	mov ah, al
	mov dx, COM1 + 5
.w:	in al, dx
	test al, 0x20
	jz .w
	mov dx, COM1
	mov al, ah
	out dx, al
	jmp puts
.r:	ret

section .data
msg_hello: db "pvhstub: started", 13, 10, 0
msg_loaded: db "pvhstub: load list copied, ACPI tables in place, entering Linux", 13, 10, 0
msg_nomod: db "pvhstub: FAIL: no module (the load list must be the -initrd)", 13, 10, 0
msg_magic: db "pvhstub: FAIL: module is not a load list (no HVLL)", 13, 10, 0
msg_acpi: db "pvhstub: FAIL: 0xE0000 did not take the RSDP (PAM not unlocked?)", 13, 10, 0
align 8
gdtr: dw 0
	dd 0
farptr: dd 0
	dw 0

section .bss
align 16
	resb 4096
stack_top:
