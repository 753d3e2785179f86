; guest/apic_timer.asm - the virtual x2APIC timer in its three modes, on hv's
; per-pCPU timer (docs/platform.md). The timer's input clock is the TSC
; clock, so a count of P at divide 1 is P TSC ticks; the guest measures every
; interval with RDTSC. The vCPU halts (STI; HLT) between ticks.
;   counter 0  periodic: floor((t_N - t_0) / P) == N, i.e. N ticks came in
;              N periods, none early, none lost                       (1)
;   counter 1  one-shot (divide by 16): ticks that came at least P and
;              less than 2P after the arming                          (N)
;   counter 2  TSC-deadline: ticks at or after the deadline and less
;              than P after it; IA32_TSC_DEADLINE read 0 after each   (N)
;   counter 3  masked one-shot: ticks during 3 P of spinning          (0)
;   counter 4  CPUID.1:ECX bit 24 (TSC-deadline)                      (1)
;   counter 5  CPUID.6:EAX bit 2 (ARAT)                               (1)
;   counter 6  periodic: (t_N - t_0) * 1000 / (N * P), for the log (1000..)
;   counter 7  with arg = 1: migrations done while a timer was armed     (3)
; With `arg = 1` (config; needs 2 pCPUs) the vCPU moves while its timer
; runs: to pCPU 1 halfway through the periodic ticks, back to pCPU 0 after
; arming the first one-shot, to pCPU 1 after arming the first deadline.
; Exits 0. A timer that never fires leaves the vCPU halted: `halt`.
;
; Config: mode = long, vcpus = 1.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

N       equ 10
P       equ 50000000            ; TSC ticks per period (15-25 ms on QEMU TCG)
VEC     equ 0x50
MSR_TSC_DEADLINE equ 0x6E0
MSR_LVT_TIMER    equ 0x832
MSR_TIMER_ICR    equ 0x838
MSR_TIMER_DCR    equ 0x83E

; WRMSR32 msr, value
%macro WRMSR32 2
        mov ecx, %1
        mov eax, %2
        xor edx, edx
        wrmsr
%endmacro

; RDTSC64 reg - reg = TSC (clobbers rax, rdx)
%macro RDTSC64 1
        rdtsc
        shl rdx, 32
        or rax, rdx
        mov %1, rax
%endmacro

; WAIT_TICK target - halt until [ticks] >= target (32-bit immediate/register)
%macro WAIT_TICK 1
%%w:    cli
        cmp dword [ticks], %1
        jae %%done
        sti
        hlt
        jmp %%w
%%done:
%endmacro

; MOVE pcpu - with arg = 1, migrate to pcpu and count it
%macro MOVE 1
        cmp qword [arg], 1
        jne %%skip
        HV_MIGRATE %1
        test rax, rax
        jnz %%skip
        inc qword [moves]
%%skip:
%endmacro

start:
        mov [arg], rbx
        HV_IDT_GATE idt, VEC, timer_handler
        HV_IDT_GATE idt, HV_APIC_SPURIOUS, spurious_handler
        HV_LIDT idt
        HV_X2APIC_ENABLE
        mov eax, 1
        cpuid
        shr ecx, 24
        and ecx, 1
        HV_REPORT 4, rcx
        mov eax, 6
        cpuid
        shr eax, 2
        and eax, 1
        HV_REPORT 5, rax

        ; ---- periodic, divide by 1 ----
        mov dword [ticks], 0
        RDTSC64 r12                     ; t_0 (just before the count starts)
        HV_APIC_TIMER HV_TIMER_PERIODIC, VEC, P
        WAIT_TICK N / 2
        MOVE 1
        WAIT_TICK N
        WRMSR32 MSR_TIMER_ICR, 0        ; stop
        mov rax, [t_tick + (N - 1) * 8] ; t_N
        sub rax, r12
        mov r13, rax                    ; elapsed
        xor edx, edx
        mov rcx, P
        div rcx                         ; floor(elapsed / P)
        xor ebx, ebx
        cmp rax, N
        sete bl
        HV_REPORT 0, rbx
        mov rax, r13
        mov rcx, 1000
        mul rcx
        mov rcx, N * P
        div rcx
        mov r14, rax
        HV_REPORT 6, r14
        HV_PRINT 'periodic: '
        HV_PUTDEC r14
        HV_PRINTLN ' per mille of N periods'

        ; ---- one-shot, divide by 16: count P/16 is P TSC ticks ----
        WRMSR32 MSR_TIMER_DCR, 0x3
        WRMSR32 MSR_LVT_TIMER, VEC
        xor r15d, r15d                  ; good ticks
        xor ebx, ebx                    ; round
.os:    mov dword [ticks], 0
        RDTSC64 r12
        WRMSR32 MSR_TIMER_ICR, P / 16
        test ebx, ebx
        jnz .os_wait
        MOVE 0
.os_wait:
        WAIT_TICK 1
        mov rax, [t_tick]
        sub rax, r12
        cmp rax, P
        jb .os_bad
        cmp rax, 2 * P
        jae .os_bad
        inc r15
        jmp .os_next
.os_bad:
        HV_PRINT 'one-shot tick after '
        HV_PUTDEC rax
        HV_PRINTLN ' TSC ticks'
.os_next:
        inc ebx
        cmp ebx, N
        jb .os
        HV_REPORT 1, r15

        ; ---- TSC-deadline ----
        HV_APIC_TIMER HV_TIMER_TSC_DEADLINE, VEC, 0
        xor r15d, r15d
        xor ebx, ebx
.dl:    mov dword [ticks], 0
        RDTSC64 r12
        add r12, P                      ; the deadline
        HV_TSC_DEADLINE r12
        test ebx, ebx
        jnz .dl_wait
        MOVE 1
.dl_wait:
        WAIT_TICK 1
        mov rax, [t_tick]
        sub rax, r12                    ; lateness (negative: early)
        cmp rax, P
        jae .dl_bad                     ; (unsigned: early is huge)
        mov ecx, MSR_TSC_DEADLINE       ; disarmed and cleared by the tick
        rdmsr
        or eax, edx
        jnz .dl_msr
        inc r15
        jmp .dl_next
.dl_bad:
        HV_PRINT 'deadline tick late by '
        HV_PUTHEX64 rax
        HV_NEWLINE
        jmp .dl_next
.dl_msr:
        HV_PRINTLN 'IA32_TSC_DEADLINE not 0 after the tick'
.dl_next:
        inc ebx
        cmp ebx, N
        jb .dl
        HV_REPORT 2, r15

        ; ---- masked one-shot: no tick while 3 P pass ----
        mov dword [ticks], 0
        HV_APIC_TIMER HV_TIMER_ONESHOT | HV_LVT_MASKED, VEC, P
        sti
        RDTSC64 r12
.spin:  pause
        RDTSC64 rbx
        sub rbx, r12
        cmp rbx, 3 * P
        jb .spin
        cli
        mov eax, [ticks]
        HV_REPORT 3, rax
        HV_REPORT 7, [moves]
        HV_PRINTLN 'apic timer: done'
        HV_EXIT 0

timer_handler:
        push rax
        push rdx
        push rcx
        rdtsc
        shl rdx, 32
        or rax, rdx
        mov ecx, [ticks]
        cmp ecx, 64
        jae .full
        mov [t_tick + rcx * 8], rax
.full:  inc dword [ticks]
        HV_APIC_EOI
        pop rcx
        pop rdx
        pop rax
        iretq
spurious_handler:
        iretq

align 8
arg:    dq 0
moves:  dq 0
ticks:  dq 0
t_tick: times 64 dq 0
align 4096
idt:    times 256 * 16 db 0
