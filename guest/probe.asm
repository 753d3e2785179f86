; guest/probe.asm - checks what hv shows the guest through CPUID and MSRs.
;
; Every rdmsr runs under TRY_GP (guest/catch.inc), which counts #GPs; any
; other exception ends the guest (exit 98, or 99 outside a TRY). Checks,
; printing "ok:" or "FAIL:" for each:
;   - CPUID.1:ECX: hypervisor bit set; VMX, MONITOR, XSAVE, OSXSAVE clear
;   - CPUID.80000001h:ECX: SVM clear
;   - CPUID.40000000h: EAX = 0x40000010, signature "hvhypervisor"
;   - rdmsr TSC (0x10) works twice and the value increases
;   - rdmsr of an MSR hv does not emulate (0x12345) raises exactly one #GP
; It also prints the CPU vendor string and the hypervisor signature.
; Reports counter 0 = #GPs taken (expected 1), counter 1 = 1 if every check
; passed (else 0), and exits with 0, or with the status of the first check
; that failed (FAIL_* below).
;
; Config: mode = long, vcpus = 1 (other vCPUs just exit 0), any memory.
; Expected result: exit 0, vm.NAME.counter.0=1, vm.NAME.counter.1=1.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY_GP, CATCHER): guest/catch.inc
%include "catch.inc"

; exit status per failed check
FAIL_HV_BIT     equ 1   ; CPUID.1:ECX[31] (hypervisor) is clear
FAIL_VMX        equ 2   ; CPUID.1:ECX[5] (VMX) is set
FAIL_HIDDEN     equ 3   ; CPUID.1:ECX MONITOR[3], XSAVE[26] or OSXSAVE[27] is set
FAIL_SVM        equ 4   ; CPUID.80000001h:ECX[2] (SVM) is set
FAIL_HV_LEAF    equ 5   ; CPUID.40000000h:EAX is not 0x40000010
FAIL_HV_SIG     equ 6   ; CPUID.40000000h signature is not "hvhypervisor"
FAIL_TSC_GP     equ 7   ; rdmsr TSC raised #GP
FAIL_TSC        equ 8   ; TSC did not increase between two reads
FAIL_MSR_GP     equ 9   ; unknown MSR: not exactly one #GP

MSR_UNKNOWN     equ 0x12345

; CHECK cc, status, 'text': after a cmp/test, the check passes if condition
; cc holds. Prints "ok: text" or "FAIL: text"; a failure records status
; unless an earlier check already failed.
%macro CHECK 3
        j%-1 %%fail
        HV_PRINTLN 'ok:   ', %3
        jmp %%done
%%fail:
        HV_PRINTLN 'FAIL: ', %3
        cmp byte [first_fail], 0
        jne %%done
        mov byte [first_fail], %2
%%done:
%endmacro

start:
        test rdi, rdi
        jz .vcpu0
        HV_EXIT 0               ; meant for one vCPU: the others leave
.vcpu0:
        CATCH_INIT

        ; ---- vendor string: CPUID.0 EBX, EDX, ECX
        xor eax, eax
        xor ecx, ecx
        cpuid
        mov [vendor], ebx
        mov [vendor + 4], edx
        mov [vendor + 8], ecx
        HV_PRINT 'cpu vendor: '
        HV_PUTS vendor
        HV_NEWLINE

        ; ---- CPUID.1:ECX feature bits
        mov eax, 1
        xor ecx, ecx
        cpuid
        mov r12d, ecx
        test r12d, CPUID_1_ECX_HYPERVISOR
        CHECK nz, FAIL_HV_BIT, 'CPUID.1:ECX.hypervisor[31] is set'
        test r12d, CPUID_1_ECX_VMX
        CHECK z, FAIL_VMX, 'CPUID.1:ECX.VMX[5] is clear'
        test r12d, CPUID_1_ECX_MONITOR | CPUID_1_ECX_XSAVE | CPUID_1_ECX_OSXSAVE
        CHECK z, FAIL_HIDDEN, 'CPUID.1:ECX MONITOR[3], XSAVE[26], OSXSAVE[27] are clear'

        ; ---- CPUID.80000001h:ECX.SVM (every x86-64 CPU has this leaf)
        mov eax, 0x80000001
        xor ecx, ecx
        cpuid
        test ecx, CPUID_80000001_ECX_SVM
        CHECK z, FAIL_SVM, 'CPUID.80000001h:ECX.SVM[2] is clear'

        ; ---- hv's leaf: EAX = 0x40000010 (the highest), "hvhypervisor" in EBX, ECX, EDX
        mov eax, CPUID_HV_LEAF
        xor ecx, ecx
        cpuid
        mov [hv_sig], ebx
        mov [hv_sig + 4], ecx
        mov [hv_sig + 8], edx
        mov r12d, eax
        HV_PRINT 'hypervisor signature: '
        HV_PUTS hv_sig
        HV_NEWLINE
        cmp r12d, CPUID_HV_MAX_LEAF
        CHECK e, FAIL_HV_LEAF, 'CPUID.40000000h:EAX = 0x40000010'
        mov eax, [hv_sig]
        xor eax, HV_SIG_EBX
        mov edx, [hv_sig + 4]
        xor edx, HV_SIG_ECX
        or eax, edx
        mov edx, [hv_sig + 8]
        xor edx, HV_SIG_EDX
        or eax, edx
        CHECK z, FAIL_HV_SIG, 'CPUID.40000000h signature is "hvhypervisor"'

        ; ---- TSC through rdmsr, twice. EAX/EDX are zeroed first so that a
        ; read skipped by the #GP handler gives 0, not a stale value.
        mov r13, [gp_count]
        mov ecx, MSR_TSC
        xor eax, eax
        xor edx, edx
        TRY_GP rdmsr
        shl rdx, 32
        or rax, rdx
        mov r14, rax            ; r14 = first read
        mov ecx, MSR_TSC
        xor eax, eax
        xor edx, edx
        TRY_GP rdmsr
        shl rdx, 32
        or rax, rdx
        mov r15, rax            ; r15 = second read
        HV_PRINT 'tsc: 0x'
        HV_PUTHEX64 r14
        HV_PRINT ' then 0x'
        HV_PUTHEX64 r15
        HV_NEWLINE
        cmp [gp_count], r13
        CHECK e, FAIL_TSC_GP, 'rdmsr TSC (0x10) raised no #GP'
        cmp r15, r14
        CHECK a, FAIL_TSC, 'TSC read via rdmsr increases'

        ; ---- an MSR hv does not emulate: exactly one #GP
        mov r13, [gp_count]
        mov ecx, MSR_UNKNOWN
        TRY_GP rdmsr
        mov rax, [gp_count]
        sub rax, r13
        cmp rax, 1
        CHECK e, FAIL_MSR_GP, 'rdmsr of unknown MSR 0x12345 raised exactly one #GP'

        ; ---- report and exit
        HV_REPORT 0, [gp_count]
        movzx r12d, byte [first_fail]
        xor eax, eax
        test r12d, r12d
        setz al                 ; 1 if every check passed
        HV_REPORT 1, rax
        test r12d, r12d
        jnz .failed
        HV_PRINTLN 'probe: all checks passed'
        HV_EXIT 0
.failed:
        HV_PRINT 'probe: FAILED, exit status '
        HV_PUTDEC r12d
        HV_NEWLINE
        HV_EXIT r12d

; ---- data -----------------------------------------------------------------

CATCHER                         ; the IDT, handlers and their data (gp_count)

first_fail:     db 0
vendor:         times 13 db 0   ; 12 characters + NUL
hv_sig:         times 13 db 0
