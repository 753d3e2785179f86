; guest/uart_input.asm - COM1's receive side (config `console_input`):
; bytes typed into hv's own serial port reach this VM's virtual 16550A.
; The harness types TEXT1 TEXT2 (below, 64 bytes) once it sees the line
; "uart input: ready"; the guest takes TEXT1 by interrupt (received data
; available, IER bit 0, through IOAPIC pin 4 -> vector 0x64, FIFO on with
; trigger level 14 so both IIR 0100b and the character timeout 1100b
; occur), then turns the interrupt off and polls LSR.DR for TEXT2, which
; must wait meanwhile (hv's ring, the virtual FIFO). Every byte is compared
; with what it must be, in order. Counters (tests/scenarios.cfg
; `uart-input`):
;   0  bytes taken by interrupt                       (48)
;   1  bytes taken by polling                         (16)
;   2  bytes that differed from TEXT1/TEXT2 at their place (0)
;   3  LSR bits seen, ORed (DR 0x01 | THRE 0x20 | TEMT 0x40; an overrun
;      would add OE 0x02)                            (0x61)
;   4  receive interrupts whose IIR said received data (4) or character
;      timeout (0xC, fewer bytes than the trigger level waiting): 1 if at
;      least one (which of the two depends on how the bytes arrive in
;      bursts; the unit tests check both)             (1)
;   5  IIR after everything was read, IER 0: no interrupt, FIFOs on (0xC1)
; A lost byte leaves the guest waiting (the run limit ends it: `limit`);
; a reordered or changed one counts in counter 2. Exits 0.
;
; Config: mode = long, vcpus = 1, console_input = this VM.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

IOAPIC   equ 0xFEC00000
IO_SEL   equ 0x00
IO_WIN   equ 0x10
COM1     equ 0x3F8
V_COM1   equ 0x64
N1       equ 48
N2       equ 16

start:
        lea rax, [pd_hi]                ; map the IOAPIC's 2 MiB page (PCD)
        or rax, 3
        mov [abs HV_PDPT + 3 * 8], rax
        mov rax, IOAPIC | 0x93
        mov [pd_hi + ((IOAPIC >> 21) & 511) * 8], rax
        mov rax, cr3
        mov cr3, rax
        HV_IDT_GATE idt, V_COM1, com1_handler
        HV_IDT_GATE idt, 0xFF, spurious_handler
        HV_LIDT idt
        HV_X2APIC_ENABLE
        mov r15, IOAPIC
        mov dword [r15 + IO_SEL], 0x11 + 2 * 4  ; pin 4 -> APIC 0, vector 0x64,
        mov dword [r15 + IO_WIN], 0             ; fixed, edge, active high
        mov dword [r15 + IO_SEL], 0x10 + 2 * 4
        mov dword [r15 + IO_WIN], V_COM1

        mov dx, COM1 + 3                ; LCR: 8N1
        mov al, 0x03
        out dx, al
        mov dx, COM1 + 2                ; FCR: FIFOs on, both cleared, trigger 14
        mov al, 0xC7
        out dx, al
        mov dx, COM1 + 4                ; MCR: DTR, RTS, OUT2 (the IRQ gate)
        mov al, 0x0B
        out dx, al
        mov dx, COM1 + 1                ; IER: received data available
        mov al, 0x01
        out dx, al
        HV_PRINTLN 'uart input: ready'

.wait1: cli                             ; TEXT1 by interrupt
        cmp dword [got1], N1
        jae .done1
        sti
        hlt
        jmp .wait1
.done1: mov dx, COM1 + 1                ; (the handler turned IER off too)
        xor eax, eax
        out dx, al

        xor ebx, ebx                    ; TEXT2 by polling LSR
.poll:  mov dx, COM1 + 5
        in al, dx
        or [lsr_or], al
        test al, 1
        jz .poll
        mov dx, COM1
        in al, dx
        lea rsi, [text2]
        call check
        inc ebx
        cmp ebx, N2
        jb .poll
        mov [got2], ebx

        mov dx, COM1 + 2
        in al, dx
        movzx eax, al
        mov [iir_end], eax
        HV_REPORT 0, [got1]
        HV_REPORT 1, [got2]
        HV_REPORT 2, [bad]
        HV_REPORT 3, [lsr_or]
        HV_REPORT 4, [rx_irqs]
        HV_REPORT 5, [iir_end]
        HV_PRINT 'uart input: got '    ; the echo: what came, as it came
        lea rsi, [echo]
        mov ecx, N1 + N2
.echo:  lodsb
        HV_PUTC al
        dec ecx
        jnz .echo
        HV_NEWLINE
        HV_EXIT 0

; check: al = byte number ebx of the text at rsi; keep it for the echo,
; count it in `bad` if it is not the expected one. Clobbers rdi.
check:
        cmp al, [rsi + rbx]
        je .ok
        inc dword [bad]
.ok:    lea rdi, [echo]
        cmp rsi, text2
        jne .st
        add rdi, N1
.st:    mov [rdi + rbx], al
        ret

com1_handler:
        push rax
        push rbx
        push rdx
        push rsi
        push rdi
        mov dx, COM1 + 2                ; IIR: which interrupt
        in al, dx
        and al, 0x0F
        cmp al, 0x04
        jne .to
        or dword [rx_irqs], 1
.to:    cmp al, 0x0C
        jne .rd
        or dword [rx_irqs], 1
.rd:    mov ebx, [got1]
.more:  cmp ebx, N1
        jae .full
        mov dx, COM1 + 5
        in al, dx
        or [lsr_or], al
        test al, 1
        jz .out
        mov dx, COM1
        in al, dx
        lea rsi, [text1]
        call check
        inc ebx
        jmp .more
.full:  mov dx, COM1 + 1                ; TEXT1 complete: no more interrupts,
        xor eax, eax                    ; the rest waits for the polling
        out dx, al
.out:   mov [got1], ebx
        HV_APIC_EOI
        pop rdi
        pop rsi
        pop rdx
        pop rbx
        pop rax
        iretq

spurious_handler:
        iretq

text1:  db 'The quick brown fox jumps over the lazy dog 1234'
%if $ - text1 != N1
  %error "TEXT1 is not N1 bytes"
%endif
text2:  db '!polled-16-bytes'
%if $ - text2 != N2
  %error "TEXT2 is not N2 bytes"
%endif
align 8
got1:   dq 0
got2:   dq 0
bad:    dq 0
lsr_or: dq 0
rx_irqs: dq 0
iir_end: dq 0
echo:   times N1 + N2 db 0
align 4096
idt:    times 256 * 16 db 0
pd_hi:  times 512 dq 0
