; guest/hostile_cr4.asm - setting CR4 bits for features hv hides in CPUID.
;
; CPUID tells the guest there is no XSAVE (leaf 1 ECX[26] clear) and no VMX.
; On a CPU without those features, setting CR4.OSXSAVE (bit 18) or
; CR4.VMXE (bit 13) raises #GP. A guest that can set CR4.OSXSAVE anyway can
; run XGETBV/XSAVE/XRSTOR natively against the host's XCR0: where hv's
; firmware enabled AVX or AVX-512 state in XCR0, that state (not switched by
; hv's FXSAVE) would then be shared between VMs.
;   counter 0  vector of mov cr4 with OSXSAVE set     13 (#GP)
;   counter 1  vector of mov cr4 with VMXE set        13 (#GP)
;   counter 2  XCR0 as XGETBV shows it, if OSXSAVE could be set (else 0):
;              printed, not judged
; Vectors: 255 = no exception. Exits 0.
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
        mov r12, cr4
        mov rax, r12
        bts rax, 18
        TRY mov cr4, rax
        mov r13, [vec]
        HV_REPORT 0, r13
        xor r14d, r14d
        cmp r13, NONE
        jne .vmxe
        xor ecx, ecx
        TRY xgetbv
        mov r14d, eax
        HV_PRINT 'CR4.OSXSAVE could be set; host XCR0 = 0x'
        HV_PUTHEX r14, 8
        HV_NEWLINE
        mov cr4, r12            ; back to the start value
.vmxe:
        HV_REPORT 2, r14
        mov rax, r12
        bts rax, 13
        TRY mov cr4, rax
        HV_REPORT 1, [vec]
        HV_PRINTLN 'cr4: done'
        HV_EXIT 0

CATCHER                         ; the IDT, handlers and their data
