; guest/hostile_yield_loop.asm - HC_YIELD in a tight loop, forever, on the
; VM's only vCPU. Each yield gives the pCPU back and hv dispatches the same
; vCPU again at once, so no slice ever runs out. hv must still end the VM
; at its limit_ms (the run limit counts every exit, a yield included) and
; run the other VM. Found by the random-guest fuzzer (seed 79): before the
; fix hv checked the limit only after exits that kept the vCPU running, so
; this VM ran forever and hv never printed its report.
;
; Config: mode = long, vcpus = 1, limit_ms. Expected result: limit.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        HV_PRINTLN 'yield forever'
.again: HV_YIELD
        jmp .again
