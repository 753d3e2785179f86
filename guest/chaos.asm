; guest/chaos.asm - a seeded random walk of yields, IBPBs and migrations.
;
; Every vCPU runs STEPS steps; each step draws from a xorshift64 generator
; seeded with the config's `arg` (RBX at start) mixed with the vCPU id, and
; does one of: yield, IBPB (wrmsr PRED_CMD), migrate to a random pCPU among
; the first 4 (a refusal, on a machine with fewer, is fine), or a short
; spin. The oracle then checks hv's barrier decisions over the whole trace.
; Counter (vCPU id) = steps done. Needs IBPB offered (virtual_ibpb or
; force_wrmsr on QEMU).
bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

STEPS equ 600

start:
        mov r12, rdi                    ; vCPU id
        mov r13, rbx                    ; seed from the config
        mov rax, 0x9e3779b97f4a7c15
        imul rax, r12
        xor r13, rax
        or r13, 1                       ; xorshift state must not be 0
        xor r14d, r14d                  ; steps done
.step:
        ; xorshift64 (Marsaglia 2003): x ^= x << 13; x ^= x >> 7; x ^= x << 17
        mov rax, r13
        shl rax, 13
        xor r13, rax
        mov rax, r13
        shr rax, 7
        xor r13, rax
        mov rax, r13
        shl rax, 17
        xor r13, rax
        mov rax, r13
        shr rax, 32
        and eax, 3
        cmp eax, 0
        je .yield
        cmp eax, 1
        je .ibpb
        cmp eax, 2
        je .migrate
        mov ecx, 200                    ; short spin
.spin:  pause
        dec ecx
        jnz .spin
        jmp .next
.yield:
        HV_YIELD
        jmp .next
.ibpb:
        HV_IBPB
        jmp .next
.migrate:
        mov rbx, r13
        shr rbx, 40
        and ebx, 3
        HV_MIGRATE rbx
.next:
        inc r14
        cmp r14, STEPS
        jb .step
        HV_REPORT r12, r14
        HV_EXIT 0
