; guest/hostile_tlb.asm - guest CR0/CR4 writes after which the CPU must
; flush the guest's TLB (AMD APM Vol. 2 15.16: with nested paging, hv
; emulating such a write must request the flush for the guest's ASID).
; A real-mode guest:
;   2 x (CR0.PE|PG on with a 4 MiB identity page, then off)  4 flushes
;   4 x toggle CR4.PGE                                        4 flushes
; and a CR4 write that changes nothing of that kind (CR4.PSE on: no flush).
; QEMU and Bochs flush their own TLBs at every world switch, so the effect
; cannot be seen; the scenario checks the request hv makes
; (vm.NAME.guest_tlb_flushes, docs/output.md).
; Exits 0.
;
; Config: mode = real, vcpus = 1.

bits 16
%include "hv.inc"
org HV_REAL_ENTRY

CR0_PE equ 1
CR0_PG equ 1 << 31
CR4_PSE equ 1 << 4
CR4_PGE equ 1 << 7

start:
        cli
        mov eax, cr4
        or eax, CR4_PSE
        mov cr4, eax                    ; no flush: PSE is not one of PGE PAE PCIDE SMEP
        mov eax, pd
        mov cr3, eax
        mov cx, 2
.pg:    mov eax, cr0
        or eax, CR0_PE | CR0_PG
        mov cr0, eax                    ; paging on (flush)
        jmp .on
.on:    mov eax, cr0
        and eax, ~(CR0_PE | CR0_PG)
        mov cr0, eax                    ; paging off (flush)
        jmp .off
.off:   dec cx
        jnz .pg
        mov cx, 4
.pge:   mov eax, cr4
        xor eax, CR4_PGE
        mov cr4, eax                    ; PGE toggled (flush)
        dec cx
        jnz .pge
        HV_PRINTLN 'tlb: 4 CR0.PG changes, 4 CR4.PGE changes'
        HV_EXIT 0

        align 4096
pd:     dd 0x83                         ; 4 MiB page at 0: P, W, PS
        times 1023 dd 0
