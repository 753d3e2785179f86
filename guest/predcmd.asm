; guest/predcmd.asm - how PRED_CMD and SPEC_CTRL behave where hv offers IBPB.
;
; Every rdmsr/wrmsr runs under TRY_GP (guest/catch.inc), which counts #GPs
; and ends the guest (exit 98) on any other exception. Then:
;   step 1  wrmsr PRED_CMD = 0x80 (SBPB alone)     -> #GP where the CPU has no
;           SBPB (every platform in the tests), else accepted; never an opt-in
;   step 2  wrmsr PRED_CMD = 0x2 (reserved bit)     -> #GP
;   step 3  rdmsr PRED_CMD (write-only MSR)         -> #GP
;   step 4  wrmsr SPEC_CTRL = 1 (IBRS), read it back -> no #GP, reads 1
;   step 5  wrmsr SPEC_CTRL = 0x100 (reserved)      -> #GP
; Counter i (1..5) = #GPs taken by step i. Counter 0 = 1 if CPUID leaf 7
; EDX[26] (IBPB/IBRS) is set. Exits 0; the scenario checks the counters and
; that the VM did NOT opt in (SBPB is not an IBPB).
; Config: mode = long, vcpus = 1, virtual_ibpb = on (or force_wrmsr) on QEMU.
bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY_GP, CATCHER): guest/catch.inc
%include "catch.inc"

%macro STEP 1                   ; report #GPs since the last step as counter %1
        mov rax, [gp_count]
        sub rax, [gp_mark]
        mov rbx, [gp_count]
        mov [gp_mark], rbx
        HV_REPORT %1, rax
%endmacro

start:
        CATCH_INIT
        mov eax, 7
        xor ecx, ecx
        cpuid
        shr edx, 26
        and edx, 1
        HV_REPORT 0, rdx

        mov ecx, MSR_PRED_CMD
        mov eax, PRED_CMD_SBPB
        xor edx, edx
        TRY_GP wrmsr
        STEP 1
        mov ecx, MSR_PRED_CMD
        mov eax, 2
        xor edx, edx
        TRY_GP wrmsr
        STEP 2
        mov ecx, MSR_PRED_CMD
        TRY_GP rdmsr
        STEP 3
        mov ecx, MSR_SPEC_CTRL
        mov eax, 1
        xor edx, edx
        TRY_GP wrmsr
        xor eax, eax
        TRY_GP rdmsr
        mov [spec_ctrl], rax
        STEP 4
        HV_REPORT 6, [spec_ctrl]
        mov ecx, MSR_SPEC_CTRL
        mov eax, 0x100
        xor edx, edx
        TRY_GP wrmsr
        STEP 5
        HV_PRINTLN 'predcmd: all steps done'
        HV_EXIT 0

CATCHER                         ; the IDT, handlers and their data

gp_mark:        dq 0
spec_ctrl:      dq 0
