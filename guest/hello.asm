; guest/hello.asm - every vCPU prints "hello from vCPU N of M" and exits 0.
;
; Config: mode = long (default), any vcpus, any memory.
; Expected result: exit 0, one console line per vCPU.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        ; hv starts every vCPU here with RDI = its id, RSI = the vCPU count
        HV_PRINT 'hello from vCPU '
        HV_PUTDEC rdi
        HV_PRINT ' of '
        HV_PUTDEC rsi
        HV_NEWLINE
        HV_EXIT 0
