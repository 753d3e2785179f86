; guest/hostile_hlt.asm - HLT with interrupts off, forever. hv delivers no
; interrupts to guests, so nothing can wake the vCPU: hv must end the VM
; with `halt` at once (not spin, not wait for limit_ms, not hang) and go on
; running the other VM. If hv ever returned from the HLT, the loop halts
; again.
;
; Config: mode = long, vcpus = 1; limit_ms as a safety net (a VM ended by
; the limit means hv did not notice the halt). Expected result: halt.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        HV_PRINTLN 'cli; hlt forever'
        cli
.again: hlt
        jmp .again
