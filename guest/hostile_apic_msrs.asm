; guest/hostile_apic_msrs.asm - the interrupt controller through MSRs:
; IA32_APIC_BASE (0x1B), the x2APIC registers and the TSC deadline.
;
; These MSRs reach the vCPU's virtual local APIC (hv/dev/lapic.c,
; docs/platform.md), never the host's: if any of them reached the host, the
; guest could move or disable hv's LAPIC (its scheduling timer), send INIT
; IPIs to other pCPUs, or end hv's timer: the other VM would then never
; finish. The virtual APIC follows the SDM's mode rules (11.12.5):
;   counter 0  rdmsr APIC_BASE                                  255
;   counter 1  wrmsr APIC_BASE = 0xFEE00900 (xAPIC, enabled)    255
;   counter 2  wrmsr APIC_BASE = 0 (APIC disabled)              255
;   counter 3  wrmsr x2APIC ICR (0x830) = INIT to all but self  13 (not in x2APIC mode)
;   counter 4  wrmsr x2APIC EOI (0x80B) = 0                     13
;   counter 5  wrmsr x2APIC timer initial count (0x838) = 0     13
;   counter 6  wrmsr TSC_DEADLINE (0x6E0) = 1                   255 (ignored: not in TSC-deadline mode)
;   counter 7  wrmsr TSC (0x10) = 0                             13
;   counter 8  wrmsr APIC_BASE = 0xFEE00C00 (disabled -> x2APIC) 13 (forbidden)
;   counter 9  wrmsr APIC_BASE = 0xFEE00400 (EXTD without EN)   13 (invalid)
; Vectors: 13 = #GP, 255 = none. Exits 0.
;
; Config: mode = long, vcpus = 1. Expected result: exit 0 and the counters.

bits 64
default rel
%include "hv.inc"
org HV_LONG_ENTRY

; the exception catcher (CATCH_INIT, TRY, TRY_WRMSR, CATCHER): guest/catch.inc
%include "catch.inc"


start:
        CATCH_INIT
        mov ecx, 0x1B
        TRY rdmsr
        HV_REPORT 0, [vec]
        TRY_WRMSR 0x1B, 0xFEE00900
        HV_REPORT 1, [vec]
        TRY_WRMSR 0x1B, 0
        HV_REPORT 2, [vec]
        TRY_WRMSR 0x830, 0x000C4500
        HV_REPORT 3, [vec]
        TRY_WRMSR 0x80B, 0
        HV_REPORT 4, [vec]
        TRY_WRMSR 0x838, 0
        HV_REPORT 5, [vec]
        TRY_WRMSR 0x6E0, 1
        HV_REPORT 6, [vec]
        TRY_WRMSR 0x10, 0
        HV_REPORT 7, [vec]
        TRY_WRMSR 0x1B, 0xFEE00C00
        HV_REPORT 8, [vec]
        TRY_WRMSR 0x1B, 0xFEE00400
        HV_REPORT 9, [vec]
        HV_PRINTLN 'apic msrs: done'
        HV_EXIT 0

CATCHER                         ; the IDT, handlers and their data
