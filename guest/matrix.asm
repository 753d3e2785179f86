; guest/matrix.asm - the workloads of `make bench`'s policy matrix
; (tests/bench.py): every vCPU does STEPS "units of guest work", each a
; guest task switch modelled as a yield, optionally with an IBPB and a
; migration. The config's `arg` (RBX at start) selects the workload:
;
;   bits 0-1   IBPB: 0 never; 1 once at start (vCPU 0 only, like a prctl
;              opt-in); 2 before every yield (like Linux spectre_v2_user=on
;              on every task switch); 3 before every 4th yield
;   bit  2     migrate: before each yield, HC_MIGRATE to pCPU
;              (2 x vCPU id + step mod 2) mod 4: each vCPU goes back and
;              forth between two pCPUs of its own, so it often comes back
;              to a pCPU where nothing ran since it left (a refusal is
;              counted, not fatal)
;   bits 8-15  vCPUs in the whole run (all VMs), for the per-step figure
;   bits 16-31 STEPS per vCPU
;
; vCPU 0 of each VM times its loop with rdtsc (not intercepted). Under QEMU
; -icount shift=7,sleep=off the TSC advances 128 per emulated instruction,
; so counter 0 = (TSC delta / 128) / (STEPS x vCPUs in the run) is the
; instructions per unit of guest work, hv and every guest included (on
; several pCPUs, every pCPU's instructions count). Counter 1 = steps this
; vCPU 0 did; counter 2 = migrations refused. Needs IBPB offered
; (virtual_ibpb = on under QEMU) for IBPB modes 1-3.
; Expected result: exit 0.
bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        mov r12, rdi            ; vCPU id
        mov r13, rbx            ; arg
        mov r15, rbx
        shr r15, 16
        and r15d, 0xFFFF        ; STEPS
        xor r14d, r14d          ; step
        xor ebp, ebp            ; migrations refused
        test r12, r12
        jnz .go
        rdtsc
        shl rdx, 32
        or rax, rdx
        mov r9, rax             ; start TSC (vCPU 0)
        mov eax, r13d
        and eax, 3
        cmp eax, 1
        jne .go
        HV_IBPB                 ; the one opt-in IBPB
.go:
        test r15, r15
        jz .finish
.step:
        test r13d, 4
        jz .no_migrate
        mov eax, r14d
        and eax, 1
        lea rax, [rax + r12 * 2]
        and eax, 3
        HV_MIGRATE rax
        test rax, rax
        jz .no_migrate
        inc ebp
.no_migrate:
        mov eax, r13d
        and eax, 3
        cmp eax, 2
        je .ibpb
        cmp eax, 3
        jne .yield
        test r14d, 3
        jnz .yield
.ibpb:
        HV_IBPB
.yield:
        HV_YIELD
        inc r14
        cmp r14, r15
        jb .step
.finish:
        test r12, r12
        jnz .done
        rdtsc
        shl rdx, 32
        or rax, rdx
        sub rax, r9
        shr rax, 7              ; instructions (TSC 128 per instruction)
        mov rcx, r13
        shr rcx, 8
        and ecx, 0xFF           ; vCPUs in the run
        imul rcx, r15           ; x STEPS
        test rcx, rcx
        jz .done
        xor edx, edx
        div rcx
        HV_REPORT 0, rax
        HV_REPORT 1, r14
        HV_REPORT 2, rbp
.done:
        HV_EXIT 0
