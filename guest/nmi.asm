; guest/nmi.asm - NMIs through hv's virtual x2APIC (docs/platform.md "NMI"):
; an NMI IPI to another vCPU that waits in HLT with IF=0 (an NMI wakes it
; anyway), an NMI to all but self, and a self-NMI whose handler sends a
; second self-NMI: the CPU holds that one until the handler's IRET (SDM
; Vol. 3A 6.7.1 "Handling Multiple NMIs"), so it must not nest; the handler
; makes exits meanwhile (CPUID, a port, an MSR) to give hv every chance to
; inject it early. Needs 2 vCPUs.
;   counter 0  NMIs vCPU 1 took                                   (2)
;   counter 1  NMIs vCPU 0 took                                   (2)
;   counter 2  NMIs that came while an NMI handler ran (nesting)  (0)
;   counter 3  the second self-NMI came after the first's IRET:
;              1 if it found the first handler's "returning" mark (1)
;   counter 4  vCPU 1 got past its HLT with IF=0 (woken by the NMI) (1)
;   counter 5  the second self-NMI was still pending after 100 exits
;              in the first handler (not delivered early, not lost) (1)
; Both vCPUs exit 0. A lost NMI leaves a vCPU waiting (the VM's limit).
;
; Config: mode = long, vcpus = 2.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        mov r12, rdi                    ; vCPU id
        HV_IDT_GATE idt, HV_NMI_VECTOR, nmi_handler
        HV_IDT_GATE idt, HV_APIC_SPURIOUS, spurious_handler
        HV_LIDT idt
        HV_X2APIC_ENABLE
        test r12, r12
        jnz vcpu1

vcpu0:
.wait:  cmp dword [ready1], 1           ; vCPU 1 is about to halt
        je .go
        HV_YIELD
        jmp .wait
.go:    HV_SEND_NMI 1                   ; wakes vCPU 1 from HLT (IF=0)
.w1:    cmp dword [cnt1], 1
        jae .bc
        HV_YIELD
        jmp .w1
.bc:    mov ecx, HV_MSR_X2APIC_ICR      ; all but self: vCPU 1 again
        xor edx, edx
        mov eax, HV_ICR_NMI | HV_ICR_ALL_BUT_SELF
        wrmsr
.w2:    cmp dword [cnt1], 2
        jae .self
        HV_YIELD
        jmp .w2
.self:  HV_SELF_NMI                     ; taken at once (the next entry)
        mov ecx, 1000000
.w3:    cmp dword [cnt0], 2             ; the handler's own second one
        jae .done
        dec ecx
        jnz .w3
.done:  mov eax, [cnt1]
        HV_REPORT 0, rax
        mov eax, [cnt0]
        HV_REPORT 1, rax
        mov eax, [nested]
        HV_REPORT 2, rax
        mov eax, [after_iret]
        HV_REPORT 3, rax
        mov eax, [woke1]
        HV_REPORT 4, rax
        mov eax, [held]
        HV_REPORT 5, rax
        HV_PRINTLN 'nmi: done'
        HV_EXIT 0

vcpu1:
        cli
        mov dword [ready1], 1
.h:     hlt                             ; IF=0: only an NMI gets us past
        mov dword [woke1], 1
        cmp dword [cnt1], 2
        jb .h
        HV_EXIT 0

nmi_handler:
        push rax
        push rbx
        push rcx
        push rdx
        push r8
        lock inc dword [depth]
        cmp dword [depth], 1
        je .one
        lock inc dword [nested]
.one:   HV_VCPU_ID
        test eax, eax
        jnz .v1
        inc dword [cnt0]
        cmp dword [cnt0], 1
        jne .second
        ; the first self-NMI: send the second, then make exits
        HV_SELF_NMI
        mov r8d, 100                    ; (CPUID writes EBX)
.ex:    mov eax, 0
        cpuid
        mov dx, 0x80
        in al, dx                       ; an empty port: an exit
        mov ecx, HV_MSR_X2APIC_TPR      ; an APIC MSR: an exit after which
        rdmsr                           ; hv looks for interrupts to inject
        dec r8d
        jnz .ex
        cmp dword [cnt0], 1             ; not delivered during the handler
        jne .out
        mov dword [held], 1
        mov dword [returning], 1        ; the IRET comes next
        jmp .out
.second:
        mov eax, [returning]
        mov [after_iret], eax
        jmp .out
.v1:    lock inc dword [cnt1]
.out:   lock dec dword [depth]
        pop r8
        pop rdx
        pop rcx
        pop rbx
        pop rax
        iretq

spurious_handler:
        iretq

align 8
ready1:     dd 0
woke1:      dd 0
cnt0:       dd 0
cnt1:       dd 0
depth:      dd 0
nested:     dd 0
held:       dd 0
returning:  dd 0
after_iret: dd 0
align 4096
idt:    times 256 * 16 db 0
