; guest/yield.asm - every vCPU yields ITERATIONS times, counts the yields
; that returned 0, reports the count as counter <vCPU id> and exits 0.
;
; Config: mode = long, vcpus = 2..16 (one counter per vCPU), any memory.
; Expected result: exit 0; vm.NAME.counter.I=10 for every vCPU I.
; (exit 1 if a yield returned nonzero, 2 if hv rejected the report.)

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

ITERATIONS equ 10

start:
        mov r12, rdi            ; r12 = vCPU id (no macro touches r12-r15)
        HV_PRINT 'vCPU '
        HV_PUTDEC r12
        HV_PRINT ': yielding '
        HV_PUTDEC ITERATIONS
        HV_PRINTLN ' times'

        xor r13d, r13d          ; r13 = yields done
.again:
        HV_YIELD
        test rax, rax
        jnz .bad_yield
        inc r13
        cmp r13, ITERATIONS
        jb .again

        HV_REPORT r12, r13      ; counter[vCPU id] = yields done
        test rax, rax
        jnz .bad_report
        HV_PRINT 'vCPU '
        HV_PUTDEC r12
        HV_PRINTLN ': done'
        HV_EXIT 0

.bad_yield:
        HV_PRINTLN 'FAIL: HC_YIELD returned nonzero'
        HV_EXIT 1
.bad_report:
        HV_PRINTLN 'FAIL: HC_REPORT rejected counter index = vCPU id (more than 16 vCPUs?)'
        HV_EXIT 2
