/*
 * hv/dev/acpi_pm.c - the ACPI sleep registers and PM timer (see acpi_pm.h).
 *
 * ACPI 6.4 4.8.3.7 "Sleep Control and Status Registers": the control
 * register holds SLP_TYP in bits 4:2 and SLP_EN in bit 5 (write-only, reads
 * 0); writing SLP_EN starts the transition to the state SLP_TYP names.
 * 4.8.3.3 "Power Management Timer": a 24-bit counter (32-bit with
 * TMR_VAL_EXT) at 3.579545 MHz that the OS reads with 32-bit accesses.
 */
#include "acpi_pm.h"

#define SLP_EN BIT(5)
#define SLP_TYP_SHIFT 2
#define SLP_TYP_MASK 0x7

void acpi_pm_init(struct acpi_pm *pm, u64 start_tsc, u64 tsc_hz)
{
	pm->start_tsc = start_tsc;
	pm->tsc_hz = tsc_hz ? tsc_hz : 1;
	pm->sleep_ctl = 0;
	pm->sleep_sts = 0;
}

u32 acpi_pm_timer(const struct acpi_pm *pm, u64 now)
{
	u64 dt = now > pm->start_tsc ? now - pm->start_tsc : 0;
	/* ticks = dt * 3579545 / tsc_hz without overflow: whole seconds first
	 * (rem < tsc_hz, so rem * 3579545 fits in 64 bits below 5 THz). */
	u64 secs = dt / pm->tsc_hz, rem = dt % pm->tsc_hz;
	u64 ticks = secs * ACPI_PM_TIMER_HZ + rem * ACPI_PM_TIMER_HZ / pm->tsc_hz;
	return (u32)ticks & ACPI_PM_TIMER_MASK;
}

u8 acpi_pm_read(const struct acpi_pm *pm, u16 port, u64 now)
{
	if (port == ACPI_PM_SLEEP_CONTROL)
		return pm->sleep_ctl & (u8)~SLP_EN;
	if (port == ACPI_PM_SLEEP_STATUS)
		return pm->sleep_sts;
	if (port >= ACPI_PM_TIMER && port < ACPI_PM_TIMER + 4)
		return (u8)(acpi_pm_timer(pm, now) >> (8 * (port - ACPI_PM_TIMER)));
	return 0xff;
}

enum acpi_pm_action acpi_pm_write(struct acpi_pm *pm, u16 port, u8 val)
{
	if (port == ACPI_PM_SLEEP_STATUS) {
		pm->sleep_sts &= (u8)~val;          /* write 1 to clear */
		return ACPI_PM_NONE;
	}
	if (port != ACPI_PM_SLEEP_CONTROL)
		return ACPI_PM_NONE;                /* the timer is read-only */
	pm->sleep_ctl = val;
	if (!(val & SLP_EN))
		return ACPI_PM_NONE;
	return ((val >> SLP_TYP_SHIFT) & SLP_TYP_MASK) == ACPI_PM_S5 ? ACPI_PM_POWER_OFF : ACPI_PM_SLEEP;
}
