; guest/hostile_flood.asm - an exit flood: 100000 times CPUID then
; HC_YIELD, 200000 exits. hv must stay fair (the other VM runs and ends as
; usual) and either finish the flood or end it by limit_ms; it must never
; hang or run out of anything.
;   counter 0  iterations   100000
; Exits 0.
;
; Config: mode = long, vcpus = 1, limit_ms as a bound.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

ROUNDS equ 100000

start:
        xor r12d, r12d
.loop:  mov eax, CPUID_HV_LEAF
        cpuid
        HV_YIELD
        inc r12d
        cmp r12d, ROUNDS
        jb .loop
        HV_REPORT 0, r12
        HV_PRINTLN 'flood: done'
        HV_EXIT 0
