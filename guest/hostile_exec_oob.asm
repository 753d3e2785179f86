; guest/hostile_exec_oob.asm - jumps into guest-physical memory that is not
; there: linear 0x40000000 mapped (by the guest) to guest-physical 1 GiB,
; beyond its RAM. The instruction fetch leaves the guest's RAM: hv must end
; the VM with `fault` (nested page fault on an instruction fetch).
;
; Config: mode = long, vcpus = 1, memory below 1 GiB. Expected result: fault
; (exit 1 if execution came back).

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

OWN_PD  equ 0x5000
TARGET  equ 0x40000000          ; guest-physical 1 GiB
WINDOW  equ 0x40000000          ; linear, identity

start:
        lea rdi, [abs OWN_PD]
        xor eax, eax
        mov ecx, 512
        rep stosq
        mov qword [abs OWN_PD], TARGET | 0x83
        mov qword [abs HV_PDPT + 8], OWN_PD | 3
        HV_PRINTLN 'jumping to guest-physical 0x40000000 (not RAM)'
        mov rax, WINDOW
        call rax
        HV_PRINTLN 'FAIL: came back from unmapped guest-physical memory'
        HV_EXIT 1
