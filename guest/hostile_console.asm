; guest/hostile_console.asm - floods the console: 100000 bytes of every
; value 0..255 (control characters, '\n', '\r', 0x7F, bytes >= 0x80), with
; no line structure of their own. hv must cut lines at 120 characters, show
; non-printable bytes as '.', keep each vCPU's lines whole, and carry on.
;   counter 0  bytes written   100000
; Exits 0.
;
; Config: mode = long, vcpus = 1.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

BYTES equ 100000

start:
        xor ecx, ecx
        mov dx, HV_CONSOLE_PORT
.loop:  mov eax, ecx
        imul eax, eax, 13       ; spread the values
        out dx, al
        inc ecx
        cmp ecx, BYTES
        jb .loop
        HV_NEWLINE
        HV_REPORT 0, rcx
        HV_PRINTLN 'console flood: done'
        HV_EXIT 0
