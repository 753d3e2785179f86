; guest/hostile_ports.asm - byte, word and dword IN and OUT on every port,
; 0 to 0xFFFF: 393216 port accesses.
;
; hv intercepts every port (one I/O permission map, all ones). Writes go
; nowhere except the console at 0x3F8; reads behave like an empty bus: all
; ones, except COM1 (0x3F8-0x3FF: 0, and 0x3FD = 0x60, line status), judged
; by the first port of the access. The writes include 0xFE to 0x64
; (keyboard-controller reset), 0xCF9 (reset control), 0x92 (fast reset),
; 0xF4 (QEMU's debug-exit port: a write that reached it would end QEMU) and
; the PIC, PIT and PCI configuration ports: none may reach the machine.
; Also checked: IN AL / IN AX keep the rest of RAX, IN EAX zero-extends.
;   counter 0  port accesses made          393216
;   counter 1  reads with a wrong value    0
; Exits 0 (the console shows one line of '.' from the writes to 0x3F8).
;
; Config: mode = long, vcpus = 1.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

PATTERN equ 0x1122334455667788

start:
        xor r12d, r12d          ; port
        xor r14d, r14d          ; wrong reads
        xor r15d, r15d          ; accesses
        mov rbp, PATTERN
.port:
        ; r13 = what a read of this port must give (low 32 bits)
        mov r13d, 0xFFFFFFFF
        cmp r12d, 0x3F8
        jb .have
        cmp r12d, 0x3FF
        ja .have
        xor r13d, r13d
        cmp r12d, 0x3FD
        jne .have
        mov r13d, 0x60
.have:
        mov edx, r12d
        ; IN AL
        mov rax, rbp
        in al, dx
        mov rbx, rbp
        mov bl, r13b
        cmp rax, rbx
        je .w
        call wrong
.w:     ; IN AX
        mov rax, rbp
        in ax, dx
        mov rbx, rbp
        mov bx, r13w
        cmp rax, rbx
        je .d
        call wrong
.d:     ; IN EAX (zero-extends)
        mov rax, rbp
        in eax, dx
        cmp rax, r13
        je .out
        call wrong
.out:
        mov eax, 0xFEFEFEFE
        out dx, al
        out dx, ax
        out dx, eax
        add r15, 6
        inc r12d
        cmp r12d, 0x10000
        jb .port
        HV_NEWLINE              ; ends the console line of '.'
        HV_REPORT 0, r15
        HV_REPORT 1, r14
        HV_PRINT 'ports: '
        HV_PUTDEC r15
        HV_PRINT ' accesses, '
        HV_PUTDEC r14
        HV_PRINTLN ' wrong reads'
        HV_EXIT 0

wrong:                          ; RAX = what was read, port in r12
        inc r14
        cmp r14, 10
        ja .quiet
        HV_NEWLINE
        HV_PRINT 'wrong read from port 0x'
        HV_PUTHEX r12, 4
        HV_PRINT ': 0x'
        HV_PUTHEX64 rax
        HV_NEWLINE
.quiet: ret
