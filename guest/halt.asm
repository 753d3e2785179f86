; guest/halt.asm - every vCPU prints one line and halts with interrupts off.
; hv delivers no interrupts, so nothing wakes them and the VM ends `halt`.
;
; Config: mode = long, any vcpus, any memory.
; Expected result: halt.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        HV_PRINT 'vCPU '
        HV_PUTDEC rdi
        HV_PRINTLN ': halting'
        HV_HALT
