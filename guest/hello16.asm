; guest/hello16.asm - a real-mode guest: every vCPU checks that it really
; starts in real mode (CR0.PE clear), prints one line and exits 0.
;
; Config: mode = real, any vcpus, any memory.
; Expected result: exit 0 (exit 1 if a vCPU finds CR0.PE set).

bits 16
%include "hv.inc"
org HV_REAL_ENTRY

start:
        ; CS = DS = ES = SS = 0, IP = 0x7C00, EDI = vCPU id, ESI = vCPU count.
        ; No BIOS: never use INT n. 32-bit registers work in real mode.
        smsw ax                 ; low 16 bits of CR0
        test al, 1              ; PE
        jnz .not_real

        HV_PRINT 'hello from real mode, vCPU '
        HV_PUTDEC edi
        HV_PRINT ' of '
        HV_PUTDEC esi
        HV_NEWLINE
        HV_EXIT 0

.not_real:
        HV_PRINTLN 'FAIL: CR0.PE is set, this is not real mode'
        HV_EXIT 1
