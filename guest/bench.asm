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
; With several VMs (the 256-vCPU case) each VM's vCPU 0 measures its own.
bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

ITER equ 1000
VEC0 equ 0x40                   ; IPI vectors of vCPU 0, vCPU 1
VEC1 equ 0x41
MSR_X2APIC_ICR equ 0x830        ; SDM Vol. 3A 11.12.9: the ICR as one MSR

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
spurious:
        iretq

; a 64-bit interrupt gate (SDM Vol. 3A 6.14.1) for a handler in this image
%define ADDR(h) ((h) - $$ + HV_LONG_ENTRY)
%macro GATE 1
        dw ADDR(%1) & 0xFFFF, HV_SEL_CODE, 0x8E00, ADDR(%1) >> 16
        dd 0, 0
%endmacro

align 8
arg:    dq 0
cnt0:   dd 0
cnt1:   dd 0
ready:  db 0
align 16
idt:    times VEC0 * 16 db 0
        GATE handler0
        GATE handler1
        times (HV_APIC_SPURIOUS - VEC1 - 1) * 16 db 0
        GATE spurious
