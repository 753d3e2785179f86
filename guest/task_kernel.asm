; guest/task_kernel.asm - a tiny guest kernel: on each vCPU, two tasks in
; different security domains (task 0 and task 1, each with its own stack
; and register state) share the vCPU, switched by the periodic x2APIC timer.
; The timer handler saves the running task's registers, issues IBPB
; (PRED_CMD write, the barrier a kernel issues between domains), and
; resumes the other task. Both tasks only count loops. After N switches a
; vCPU stops its timer; vCPU 0 then waits (yielding) for vCPU 1 and reports:
;   counter 0  task switches on vCPU 0 (= IBPBs it wrote)   (N)
;   counter 1  task switches on vCPU 1                      (N)
;   counter 2  tasks (of the 4) whose loop count moved      (4)
;   counter 3  PRED_CMD writes that did not fault           (2 N)
; Both vCPUs exit 0. The config runs it beside another VM on one pCPU so hv's
; barrier policies meet guest IBPBs, intra-VM and cross-VM switches
; (tests/configs/task-kernel.cfg; `make compare`).
;
; Config: mode = long, vcpus = 2, any memory.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

N        equ 20                         ; task switches per vCPU
P        equ 20000000                   ; timer period, TSC ticks
VEC      equ 0x50
MSR_X2APIC_ID    equ 0x802              ; SDM Vol. 3A table 11-6
MSR_TIMER_ICR    equ 0x838
VD       equ 64                         ; bytes of per-vCPU data
; per-vCPU data (vdata + id * VD)
CUR      equ 0                          ; running task 0/1
SP0      equ 8                          ; saved RSP of task 0, task 1
SWITCHES equ 24
DONE     equ 32
WORK0    equ 40                         ; loop counts of task 0, task 1
IBPBS    equ 56
FRAME    equ 20 * 8                     ; 15 GPRs + the 5-word iretq frame

start:
        mov r12, rdi                    ; vCPU id (0 or 1)
        mov rsi, r12
        shl rsi, 6
        lea rax, [vdata]
        add rsi, rax                    ; rsi = this vCPU's data
        ; task 1's first frame: the handler pops 15 GPRs and iretqs into it
        lea rbx, [stacks]
        mov rax, r12
        inc rax
        shl rax, 12
        add rbx, rax                    ; top of task 1's stack
        lea rdx, [rbx - FRAME]
        mov [rsi + SP0 + 8], rdx
        mov [rdx + 10 * 8], rsi         ; rsi (order: r15 .. rax, lowest first)
        mov qword [rdx + 9 * 8], 1      ; rdi = task 1
        lea rax, [task]
        mov [rdx + 15 * 8], rax         ; RIP
        mov qword [rdx + 16 * 8], HV_SEL_CODE
        mov qword [rdx + 17 * 8], 0x202 ; RFLAGS: IF
        mov [rdx + 18 * 8], rbx         ; RSP
        mov qword [rdx + 19 * 8], HV_SEL_DATA
        test r12, r12
        jnz .ap
        HV_IDT_GATE idt, VEC, timer_handler
        HV_IDT_GATE idt, HV_APIC_SPURIOUS, spurious_handler
        mov byte [idt_ready], 1
.ap:    cmp byte [idt_ready], 1         ; (vCPU 1 waits for the IDT)
        je .go
        HV_YIELD
        jmp .ap
.go:    HV_LIDT idt
        HV_X2APIC_ENABLE
        HV_APIC_TIMER HV_TIMER_PERIODIC, VEC, P
        xor edi, edi                    ; this flow becomes task 0
        sti
task:   inc qword [rsi + WORK0 + rdi * 8]
        cmp qword [rsi + DONE], 0
        je task
        cli
        cmp rsi, vdata
        jne .vcpu1
.wait:  cmp qword [vdata + VD + DONE], 0
        jne .report
        HV_YIELD
        jmp .wait
.vcpu1: HV_EXIT 0                       ; (the VM ends when both have)
.report:
        HV_REPORT 0, [vdata + SWITCHES]
        HV_REPORT 1, [vdata + VD + SWITCHES]
        xor ebx, ebx
        xor ecx, ecx
.cnt:   cmp qword [vdata + WORK0 + rcx * 8], 0
        je .z0
        inc ebx
.z0:    cmp qword [vdata + VD + WORK0 + rcx * 8], 0
        je .z1
        inc ebx
.z1:    inc ecx
        cmp ecx, 2
        jb .cnt
        HV_REPORT 2, rbx
        mov rax, [vdata + IBPBS]
        add rax, [vdata + VD + IBPBS]
        HV_REPORT 3, rax
        HV_PRINTLN 'task kernel: done'
        HV_EXIT 0

; The task switch: save, IBPB, restore the other task (SDM Vol. 3A 6.14.2:
; the 64-bit interrupt frame is SS, RSP, RFLAGS, CS, RIP).
timer_handler:
        push rax
        push rbx
        push rcx
        push rdx
        push rsi
        push rdi
        push rbp
        push r8
        push r9
        push r10
        push r11
        push r12
        push r13
        push r14
        push r15
        mov ecx, MSR_X2APIC_ID
        rdmsr
        and eax, 1
        shl eax, 6
        lea rsi, [vdata]
        add rsi, rax
        cmp qword [rsi + DONE], 0
        jne .eoi                        ; (a tick already on its way)
        mov rax, [rsi + CUR]
        mov [rsi + SP0 + rax * 8], rsp
        xor eax, 1
        mov [rsi + CUR], rax
        mov ecx, MSR_PRED_CMD           ; IBPB between the two domains
        mov eax, PRED_CMD_IBPB
        xor edx, edx
        wrmsr
        inc qword [rsi + IBPBS]
        inc qword [rsi + SWITCHES]
        mov rax, [rsi + CUR]
        mov rsp, [rsi + SP0 + rax * 8]
        cmp qword [rsi + SWITCHES], N
        jb .eoi
        mov ecx, MSR_TIMER_ICR          ; stop the timer
        xor eax, eax
        xor edx, edx
        wrmsr
        mov qword [rsi + DONE], 1
.eoi:   HV_APIC_EOI
        pop r15
        pop r14
        pop r13
        pop r12
        pop r11
        pop r10
        pop r9
        pop r8
        pop rbp
        pop rdi
        pop rsi
        pop rdx
        pop rcx
        pop rbx
        pop rax
        iretq
spurious_handler:
        iretq

align 64
vdata:  times 2 * VD db 0
idt_ready: db 0
align 4096
stacks: times 2 * 4096 db 0             ; task 1's stack of vCPU 0, 1
idt:    times 256 * 16 db 0
