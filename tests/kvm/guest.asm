; tests/kvm/guest.asm - the guest loops kvmbench runs under Linux KVM.
;
; One flat real-mode image, loaded at guest physical 0x1000 (CS = 0). It
; starts with a table of 16-bit entry points, one per loop, in the order of
; `enum entry` in kvmbench.c. The runner sets IP to an entry and ESI to the
; iteration count N. Each timed loop does what tests/bench.py's hv guest
; (guest/bench.asm) does for the same event:
;
;   rdtsc -> [T0], N x (event; dec esi; jnz), rdtsc -> [T1], out 0xF0
;
; Under QEMU -icount shift=S,sleep=off the TSC advances 2^S per instruction,
; so (T1 - T0) / 2^S / N is the instructions per event, everything included
; (the L1 kernel, the runner in L1 user space, this guest).
;
; The loop "timer-tick" is measured by difference instead (guest/bench.asm's
; counters 7-11, the same instructions): two windows of W TSC units each
; run a 5-instruction loop (rdtsc; sub; inc; cmp; jb) until the TSC has
; advanced W, counting iterations; window A without a timer, window B with
; the x2APIC timer in TSC-deadline mode (SDM vol. 3A 10.5.4.1: LVT timer
; mode 10b, IA32_TSC_DEADLINE = MSR 0x6E0) ticking every P, the first tick
; P/2 into the window. The handler (20 instructions, as in bench.asm)
; counts, moves the absolute deadline on by P, writes it, EOIs and returns.
; Work lost per tick = (A - B) x 5 / ticks; whatever else takes time from
; both windows alike (the L1 kernel's 250 Hz tick: W = 8,000,000
; instructions is 256 of its 4 ms periods exactly) cancels. EDI = the TSC
; units per instruction (2^S, from the runner); results at TK_*, and an
; `out 0xF4` between the windows lets the runner read KVM's exit counters.
;
; Ports: 0xF0 = "done, read T0/T1" (to user space), 0xF1 = exit to user
; space and straight back, 0xF2 = user-space vCPU hand-off, 0xF3 = "this
; vCPU's APIC is enabled" (once, to user space), 0xF4 = "timer-tick:
; window A done" (to user space), 0x21 = the in-kernel 8259's mask
; register (KVM_CREATE_IRQCHIP: handled in the kernel).
bits 16
org 0x1000

T0      equ 0x500               ; start TSC (8 bytes)
T1      equ 0x508               ; end TSC
CNT0    equ 0x510               ; IPIs vCPU 0 has taken (its handler counts)
CNT1    equ 0x514               ; IPIs vCPU 1 has taken
VEC0    equ 0x40                ; the vector vCPU 0 is sent; IVT slot at VEC0 * 4
VEC1    equ 0x41                ; the vector vCPU 1 is sent
VEC_TICK equ 0x42               ; the TSC-deadline timer's vector
TK_A    equ 0x520               ; timer-tick: iterations in window A (no timer)
TK_B    equ 0x524               ; iterations in window B (timer ticking)
TK_TICKS equ 0x528              ; ticks taken by the end of window B
TK_W    equ 0x52C               ; W, TSC units
TK_P    equ 0x530               ; P, TSC units
TK_COUNT equ 0x534              ; the tick handler's count
TK_DEADLINE equ 0x538           ; the next deadline, absolute TSC (8 bytes)
TICK_W_INSNS equ 8000000        ; W and P in instructions, as guest/bench.asm's
TICK_P_INSNS equ 40000

MSR_APIC_BASE equ 0x1B          ; SDM vol. 3A 10.4.4: bit 11 = enable, bit 10 = x2APIC
X2_EOI        equ 0x80B         ; SDM vol. 3A 10.12.1.2: x2APIC MSR = 0x800 + (MMIO offset >> 4)
X2_SVR        equ 0x80F
X2_ICR        equ 0x830
X2_LVT_TIMER  equ 0x832
MSR_TSC_DEADLINE equ 0x6E0      ; SDM vol. 3A 10.5.4.1
TIMER_TSC_DEADLINE equ 2 << 17  ; LVT timer mode 10b
LVT_MASKED    equ 1 << 16

entries:
        dw calib, cpuid_loop, hcall_loop, pio_kernel, pio_user
        dw pp_v0, pp_v1, ipi_v0, ipi_v1, selfipi, tick

%macro START 0
        rdtsc
        mov [T0], eax
        mov [T0 + 4], edx
%endmacro
%macro STOP 0
        rdtsc
        mov [T1], eax
        mov [T1 + 4], edx
        out 0xF0, al
        hlt                     ; not reached: the runner re-enters at an entry
%endmacro

; calibration: no exit at all; must come out at 2.000 per iteration
calib:
        START
.l:     dec esi
        jnz .l
        STOP

cpuid_loop:
        START
.l:     xor eax, eax
        cpuid
        dec esi
        jnz .l
        STOP

; VMMCALL with a number KVM does not know: -KVM_ENOSYS in RAX
hcall_loop:
        START
.l:     mov eax, 0x99
        vmmcall
        dec esi
        jnz .l
        STOP

pio_kernel:
        mov al, 0xFF            ; OCW1: all IRQs masked (the state it already has)
        START
.l:     out 0x21, al
        dec esi
        jnz .l
        STOP

pio_user:
        START
.l:     out 0xF1, al
        dec esi
        jnz .l
        STOP

; user-space ping-pong: every out 0xF2 hands the CPU to the other vCPU's
; thread; one iteration of vCPU 0 = two vCPU switches
pp_v0:
        START
.l:     out 0xF2, al
        dec esi
        jnz .l
        STOP
pp_v1:
.l:     out 0xF2, al
        jmp .l

; x2APIC on, software-enabled, IPI handlers installed
%macro APIC_ON 0
        cli
        mov word [VEC0 * 4], handler0
        mov word [VEC0 * 4 + 2], 0
        mov word [VEC1 * 4], handler1
        mov word [VEC1 * 4 + 2], 0
        mov ecx, MSR_APIC_BASE
        rdmsr
        or eax, (1 << 11) | (1 << 10)
        wrmsr
        mov ecx, X2_SVR
        mov eax, 0x1FF          ; bit 8 = APIC software enable, spurious vector 0xFF
        xor edx, edx
        wrmsr
%endmacro
; fixed IPI, vector %2, to x2APIC id %1 (SDM vol. 3A 10.12.9: ICR as one MSR)
%macro IPI_TO 2
        mov ecx, X2_ICR
        mov eax, %2
        mov edx, %1
        wrmsr
%endmacro

; Halt until counter %1 moves away from EBX: a wake-up without the expected
; interrupt halts again, so the ping-pong can never lose step.
%macro WAIT_IPI 1
%%w:    sti
        hlt                     ; STI shadow: the IPI cannot slip in before the HLT
        cli
        cmp [%1], ebx
        je %%w
%endmacro

%macro EOI_IRET 0               ; x2APIC EOI, restore eax/ecx/edx, return
        mov ecx, X2_EOI
        xor eax, eax
        xor edx, edx
        wrmsr
        pop edx
        pop ecx
        pop eax
        iret
%endmacro
%macro HANDLER 1                ; count the IPI in %1, EOI
        push eax
        push ecx
        push edx
        inc dword [%1]
        EOI_IRET
%endmacro
handler0:
        HANDLER CNT0
handler1:
        HANDLER CNT1

; IPI + HLT ping-pong: vCPU 0 sends, halts until vCPU 1's IPI comes back
ipi_v0:
        APIC_ON
        START
.l:     mov ebx, [CNT0]
        IPI_TO 1, VEC1
        WAIT_IPI CNT0
        dec esi
        jnz .l
        STOP
ipi_v1:
        APIC_ON
        mov ebx, [CNT1]
        out 0xF3, al            ; tell the runner vCPU 1 can take IPIs now
.l:     WAIT_IPI CNT1
        mov ebx, [CNT1]
        IPI_TO 0, VEC0
        jmp .l

; self-IPI + HLT + EOI on one vCPU, no switch
selfipi:
        APIC_ON
        START
.l:     mov ebx, [CNT0]
        mov ecx, X2_ICR
        mov eax, VEC0 | (1 << 18) ; destination shorthand 01 = self
        xor edx, edx
        wrmsr
        WAIT_IPI CNT0
        dec esi
        jnz .l
        STOP

; ---- timer tick overhead ----
; TICK_WINDOW - ebx = iterations of the 5-instruction loop until the TSC
; has advanced edi (< 2^32) from its value at the start; IF = 1 throughout.
; guest/bench.asm's TICK_WINDOW is the same instruction sequence.
%macro TICK_WINDOW 0
        sti
        xor ebx, ebx
        rdtsc
        mov ebp, eax            ; the low half suffices: (now - start) mod 2^32
%%l:    rdtsc
        sub eax, ebp
        inc ebx
        cmp eax, edi
        jb %%l
        cli
%endmacro

tick:
        APIC_ON
        mov word [VEC_TICK * 4], tick_handler
        mov word [VEC_TICK * 4 + 2], 0
        imul esi, edi, TICK_P_INSNS     ; P (EDI = TSC units per instruction)
        mov [TK_P], esi
        imul edi, edi, TICK_W_INSNS     ; W
        mov [TK_W], edi

        TICK_WINDOW                     ; A: no timer
        mov [TK_A], ebx
        out 0xF4, al                    ; the runner reads KVM's counters

        mov ecx, X2_LVT_TIMER
        mov eax, TIMER_TSC_DEADLINE | VEC_TICK
        xor edx, edx
        wrmsr
        mov dword [TK_COUNT], 0
        mov esi, [TK_P]
        shr esi, 1                      ; the first tick P/2 from now
        rdtsc
        add eax, esi
        adc edx, 0
        mov [TK_DEADLINE], eax
        mov [TK_DEADLINE + 4], edx
        mov ecx, MSR_TSC_DEADLINE
        wrmsr
        TICK_WINDOW                     ; B: the timer ticks every P
        mov eax, [TK_COUNT]             ; ticks by the window's end
        mov [TK_TICKS], eax
        mov [TK_B], ebx
        ; stop it: mask the LVT, let a tick already pending through (its
        ; handler re-arms, but masked), then disarm: the next repetition
        ; starts with no interrupt pending
        mov ecx, X2_LVT_TIMER
        mov eax, TIMER_TSC_DEADLINE | LVT_MASKED | VEC_TICK
        xor edx, edx
        wrmsr
        sti
        nop
        cli
        mov ecx, MSR_TSC_DEADLINE
        xor eax, eax
        xor edx, edx
        wrmsr
        out 0xF0, al
        hlt                     ; not reached: the runner re-enters at an entry

; the tick: count, deadline += P (absolute: start + P/2 + k x P),
; IA32_TSC_DEADLINE, EOI; 20 instructions, as guest/bench.asm's handler_tick
tick_handler:
        push eax
        push ecx
        push edx
        inc dword [TK_COUNT]
        mov eax, [TK_DEADLINE]
        mov edx, [TK_DEADLINE + 4]
        add eax, [TK_P]
        adc edx, 0
        mov [TK_DEADLINE], eax
        mov [TK_DEADLINE + 4], edx
        mov ecx, MSR_TSC_DEADLINE
        wrmsr
        EOI_IRET
