; guest/hostile_efer_lme.asm - clears EFER.LME with wrmsr while long mode
; is active (CR0.PG = 1).
;
; The CPU forbids changing LME while paging is on: wrmsr raises #GP and
; EFER stays as it was. EFER is intercepted, so it is hv that must refuse
; the write; if it stored it instead, the guest state would be inconsistent
; (LMA = 1, LME = 0) and the next VMRUN would fail.
;   counter 0  vector of wrmsr EFER with LME clear             13 (#GP)
;   counter 1  EFER read back                                  0x500 (1280)
;   counter 2  vector of wrmsr EFER with LMA clear, LME set    255: LMA is
;              read-only, writes to it are ignored
;   counter 3  EFER read back                                  1280
; Vectors: 255 = no exception. Exits 0.
;
; Config: mode = long, vcpus = 1.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY, CATCHER): guest/catch.inc
%include "catch.inc"

%macro READ_EFER 1              ; READ_EFER counter
        mov ecx, MSR_EFER
        rdmsr
        shl rdx, 32
        or rax, rdx
        HV_REPORT %1, rax
%endmacro

start:
        CATCH_INIT
        mov ecx, MSR_EFER
        rdmsr
        mov r12d, eax           ; EFER (the high half is 0)
        mov eax, r12d
        btr eax, 8              ; LME off
        xor edx, edx
        mov ecx, MSR_EFER
        TRY wrmsr
        HV_REPORT 0, [vec]
        READ_EFER 1
        mov eax, r12d
        btr eax, 10             ; LMA off, LME still on
        xor edx, edx
        mov ecx, MSR_EFER
        TRY wrmsr
        HV_REPORT 2, [vec]
        READ_EFER 3
        HV_PRINTLN 'efer lme: done'
        HV_EXIT 0

CATCHER                         ; the IDT, handlers and their data
