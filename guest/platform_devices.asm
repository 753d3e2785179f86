; guest/platform_devices.asm - the virtual PC platform's port devices as a
; guest sees them (docs/platform.md): the COM1 16550A, CMOS/RTC, the absent
; 8259 pair, the 8042 status and port 0x92. Each check reads a register and
; compares it with what the datasheet and docs/platform.md say.
;   counter 0  checks passed    (32)
;   counter 1  checks failed    (0)
; A failed check prints "check N: read 0xXX, expected 0xYY".
; Exits 0 (the status does not depend on the checks: the counters do).
;
; Config: mode = long, vcpus = 1, memory = 64M (the CMOS memory bytes).

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

COM1 equ 0x3F8

; OUTB port, value
%macro OUTB 2
        mov dx, %1
        mov al, %2
        out dx, al
%endmacro

; CHK port, expected - IN AL from port, compare with expected
%macro CHK 2
        mov dx, %1
        in al, dx
        mov ah, %2
        call check
%endmacro

; CMOS reg, expected - read CMOS register reg (NMI left enabled)
%macro CMOS 2
        OUTB 0x70, %1
        CHK 0x71, %2
%endmacro

start:
        xor r14d, r14d          ; failed
        xor r15d, r15d          ; passed
        xor r13d, r13d          ; check number

        ; ---- COM1: reset state (PC16550D 8.4-8.7) ----
        CHK COM1 + 5, 0x60      ; LSR: THRE, TEMT
        CHK COM1 + 2, 0x01      ; IIR: nothing pending, no FIFOs
        CHK COM1 + 3, 0x03      ; LCR: 8N1
        CHK COM1 + 1, 0x00      ; IER
        ; scratch
        OUTB COM1 + 7, 0xA5
        CHK COM1 + 7, 0xA5
        ; divisor latch behind DLAB
        OUTB COM1 + 3, 0x83
        OUTB COM1 + 0, 0x01
        OUTB COM1 + 1, 0x00
        CHK COM1 + 0, 0x01
        CHK COM1 + 1, 0x00
        OUTB COM1 + 3, 0x03
        ; loopback: a byte sent comes back on the receive side, not the console
        OUTB COM1 + 4, 0x10
        OUTB COM1 + 0, 'Z'
        CHK COM1 + 5, 0x61      ; DR
        CHK COM1 + 0, 'Z'
        CHK COM1 + 5, 0x60
        OUTB COM1 + 4, 0x00
        mov dx, COM1 + 6        ; MSR: discard the deltas of leaving loopback
        in al, dx
        CHK COM1 + 6, 0xB0      ; DCD, DSR, CTS
        ; FIFOs on: IIR bits 7:6
        OUTB COM1 + 2, 0x07
        CHK COM1 + 2, 0xC1
        OUTB COM1 + 2, 0x00
        CHK COM1 + 2, 0x01
        ; THRE interrupt identification, cleared by reading IIR
        OUTB COM1 + 1, 0x02
        CHK COM1 + 2, 0x02
        CHK COM1 + 2, 0x01
        OUTB COM1 + 1, 0x00

        ; ---- CMOS/RTC: 2026-01-01 at VM start, BCD, 24 hours ----
        CMOS 0x0D, 0x80         ; register D: valid RAM and time
        CMOS 0x0B, 0x02         ; register B: 24-hour, BCD
        CMOS 0x09, 0x26         ; year
        CMOS 0x32, 0x20         ; century
        CMOS 0x08, 0x01         ; month
        CMOS 0x07, 0x01         ; day of month
        CMOS 0x06, 0x05         ; day of week: Thursday
        CMOS 0x04, 0x00         ; hour (the VM is younger than an hour)
        ; memory: 63 MiB above 1 MiB in KiB; 48 MiB above 16 MiB in 64 KiB
        CMOS 0x17, 0x00
        CMOS 0x18, 0xFC
        CMOS 0x34, 0x00
        CMOS 0x35, 0x03
        ; bit 7 of the index masks NMI and is not part of the index
        OUTB 0x70, 0x8D
        CHK 0x71, 0x80
        OUTB 0x70, 0x0D

        ; ---- the 8259 pair reads back absent (Linux's probe_8259A) ----
        OUTB 0x21, 0xFB
        CHK 0x21, 0xFF
        CHK 0xA1, 0xFF

        ; ---- 8042 status: buffers empty; port 0x92: A20 on ----
        CHK 0x64, 0x00
        CHK 0x92, 0x02

        HV_REPORT 0, r15
        HV_REPORT 1, r14
        HV_PRINT 'platform devices: '
        HV_PUTDEC r15
        HV_PRINT ' checks passed, '
        HV_PUTDEC r14
        HV_PRINTLN ' failed'
        HV_EXIT 0

check:                          ; AL = read, AH = expected
        inc r13
        cmp al, ah
        jne .bad
        inc r15
        ret
.bad:   inc r14
        movzx ebx, al
        movzx ecx, ah
        HV_PRINT 'check '
        HV_PUTDEC r13
        HV_PRINT ': read 0x'
        HV_PUTHEX rbx, 2
        HV_PRINT ', expected 0x'
        HV_PUTHEX rcx, 2
        HV_NEWLINE
        ret
