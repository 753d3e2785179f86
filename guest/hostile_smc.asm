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

; the exception catcher (CATCH_INIT, TRY, CATCHER): guest/catch.inc
%include "catch.inc"

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
