; guest/ibpb.asm - vCPU 0 issues one IBPB (wrmsr PRED_CMD = 1) at start,
; which opts the VM in to vCPU-to-vCPU isolation; then every vCPU yields
; YIELDS times and exits 0.
;
; Config: mode = long, vcpus = 2, any memory (both vCPUs sharing a pCPU is
; the interesting case: pcpus = 1, or pin both to one pCPU).
; Expected result: exit 0 (shutdown would mean the wrmsr raised #GP).

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

YIELDS equ 10

start:
        mov r12, rdi            ; r12 = vCPU id
        test r12, r12
        jnz .yield
        HV_PRINTLN 'vCPU 0: issuing IBPB'
        HV_IBPB                 ; no IDT: a #GP here would triple-fault
.yield:
        HV_PRINT 'vCPU '
        HV_PUTDEC r12
        HV_PRINT ': yielding '
        HV_PUTDEC YIELDS
        HV_PRINTLN ' times'
        mov r13d, YIELDS
.again:
        HV_YIELD
        dec r13d
        jnz .again
        HV_EXIT 0
