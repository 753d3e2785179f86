; guest/hostile_double_fault.asm - an exception handler that cannot be
; entered: the #GP gate points at a non-canonical address.
;
; The guest reads through a non-canonical pointer: #GP. Delivering it
; faults (#GP on the non-canonical handler address), and a contributory
; exception while delivering another is a double fault (#DF, vector 8).
; RBX (the config's `arg`) picks what happens next:
;   arg 0: the #DF gate is not present: the #DF cannot be delivered either,
;          so the vCPU shuts down (triple fault). Expected result: shutdown.
;   arg 1: a #DF handler is present: it reports counter 0 = 8 (the vector it
;          was entered as) and counter 1 = its error code (0), and exits 8.
; This is the CPU's own exception logic; hv must not get in the way, and
; must end the VM exactly as the hardware says.
;
; Config: mode = long, vcpus = 1.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        test rbx, rbx
        jz .no_df
        ; install the #DF gate (vector 8)
        lea rax, [df_handler]
        lea rdi, [idt + 8 * 16]
        mov [rdi], ax
        mov word [rdi + 2], HV_SEL_CODE
        mov word [rdi + 4], 0x8E00
        shr rax, 16
        mov [rdi + 6], ax
        shr rax, 16
        mov [rdi + 8], rax
        HV_PRINTLN '#GP with an unusable #GP gate; #DF handler present'
        jmp .go
.no_df:
        HV_PRINTLN '#GP with an unusable #GP gate, no #DF gate: shutdown next'
.go:
        lidt [idtr]
        mov rax, 0x8000000000000000
        mov rax, [rax]          ; #GP: non-canonical
        HV_PRINTLN 'FAIL: survived'
        HV_EXIT 1

df_handler:                     ; [rsp] = error code (0)
        mov rax, [rsp]
        mov [df_error], rax
        HV_REPORT 0, 8
        HV_REPORT 1, [df_error]
        HV_PRINTLN 'double fault handler entered'
        HV_EXIT 8

        align 16
idt:    times 13 dq 0, 0        ; 0-12: absent (8 is filled in for arg 1)
        dw 0                    ; 13 (#GP): offset 0x8000000000000000,
        dw HV_SEL_CODE          ; non-canonical
        db 0, 0x8E
        dw 0
        dd 0x80000000
        dd 0
idt_end:
idtr:   dw idt_end - idt - 1
        dq idt
df_error: dq -1
