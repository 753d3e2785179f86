/*
 * hv/x86/acpi_parse.h - pure parsers for the firmware facts hv needs on a
 * real machine: ACPI tables (MADT CPUs, FADT PM timer and reset register,
 * HPET base) and CPUID leaf 0x15's TSC rate. No hardware access: the
 * callers (smp.c, apic.c, platform.c) read the memory and the CPU; the unit
 * test (tests/unit/test_acpi_parse.c) feeds crafted tables.
 */
#ifndef HV_X86_ACPI_PARSE_H
#define HV_X86_ACPI_PARSE_H

#include "../lib.h"

/* A table by signature through the RSDP (XSDT if revision >= 2, else RSDT).
 * Addresses are used as pointers (hv maps physical memory 1:1). */
const void *acpi_table_find(const void *rsdp, const char *sig);

/* An ACPI table by signature ("FACP", "HPET", ...) from the RSDP's physical
 * address (0: none); NULL if absent. */
const void *acpi_find_table(u64 rsdp, const char *sig);

/*
 * Enabled processors of a MADT (ACPI 6.x 5.2.12: type 0 local APIC, type 9
 * local x2APIC), appended to ids[*n..max) in table order, skipping self
 * and repeats. Without x2APIC mode, ids above 254 cannot be addressed:
 * they are counted in *unreachable instead. A malformed entry (length < 2
 * or past the end) ends the walk.
 */
void madt_cpu_ids(const void *madt, u32 self, bool x2apic, u32 *ids, unsigned *n, unsigned max,
		  unsigned *unreachable);

/* FADT PM timer (ACPI 6.x 5.2.9, 4.8.3.3): the I/O port (X_PM_TMR_BLK when it
 * is in I/O space, else PM_TMR_BLK) and whether it counts 32 bits. */
bool fadt_pm_timer(const void *fadt, u16 *port, bool *bits32);

/* FADT RESET_REG (ACPI 6.x 4.8.3.6): only when flags.RESET_REG_SUP. space 0
 * = memory, 1 = I/O. */
bool fadt_reset_reg(const void *fadt, u8 *space, u64 *addr, u8 *value);

/* HPET table (IA-PC HPET 1.0a 3.2.4): the register block, in memory space. */
bool hpet_table_base(const void *hpet, u64 *base);

/*
 * CPUID 0x15 (EAX denominator, EBX numerator, ECX crystal Hz) and 0x16 EAX
 * (base MHz; 0 if absent): the TSC rate in kHz and the crystal in Hz, or 0
 * when the leaf does not give the ratio.
 */
u64 cpuid15_tsc_khz(u32 eax, u32 ebx, u32 ecx, u32 base_mhz, u64 *crystal_hz);

#endif
