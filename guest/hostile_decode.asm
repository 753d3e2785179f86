; guest/hostile_decode.asm - an exiting instruction remembered by hv's
; decoder (SVM without NRIPS: hv decodes instruction lengths itself and
; remembers the last one), then its code page remapped, then a CR4 write in
; that page, then the same address again.
;
; Linear page L = 0x40000000 is mapped by the guest's own 4 KiB tables:
;   frame F1 at L+0x100: 0F A2 (CPUID, 2 bytes), C3
;   frame F2 at L+0x100: 3E 0F A2 (CPUID with a DS prefix, 3 bytes), C3,
;            then 7 bytes that make a 2-byte skip land on A2 moffs64
;            with a non-canonical address (#GP)
;   both at L+0x200: MOV CR4, RAX; RET
; Steps: call L+0x100 twice (F1: the CPUID is decoded and remembered);
; PTE -> F2, INVLPG; call L+0x200 (a CR4 write exit: hv decodes it from F2,
; replacing its remembered page walk); call L+0x100 (F2's 3-byte CPUID).
; If hv still trusts the instruction it remembered from F1 it skips 2
; bytes, and the guest takes #GP at L+0x102.
;   counter 0  vector seen in the last call (255 = none)        255
; Exits 0 (also when the #GP happened: the counter tells).
;
; Config: mode = long, vcpus = 1. Meaningful where hv decodes lengths
; (QEMU: no NRIPS).

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

%include "catch.inc"

L equ 0x40000000

start:
        CATCH_INIT
        ; PDPT[1] -> pd, pd[0] -> pt, pt[0] -> F1
        lea rax, [pd]
        or rax, 3
        mov [abs HV_PDPT + 8], rax
        lea rax, [pt]
        or rax, 3
        mov [pd], rax
        lea rax, [f1]
        or rax, 3
        mov [pt], rax
        mov rax, cr3
        mov cr3, rax
        mov rbx, L + 0x100
        call rbx                        ; CPUID from F1: decoded, remembered
        mov rbx, L + 0x100
        call rbx                        ; (and again: the remembered one)
        lea rax, [f2]
        or rax, 3
        mov [pt], rax                   ; remap L to F2
        invlpg [abs L]
        mov rax, cr4
        mov rbx, L + 0x200
        call rbx                        ; MOV CR4 (same value) from F2: a CR4-write exit
        mov r13, rsp
        mov rbx, L + 0x100
        TRY call rbx                    ; F2's 3-byte CPUID
        mov rsp, r13
        HV_REPORT 0, [vec]
        cmp qword [vec], NONE
        jne .bad
        HV_PRINTLN 'remapped code page: decoded from its new frame'
        HV_EXIT 0
.bad:   HV_PRINT 'remapped code page: exception '
        HV_PUTDEC [vec]
        HV_PRINT ' at rip 0x'
        HV_PUTHEX64 [fault_rip]
        HV_PRINTLN ' (a stale instruction length)'
        HV_EXIT 0

        CATCHER

        align 4096
pd:     times 512 dq 0
pt:     times 512 dq 0
f1:     times 0x100 db 0xCC
        db 0x0F, 0xA2, 0xC3
        times 0x200 - ($ - f1) db 0xCC
        db 0x0F, 0x22, 0xE0, 0xC3       ; mov cr4, rax; ret
        times 4096 - ($ - f1) db 0xCC
f2:     times 0x100 db 0xCC
        db 0x3E, 0x0F, 0xA2, 0xC3
        db 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F
        times 0x200 - ($ - f2) db 0xCC
        db 0x0F, 0x22, 0xE0, 0xC3
        times 4096 - ($ - f2) db 0xCC
