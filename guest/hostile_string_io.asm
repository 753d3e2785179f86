; guest/hostile_string_io.asm - string I/O, which hv does not emulate.
; RBX (the config's `arg`) picks the instruction:
;   arg 0: rep outsb, 16 bytes to the console port 0x3F8
;   arg 1: insd from port 0x3FD into guest memory
;   arg 2: rep insw, 0x10000 words from port 0x80, destination running past
;          the end of guest RAM
; hv ends the VM with `fault` and the reason "string I/O (ins/outs) on port
; 0x... is not supported" (docs/guest-abi.md: string I/O is not part of the
; ABI); it must never write guest memory outside RAM on the guest's behalf.
;
; Config: mode = long, vcpus = 1. Expected result: fault.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        cld
        cmp rbx, 1
        je .ins
        cmp rbx, 2
        je .rep_ins
        HV_PRINTLN 'rep outsb to port 0x3f8'
        lea rsi, [msg]
        mov ecx, msg_len
        mov dx, HV_CONSOLE_PORT
        rep outsb
        jmp .returned
.ins:
        HV_PRINTLN 'insd from port 0x3fd'
        lea rdi, [buf]
        mov dx, HV_CONSOLE_LSR
        insd
        jmp .returned
.rep_ins:
        HV_PRINTLN 'rep insw from port 0x80 running past the end of RAM'
        mov rdi, rdx            ; RDX = memory size at start
        sub rdi, 0x1000
        mov ecx, 0x10000
        mov dx, 0x80
        rep insw
.returned:
        HV_PRINTLN 'FAIL: string I/O returned to the guest'
        HV_EXIT 1

msg:    db 'via rep outsb', 13, 10
msg_len equ $ - msg
buf:    dq 0
