; guest/hostile_svm_insn.asm - the SVM instructions. hv offers no nested
; virtualization: VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT and INVLPGA must
; raise #UD (vector 6) as on a CPU without SVM, and do nothing else. RAX
; points at guest-physical 0x1E000000 (outside guest RAM; where hv's image
; lies in host memory under OVMF) for the ones that take an address, so a
; VMRUN/VMSAVE that really executed would touch memory that is not the
; guest's.
;   counters 0-6  vector of VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA
;                 expected 6 each (255 = no exception)
; Exits 0.
;
; Config: mode = long, vcpus = 1. Expected result: exit 0 and the counters.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY, CATCHER): guest/catch.inc
%include "catch.inc"

TARGET equ 0x1E000000

%macro T 2                      ; T counter, instruction
        mov eax, TARGET
        xor ecx, ecx
        TRY %2
        HV_REPORT %1, [vec]
%endmacro

start:
        CATCH_INIT
        T 0, vmrun
        T 1, vmload
        T 2, vmsave
        T 3, stgi
        T 4, clgi
        T 5, skinit
        T 6, invlpga
        HV_PRINTLN 'svm instructions: done'
        HV_EXIT 0

CATCHER                         ; the IDT, handlers and their data
