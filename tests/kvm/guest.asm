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
; Ports: 0xF0 = "done, read T0/T1" (to user space), 0xF1 = exit to user
; space and straight back, 0xF2 = user-space vCPU hand-off, 0xF3 = "this
; vCPU's APIC is enabled" (once, to user space), 0x21 = the in-kernel
; 8259's mask register (KVM_CREATE_IRQCHIP: handled in the kernel).
bits 16
org 0x1000

T0      equ 0x500               ; start TSC (8 bytes)
T1      equ 0x508               ; end TSC
CNT0    equ 0x510               ; IPIs vCPU 0 has taken (its handler counts)
CNT1    equ 0x514               ; IPIs vCPU 1 has taken
VEC0    equ 0x40                ; the vector vCPU 0 is sent; IVT slot at VEC0 * 4
VEC1    equ 0x41                ; the vector vCPU 1 is sent

MSR_APIC_BASE equ 0x1B          ; SDM vol. 3A 10.4.4: bit 11 = enable, bit 10 = x2APIC
X2_EOI        equ 0x80B         ; SDM vol. 3A 10.12.1.2: x2APIC MSR = 0x800 + (MMIO offset >> 4)
X2_SVR        equ 0x80F
X2_ICR        equ 0x830

entries:
        dw calib, cpuid_loop, hcall_loop, pio_kernel, pio_user
        dw pp_v0, pp_v1, ipi_v0, ipi_v1, selfipi

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

%macro HANDLER 1                ; count the IPI in %1, EOI
        push eax
        push ecx
        push edx
        inc dword [%1]
        mov ecx, X2_EOI
        xor eax, eax
        xor edx, edx
        wrmsr
        pop edx
        pop ecx
        pop eax
        iret
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
