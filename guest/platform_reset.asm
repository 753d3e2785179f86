; guest/platform_reset.asm - a guest that resets its machine, the way the
; config's `arg` (RBX) names; hv must end the VM with that reason
; (docs/platform.md):
;   arg 1  port 0xCF9: 0x02 (SYS_RST) then 0x06 (SYS_RST | RST_CPU): hard reset
;   arg 2  0xFE to the keyboard controller at port 0x64
;   arg 3  port 0x92 bit 0: fast reset
;   arg 4  port 0xCF9: 0x0E (FULL_RST | RST_CPU | SYS_RST): full reset
; Expected result: shutdown. Anything else is reached only if the reset
; did not happen: it prints a line and exits 1.
;
; Config: mode = long, vcpus = 1.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        cmp rbx, 1
        je .cf9
        cmp rbx, 2
        je .kbc
        cmp rbx, 3
        je .p92
        cmp rbx, 4
        je .full
        HV_PRINTLN 'platform_reset: arg must be 1..4'
        HV_EXIT 2
.cf9:   mov dx, 0xCF9
        mov al, 0x02
        out dx, al              ; selects a hard reset, does not start it
        mov al, 0x06
        out dx, al
        jmp .fail
.kbc:   mov al, 0xFE
        out 0x64, al
        jmp .fail
.p92:   in al, 0x92
        or al, 1
        out 0x92, al
        jmp .fail
.full:  mov dx, 0xCF9
        mov al, 0x0E
        out dx, al
.fail:  HV_PRINTLN 'platform_reset: still running after the reset request'
        HV_EXIT 1
