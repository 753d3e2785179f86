/*
 * tests/unit/test_dev_acpi_pm.c - the ACPI sleep registers and PM timer
 * (hv/dev/acpi_pm.c): S5 powers off, other sleep types do not, SLP_EN reads
 * 0, the timer counts 3.579545 MHz from the TSC and wraps at 24 bits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dev/acpi_pm.h"

static void test_sleep(void **state)
{
	(void)state;
	struct acpi_pm pm;
	acpi_pm_init(&pm, 0, 1000000000);
	/* SLP_TYP 5 without SLP_EN: nothing yet. */
	assert_int_equal(acpi_pm_write(&pm, 0x600, 5 << 2), ACPI_PM_NONE);
	assert_int_equal(acpi_pm_read(&pm, 0x600, 0), 5 << 2);
	/* Linux's acpi_hw_extended_sleep: SLP_TYP << 2 | SLP_EN = 0x34. */
	assert_int_equal(acpi_pm_write(&pm, 0x600, 0x34), ACPI_PM_POWER_OFF);
	assert_int_equal(acpi_pm_read(&pm, 0x600, 0), 0x14);   /* SLP_EN reads 0 */
	assert_int_equal(acpi_pm_write(&pm, 0x600, (3 << 2) | 0x20), ACPI_PM_SLEEP);
	assert_int_equal(acpi_pm_write(&pm, 0x601, 0xff), ACPI_PM_NONE);
	assert_int_equal(acpi_pm_read(&pm, 0x601, 0), 0);
	/* Other ports of the block: nothing. */
	assert_int_equal(acpi_pm_write(&pm, 0x608, 0x34), ACPI_PM_NONE);
	assert_int_equal(acpi_pm_read(&pm, 0x602, 0), 0xff);
}

static void test_timer(void **state)
{
	(void)state;
	struct acpi_pm pm;
	u64 hz = 2000000000ull;                 /* a 2 GHz TSC */
	acpi_pm_init(&pm, 1000, hz);
	assert_int_equal(acpi_pm_timer(&pm, 1000), 0);
	assert_int_equal(acpi_pm_timer(&pm, 500), 0);          /* before the start: 0 */
	/* One second: 3579545 ticks. */
	assert_int_equal(acpi_pm_timer(&pm, 1000 + hz), 3579545);
	/* 10 ms: 35795 ticks (truncated). */
	assert_int_equal(acpi_pm_timer(&pm, 1000 + hz / 100), 35795);
	/* 24 bits: 5 s = 17897725 ticks wraps to 17897725 - 2^24. */
	assert_int_equal(acpi_pm_timer(&pm, 1000 + 5 * hz), 17897725 - 16777216);
	/* Byte reads assemble the value, little endian, top byte 0. */
	u64 t = 1000 + hz;
	u32 v = acpi_pm_read(&pm, 0x608, t) | acpi_pm_read(&pm, 0x609, t) << 8 |
		(u32)acpi_pm_read(&pm, 0x60a, t) << 16 | (u32)acpi_pm_read(&pm, 0x60b, t) << 24;
	assert_int_equal(v, 3579545);
	/* An hour at 5 GHz does not overflow the arithmetic. */
	acpi_pm_init(&pm, 0, 5000000000ull);
	assert_int_equal(acpi_pm_timer(&pm, 3600ull * 5000000000ull + 2499999999ull),
			 (u32)((3600ull * 3579545 + 1789772) & 0xffffff));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sleep),
		cmocka_unit_test(test_timer),
	};
	return cmocka_run_group_tests_name("dev_acpi_pm", tests, NULL, NULL);
}
