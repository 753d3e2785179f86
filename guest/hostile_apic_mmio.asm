; guest/hostile_apic_mmio.asm - accesses to the xAPIC page and the IOAPIC
; that hardware does not define; hv must end the VM with the access named
; (docs/platform.md "MMIO"), never guess. The config's arg picks one:
;   0  a byte write to the TPR (0xFEE00080): the xAPIC takes aligned
;      32-bit accesses only (SDM Vol. 3A 11.4.1)
;   1  a 32-bit read at IOAPIC + 2 (unaligned)
;   2  a 64-bit read of the APIC version register
;   3  a 32-bit read of 0xFEE00030 after switching to x2APIC mode: the page
;      is not decoded then (SDM Vol. 3A 11.12.1), so it is memory outside
;      the VM's RAM
; Each ends the VM (`fault`); reaching the end is a bug: exit 1.
;
; Config: mode = long, vcpus = 1, memory = 64M, arg = 0..3.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

start:
        mov r8, rbx
        lea rax, [pd_hi]                ; map 0xFEC00000 and 0xFEE00000
        or rax, 3                       ; (2 MiB pages, PCD)
        mov [abs HV_PDPT + 3 * 8], rax
        mov rax, 0xFEC00000 | 0x93
        mov [pd_hi + ((0xFEC00000 >> 21) & 511) * 8], rax
        mov rax, 0xFEE00000 | 0x93
        mov [pd_hi + ((0xFEE00000 >> 21) & 511) * 8], rax
        mov rax, cr3
        mov cr3, rax
        mov rbx, 0xFEE00000
        mov rsi, 0xFEC00000
        cmp r8, 1
        je .a1
        cmp r8, 2
        je .a2
        cmp r8, 3
        je .a3
        mov byte [rbx + 0x80], 0x10
        jmp .end
.a1:    mov eax, [rsi + 2]
        jmp .end
.a2:    mov rax, [rbx + 0x30]
        jmp .end
.a3:    HV_X2APIC_ENABLE
        mov eax, [rbx + 0x30]
.end:   HV_PRINTLN 'FAIL: the access was not refused'
        HV_EXIT 1

align 4096
pd_hi:  times 512 dq 0
