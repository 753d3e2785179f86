; guest/hostile_vmx_insn.asm - the Intel VMX (and SMX) instructions. hv
; offers no nested virtualization and hides VMX in CPUID, so each must
; raise #UD (vector 6), on AMD (where the CPU has no VMX) and under hv's
; VT-x backend (where they cause VM exits and hv must inject #UD).
;   counter 0 VMXON    1 VMCALL   2 VMLAUNCH  3 VMRESUME  4 VMXOFF
;           5 VMPTRLD  6 VMPTRST  7 VMCLEAR   8 VMREAD    9 VMWRITE
;          10 INVEPT  11 INVVPID 12 VMFUNC   13 GETSEC
; expected 6 each (255 = no exception). Exits 0.
;
; Config: mode = long, vcpus = 1. Expected result: exit 0 and the counters.

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

%macro T 2+                     ; T counter, instruction
        xor eax, eax
        xor ecx, ecx
        TRY %2
        HV_REPORT %1, [vec]
%endmacro

start:
        CATCH_INIT
        T 0, vmxon [region]
        T 1, vmcall
        T 2, vmlaunch
        T 3, vmresume
        T 4, vmxoff
        T 5, vmptrld [region]
        T 6, vmptrst [region]
        T 7, vmclear [region]
        T 8, vmread rax, rcx
        T 9, vmwrite rcx, rax
        T 10, invept rax, [region]
        T 11, invvpid rax, [region]
        T 12, vmfunc
        T 13, getsec
        HV_PRINTLN 'vmx instructions: done'
        HV_EXIT 0

        align 16
region: dq 0x1E000000, 0

CATCHER                         ; the IDT, handlers and their data
