; guest/counters.asm - reports counters 0..3 = 1, 2, 3, 0xdeadbeef and
; exits 0. Checks that each HC_REPORT returned 0.
;
; Config: mode = long, vcpus = 1, any memory.
; Expected result: exit 0, and in the end-of-run report:
;   vm.NAME.counter.0=1  .1=2  .2=3  .3=0xdeadbeef (3735928559)
; (exit 1 if hv rejected one of the reports).

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; REPORT index, value: HV_REPORT, then fail unless it returned 0
%macro REPORT 2
        HV_REPORT %1, %2
        test rax, rax
        jnz report_failed
%endmacro

start:
        HV_PRINTLN 'reporting counters 0..3 = 1, 2, 3, 0xdeadbeef'
        REPORT 0, 1
        REPORT 1, 2
        REPORT 2, 3
        REPORT 3, 0xdeadbeef
        HV_EXIT 0

report_failed:
        HV_PRINTLN 'FAIL: HC_REPORT returned nonzero'
        HV_EXIT 1
