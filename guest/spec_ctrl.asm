; guest/spec_ctrl.asm - IA32_SPEC_CTRL round trip across vCPU switches
; (issue 10, defect 4; docs/security.md).
;
; RBX at start (the config's `arg`) is the value this VM keeps in
; IA32_SPEC_CTRL: written once (unless 0), then read back after each of
; 40 yields, while other VMs on the same pCPU keep other values in it.
; Where the CPU has the MSR (Bochs icelake), hv passes reads through on
; VT-x: the guest reads the hardware register, so every read proves hv
; loaded this VM's value at entry (the scenario also checks that no rdmsr
; exit happened). Where it has none (QEMU), the value is virtual: reads
; exit and hv answers from its copy.
;   counter 0  reads that differ from the value            0
;   counter 1  the last value read                         = arg
;   counter 2  reads done                                  40
;   counter 3  #GP vector of the write, or 255 if none     255
; Exits 0 if counter 0 is 0, else 1.
;
; Config: mode = long, vcpus = 1, arg = the value; other VMs beside it.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

%include "catch.inc"

ROUNDS equ 40

start:
        mov r15, rbx            ; this VM's value
        CATCH_INIT
        mov qword [vec], NONE
        test r15, r15
        jz .loop_init
        mov ecx, MSR_SPEC_CTRL
        mov rax, r15
        mov rdx, r15
        shr rdx, 32
        TRY wrmsr
.loop_init:
        HV_REPORT 3, [vec]
        xor r12d, r12d          ; mismatches
        xor r13d, r13d          ; reads
.loop:  HV_YIELD
        mov ecx, MSR_SPEC_CTRL
        xor eax, eax
        xor edx, edx
        TRY rdmsr
        shl rdx, 32
        or rax, rdx
        mov r14, rax
        cmp rax, r15
        je .same
        inc r12
.same:  inc r13
        cmp r13, ROUNDS
        jb .loop
        HV_REPORT 0, r12
        HV_REPORT 1, r14
        HV_REPORT 2, r13
        test r12, r12
        jnz .bad
        HV_PRINTLN 'spec_ctrl: value kept across switches'
        HV_EXIT 0
.bad:   HV_PRINTLN 'spec_ctrl: WRONG value read back'
        HV_EXIT 1

CATCHER                         ; the IDT, handlers and their data
