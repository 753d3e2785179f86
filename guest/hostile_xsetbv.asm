; guest/hostile_xsetbv.asm - XSETBV, which would change XCR0 (the state
; components XSAVE manages) for whoever runs next on the pCPU: hv
; intercepts it and raises #UD, as on a CPU without XSAVE (which CPUID
; tells the guest it is).
;   counter 0  XSETBV XCR0 = 7 with CR4.OSXSAVE clear      6 (#UD, the CPU's own)
;   counter 1  XSETBV XCR0 = 7 after trying to set
;              CR4.OSXSAVE (whether or not that worked)    6 (#UD)
;   counter 2  XSETBV XCR0 = 0xE7 (AVX-512 state)          6
;   counter 3  XSETBV ECX = 1 (XINUSE is not writable)     6
;   counter 4  XCR0 afterwards, by XGETBV where CR4.OSXSAVE
;              could be set (else 1)                       1: unchanged, x87
;              only, the value hv runs with under OVMF
; XCR0 is not switched per VM: an XSETBV that reached the CPU would change
; it for hv and for every VM that runs next on that pCPU (and, with AVX
; state enabled, state that hv's FXSAVE does not switch would be shared).
; Vectors: 255 = no exception. Exits 0.
;
; Config: mode = long, vcpus = 1.

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
        xor ecx, ecx
        mov eax, 7
        xor edx, edx
        TRY xsetbv
        HV_REPORT 0, [vec]

        mov rax, cr4
        bts rax, 18             ; OSXSAVE
        TRY mov cr4, rax
        mov r12, [vec]
        HV_PRINT 'setting CR4.OSXSAVE: vector '
        HV_PUTDEC [vec]
        HV_NEWLINE

        xor ecx, ecx
        mov eax, 7
        xor edx, edx
        TRY xsetbv
        HV_REPORT 1, [vec]
        xor ecx, ecx
        mov eax, 0xE7
        xor edx, edx
        TRY xsetbv
        HV_REPORT 2, [vec]
        mov ecx, 1
        mov eax, 7
        xor edx, edx
        TRY xsetbv
        HV_REPORT 3, [vec]
        mov r13d, 1
        cmp r12, NONE
        jne .report
        xor ecx, ecx
        TRY xgetbv
        mov r13d, eax
.report:
        HV_REPORT 4, r13
        HV_PRINT 'xsetbv: done, XCR0 = 0x'
        HV_PUTHEX r13, 8
        HV_NEWLINE
        HV_EXIT 0

CATCHER                         ; the IDT, handlers and their data
