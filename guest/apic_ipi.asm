; guest/apic_ipi.asm - guest interrupts through hv's virtual x2APIC:
; a self IPI held back while IF=0 and taken after STI, then IPI ping-pong
; between vCPU 0 and vCPU 1, each halting (STI; HLT) until the other's IPI
; wakes it. Needs 2 vCPUs; run on one pCPU and on two.
;   counter 0  self IPIs taken while IF=0            (0)
;   counter 1  self IPIs taken after STI             (1)
;   counter 2  pings vCPU 1 took (vector 0x41)       (ROUNDS)
;   counter 3  pongs vCPU 0 took (vector 0x42)       (ROUNDS)
;   counter 4  CPUID.1:ECX bit 21 (x2APIC)           (1)
;   counter 5  broadcast "all but self" (0x43) taken, both vCPUs   (1: vCPU 1 only)
;   counter 6  broadcast "all incl. self" (0x44) taken by vCPU 0   (1)
;   counter 7  broadcast "all incl. self" (0x44) taken by vCPU 1   (1)
; Both vCPUs exit 0. A missing interrupt leaves a vCPU halted: the VM ends
; as `halt`; a wrong vector has no gate: `shutdown`.
;
; Config: mode = long, vcpus = 2.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

ROUNDS equ 100

start:
        mov r12, rdi                    ; vCPU id
        HV_IDT_GATE idt, 0x40, self_handler
        HV_IDT_GATE idt, 0x41, ping_handler
        HV_IDT_GATE idt, 0x42, pong_handler
        HV_IDT_GATE idt, 0x43, bcast_excl_handler
        HV_IDT_GATE idt, 0x44, bcast_incl_handler
        HV_IDT_GATE idt, HV_APIC_SPURIOUS, spurious_handler
        HV_LIDT idt
        HV_X2APIC_ENABLE
        lock inc dword [ready]
        test r12, r12
        jnz vcpu1

vcpu0:
        mov eax, 1
        cpuid
        shr ecx, 21
        and ecx, 1
        HV_REPORT 4, rcx
        ; --- self IPI: pending while IF=0, taken once IF=1 ---
        cli
        HV_SELF_IPI 0x40
        mov eax, [self_count]
        HV_REPORT 0, rax
        sti
        nop                             ; the interrupt comes after STI's shadow
        cli
        mov eax, [self_count]
        HV_REPORT 1, rax
        ; --- wait for vCPU 1's APIC, then ping-pong ---
.wait:  cmp dword [ready], 2
        je .go
        HV_YIELD
        jmp .wait
.go:    xor ebx, ebx                    ; round
.round: inc ebx
        HV_SEND_IPI 1, 0x41
.sleep: cli
        cmp [pongs], ebx
        jae .next
        sti
        hlt                             ; the pong wakes us
        jmp .sleep
.next:  cmp ebx, ROUNDS
        jb .round
        mov eax, [pongs]
        HV_REPORT 3, rax
        ; --- broadcasts by shorthand (ICR bits 19:18) ---
        mov ecx, HV_MSR_X2APIC_ICR
        xor edx, edx
        mov eax, (3 << 18) | 0x43       ; all excluding self
        wrmsr
        mov eax, (2 << 18) | 0x44       ; all including self
        wrmsr
.own:   cli
        cmp dword [b44], 1
        jae .got
        sti
        hlt
        jmp .own
.got:   sti
        ; wait for vCPU 1 to have taken both (0x44 comes first: higher priority)
.w1:    cmp dword [b44 + 4], 1
        jb .w1y
        cmp dword [b43], 1
        jae .w1done
.w1y:   HV_YIELD
        jmp .w1
.w1done:
        cli
        mov eax, [b43]
        HV_REPORT 5, rax
        mov eax, [b44]
        HV_REPORT 6, rax
        mov eax, [b44 + 4]
        HV_REPORT 7, rax
        HV_PRINT 'vCPU 0: self IPI '
        HV_PUTDEC qword [self_count]
        HV_PRINT ', pongs '
        HV_PUTDEC qword [pongs]
        HV_NEWLINE
        HV_EXIT 0

vcpu1:
        xor ebx, ebx                    ; pings answered
.sleep: cli
        cmp [pings], ebx
        ja .answer
        sti
        hlt                             ; the ping wakes us
        jmp .sleep
.answer:
        inc ebx
        HV_SEND_IPI 0, 0x42
        cmp ebx, ROUNDS
        jb .sleep
        mov eax, [pings]
        HV_REPORT 2, rax
.bw:    cli                             ; both broadcasts from vCPU 0
        cmp dword [b43], 1
        jb .bsleep
        cmp dword [b44 + 4], 1
        jae .bdone
.bsleep:
        sti
        hlt
        jmp .bw
.bdone:
        HV_PRINT 'vCPU 1: pings '
        HV_PUTDEC qword [pings]
        HV_NEWLINE
        HV_EXIT 0

self_handler:
        lock inc dword [self_count]
        HV_APIC_EOI
        iretq
ping_handler:
        lock inc dword [pings]
        HV_APIC_EOI
        iretq
pong_handler:
        lock inc dword [pongs]
        HV_APIC_EOI
        iretq
bcast_excl_handler:
        lock inc dword [b43]
        HV_APIC_EOI
        iretq
bcast_incl_handler:                     ; counts per vCPU: the x2APIC id is the vCPU id
        push rax
        push rcx
        push rdx
        mov ecx, 0x802
        rdmsr
        lock inc dword [b44 + rax * 4]
        pop rdx
        pop rcx
        pop rax
        HV_APIC_EOI
        iretq
spurious_handler:                       ; no EOI for the spurious vector
        iretq

align 8
ready:      dd 0
self_count: dq 0
pings:      dq 0
pongs:      dq 0
b43:        dd 0
b44:        dd 0, 0
align 4096
idt:        times 256 * 16 db 0
