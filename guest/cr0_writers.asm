; guest/cr0_writers.asm - the instructions besides MOV that write CR0: CLTS
; and LMSW. hv intercepts every CR0 write (SVM: the CR0-write intercept also
; fires for CLTS and LMSW; VT-x: the CR0 guest/host mask) and must emulate
; them as the CPU would (SDM Vol. 2A CLTS, LMSW):
;   counter 0  CR0[3:0] after setting TS, then CLTS        3 (PE MP)
;   counter 1  ... after LMSW ax=0xE (MP EM TS)            0xF (PE stays)
;   counter 2  ... after LMSW ax=0 (cannot clear PE)       1
;   counter 3  ... after LMSW ax=2 (MP back)               3
; Then LMSW with a memory operand: on VT-x the CPU hands hv the operand and
; it is emulated (counter 4 = 3, exit 0); on SVM hv does not decode memory
; operands, so the VM ends with the reason "LMSW with a memory operand".
;
; Config: mode = long, vcpus = 1.
bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

%macro REPORT_CR0_LOW 1         ; counter %1 = CR0[3:0]
        mov rax, cr0
        and eax, 0xF
        HV_REPORT %1, rax
%endmacro

start:
        mov rax, cr0
        or rax, 8               ; TS
        mov cr0, rax
        clts
        REPORT_CR0_LOW 0
        mov eax, 0xE
        lmsw ax
        REPORT_CR0_LOW 1
        xor eax, eax
        lmsw ax
        REPORT_CR0_LOW 2
        mov eax, 2
        lmsw ax
        REPORT_CR0_LOW 3
        lmsw [msw]              ; MP only, as now
        REPORT_CR0_LOW 4
        HV_PRINTLN 'cr0 writers: done'
        HV_EXIT 0

msw:    dw 0x0002
