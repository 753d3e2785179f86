; guest/hostile_read_oob.asm - reads guest-physical memory outside its RAM.
;
; First the local APIC's registers at 0xFEE00000, the most tempting target:
; there the guest must find its own virtual LAPIC (hv/dev/lapic.c, through
; MMIO emulation; version 0x14, 6 LVT entries: 0x00050014), never the host's
; APIC. Then 0xFED00000, where the virtual platform has no device (a real PC
; would have its HPET there): hv must end the VM with `fault` (nested page
; fault).
;
; The guest's own page tables map only its RAM, so it first maps linear
; 0x40000000 to guest-physical 0xFEC00000 and linear 0x40200000 to
; 0xFEE00000 (2 MiB pages in a PD of its own behind PDPT entry 1).
;
; Config: mode = long, vcpus = 1, memory below 1 GiB. Expected result: fault
; (exit 1 if the second read returned, exit 2 if the APIC read showed
; something else than hv's virtual LAPIC).

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

OWN_PD  equ 0x5000              ; free guest memory (guest-abi.md)
TARGET  equ 0xFEC00000          ; guest-physical, 2 MiB aligned: IOAPIC ... 0xFED00000
APIC    equ 0xFEE00000          ; the next 2 MiB page: the (virtual) local APIC
WINDOW  equ 0x40000000          ; linear address of the mapping (PDPT index 1)

start:
        lea rdi, [abs OWN_PD]
        xor eax, eax
        mov ecx, 512
        rep stosq
        mov rax, TARGET | 0x83  ; present, writable, 2 MiB (a 64-bit immediate:
        mov [abs OWN_PD], rax       ; as imm32 it would be sign-extended)
        mov rax, APIC | 0x83
        mov [abs OWN_PD + 8], rax
        mov qword [abs HV_PDPT + 8], OWN_PD | 3       ; PDPT[1] -> own PD
        HV_PRINTLN 'reading guest-physical 0xfee00030 (local APIC version)'
        mov eax, [abs WINDOW + 0x200000 + 0x30]
        cmp eax, 0x00050014
        je .apic_ok
        HV_PRINT 'FAIL: the APIC version read returned 0x'
        HV_PUTHEX32 rax
        HV_NEWLINE
        HV_EXIT 2
.apic_ok:
        HV_PRINTLN 'its own virtual LAPIC: version 0x00050014'
        HV_PRINTLN 'reading guest-physical 0xfed00000 (no device there)'
        mov eax, [abs WINDOW + 0x100000]
        HV_PRINT 'FAIL: the read returned 0x'
        HV_PUTHEX32 rax
        HV_NEWLINE
        HV_EXIT 1
