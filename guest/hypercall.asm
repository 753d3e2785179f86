; guest/hypercall.asm - checks the hypercall conventions themselves:
;   1. HC_VCPU_ID returns the same id and count as RDI/RSI at start
;   2. an unknown hypercall number returns -1 (all ones in RAX)
;   3. ... and preserves every register except RAX
;   4. HC_REPORT with counter index 16 (one too many) returns -1
;   5. HC_MIGRATE to a pCPU that cannot exist (1000) returns -1
; Exits 0, or with the number of the first check that failed.
;
; Config: mode = long, any vcpus, any memory.
; Expected result: exit 0.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

HC_UNKNOWN equ 0x4242           ; not a hypercall number
NO_PCPU    equ 1000             ; above hv's pCPU limit

; REG(i): the 64-bit register with encoding number i (0 = rax ... 15 = r15)
%define REG(i) __REG %+ i
%define __REG0 rax
%define __REG1 rcx
%define __REG2 rdx
%define __REG3 rbx
%define __REG4 rsp
%define __REG5 rbp
%define __REG6 rsi
%define __REG7 rdi
%define __REG8 r8
%define __REG9 r9
%define __REG10 r10
%define __REG11 r11
%define __REG12 r12
%define __REG13 r13
%define __REG14 r14
%define __REG15 r15

start:
        mov r12, rdi            ; id at start
        mov r13, rsi            ; count at start

        ; 1. HC_VCPU_ID
        HV_VCPU_ID
        cmp rax, r12
        jne fail1
        cmp rbx, r13
        jne fail1

        ; 2./3. unknown number, with a distinct value in every other register
        ; (r12/r13 are kept on this vCPU's stack; RBP gets a copy of RSP,
        ; so comparing the two afterwards checks both)
        push r12
        push r13
        mov rbp, rsp
%assign i 0
%rep 16                         ; register i = 0x0i0i0i0i0i0i0i0i
  %if i != 0 && i != 4 && i != 5 ; not rax (result), rsp, rbp (= rsp)
        mov REG(i), 0x0101010101010101 * i
  %endif
  %assign i i + 1
%endrep
        HV_HYPERCALL HC_UNKNOWN ; only loads EAX: the values above stay
        cmp rax, HC_ERROR       ; imm32 -1, sign-extended: all ones
        jne fail2
%assign i 0
%rep 16
  %if i != 0 && i != 4 && i != 5
        mov rax, 0x0101010101010101 * i
        cmp REG(i), rax
        jne fail3
  %endif
  %assign i i + 1
%endrep
        cmp rsp, rbp
        jne fail3
        pop r13
        pop r12

        ; 4. bad counter index
        HV_REPORT HV_NUM_COUNTERS, 1
        cmp rax, HC_ERROR
        jne fail4

        ; 5. migration to a pCPU that does not exist
        HV_MIGRATE NO_PCPU
        cmp rax, HC_ERROR
        jne fail5

        HV_PRINT 'vCPU '
        HV_PUTDEC r12
        HV_PRINTLN ': hypercall conventions ok'
        HV_EXIT 0

%macro FAIL 2                   ; FAIL n, 'text'
fail%1:
        HV_PRINTLN 'FAIL: ', %2
        HV_EXIT %1
%endmacro
        FAIL 1, 'HC_VCPU_ID does not match RDI/RSI at start'
        FAIL 2, 'unknown hypercall did not return -1'
        FAIL 3, 'unknown hypercall changed a register other than RAX'
        FAIL 4, 'HC_REPORT accepted counter index 16'
        FAIL 5, 'HC_MIGRATE accepted a pCPU that does not exist'
