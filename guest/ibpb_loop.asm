; guest/ibpb_loop.asm - issues IBPB COUNT times with a yield between each
; two, reports counter 0 = the number issued, exits 0. Shows how many guest
; PRED_CMD writes hv sees (all of them with track = trap, only the first
; with passthrough).
;
; Config: mode = long, vcpus = 1, any memory.
; Expected result: exit 0, vm.NAME.counter.0=5.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

COUNT equ 5

start:
        HV_PRINT 'issuing '
        HV_PUTDEC COUNT
        HV_PRINTLN ' IBPBs, yielding between them'
        xor r12d, r12d          ; r12 = IBPBs issued
.again:
        HV_IBPB
        inc r12d
        cmp r12d, COUNT
        jae .done
        HV_YIELD
        jmp .again
.done:
        HV_REPORT 0, r12
        HV_EXIT 0
