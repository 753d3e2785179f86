; guest/hostile_smc.asm - self-modifying code under CPUID: 1000 times, the
; guest rewrites a 6-byte slot with another encoding of CPUID (different
; prefixes, so a different length) right before executing it.
;
; Without NRIPS hv decodes the exiting instruction from guest memory to
; find its length; it must decode the bytes as they are now, not as they
; were at an earlier exit. Every variant ends at the same address, so a
; wrong length is caught: too short re-executes part of the slot, too long
; skips the `inc r15` marker after it.
;   counter 0  iterations with the right CPUID result and one marker   1000
;   counter 1  iterations that went wrong                              0
; Exits 0; the scenario also checks exactly 1000 CPUID exits.
;
; Config: mode = long, vcpus = 1.

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
        xor r12d, r12d          ; iteration
        xor r13d, r13d          ; good
        xor r14d, r14d          ; bad
.loop:
        mov eax, r12d
        and eax, 3
        lea rsi, [variants + rax * 8]
        mov rax, [rsi]
        lea rdi, [slot]
        mov [rdi], eax          ; 6 bytes of the variant
        shr rax, 32
        mov [rdi + 4], ax
        xor r15d, r15d
        mov eax, CPUID_HV_LEAF
        xor ebx, ebx
        TRY call slot
        cmp qword [vec], NONE
        jne .bad
        cmp r15d, 1
        jne .bad
        cmp ebx, HV_SIG_EBX
        jne .bad
        inc r13
        jmp .next
.bad:   inc r14
        cmp r14, 5
        ja .next
        HV_PRINT 'FAIL: variant '
        mov eax, r12d
        and eax, 3
        HV_PUTDEC rax
        HV_PRINT ' markers '
        HV_PUTDEC r15
        HV_PRINT ' vector '
        HV_PUTDEC [vec]
        HV_NEWLINE
.next:  inc r12d
        cmp r12d, 1000
        jb .loop
        HV_REPORT 0, r13
        HV_REPORT 1, r14
        HV_PRINTLN 'smc: done'
        HV_EXIT 0

        align 8
variants:                       ; 6 bytes each, all ending in 0F A2 (CPUID)
        db 0x90, 0x90, 0x90, 0x90, 0x0F, 0xA2, 0, 0   ; nops, plain CPUID
        db 0x90, 0x90, 0x66, 0x66, 0x0F, 0xA2, 0, 0   ; 4 bytes
        db 0x2E, 0x3E, 0x26, 0x64, 0x0F, 0xA2, 0, 0   ; 6 bytes
        db 0x90, 0xF3, 0x66, 0x2E, 0x0F, 0xA2, 0, 0   ; 5 bytes

        align 16
slot:   db 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC         ; rewritten each time
        inc r15d                ; the marker: must run exactly once
        ret

CATCHER                         ; the IDT, handlers and their data
