; guest/hostile_cr2.asm - the page-fault address (CR2) of one VM, looked for
; by the next VM on the same pCPU. Two VMs run this image, picked by RBX
; (the config's `arg`):
;
;   arg 1, "faulter": 20 times: reads linear FAULT_ADDR (not mapped: #PF,
;          CR2 = FAULT_ADDR), then yields. Exits 0.
;   arg 2, "reader": 20 times: sets CR2 to its own OWN_ADDR, yields (the
;          faulter runs), reads CR2 back.
;     counter 0  read-backs that are not OWN_ADDR                 0
;     counter 1  read-backs that are the faulter's FAULT_ADDR     0
;     Exits 0.
; CR2 is not in the VMCS: on VT-x hv must save and load it per vCPU; SVM has
; it in the VMCB (Bochs ryzen never loads it from there: ../shared notes).
;
; Config: two VMs with this image, faulter first, arg = 1 and 2, vcpus = 1
; each, pcpus = 1.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

%include "catch.inc"

FAULT_ADDR equ 0x00007F00DEAD5000 ; PML4 entry 254: not present in hv's tables
OWN_ADDR   equ 0x0000000012345000

start:
        CATCH_INIT
        mov r12d, 20
        cmp rbx, 1
        je faulter
        cmp rbx, 2
        je reader
        HV_PRINTLN 'arg must be 1 (faulter) or 2 (reader)'
        HV_EXIT 2

faulter:
        mov rsi, FAULT_ADDR
        TRY mov rax, [rsi]
        cmp qword [vec], 14
        jne .bad
        HV_YIELD
        dec r12d
        jnz faulter
        HV_PRINTLN 'faulter: 20 page faults at 0x7f00dead5000'
        HV_EXIT 0
.bad:   HV_PRINTLN 'faulter: no #PF at the unmapped address'
        HV_EXIT 3

reader:
        mov rax, OWN_ADDR
        mov cr2, rax
        HV_YIELD
        mov rax, cr2
        mov rcx, OWN_ADDR
        cmp rax, rcx
        je .next
        inc qword [wrong]
        mov [seen], rax
        mov rcx, FAULT_ADDR
        cmp rax, rcx
        jne .next
        inc qword [leaked]
.next:  dec r12d
        jnz reader
        HV_REPORT 0, [wrong]
        HV_REPORT 1, [leaked]
        HV_PRINT 'reader: CR2 not its own '
        HV_PUTDEC [wrong]
        HV_PRINT ' times, the other VM', 0x27, 's fault address '
        HV_PUTDEC [leaked]
        HV_PRINT ' times (last seen 0x'
        HV_PUTHEX64 [seen]
        HV_PRINTLN ')'
        HV_EXIT 0

        CATCHER
wrong:  dq 0
leaked: dq 0
seen:   dq 0
