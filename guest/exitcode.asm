; guest/exitcode.asm - exits with status 42, to test that a nonzero exit
; status is reported and judged.
;
; Config: mode = long, vcpus = 1, any memory.
; Expected result: exit 42.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

EXIT_STATUS equ 42

start:
        HV_PRINT 'exiting with status '
        HV_PUTDEC EXIT_STATUS
        HV_NEWLINE
        HV_EXIT EXIT_STATUS
