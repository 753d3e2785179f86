; guest/bench.asm - path lengths of hv's exit and switch paths, measured from
; inside the guest with rdtsc (not intercepted). Run it under QEMU with
; -icount shift=7,sleep=off: the TSC then advances exactly 128 per emulated
; instruction, so (delta / 128) counts the instructions executed by
; everything - guest, hv, and the emulated VMRUN/#VMEXIT - on the way.
;
; vCPU 0 reports (all in instructions, averaged over ITER round trips):
;   counter 0  CPUID exit round trip
;   counter 1  unknown-hypercall round trip (vmmcall, number 0x99)
;   counter 2  port-I/O exit round trip (out to an unused port)
;   counter 3  one vCPU switch: every vCPU of the VM yields ITER times in
;              turn; vCPU 0 times its loop and divides by the number of
;              switches in it (ITER x vCPUs in the run: the config's `arg`,
;              else this VM's count), so the per-switch figure
;              includes the guests' own loop instructions (a few)
;   counter 4  the guest-side overhead of one timing loop iteration without
;              any exit (subtract it for hv-only figures)
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

%macro PER_ITER 2               ; counter %1 = (r15 - r14) / 128 / %2
        mov rax, r15
        sub rax, r14
        shr rax, 7
        xor edx, edx
        mov rcx, %2
        div rcx
        HV_REPORT %1, rax
%endmacro

start:
        mov r12, rdi            ; vCPU id
        mov r13, rsi            ; vCPU count ...
        test rbx, rbx
        cmovnz r13, rbx         ; ... or all vCPUs of the run, from `arg`
        test r12, r12
        jnz .switches

        ; empty loop: the guest-side cost of the timing loop itself
        TSC r14
        mov ebx, ITER
.l0:    dec ebx
        jnz .l0
        TSC r15
        PER_ITER 4, ITER

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
        PER_ITER 0, ITER

        TSC r14
        mov ebx, ITER
.l2:    mov eax, 0x99           ; no such hypercall: rax = -1
        vmmcall
        dec ebx
        jnz .l2
        TSC r15
        PER_ITER 1, ITER

        TSC r14
        mov ebx, ITER
        mov dx, 0x2f0           ; nothing there: writes are dropped
.l3:    out dx, al
        dec ebx
        jnz .l3
        TSC r15
        PER_ITER 2, ITER

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
        mov rcx, r13
        imul rcx, rcx, ITER
        PER_ITER 3, rcx
.done:
        HV_EXIT 0
