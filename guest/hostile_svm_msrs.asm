; guest/hostile_svm_msrs.asm - rdmsr/wrmsr of the SVM control MSRs that hv
; itself depends on: VM_CR (0xC0010114) and VM_HSAVE_PA (0xC0010117).
;
; A guest that could write VM_HSAVE_PA would point the next VMRUN's host
; save area at memory of its choosing; one that could set VM_CR.SVMDIS would
; switch SVM off under hv. hv hides SVM, so both MSRs must not exist for the
; guest: every access raises #GP (vector 13).
;   counter 0  rdmsr VM_CR                     13
;   counter 1  wrmsr VM_CR = 0x10 (SVMDIS)     13
;   counter 2  rdmsr VM_HSAVE_PA               13
;   counter 3  wrmsr VM_HSAVE_PA = 0           13
;   counter 4  wrmsr VM_HSAVE_PA = 0x100000    13 (the guest's own image)
; Exits 0; hv and the other VM must go on working (the scenario checks).
;
; Config: mode = long, vcpus = 1. Expected result: exit 0 and the counters.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY, TRY_RDMSR, TRY_WRMSR, CATCHER): guest/catch.inc
%include "catch.inc"

MSR_VM_CR       equ 0xC0010114
MSR_VM_HSAVE_PA equ 0xC0010117

start:
        CATCH_INIT
        TRY_RDMSR MSR_VM_CR
        HV_REPORT 0, [vec]
        TRY_WRMSR MSR_VM_CR, 0x10
        HV_REPORT 1, [vec]
        TRY_RDMSR MSR_VM_HSAVE_PA
        HV_REPORT 2, [vec]
        TRY_WRMSR MSR_VM_HSAVE_PA, 0
        HV_REPORT 3, [vec]
        TRY_WRMSR MSR_VM_HSAVE_PA, 0x100000
        HV_REPORT 4, [vec]
        ; prove the vCPU still enters and exits normally
        mov eax, CPUID_HV_LEAF
        cpuid
        HV_PRINTLN 'svm msrs: done'
        HV_EXIT 0

CATCHER                         ; the IDT, handlers and their data
