; guest/hostile_efer_svme.asm - what a guest sees when it writes EFER with
; SVME cleared (and set).
;
; hv runs every guest with EFER.SVME = 1 in the VMCB (VMRUN requires it) but
; hides it: CPUID says "no SVM" and rdmsr EFER shows SVME clear. So:
;   counter 0  EFER as read at start                  expected 0x500 (1280)
;   counter 1  vector of wrmsr EFER = that value       255 (none): accepted
;              (SVME clear, as the guest believes it is already)
;   counter 2  EFER read back                          1280: unchanged
;   counter 3  vector of wrmsr EFER | SVME (bit 12)    13 (#GP): no SVM here
;   counter 4  vector of VMRUN afterwards              6 (#UD): still no SVM
;   counter 5  EFER read at the end                    1280
; Vectors: 255 = no exception. Exits 0.
;
; Config: mode = long, vcpus = 1. Expected result: exit 0 and the counters.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY, CATCHER): guest/catch.inc
%include "catch.inc"

EFER_SVME equ 1 << 12

start:
        CATCH_INIT
        mov ecx, MSR_EFER
        rdmsr
        shl rdx, 32
        or rax, rdx
        mov r12, rax            ; r12 = EFER as the guest sees it
        HV_REPORT 0, r12

        mov rax, r12
        btr rax, 12             ; SVME clear (it already reads clear)
        mov rdx, rax
        shr rdx, 32
        mov ecx, MSR_EFER
        TRY wrmsr
        HV_REPORT 1, [vec]

        mov ecx, MSR_EFER
        rdmsr
        shl rdx, 32
        or rax, rdx
        HV_REPORT 2, rax

        mov rax, r12
        or rax, EFER_SVME
        mov rdx, rax
        shr rdx, 32
        mov ecx, MSR_EFER
        TRY wrmsr
        HV_REPORT 3, [vec]

        xor eax, eax
        TRY vmrun
        HV_REPORT 4, [vec]

        mov ecx, MSR_EFER
        rdmsr
        shl rdx, 32
        or rax, rdx
        HV_REPORT 5, rax
        HV_PRINTLN 'efer/svme: done'
        HV_EXIT 0

CATCHER                         ; the IDT, handlers and their data
