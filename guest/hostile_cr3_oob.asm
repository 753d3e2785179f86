; guest/hostile_cr3_oob.asm - loads CR3 with a page-table root outside the
; VM's RAM (guest-physical 0x40000000, 1 GiB). The very next instruction
; fetch makes the CPU walk a PML4 that is not in guest memory: a nested page
; fault on the guest's page walk. hv must end the VM with `fault`; its own
; walks of the guest's tables (instruction decoding) must not read outside
; guest RAM either.
;
; Config: mode = long, vcpus = 1, memory below 1 GiB. Expected result: fault.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        HV_PRINTLN 'mov cr3, 0x40000000 (outside guest RAM)'
        mov rax, 0x40000000
        mov cr3, rax
        cpuid                   ; not reached: the fetch above already faults
        HV_EXIT 1
