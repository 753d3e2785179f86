; guest/hostile_tables.asm - overwrites the structures hv built in guest
; memory (GDT at 0x1000, PML4/PDPT/PD at 0x2000-0x4FFF), then carries on.
;
; They are the guest's own memory (docs/guest-abi.md); hv reads the page
; tables only to decode exiting instructions, and must cope with whatever it
; finds there, reading nothing outside guest RAM. Steps:
;   1. the GDT page is filled with 0xFF (the loaded CS/DS stay cached)
;   2. every unused PML4/PDPT/PD entry (1..511) = all ones: present, huge
;      physical addresses, reserved bits set
;   3. PML4 entry 511 points back at the PML4 (a recursive mapping)
;   4. the PD entry of the code sets the accessed/dirty/global bits
; After each step: 100 CPUID exits, a console line and a hypercall, all of
; which make hv decode instructions through these tables.
;   counter 0  steps completed   4
;   counter 1  CPUID results wrong (hv leaf signature)   0
;   counter 2  the last step that got through (progress)  4
; Exits 0.
;
; Config: mode = long, vcpus = 1, memory = 2M (one PD entry in use).

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY, CATCHER): guest/catch.inc
%include "catch.inc"

start:
        CATCH_INIT
        xor r12d, r12d          ; steps
        xor r13d, r13d          ; wrong CPUID results

        ; 1. GDT page all ones
        lea rdi, [abs HV_GDT]
        mov rax, -1
        mov ecx, 512
        rep stosq
        call exercise

        ; 2. unused entries all ones
        mov rax, -1
        lea rdi, [abs HV_PML4 + 8]
        mov ecx, 511
        rep stosq
        lea rdi, [abs HV_PDPT + 8]
        mov ecx, 511
        rep stosq
        lea rdi, [abs HV_PD + 8]
        mov ecx, 511
        rep stosq
        call exercise

        ; 3. recursive PML4 entry
        mov qword [abs HV_PML4 + 511 * 8], HV_PML4 | 3
        mov rax, cr3
        mov cr3, rax
        call exercise

        ; 4. code PDE with A, D and G set
        or qword [abs HV_PD], (1 << 5) | (1 << 6) | (1 << 8)
        mov rax, cr3
        mov cr3, rax
        call exercise

        HV_REPORT 0, r12
        HV_REPORT 1, r13
        HV_PRINTLN 'tables: done'
        HV_EXIT 0

exercise:
        mov ebp, 100
.cpuid: mov eax, CPUID_HV_LEAF
        cpuid
        cmp ebx, HV_SIG_EBX
        je .ok
        inc r13
.ok:    dec ebp
        jnz .cpuid
        inc r12
        HV_PRINT 'step '
        HV_PUTDEC r12
        HV_PRINTLN ' survived'
        HV_REPORT 2, r12
        ret

CATCHER                         ; the IDT, handlers and their data
