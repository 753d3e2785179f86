/*
 * hv/acpi.h - the ACPI tables that describe a VM's platform to Linux (pure
 * logic, host-tested in tests/unit/test_acpi.c; docs/platform.md).
 *
 * A hardware-reduced ACPI platform (ACPI 6.4 section 4.1): no fixed-feature
 * registers but an optional PM timer (Linux reads its port from the FADT
 * whatever the flags say, and calibrates its TSC against it), no SCI, no 8259 or PIT implied. Linux reads:
 *   RSDP (v2) -> XSDT (and an RSDT for 32-bit readers)
 *     -> FADT  flags HW_REDUCED_ACPI, the DSDT, optional RESET_REG and
 *              SLEEP_CONTROL/STATUS registers (power off, reboot)
 *        -> DSDT  AML: \_SB.COM1 (PNP0501, I/O 0x3F8-0x3FF, IRQ 4),
 *                 \_SB.RTC (PNP0B00, I/O 0x70-0x71, IRQ 8), \_S5
 *     -> MADT  one local APIC (or x2APIC) per vCPU, one IOAPIC, IRQ 4's
 *              routing, LINT1 = NMI
 */
#ifndef HV_ACPI_H
#define HV_ACPI_H

#include "lib.h"

#define ACPI_IOAPIC_ADDR 0xfec00000u
#define ACPI_LAPIC_ADDR 0xfee00000u
#define ACPI_RESET_PORT 0xcf9          /* RESET_REG: write ACPI_RESET_VALUE here */
#define ACPI_RESET_VALUE 0x06          /* the PIIX "reset control" full-reset value */
#define ACPI_SLEEP_CONTROL_PORT 0x600  /* SLEEP_CONTROL_REG: SLP_EN | SLP_TYP << 2 */
#define ACPI_SLEEP_STATUS_PORT 0x601   /* SLEEP_STATUS_REG: WAK_STS (bit 7) */
#define ACPI_PM_TIMER_PORT 0x608     /* PM_TMR_BLK: 4 bytes, 24-bit counter (hv/dev/acpi_pm.h) */
#define ACPI_S5_SLP_TYP 5              /* \_S5's value: a write of 0x34 means "power off" */
#define ACPI_SLP_EN BIT(5)             /* ACPI 6.4 4.8.3.7, sleep control register */
#define ACPI_COM1_PORT 0x3f8
#define ACPI_COM1_IRQ 4
#define ACPI_MAX_CPUS 255              /* xAPIC ids 0..254 (0xff is broadcast) */

struct acpi_platform {
	u64 base;                      /* guest-physical address of buf; 16-aligned, below 4 GiB */
	unsigned ncpus;                /* vCPUs: APIC ids and processor UIDs 0..ncpus-1 */
	bool x2apic;                   /* MADT type 9 (x2APIC) entries instead of type 0 */
	u8 ioapic_id;
	bool com1;                     /* DSDT names COM1 and the MADT routes IRQ 4 */
	bool rtc;                      /* a CMOS RTC at 0x70/0x71 in the DSDT (else FADT says "none") */
	bool reset;                    /* FADT RESET_REG: port 0xCF9, value 6 */
	bool sleep;                    /* FADT sleep registers and \_S5: power off */
	bool pm_timer;                 /* FADT PM_TMR_BLK / X_PM_TMR_BLK: the ACPI PM timer */
};

/* Where each table landed (guest-physical), and the bytes used from base. */
struct acpi_layout {
	u64 rsdp, xsdt, rsdt, fadt, madt, dsdt;
	u32 size;
};

/*
 * Build the tables for p into buf[0, room), which the guest will see at
 * p->base. Returns 0 and fills *out, or -1 with a message in err.
 */
int acpi_build(const struct acpi_platform *p, u8 *buf, size_t room, struct acpi_layout *out,
	       char *err, size_t errlen);

/* The 8-bit sum ACPI checksums make zero (ACPI 6.4 5.2.5.3, 5.2.6). */
u8 acpi_sum(const u8 *p, size_t n);

#endif
