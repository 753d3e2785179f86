; guest/spin.asm - prints one line, then spins forever with interrupts off
; and without a single exit; only the config's run limit can end it.
;
; Config: mode = long, any vcpus, any memory, limit_ms = N (required).
; Expected result: limit.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        HV_PRINTLN 'spinning until the run limit ends this VM'
        cli
        jmp $
