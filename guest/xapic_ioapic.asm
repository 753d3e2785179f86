; guest/xapic_ioapic.asm - the local APIC in xAPIC mode and the I/O APIC,
; both through MMIO emulation (hv/mmio.c -> device_lookup -> vplat_mmio_access;
; docs/platform.md "MMIO"). Every APIC access is an aligned 32-bit mov, as
; the SDM asks (Vol. 3A 11.4.1); each is a nested page fault hv decodes.
; Counters (expected values in tests/scenarios.cfg `xapic-ioapic`):
;   0  APIC version register (0x30): 0x14, max LVT 5      (0x50014)
;   1  APIC id register (0x20) of vCPU 0                  (0)
;   2  TPR (0x80) after writing 0x30                      (0x30)
;   3  SVR (0xF0) after writing 0x1FF (enabled, vector FF) (0x1FF)
;   4  self-IPI 0x60 by ICR (0x310/0x300, shorthand self) with TPR 0x70:
;      interrupts taken before TPR is lowered             (0)
;   5  ... after TPR is lowered to 0                      (1)
;   6  ISR bit of 0x60 (0x130 bit 0) seen in the handler  (1)
;   7  ISR bit of 0x60 after the handler's MMIO EOI (0xB0) (0)
;   8  one-shot timer by MMIO (DCR 0x3E0 = divide 1, LVT 0x320 = 0x61,
;      initial count 0x380 = P): 1 if exactly one tick, at least P and
;      less than 3 P TSC ticks after the arming, and current count (0x390)
;      reads 0 after it                                   (1)
;   9  IOAPIC version (IOREGSEL 0x01): 0x20, 24 pins      (0x170020)
;  10  redirection entry 10 low after writing 0x1A0B5     (0x1A0B5)
;  11  redirection entry 10 high after writing 0x03000000 (0x3000000)
;  12  COM1 THRE interrupts through IOAPIC pin 4 -> vector 0x64, two rounds
;      of IER = 2 (each handler reads IIR, clears IER, EOIs by MMIO) (2)
;  13  IIR seen by the last COM1 handler: THRE, no FIFO  (2)
;  14  pin 4's redirection entry low after the rounds (edge, delivery
;      status and remote IRR clear)                       (0x64)
;  15  pin 4 level-triggered, one more THRE round: 100 x interrupts taken
;      + 10 x remote IRR (bit 14) seen in the handler + remote IRR after
;      the MMIO EOI (the LAPIC's EOI broadcast clears it)  (110)
; Exits 0. A missing interrupt leaves the vCPU halted (`halt`); an access
; hv refuses ends the VM (`fault`).
;
; Config: mode = long, vcpus = 1.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

APIC     equ 0xFEE00000
IOAPIC   equ 0xFEC00000
A_ID     equ 0x20                       ; xAPIC register offsets (SDM Vol. 3A
A_VER    equ 0x30                       ; table 11-1)
A_TPR    equ 0x80
A_EOI    equ 0xB0
A_SVR    equ 0xF0
A_ISR    equ 0x100
A_ICR_LO equ 0x300
A_ICR_HI equ 0x310
A_LVT_T  equ 0x320
A_T_ICR  equ 0x380
A_T_CCR  equ 0x390
A_T_DCR  equ 0x3E0
IO_SEL   equ 0x00                       ; IOREGSEL, IOWIN (82093AA 3.0)
IO_WIN   equ 0x10
COM1     equ 0x3F8
V_IPI    equ 0x60
V_TIMER  equ 0x61
V_COM1   equ 0x64
P        equ 2000000                    ; TSC ticks of the one-shot

; IOW reg, value - IOAPIC register write through IOREGSEL/IOWIN
%macro IOW 2
        mov dword [r15 + IO_SEL], %1
        mov dword [r15 + IO_WIN], %2
%endmacro
; IOR reg - eax = IOAPIC register
%macro IOR 1
        mov dword [r15 + IO_SEL], %1
        mov eax, [r15 + IO_WIN]
%endmacro

start:
        ; Map the two 2 MiB pages holding the IOAPIC (0xFEC00000) and the
        ; APIC (0xFEE00000): PDPT[3] -> pd_hi, present, writable, PCD, PS.
        lea rax, [pd_hi]
        or rax, 3
        mov [abs HV_PDPT + 3 * 8], rax
        mov rax, IOAPIC | 0x93
        mov [pd_hi + ((IOAPIC >> 21) & 511) * 8], rax
        mov rax, APIC | 0x93
        mov [pd_hi + ((APIC >> 21) & 511) * 8], rax
        mov rax, cr3
        mov cr3, rax
        HV_IDT_GATE idt, V_IPI, ipi_handler
        HV_IDT_GATE idt, V_TIMER, timer_handler
        HV_IDT_GATE idt, V_COM1, com1_handler
        HV_IDT_GATE idt, 0xFF, spurious_handler
        HV_LIDT idt
        mov r14, APIC
        mov r15, IOAPIC

        ; ---- identification, TPR, SVR ----
        mov eax, [r14 + A_VER]
        HV_REPORT 0, rax
        mov eax, [r14 + A_ID]
        HV_REPORT 1, rax
        mov dword [r14 + A_TPR], 0x30
        mov eax, [r14 + A_TPR]
        HV_REPORT 2, rax
        mov dword [r14 + A_SVR], 0x1FF
        mov eax, [r14 + A_SVR]
        HV_REPORT 3, rax

        ; ---- self-IPI through the ICR, held back by TPR 0x70 ----
        mov dword [r14 + A_TPR], 0x70   ; class 7 > class 6 of 0x60 (11.8.3.1)
        sti
        mov dword [r14 + A_ICR_HI], 0
        mov dword [r14 + A_ICR_LO], (1 << 18) | V_IPI   ; shorthand self, fixed, edge
        mov ecx, 100000
.spin:  pause
        dec ecx
        jnz .spin
        mov eax, [ipis]
        HV_REPORT 4, rax
        mov dword [r14 + A_TPR], 0      ; now deliverable
        nop
        nop
        cli
        mov eax, [ipis]
        HV_REPORT 5, rax
        HV_REPORT 6, [isr_in]
        mov eax, [r14 + A_ISR + (V_IPI / 32) * 0x10]
        shr eax, V_IPI % 32
        and eax, 1
        HV_REPORT 7, rax

        ; ---- one-shot timer ----
        mov dword [r14 + A_T_DCR], 0xB  ; divide by 1 (11.5.4)
        mov dword [r14 + A_LVT_T], V_TIMER       ; one-shot, unmasked
        rdtsc
        shl rdx, 32
        or rax, rdx
        mov r12, rax
        mov dword [r14 + A_T_ICR], P
        sti                             ; spin, no exit: only hv's own timer,
.tw:    cmp dword [ticks], 1            ; re-armed for the new deadline, can
        jae .tdone                      ; bring the tick on time
        rdtsc
        shl rdx, 32
        or rax, rdx
        sub rax, r12
        cmp rax, 4 * P
        jae .tdone                      ; (late or lost: reported below)
        jmp .tw                         ; (no PAUSE: hv intercepts PAUSE loops)
.tdone: mov ecx, 200000                 ; a second tick would come in this
.tsp:   pause                           ; spin (interrupts on)
        sti
        dec ecx
        jnz .tsp
        cli
        xor ebx, ebx
        cmp dword [ticks], 1
        jne .tbad
        mov rax, [t_tick]
        sub rax, r12
        cmp rax, P
        jb .tearly
        cmp rax, 3 * P                  ; hv re-arms its timer at the write
        jae .tlate
        mov eax, [r14 + A_T_CCR]
        test eax, eax
        jnz .tccr
        mov ebx, 1
        jmp .trep
.tearly:
        HV_PRINT 'timer tick early by '
        neg rax
        add rax, P
        HV_PUTDEC rax
        HV_PRINTLN ' TSC ticks'
        jmp .trep
.tlate: HV_PRINT 'timer tick late: '
        HV_PUTDEC rax
        HV_PRINTLN ' TSC ticks after the arming'
        jmp .trep
.tccr:  HV_PRINTLN 'timer current count not 0 after the tick'
        jmp .trep
.tbad:  HV_PRINT 'timer ticks: '
        mov eax, [ticks]
        HV_PUTDEC rax
        HV_NEWLINE
.trep:  HV_REPORT 8, rbx

        ; ---- IOAPIC registers ----
        IOR 0x01
        HV_REPORT 9, rax
        IOW 0x10 + 2 * 10, 0x1A0B5      ; masked, level, active low, vector B5
        IOW 0x11 + 2 * 10, 0x03000000   ; destination 3
        IOR 0x10 + 2 * 10
        HV_REPORT 10, rax
        IOR 0x11 + 2 * 10
        HV_REPORT 11, rax

        ; ---- COM1 THRE interrupt through pin 4 ----
        IOW 0x11 + 2 * 4, 0             ; destination APIC 0
        IOW 0x10 + 2 * 4, V_COM1        ; fixed, physical, edge, high, unmasked
        mov dx, COM1 + 4                ; MCR: OUT2 gates the interrupt line
        mov al, 0x08
        out dx, al
        xor ebx, ebx                    ; round
.round: mov dx, COM1 + 1                ; IER: THR empty interrupt
        mov al, 0x02
        out dx, al
.cw:    cli
        cmp [com1s], ebx
        ja .cdone
        sti
        hlt
        jmp .cw
.cdone: inc ebx
        cmp ebx, 2
        jb .round
        mov ecx, 100000                 ; no further one (IER is 0)
.csp:   pause
        sti
        dec ecx
        jnz .csp
        cli
        mov eax, [com1s]
        HV_REPORT 12, rax
        HV_REPORT 13, [iir]
        IOR 0x10 + 2 * 4
        HV_REPORT 14, rax

        ; ---- the same pin level-triggered: remote IRR until the EOI ----
        IOW 0x10 + 2 * 4, 0x8000 | V_COM1    ; level (bit 15), active high
        mov byte [level], 1
        mov dx, COM1 + 1
        mov al, 0x02
        out dx, al
.lw:    cli
        cmp dword [com1s], 3
        jae .ldone
        sti
        hlt
        jmp .lw
.ldone: IOR 0x10 + 2 * 4
        shr eax, 14                     ; remote IRR after the EOI broadcast
        and eax, 1
        mov rbx, [rirr_in]
        imul rbx, rbx, 10
        add rbx, rax
        mov eax, [com1s]
        sub eax, 2
        imul eax, eax, 100
        add rbx, rax
        HV_REPORT 15, rbx
        IOW 0x10 + 2 * 4, 0x10000 | V_COM1   ; mask the pin again
        HV_PRINTLN 'xapic ioapic: done'
        HV_EXIT 0

ipi_handler:
        push rax
        mov eax, [r14 + A_ISR + (V_IPI / 32) * 0x10]
        shr eax, V_IPI % 32
        and eax, 1
        mov [isr_in], rax
        inc dword [ipis]
        mov dword [r14 + A_EOI], 0
        pop rax
        iretq

timer_handler:
        push rax
        push rdx
        rdtsc
        shl rdx, 32
        or rax, rdx
        cmp dword [ticks], 0
        jne .n
        mov [t_tick], rax
.n:     inc dword [ticks]
        mov dword [r14 + A_EOI], 0
        pop rdx
        pop rax
        iretq

com1_handler:
        push rax
        push rdx
        mov dx, COM1 + 2                ; IIR (reading it clears THRE)
        in al, dx
        movzx eax, al
        mov [iir], rax
        cmp byte [level], 0
        je .edge
        mov dword [r15 + IO_SEL], 0x10 + 2 * 4  ; (main code is halted)
        mov eax, [r15 + IO_WIN]
        shr eax, 14                     ; remote IRR: set while in service
        and eax, 1
        mov [rirr_in], rax
.edge:  mov dx, COM1 + 1                ; IER = 0: the line stays low
        xor eax, eax
        out dx, al
        inc dword [com1s]
        mov dword [r14 + A_EOI], 0
        pop rdx
        pop rax
        iretq

spurious_handler:
        iretq

align 8
ipis:   dq 0
isr_in: dq 0
ticks:  dq 0
t_tick: dq 0
com1s:  dq 0
iir:    dq 0
rirr_in: dq 0
level:  db 0
align 4096
idt:    times 256 * 16 db 0
pd_hi:  times 512 dq 0
