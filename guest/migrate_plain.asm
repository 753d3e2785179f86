; guest/migrate_plain.asm - opt in with an IBPB on pCPU 0, then move to
; pCPU 1 and back with NO IBPB in between (needs pcpus >= 2).
;
; Under track = trap hv knows no IBPB happened while the vCPU was away, so
; its return to pCPU 0 needs no barrier; under passthrough hv cannot know
; and issues one (conservative). Counter 0 = migrations done (2).
bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        xor r12d, r12d
        HV_MIGRATE 0
        test rax, rax
        jnz .refused
        HV_PRINTLN 'on pCPU 0: IBPB (opting in), then to pCPU 1 and back'
        HV_IBPB
        HV_MIGRATE 1
        test rax, rax
        jnz .refused
        inc r12d
        HV_MIGRATE 0
        test rax, rax
        jnz .refused
        inc r12d
        HV_REPORT 0, r12
        HV_PRINTLN 'back on pCPU 0, no IBPB while away'
        HV_EXIT 0
.refused:
        HV_REPORT 0, r12
        HV_PRINTLN 'FAIL: HC_MIGRATE refused (does the hv config have pcpus >= 2?)'
        HV_EXIT 1
