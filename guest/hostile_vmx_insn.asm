; guest/hostile_vmx_insn.asm - the Intel VMX (and SMX) instructions. hv
; offers no nested virtualization and hides VMX in CPUID, so each must
; raise #UD (vector 6), on AMD (where the CPU has no VMX) and under hv's
; VT-x backend (where they cause VM exits and hv must inject #UD).
;   counter 0 VMXON    1 VMCALL   2 VMLAUNCH  3 VMRESUME  4 VMXOFF
;           5 VMPTRLD  6 VMPTRST  7 VMCLEAR   8 VMREAD    9 VMWRITE
;          10 INVEPT  11 INVVPID 12 VMFUNC   13 GETSEC
; expected 6 each (255 = no exception). Exits 0.
;
; Config: mode = long, vcpus = 1. Expected result: exit 0 and the counters.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY, CATCHER): guest/catch.inc
%include "catch.inc"

%macro T 2+                     ; T counter, instruction
        xor eax, eax
        xor ecx, ecx
        TRY %2
        HV_REPORT %1, [vec]
%endmacro

start:
        CATCH_INIT
        T 0, vmxon [region]
        T 1, vmcall
        T 2, vmlaunch
        T 3, vmresume
        T 4, vmxoff
        T 5, vmptrld [region]
        T 6, vmptrst [region]
        T 7, vmclear [region]
        T 8, vmread rax, rcx
        T 9, vmwrite rcx, rax
        T 10, invept rax, [region]
        T 11, invvpid rax, [region]
        T 12, vmfunc
        T 13, getsec
        HV_PRINTLN 'vmx instructions: done'
        HV_EXIT 0

        align 16
region: dq 0x1E000000, 0

CATCHER                         ; the IDT, handlers and their data
