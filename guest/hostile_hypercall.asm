; guest/hostile_hypercall.asm - hypercalls with garbage: unknown numbers,
; garbage in RAX's upper half, counter indexes and pCPU numbers out of
; range, huge values. Every refused call must return -1 (HC_ERROR) and leave
; every other register as it was; nothing may reach outside the VM.
;
; Checks (each one adds 1 to "passed" or to "failed"):
;   numbers 5, 6, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF       -> -1
;   RAX = 0xDEADBEEF00000005 (EAX = 5: unknown)                        -> -1
;   HC_REPORT index 16, 0xFFFFFFFF, 0x100000000, -1                    -> -1
;   HC_MIGRATE to pCPU 1, 63, 64, 0xFFFFFFFF, -1 (config: 1 pCPU)      -> -1
;   ... and after each of those, RBX RCX RDX RSI RDI RBP R8-R15 unchanged
;   HC_REPORT 15 = 0xFFFFFFFFFFFFFFFF                                  -> 0
;   HC_MIGRATE 0 (the pCPU it is on)                                   -> 0
; counter 0 = passed (19), counter 1 = failed (0), counter 15 = 2^64 - 1.
; Finally HC_EXIT with RBX = 0xFFFFFFFF1234562A: only the low 8 bits count,
; so the VM ends with exit 42.
;
; Config: mode = long, vcpus = 1, pcpus = 1. Expected: exit 42, counters.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; CALL_EXPECT rax, rbx, expected result: sets every other register to a
; pattern, makes the call, checks the result and the registers.
%macro CALL_EXPECT 3
        mov rax, %1
        mov [nr], rax
        mov rax, %2
        mov [arg], rax
        mov rax, %3
        mov [want], rax
        call checked_call
%endmacro

start:
        CALL_EXPECT 5, 0, -1
        CALL_EXPECT 6, 0, -1
        CALL_EXPECT 0x7FFFFFFF, 0, -1
        CALL_EXPECT 0x80000000, 0, -1
        CALL_EXPECT 0xFFFFFFFE, 0, -1
        CALL_EXPECT 0xFFFFFFFF, 0, -1
        CALL_EXPECT 0xDEADBEEF00000005, 0, -1
        CALL_EXPECT HC_REPORT, 16, -1
        CALL_EXPECT HC_REPORT, 0xFFFFFFFF, -1
        CALL_EXPECT HC_REPORT, 0x100000000, -1
        CALL_EXPECT HC_REPORT, -1, -1
        CALL_EXPECT HC_MIGRATE, 1, -1
        CALL_EXPECT HC_MIGRATE, 63, -1
        CALL_EXPECT HC_MIGRATE, 64, -1
        CALL_EXPECT HC_MIGRATE, 0xFFFFFFFF, -1
        CALL_EXPECT HC_MIGRATE, -1, -1
        CALL_EXPECT HC_MIGRATE, 0, 0
        ; counter 15 = all ones (RCX is the value; checked_call sets RCX to
        ; a pattern, so this one is done by hand)
        mov ebx, 15
        mov rcx, -1
        mov eax, HC_REPORT
        vmmcall
        call tally_zero
        ; an unknown number whose RBX/RCX/RDX are garbage too
        mov rbx, -1
        mov rcx, -1
        mov rdx, -1
        mov eax, 0x12345
        vmmcall
        cmp rax, -1
        jne .bad
        inc qword [passed]
        jmp .report
.bad:   inc qword [failed]
.report:
        HV_REPORT 0, [passed]
        HV_REPORT 1, [failed]
        HV_PRINT 'hypercall garbage: '
        HV_PUTDEC [passed]
        HV_PRINT ' passed, '
        HV_PUTDEC [failed]
        HV_PRINTLN ' failed; exiting with RBX = 0xffffffff1234562a'
        mov rbx, 0xFFFFFFFF1234562A
        mov eax, HC_EXIT
        vmmcall
        HV_EXIT 1               ; not reached

tally_zero:                     ; RAX must be 0
        test rax, rax
        jnz .f
        inc qword [passed]
        ret
.f:     inc qword [failed]
        HV_PRINTLN 'FAIL: a valid call did not return 0'
        ret

; one call: RAX = [nr], RBX = [arg], the rest = patterns
checked_call:
        push rbp
        mov rbp, 0x5555000000000005
        mov rcx, 0x1111000000000001
        mov rdx, 0x2222000000000002
        mov rsi, 0x3333000000000003
        mov rdi, 0x4444000000000004
        mov r8,  0x8888000000000008
        mov r9,  0x9999000000000009
        mov r10, 0xAAAA00000000000A
        mov r11, 0xBBBB00000000000B
        mov r12, 0xCCCC00000000000C
        mov r13, 0xDDDD00000000000D
        mov r14, 0xEEEE00000000000E
        mov r15, 0xFFFF00000000000F
        mov rbx, [arg]
        mov rax, [nr]
        vmmcall
        cmp rax, [want]
        jne .fail
        cmp rbx, [arg]
        jne .fail
        mov rax, 0x1111000000000001
        cmp rcx, rax
        jne .fail
        mov rax, 0x2222000000000002
        cmp rdx, rax
        jne .fail
        mov rax, 0x3333000000000003
        cmp rsi, rax
        jne .fail
        mov rax, 0x4444000000000004
        cmp rdi, rax
        jne .fail
        mov rax, 0x5555000000000005
        cmp rbp, rax
        jne .fail
        mov rax, 0x8888000000000008
        cmp r8, rax
        jne .fail
        mov rax, 0x9999000000000009
        cmp r9, rax
        jne .fail
        mov rax, 0xAAAA00000000000A
        cmp r10, rax
        jne .fail
        mov rax, 0xBBBB00000000000B
        cmp r11, rax
        jne .fail
        mov rax, 0xCCCC00000000000C
        cmp r12, rax
        jne .fail
        mov rax, 0xDDDD00000000000D
        cmp r13, rax
        jne .fail
        mov rax, 0xEEEE00000000000E
        cmp r14, rax
        jne .fail
        mov rax, 0xFFFF00000000000F
        cmp r15, rax
        jne .fail
        inc qword [passed]
        pop rbp
        ret
.fail:
        inc qword [failed]
        HV_PRINT 'FAIL: hypercall 0x'
        HV_PUTHEX64 [nr]
        HV_PRINT ' arg 0x'
        HV_PUTHEX64 [arg]
        HV_PRINTLN ': wrong result or a register changed'
        pop rbp
        ret

nr:     dq 0
arg:    dq 0
want:   dq 0
passed: dq 0
failed: dq 0
