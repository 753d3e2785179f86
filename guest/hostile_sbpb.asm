; guest/hostile_sbpb.asm - the same PRED_CMD write of bit 7 (AMD's SBPB)
; before and after the vCPU's first IBPB. With track = passthrough the
; first IBPB ends hv's interception of PRED_CMD, so the second write goes
; to the CPU: hv must have answered the first one as that CPU will.
;   counter 0  vector of wrmsr PRED_CMD = 0x80 before any IBPB   (255 = none)
;   counter 1  vector of wrmsr PRED_CMD = 0x01 (IBPB)              255
;   counter 2  vector of wrmsr PRED_CMD = 0x80 after the IBPB
;   counter 3  1 if counters 0 and 2 agree                         1
;   counter 4  CPUID 8000_0021h EAX[27] (SBPB) as the guest sees it
; Exits 0.
;
; Config: mode = long, vcpus = 1, a pCPU with IBPB (or virtual_ibpb = on).

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

%include "catch.inc"

start:
        CATCH_INIT
        mov eax, 0x80000000
        cpuid
        cmp eax, 0x80000021
        jb .w
        mov eax, 0x80000021
        xor ecx, ecx
        cpuid
        shr eax, 27
        and eax, 1
        mov [sbpb], rax
.w:     TRY_WRMSR MSR_PRED_CMD, PRED_CMD_SBPB
        mov rax, [vec]
        mov [before], rax
        TRY_WRMSR MSR_PRED_CMD, PRED_CMD_IBPB
        mov rax, [vec]
        mov [ibpb], rax
        TRY_WRMSR MSR_PRED_CMD, PRED_CMD_SBPB
        mov rax, [vec]
        mov [after], rax
        xor eax, eax
        mov rcx, [before]
        cmp rcx, [after]
        sete al
        mov [same], rax
        HV_REPORT 0, [before]
        HV_REPORT 1, [ibpb]
        HV_REPORT 2, [after]
        HV_REPORT 3, [same]
        HV_REPORT 4, [sbpb]
        HV_PRINT 'PRED_CMD bit 7: vector '
        HV_PUTDEC [before]
        HV_PRINT ' before the first IBPB, '
        HV_PUTDEC [after]
        HV_PRINT ' after (255 = accepted); CPUID SBPB '
        HV_PUTDEC [sbpb]
        HV_NEWLINE
        HV_EXIT 0

        CATCHER
before: dq 0
ibpb:   dq 0
after:  dq 0
same:   dq 0
sbpb:   dq 0
