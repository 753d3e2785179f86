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

; ---- exception catcher (the same block in each hostile guest that uses one)
; CATCH_INIT builds a 32-vector IDT: every exception records its vector,
; error code and RIP, counts, and resumes at [resume] (set by TRY), or, with
; no resume address, prints what happened and exits 99.
; TRY insn...: runs one instruction; afterwards [vec] = the vector it raised
; (NONE = 255 if none). Preserves every register except flags (the
; instruction's own effects aside).
NONE equ 255

%macro CATCH_INIT 0
        lea rdi, [idt]
        lea rax, [exc_stubs]
        mov ecx, 32
%%gate: mov rdx, rax
        mov [rdi], dx                   ; offset 15:0
        mov word [rdi + 2], HV_SEL_CODE
        mov word [rdi + 4], 0x8E00      ; present, DPL 0, interrupt gate
        shr rdx, 16
        mov [rdi + 6], dx               ; offset 31:16
        shr rdx, 16
        mov [rdi + 8], rdx              ; offset 63:32, reserved
        add rdi, 16
        add rax, 16
        dec ecx
        jnz %%gate
        lidt [idtr]
%endmacro

%macro TRY 1+
        mov qword [vec], NONE
        push rax
        lea rax, [%%after]
        mov [resume], rax
        pop rax
        %1
%%after:
        mov qword [resume], 0
%endmacro

%macro CATCHER 0
        align 16
exc_stubs:
%assign __v 0
%rep 32
        align 16
  %if __v == 8 || (__v >= 10 && __v <= 14) || __v == 17 || __v == 21 || __v == 29 || __v == 30
        push qword __v                  ; the CPU pushed an error code
  %else
        push qword 0                    ; no error code: push a 0 in its place
        push qword __v
  %endif
        jmp exc_common
%assign __v __v + 1
%endrep
exc_common:                             ; [rsp] vector, error, RIP, CS, RFLAGS, RSP, SS
        push rax
        mov rax, [rsp + 8]
        mov [vec], rax
        mov rax, [rsp + 16]
        mov [err], rax
        mov rax, [rsp + 24]
        mov [fault_rip], rax
        inc qword [exc_count]
        mov rax, [resume]
        test rax, rax
        jz %%unexpected
        mov [rsp + 24], rax             ; resume after the tried instruction
        pop rax
        add rsp, 16
        iretq
%%unexpected:
        HV_PRINT 'unexpected exception, vector '
        HV_PUTDEC [vec]
        HV_PRINT ' error 0x'
        HV_PUTHEX [err], 8
        HV_PRINT ' at rip 0x'
        HV_PUTHEX64 [fault_rip]
        HV_NEWLINE
        HV_EXIT 99

        align 16
idt:    times 32 dq 0, 0
idtr:   dw 32 * 16 - 1
        dq idt
vec:       dq NONE
err:       dq 0
fault_rip: dq 0
resume:    dq 0
exc_count: dq 0
%endmacro

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
