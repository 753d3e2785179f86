; guest/hostile_triple.asm - a triple fault with a valid IDT: the stack is
; moved to an unmapped address, so no exception can be delivered.
;
; Every vector has a present gate (the catcher), then RSP is set to linear
; 0x40000000, which the guest's page tables do not map (only [0, memory
; size) is), and int3 is executed. Delivering #BP pushes onto that stack:
; #PF; delivering the #PF pushes too: #DF; delivering the #DF: shutdown.
; Real hardware shuts down; hv must end the VM with `shutdown` and nothing
; else (the other VMs go on).
;
; Config: mode = long, vcpus = 1, any memory. Expected result: shutdown.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY, CATCHER): guest/catch.inc
%include "catch.inc"

start:
        CATCH_INIT
        HV_PRINTLN 'RSP -> unmapped 0x40000000, int3: #BP -> #PF -> #DF -> shutdown'
        mov rsp, 0x40000000
        int3
        ; not reached: the catcher would have needed the stack
        HV_EXIT 1

CATCHER                         ; the IDT, handlers and their data
