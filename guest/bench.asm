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
; With several VMs (the 256-vCPU case) each VM's vCPU 0 measures its own.
bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

ITER equ 1000

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

start:
        mov r12, rdi            ; vCPU id
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
        jnz .done
        DELTA 3
.done:
        HV_EXIT 0
