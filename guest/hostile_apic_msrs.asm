; guest/hostile_apic_msrs.asm - the interrupt controller through MSRs:
; IA32_APIC_BASE (0x1B), the x2APIC registers and the TSC deadline.
;
; hv gives guests no APIC (docs/guest-abi.md: every MSR outside its short
; list raises #GP). If any of these reached the host, the guest could move
; or disable hv's LAPIC (its scheduling timer), send INIT IPIs to other
; pCPUs, or end hv's timer: the other VM would then never finish.
;   counter 0  rdmsr APIC_BASE                                  13
;   counter 1  wrmsr APIC_BASE = 0xFEE00900 (x2APIC mode)       13
;   counter 2  wrmsr APIC_BASE = 0 (APIC disabled)              13
;   counter 3  wrmsr x2APIC ICR (0x830) = INIT to all but self  13
;   counter 4  wrmsr x2APIC EOI (0x80B) = 0                     13
;   counter 5  wrmsr x2APIC timer initial count (0x838) = 0     13
;   counter 6  wrmsr TSC_DEADLINE (0x6E0) = 1                   13
;   counter 7  wrmsr TSC (0x10) = 0                             13
; Vectors: 13 = #GP, 255 = none. Exits 0.
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

%macro WR 2
        mov ecx, %1
        mov eax, %2
        xor edx, edx
        TRY wrmsr
%endmacro

start:
        CATCH_INIT
        mov ecx, 0x1B
        TRY rdmsr
        HV_REPORT 0, [vec]
        WR 0x1B, 0xFEE00900
        HV_REPORT 1, [vec]
        WR 0x1B, 0
        HV_REPORT 2, [vec]
        WR 0x830, 0x000C4500
        HV_REPORT 3, [vec]
        WR 0x80B, 0
        HV_REPORT 4, [vec]
        WR 0x838, 0
        HV_REPORT 5, [vec]
        WR 0x6E0, 1
        HV_REPORT 6, [vec]
        WR 0x10, 0
        HV_REPORT 7, [vec]
        HV_PRINTLN 'apic msrs: done'
        HV_EXIT 0

CATCHER                         ; the IDT, handlers and their data
