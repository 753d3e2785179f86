; guest/bench.asm - path lengths of hv's exit and switch paths, measured from
; inside the guest with rdtsc (not intercepted). Run it under QEMU with
; -icount shift=7,sleep=off: the TSC then advances exactly 128 per emulated
; instruction, so (delta / 128) counts the instructions executed by
; everything - guest, hv, and the emulated VMRUN/#VMEXIT - on the way. In
; Bochs the TSC also advances a fixed amount per instruction; counter 4 (two
; instructions per iteration) calibrates it. tests/bench.py divides.
;
; vCPU 0 reports raw TSC deltas (tests/bench.py divides by the number of
; round trips and by the TSC per instruction):
;   counter 0  CPUID exit round trip
;   counter 1  unknown-hypercall round trip (vmmcall, number 0x99)
;   counter 2  port-I/O exit round trip (out to an unused port)
;   counter 3  vCPU switches: every vCPU of the VM yields ITER times in
;              turn; vCPU 0 times its loop, which holds ITER x (vCPUs in
;              the run) switches, so the per-switch figure includes the
;              guests' own loop instructions (a few)
;   counter 4  the timing loop without any exit: ITER x 2 instructions
;              (dec, jnz): the calibration
;   counter 5  (arg = 2 only: one VM of 2 vCPUs) IPI + HLT ping-pong: vCPU 0
;              sends a fixed x2APIC IPI to vCPU 1 and halts until vCPU 1's
;              IPI comes back, ITER times (2 x ITER vCPU switches); each
;              handler counts and EOIs. KVM's loop "switch-ipi" (tests/kvm)
;   counter 6  (arg = 2 only) self-IPI (ICR, shorthand self) + HLT + EOI on
;              vCPU 0, ITER times, no switch. KVM's loop "selfipi"
;   counters 7-11 (arg = 2 only, vCPU 0, after the self-IPI loop): timer
;              tick overhead, by difference. Two windows of W TSC units
;              each run the same 5-instruction loop (rdtsc; sub; inc; cmp;
;              jb) until the TSC has advanced W, counting iterations:
;              window A with no timer, window B with the x2APIC timer in
;              TSC-deadline mode (SDM Vol. 3A 11.5.4.1: LVT timer mode 10b,
;              IA32_TSC_DEADLINE = MSR 0x6E0) ticking every P, first tick
;              P/2 into the window (no tick straddles either edge). The
;              handler counts, moves the absolute deadline on by P (no
;              drift), writes IA32_TSC_DEADLINE, EOIs and returns (20
;              instructions, as in KVM's loop "timer-tick").
;   counter 7  iterations in window A (no timer)
;   counter 8  iterations in window B (timer ticking)
;   counter 9  ticks taken in window B (W / P expected)
;   counter 10 W, TSC units: TICK_W_INSNS x the TSC per instruction the
;              calibration loop (counter 4) shows (128 under -icount
;              shift=7, 1 in Bochs), so both backends run the same number
;              of instructions
;   counter 11 P, TSC units (TICK_P_INSNS x the same)
;              tests/bench.py: overhead per tick = (counter 7 - counter 8)
;              x 5 / counter 9 instructions. Not reported if CPUID.1:ECX
;              bit 24 (TSC-deadline timer) is clear.
; With several VMs (the 256-vCPU case) each VM's vCPU 0 measures its own.
bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

ITER equ 1000
VEC0 equ 0x40                   ; IPI vectors of vCPU 0, vCPU 1
VEC1 equ 0x41
VEC_TICK equ 0x42               ; the TSC-deadline timer's vector
MSR_X2APIC_ICR equ 0x830        ; SDM Vol. 3A 11.12.9: the ICR as one MSR
MSR_X2APIC_EOI equ 0x80B
MSR_X2APIC_LVT_TIMER equ 0x832
MSR_TSC_DEADLINE equ 0x6E0
TIMER_TSC_DEADLINE equ 2 << 17  ; LVT timer mode 10b (SDM Vol. 3A 11.5.1)
LVT_MASKED equ 1 << 16
; The timer-tick windows, in instructions (tests/kvm/guest.asm: the same):
; W = 8,000,000 holds 256 of the 250 Hz tick of KVM's L1 kernel exactly
; (4 ms = 31,250 instructions of 128 ns), so that tick cancels in KVM's
; difference too; P = 40,000 is well above either hypervisor's cost per
; tick (hv about 2,000, KVM about 9,300) and gives W / P = 200 ticks
; (with 50, KVM's repetitions spread by 10 %; with 200, by 2 %).
TICK_W_INSNS equ 8000000
TICK_P_INSNS equ 40000

; TICK_WINDOW - ebx = iterations of the 5-instruction loop until the TSC
; has advanced edi (< 2^32) from its value at the start; IF = 1 throughout.
; tests/kvm/guest.asm's TICK_WINDOW is the same instruction sequence.
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

%macro TSC 1                    ; %1 = full 64-bit TSC
        rdtsc
        shl rdx, 32
        or rax, rdx
        mov %1, rax
%endmacro

%macro DELTA 1                  ; counter %1 = r15 - r14, raw TSC
        mov rax, r15
        sub rax, r14
        HV_REPORT %1, rax
%endmacro

; WAIT_IPI counter - halt until `counter` moves from EBP (a wake-up without
; the interrupt halts again); STI's shadow keeps the IPI out until the HLT
%macro WAIT_IPI 1
%%w:    sti
        hlt
        cli
        cmp [%1], ebp
        je %%w
%endmacro

start:
        mov r12, rdi            ; vCPU id
        mov [arg], rbx
        test r12, r12
        jnz .switches

        ; empty loop: the guest-side cost of the timing loop itself
        TSC r14
        mov ebx, ITER
.l0:    dec ebx
        jnz .l0
        TSC r15
        DELTA 4

        TSC r14
        mov ebx, ITER
.l1:    mov eax, 0
        xor ecx, ecx
        push rbx
        cpuid
        pop rbx
        dec ebx
        jnz .l1
        TSC r15
        DELTA 0

        TSC r14
        mov ebx, ITER
.l2:    mov eax, 0x99           ; no such hypercall: rax = -1
        vmmcall
        dec ebx
        jnz .l2
        TSC r15
        DELTA 1

        TSC r14
        mov ebx, ITER
        mov dx, 0x2f0           ; nothing there: writes are dropped
.l3:    out dx, al
        dec ebx
        jnz .l3
        TSC r15
        DELTA 2

.switches:
        TSC r14
        mov ebx, ITER
.l4:    mov eax, HC_YIELD
        vmmcall
        dec ebx
        jnz .l4
        TSC r15
        test r12, r12
        jnz .v1
        DELTA 3
        cmp qword [arg], 2
        jne .done

        ; ---- interrupts: vCPU 0 ----
        HV_LIDT idt
        HV_X2APIC_ENABLE
.ready: cmp byte [ready], 1     ; vCPU 1 takes IPIs
        je .go
        HV_YIELD
        jmp .ready
.go:    TSC r14
        mov r13d, ITER
.l5:    mov ebp, [cnt0]
        HV_SEND_IPI 1, VEC1
        WAIT_IPI cnt0
        dec r13d
        jnz .l5
        TSC r15
        DELTA 5

        TSC r14
        mov r13d, ITER
.l6:    mov ebp, [cnt0]
        mov ecx, MSR_X2APIC_ICR
        mov eax, VEC0 | (1 << 18)       ; fixed, shorthand 01 = self
        xor edx, edx
        wrmsr
        WAIT_IPI cnt0
        dec r13d
        jnz .l6
        TSC r15
        DELTA 6

        ; The timer-tick loop lies after the handlers: code placed here
        ; would move every instruction below it, and hv's decode cache
        ; (hv/guest_mem.h) keeps exiting instructions in slots chosen by the
        ; low 4 bits of their RIP; a move that makes the self-IPI's HLT
        ; share a slot with the handler's EOI WRMSR costs each self-IPI
        ; about 330 more instructions. 16 bytes keep those bits.
.tick_jmp:
        jmp near tick_overhead
        times 16 - ($ - .tick_jmp) int3
.done:
        HV_EXIT 0

        ; ---- interrupts: vCPU 1 answers ITER IPIs, then exits ----
.v1:    cmp qword [arg], 2
        jne .done
        HV_LIDT idt
        HV_X2APIC_ENABLE
        mov byte [ready], 1
        mov r13d, ITER
.l7:    mov ebp, [cnt1]
        WAIT_IPI cnt1
        HV_SEND_IPI 0, VEC0
        dec r13d
        jnz .l7
        HV_EXIT 0

handler0:
        inc dword [cnt0]
        HV_APIC_EOI
        iretq
handler1:
        inc dword [cnt1]
        HV_APIC_EOI
        iretq
; the timer tick: count, deadline += P (absolute: start + P/2 + k x P),
; IA32_TSC_DEADLINE, EOI. 20 instructions, the same as tests/kvm/guest.asm's
; tick handler (whose 32-bit halves this follows, so the count matches).
handler_tick:
        push rax
        push rcx
        push rdx
        inc dword [ticks]
        mov eax, [deadline]
        mov edx, [deadline + 4]
        add eax, [tick_p]
        adc edx, 0
        mov [deadline], eax
        mov [deadline + 4], edx
        mov ecx, MSR_TSC_DEADLINE
        wrmsr
        mov ecx, MSR_X2APIC_EOI
        xor eax, eax
        xor edx, edx
        wrmsr
        pop rdx
        pop rcx
        pop rax
        iretq
spurious:
        iretq

        ; ---- timer tick overhead (counters 7-11), vCPU 0 ----
tick_overhead:
        mov eax, 1
        cpuid
        bt ecx, 24              ; CPUID.1:ECX[24]: TSC-deadline timer
        jnc start.done
        ; TSC units per instruction: counter 4's calibration loop again
        ; (2 x ITER + a few instructions): 128 under -icount shift=7
        TSC r14
        mov ebx, ITER
.cal:   dec ebx
        jnz .cal
        TSC r15
        mov rax, r15
        sub rax, r14
        xor edx, edx
        mov ecx, 2 * ITER
        div rcx
        imul edi, eax, TICK_W_INSNS     ; W
        imul esi, eax, TICK_P_INSNS     ; P
        mov [tick_p], esi
        HV_REPORT 10, rdi
        HV_REPORT 11, rsi

        TICK_WINDOW                     ; A: no timer
        HV_REPORT 7, rbx

        mov ecx, MSR_X2APIC_LVT_TIMER
        mov eax, TIMER_TSC_DEADLINE | VEC_TICK
        xor edx, edx
        wrmsr
        mov dword [ticks], 0
        mov esi, [tick_p]
        shr esi, 1                      ; the first tick P/2 from now
        rdtsc
        add eax, esi
        adc edx, 0
        mov [deadline], eax
        mov [deadline + 4], edx
        mov ecx, MSR_TSC_DEADLINE
        wrmsr
        TICK_WINDOW                     ; B: the timer ticks every P
        mov r13d, [ticks]               ; ticks by the window's end
        ; stop it: mask the LVT, let a tick already pending through (its
        ; handler re-arms, but masked), then disarm
        mov ecx, MSR_X2APIC_LVT_TIMER
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
        HV_REPORT 8, rbx
        HV_REPORT 9, r13
        jmp start.done

; a 64-bit interrupt gate (SDM Vol. 3A 6.14.1) for a handler in this image
%define ADDR(h) ((h) - $$ + HV_LONG_ENTRY)
%macro GATE 1
        dw ADDR(%1) & 0xFFFF, HV_SEL_CODE, 0x8E00, ADDR(%1) >> 16
        dd 0, 0
%endmacro

align 8
arg:    dq 0
deadline: dq 0                  ; the timer's next deadline (absolute TSC)
cnt0:   dd 0
cnt1:   dd 0
ticks:  dd 0
tick_p: dd 0                    ; P, TSC units
ready:  db 0
align 16
idt:    times VEC0 * 16 db 0
        GATE handler0
        GATE handler1
        GATE handler_tick
        times (HV_APIC_SPURIOUS - VEC_TICK - 1) * 16 db 0
        GATE spurious
