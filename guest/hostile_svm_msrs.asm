; guest/hostile_svm_msrs.asm - rdmsr/wrmsr of the SVM control MSRs that hv
; itself depends on: VM_CR (0xC0010114) and VM_HSAVE_PA (0xC0010117).
;
; A guest that could write VM_HSAVE_PA would point the next VMRUN's host
; save area at memory of its choosing; one that could set VM_CR.SVMDIS would
; switch SVM off under hv. hv hides SVM, so both MSRs must not exist for the
; guest: every access raises #GP (vector 13).
;   counter 0  rdmsr VM_CR                     13
;   counter 1  wrmsr VM_CR = 0x10 (SVMDIS)     13
;   counter 2  rdmsr VM_HSAVE_PA               13
;   counter 3  wrmsr VM_HSAVE_PA = 0           13
;   counter 4  wrmsr VM_HSAVE_PA = 0x100000    13 (the guest's own image)
; Exits 0; hv and the other VM must go on working (the scenario checks).
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

MSR_VM_CR       equ 0xC0010114
MSR_VM_HSAVE_PA equ 0xC0010117

%macro WR 2                     ; WR msr, value
        mov ecx, %1
        mov eax, %2
        xor edx, edx
        TRY wrmsr
%endmacro
%macro RD 1
        mov ecx, %1
        TRY rdmsr
%endmacro

start:
        CATCH_INIT
        RD MSR_VM_CR
        HV_REPORT 0, [vec]
        WR MSR_VM_CR, 0x10
        HV_REPORT 1, [vec]
        RD MSR_VM_HSAVE_PA
        HV_REPORT 2, [vec]
        WR MSR_VM_HSAVE_PA, 0
        HV_REPORT 3, [vec]
        WR MSR_VM_HSAVE_PA, 0x100000
        HV_REPORT 4, [vec]
        ; prove the vCPU still enters and exits normally
        mov eax, CPUID_HV_LEAF
        cpuid
        HV_PRINTLN 'svm msrs: done'
        HV_EXIT 0

CATCHER                         ; the IDT, handlers and their data
