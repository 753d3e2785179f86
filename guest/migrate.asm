; guest/migrate.asm - the migration case of the barrier contract: the vCPU
; moves from pCPU 0 to pCPU 1, issues an IBPB there (which cleans pCPU 1
; only), and moves back to pCPU 0, where its own predictions from before
; the IBPB may still sit. Reports counter 0 = migrations done, exits 0.
;
; Config: mode = long, vcpus = 1, any memory; the hv config needs
; pcpus >= 2 (and the vCPU must not be pinned away from the HV_MIGRATE
; targets).
; Expected result: exit 0, vm.NAME.counter.0=2.
; (exit 1 if a migration was refused, e.g. only one pCPU.)

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        xor r12d, r12d          ; r12 = migrations done
        HV_MIGRATE 0            ; start from a known pCPU
        test rax, rax
        jnz .refused
        HV_PRINTLN 'on pCPU 0, moving to pCPU 1'
        HV_MIGRATE 1
        test rax, rax
        jnz .refused
        inc r12d
        HV_PRINTLN 'on pCPU 1: IBPB, then back to pCPU 0'
        HV_IBPB
        HV_MIGRATE 0
        test rax, rax
        jnz .refused
        inc r12d
        HV_REPORT 0, r12
        HV_PRINTLN 'back on pCPU 0'
        HV_EXIT 0

.refused:
        HV_REPORT 0, r12
        HV_PRINTLN 'FAIL: HC_MIGRATE refused (does the hv config have pcpus >= 2?)'
        HV_EXIT 1
