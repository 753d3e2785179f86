; guest/irq_once.asm - an interrupt hv injects is delivered exactly once.
;
; Each round sends a self IPI (the WRMSR exits, hv injects the vector at the
; next VM entry); the handler then spins with IF=0 and no exit for longer
; than hv's time slice, so the emulator's CPU loop stops inside the handler
; (hv's slice timer, and under -icount the end of the instruction budget).
; QEMU 7.2's TCG SVM leaves the injected vector as its pending "exception"
; after VMRUN, and delivers it a second time when its loop stops before the
; next #VMEXIT: the handler is entered again, nested, from a context with
; IF=0 (docs/platform.md, "QEMU TCG delivers an injected interrupt twice").
;   counter 0  handler entries                          (ROUNDS)
;   counter 1  entries while the handler was running    (0)
;   counter 2  entries from a context with IF=0         (0)
; Exits 0 when all three are as expected, else 1.
;
; Config: mode = long, vcpus = 1; the scenario runs it under -icount, where
; the budget ends at every timer deadline, so without hv's countermeasure
; every round fails.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

ROUNDS  equ 10
SPIN    equ 200000              ; loop iterations (2 instructions each) in the
                                ; handler: 400000 instructions, 51 ms of
                                ; emulated time at -icount shift=7 (slice 10 ms)
VEC     equ 0x60

start:
        HV_IDT_GATE idt, VEC, handler
        HV_IDT_GATE idt, HV_APIC_SPURIOUS, spurious_handler
        HV_LIDT idt
        HV_X2APIC_ENABLE
        sti
        mov r12, ROUNDS
.round:
        mov rbx, [entries]
        HV_SELF_IPI VEC
.wait:  cmp [entries], rbx              ; the handler ran (IF=1 here)
        jne .next
        pause
        jmp .wait
.next:  dec r12
        jnz .round
        cli
        HV_REPORT 0, [entries]
        HV_REPORT 1, [nested]
        HV_REPORT 2, [if_clear]
        HV_PRINT 'irq once: entries '
        HV_PUTDEC [entries]
        HV_PRINT ', nested '
        HV_PUTDEC [nested]
        HV_PRINT ', with IF=0 '
        HV_PUTDEC [if_clear]
        HV_NEWLINE
        cmp qword [entries], ROUNDS
        jne .fail
        cmp qword [nested], 0
        jne .fail
        cmp qword [if_clear], 0
        jne .fail
        HV_EXIT 0
.fail:  HV_EXIT 1

handler:
        push rax
        push rcx
        inc qword [entries]
        cmp byte [busy], 0
        je .first
        inc qword [nested]
.first: mov rax, [rsp + 16 + 16]        ; the interrupted RFLAGS (frame: RIP, CS, RFLAGS)
        test eax, 0x200
        jnz .if_ok
        inc qword [if_clear]
.if_ok: mov byte [busy], 1
        mov ecx, SPIN
.spin:  dec ecx
        jnz .spin
        mov byte [busy], 0
        HV_APIC_EOI
        pop rcx
        pop rax
        iretq
spurious_handler:
        iretq

align 8
entries:  dq 0
nested:   dq 0
if_clear: dq 0
busy:     db 0
align 4096
idt:    times 256 * 16 db 0
