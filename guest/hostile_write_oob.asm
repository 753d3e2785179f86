; guest/hostile_write_oob.asm - writes guest-physical memory far outside its
; RAM: 0x1E000000, where under OVMF hv's own image lives in host-physical
; memory (guest-physical is not host-physical, which is the point).
;
; The guest maps linear 0x40000000 to guest-physical 0x1E000000 (2 MiB page,
; own PD behind PDPT entry 1) and writes a qword there. hv must end the VM
; with `fault` (nested page fault); hv's code must be intact afterwards
; (hv.image_intact=1) and the other VMs unaffected.
;
; Config: mode = long, vcpus = 1, memory below 480 MiB. Expected result:
; fault (exit 1 if the write returned).

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

OWN_PD  equ 0x5000
TARGET  equ 0x1E000000
WINDOW  equ 0x40000000

start:
        lea rdi, [abs OWN_PD]
        xor eax, eax
        mov ecx, 512
        rep stosq
        mov qword [abs OWN_PD], TARGET | 0x83
        mov qword [abs HV_PDPT + 8], OWN_PD | 3
        HV_PRINTLN 'writing to guest-physical 0x1e000000'
        mov rax, 0xCCCCCCCCCCCCCCCC
        mov [abs WINDOW], rax
        HV_PRINTLN 'FAIL: the write returned'
        HV_EXIT 1
