; guest/hostile_read_oob.asm - reads guest-physical memory outside its RAM:
; the local APIC's registers at 0xFEE00000, the most tempting target.
;
; The guest's own page tables map only its RAM, so it first maps linear
; 0x40000000 to guest-physical 0xFEE00000 (a 2 MiB page in a PD of its own
; behind PDPT entry 1), then reads the APIC version register at +0x30.
; Nothing is at that guest-physical address: hv must end the VM with
; `fault` (nested page fault) and never show it the host's APIC.
;
; Config: mode = long, vcpus = 1, memory below 1 GiB. Expected result: fault
; (exit 1 if the read returned).

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

OWN_PD  equ 0x5000              ; free guest memory (guest-abi.md)
TARGET  equ 0xFEE00000          ; guest-physical, 2 MiB aligned
WINDOW  equ 0x40000000          ; linear address of the mapping (PDPT index 1)

start:
        lea rdi, [abs OWN_PD]
        xor eax, eax
        mov ecx, 512
        rep stosq
        mov rax, TARGET | 0x83  ; present, writable, 2 MiB (a 64-bit immediate:
        mov [abs OWN_PD], rax       ; as imm32 it would be sign-extended)
        mov qword [abs HV_PDPT + 8], OWN_PD | 3       ; PDPT[1] -> own PD
        HV_PRINTLN 'reading guest-physical 0xfee00030 (local APIC version)'
        mov eax, [abs WINDOW + 0x30]
        HV_PRINT 'FAIL: the read returned 0x'
        HV_PUTHEX32 rax
        HV_NEWLINE
        HV_EXIT 1
