; guest/hostile_ports.asm - byte, word and dword IN and OUT on every port,
; 0 to 0xFFFF, except where hv's virtual platform has a device.
;
; hv intercepts every port (one I/O permission map, all ones). Ports with a
; device of the virtual platform (docs/platform.md) are skipped whenever an
; access of up to 4 bytes would touch them: COM1 0x3F8-0x3FF, CMOS 0x70-0x71,
; the 8042 at 0x60 and 0x64, port 0x92 and 0xCF9 (the last three reset the
; VM: tests/configs/reset-*.cfg test that). 32 ports are skipped, so
; 65504 x 6 = 393024 accesses are made. Writes go nowhere; reads behave like
; an empty bus: all ones, the absent 8259 pair (0x20, 0x21, 0xA0, 0xA1) and
; ELCR included. The writes include 0xF4 (QEMU's debug-exit port: a write
; that reached it would end QEMU) and the PIC, PIT and PCI configuration
; ports: none may reach the machine.
; Also checked: IN AL / IN AX keep the rest of RAX, IN EAX zero-extends.
;   counter 0  port accesses made          392982
;   counter 1  reads with a wrong value    0
; Exits 0.
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
        ; skip the port if [port, port+3] meets a device range
        lea rsi, [devices]
.dev:   movzx eax, word [rsi]           ; first port of the range
        movzx ebx, word [rsi + 2]       ; last port
        test eax, eax
        jz .probe                       ; end of the table
        add rsi, 4
        cmp r12d, ebx
        ja .dev                         ; port > last
        lea ecx, [r12d + 3]
        cmp ecx, eax
        jb .dev                         ; port + 3 < first
        jmp .next
.probe:
        mov r13d, 0xFFFFFFFF            ; what every read must give
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
.next:
        inc r12d
        cmp r12d, 0x10000
        jb .port
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

; Device ranges of the virtual platform: first, last port; 0 ends.
devices:
        dw 0x40, 0x43, 0x60, 0x61, 0x64, 0x64, 0x70, 0x71, 0x92, 0x92
        dw 0x3F8, 0x3FF, 0xCF9, 0xCF9
        dw 0, 0
