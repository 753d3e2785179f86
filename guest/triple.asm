; guest/triple.asm - prints one line, then loads an empty IDT (limit 0) and
; executes ud2: #UD cannot be delivered, nor the #GP and #DF that follow,
; so the vCPU triple-faults.
;
; Config: mode = long, vcpus = 1, any memory.
; Expected result: shutdown.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        HV_PRINTLN 'loading an empty IDT and executing ud2: triple fault next'
        lidt [empty_idtr]
        ud2

        ; not reached: if the exception were somehow survived, say so
        HV_PRINTLN 'FAIL: survived ud2 with an empty IDT'
        HV_EXIT 1

empty_idtr:
        dw 0                    ; limit 0: not even vector 0 fits
        dq 0                    ; base
