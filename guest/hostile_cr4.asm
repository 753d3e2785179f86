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
