; guest/hostile_predcmd_bits.asm - every reserved bit of IA32_PRED_CMD and
; IA32_SPEC_CTRL, one at a time, where hv offers IBPB (virtual_ibpb = on).
;
; PRED_CMD accepts bit 0 (IBPB) and bit 7 (SBPB); SPEC_CTRL bits 0-2. Every
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

; ---- exception catcher (the same block in each hostile guest that uses one)
; CATCH_INIT builds a 32-vector IDT: every exception records its vector,
; error code and RIP, counts, and resumes at [resume] (set by TRY), or, with
; no resume address, prints what happened and exits 99.
; TRY insn...: runs one instruction; afterwards [vec] = the vector it raised
; (NONE = 255 if none). Preserves every register except flags (the
; instruction's own effects aside).
NONE equ 255

%macro CATCH_INIT 0
        lea rdi, [idt]
        lea rax, [exc_stubs]
        mov ecx, 32
%%gate: mov rdx, rax
        mov [rdi], dx                   ; offset 15:0
        mov word [rdi + 2], HV_SEL_CODE
        mov word [rdi + 4], 0x8E00      ; present, DPL 0, interrupt gate
        shr rdx, 16
        mov [rdi + 6], dx               ; offset 31:16
        shr rdx, 16
        mov [rdi + 8], rdx              ; offset 63:32, reserved
        add rdi, 16
        add rax, 16
        dec ecx
        jnz %%gate
        lidt [idtr]
%endmacro

%macro TRY 1+
        mov qword [vec], NONE
        push rax
        lea rax, [%%after]
        mov [resume], rax
        pop rax
        %1
%%after:
        mov qword [resume], 0
%endmacro

%macro CATCHER 0
        align 16
exc_stubs:
%assign __v 0
%rep 32
        align 16
  %if __v == 8 || (__v >= 10 && __v <= 14) || __v == 17 || __v == 21 || __v == 29 || __v == 30
        push qword __v                  ; the CPU pushed an error code
  %else
        push qword 0                    ; no error code: push a 0 in its place
        push qword __v
  %endif
        jmp exc_common
%assign __v __v + 1
%endrep
exc_common:                             ; [rsp] vector, error, RIP, CS, RFLAGS, RSP, SS
        push rax
        mov rax, [rsp + 8]
        mov [vec], rax
        mov rax, [rsp + 16]
        mov [err], rax
        mov rax, [rsp + 24]
        mov [fault_rip], rax
        inc qword [exc_count]
        mov rax, [resume]
        test rax, rax
        jz %%unexpected
        mov [rsp + 24], rax             ; resume after the tried instruction
        pop rax
        add rsp, 16
        iretq
%%unexpected:
        HV_PRINT 'unexpected exception, vector '
        HV_PUTDEC [vec]
        HV_PRINT ' error 0x'
        HV_PUTHEX [err], 8
        HV_PRINT ' at rip 0x'
        HV_PUTHEX64 [fault_rip]
        HV_NEWLINE
        HV_EXIT 99

        align 16
idt:    times 32 dq 0, 0
idtr:   dw 32 * 16 - 1
        dq idt
vec:       dq NONE
err:       dq 0
fault_rip: dq 0
resume:    dq 0
exc_count: dq 0
%endmacro

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
