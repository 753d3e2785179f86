; guest/hostile_ud_storm.asm - an exception storm: a #UD handler that
; returns to the same ud2 100000 times before skipping it.
;
; Exceptions are the guest's own business: hv intercepts none of them, so
; the storm costs hv nothing but the time slices the guest uses. It must
; neither end the VM nor disturb the other VM.
;   counter 0  #UDs taken   100000
; Exits 0.
;
; Config: mode = long, vcpus = 1; limit_ms as a safety net.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

STORM equ 100000

start:
        lidt [idtr]
        HV_PRINTLN 'ud2 re-executed 100000 times'
        ud2
        HV_REPORT 0, [count]
        HV_PRINT 'ud storm: '
        HV_PUTDEC [count]
        HV_PRINTLN ' #UDs'
        HV_EXIT 0

ud_handler:                     ; frame: [rsp] = RIP (no error code)
        inc qword [count]
        cmp qword [count], STORM
        jb .again
        add qword [rsp], 2      ; enough: skip the ud2
.again: iretq

UD_HANDLER equ ud_handler - $$ + HV_LONG_ENTRY

        align 16
idt:    times 6 dq 0, 0         ; vectors 0-5 absent
        dw UD_HANDLER & 0xFFFF
        dw HV_SEL_CODE
        db 0, 0x8E
        dw (UD_HANDLER >> 16) & 0xFFFF
        dd UD_HANDLER >> 32
        dd 0
idt_end:
idtr:   dw idt_end - idt - 1
        dq idt
count:  dq 0
