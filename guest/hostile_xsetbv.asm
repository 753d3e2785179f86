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

; the exception catcher (CATCH_INIT, TRY, CATCHER): guest/catch.inc
%include "catch.inc"

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
