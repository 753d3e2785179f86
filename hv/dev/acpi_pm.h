/*
 * hv/dev/acpi_pm.h - the ACPI power-management registers a Linux VM's FADT
 * names (hv/acpi.c; docs/platform.md "Linux"):
 *   - SLEEP_CONTROL_REG (port 0x600) and SLEEP_STATUS_REG (0x601) of a
 *     hardware-reduced platform (ACPI 6.4 4.8.3.7): writing SLP_EN with
 *     SLP_TYP = \_S5's value is "power off", which ends the VM normally;
 *   - the ACPI PM timer (PM_TMR_BLK, port 0x608, ACPI 6.4 4.8.3.3): a
 *     free-running 24-bit counter at 3.579545 MHz, here derived from the
 *     TSC, so a guest can measure its TSC against it.
 * Pure logic (host-tested in tests/unit/test_dev_acpi_pm.c): the caller
 * passes the TSC and its rate.
 */
#ifndef HV_DEV_ACPI_PM_H
#define HV_DEV_ACPI_PM_H

#include "../lib.h"

#define ACPI_PM_SLEEP_CONTROL 0x600
#define ACPI_PM_SLEEP_STATUS 0x601
#define ACPI_PM_TIMER 0x608              /* 4 bytes */
#define ACPI_PM_TIMER_HZ 3579545ull
#define ACPI_PM_TIMER_MASK 0xffffffu     /* 24 bits: FADT TMR_VAL_EXT clear */
#define ACPI_PM_S5 5                     /* SLP_TYP of \_S5 (hv/acpi.h ACPI_S5_SLP_TYP) */

struct acpi_pm {
	u64 start_tsc;                   /* the timer reads 0 here */
	u64 tsc_hz;                      /* TSC ticks per second */
	u8 sleep_ctl;                    /* last value written (SLP_TYP, SLP_EN read as 0) */
	u8 sleep_sts;                    /* WAK_STS: never set (no wake from S5) */
};

enum acpi_pm_action { ACPI_PM_NONE, ACPI_PM_POWER_OFF, ACPI_PM_SLEEP };

void acpi_pm_init(struct acpi_pm *pm, u64 start_tsc, u64 tsc_hz);
/* The PM timer's value at TSC `now` (24 bits). */
u32 acpi_pm_timer(const struct acpi_pm *pm, u64 now);
/* A byte read of port `port` (0x600, 0x601, 0x608..0x60b). */
u8 acpi_pm_read(const struct acpi_pm *pm, u16 port, u64 now);
/* A byte write: ACPI_PM_POWER_OFF for SLP_EN with SLP_TYP 5, ACPI_PM_SLEEP
 * for SLP_EN with another type (an S1-S4 request hv does not offer). */
enum acpi_pm_action acpi_pm_write(struct acpi_pm *pm, u16 port, u8 val);

#endif
