; guest/hostile_predcmd_bits.asm - every reserved bit of IA32_PRED_CMD and
; IA32_SPEC_CTRL, one at a time, where hv offers IBPB (virtual_ibpb = on).
;
; PRED_CMD accepts bit 0 (IBPB) and, only where the CPU has SBPB, bit 7 (not
; tried here: guest/hostile_sbpb.asm); SPEC_CTRL bits 0-2. Every
; other bit must raise #GP, and a rejected write must not count as a guest
; barrier nor opt the VM in (the scenario checks pred_cmd_writes=0 and
; opted_in=0).
;   counter 0  #GPs from wrmsr PRED_CMD = 1 << b, b = 1..63 except 7    62
;   counter 1  #GPs from wrmsr SPEC_CTRL = 1 << b, b = 3..63            61
;   counter 2  vector of wrmsr PRED_CMD = 0x3 (IBPB + reserved bit 1)   13
;   counter 3  vector of rdmsr PRED_CMD (write-only)                    13
;   counter 4  SPEC_CTRL read back at the end                           0
; Exits 0.
;
; Config: mode = long, vcpus = 1, virtual_ibpb = on.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY, CATCHER): guest/catch.inc
%include "catch.inc"

start:
        CATCH_INIT
        xor r12d, r12d
        mov r13d, 1             ; bit
.pc:    cmp r13d, 7
        je .pc_next
        xor eax, eax
        xor edx, edx
        bts rax, r13            ; 1 << bit in EDX:EAX
        mov rdx, rax
        shr rdx, 32
        mov ecx, MSR_PRED_CMD
        TRY wrmsr
        cmp qword [vec], 13
        jne .pc_next
        inc r12
.pc_next:
        inc r13d
        cmp r13d, 64
        jb .pc
        HV_REPORT 0, r12

        xor r12d, r12d
        mov r13d, 3
.sc:    xor eax, eax
        bts rax, r13
        mov rdx, rax
        shr rdx, 32
        mov ecx, MSR_SPEC_CTRL
        TRY wrmsr
        cmp qword [vec], 13
        jne .sc_next
        inc r12
.sc_next:
        inc r13d
        cmp r13d, 64
        jb .sc
        HV_REPORT 1, r12

        mov ecx, MSR_PRED_CMD
        mov eax, 3
        xor edx, edx
        TRY wrmsr
        HV_REPORT 2, [vec]
        mov ecx, MSR_PRED_CMD
        TRY rdmsr
        HV_REPORT 3, [vec]
        mov ecx, MSR_SPEC_CTRL
        xor eax, eax
        xor edx, edx
        TRY rdmsr
        shl rdx, 32
        or rax, rdx
        HV_REPORT 4, rax
        HV_PRINTLN 'predcmd bits: done'
        HV_EXIT 0

CATCHER                         ; the IDT, handlers and their data
