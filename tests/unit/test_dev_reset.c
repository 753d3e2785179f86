/*
 * tests/unit/test_dev_reset.c - reset requests (hv/dev/reset.c): port 0xCF9
 * soft, hard and full resets, the 8042 pulse, port 0x92 fast reset, and the
 * writes that must not reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dev/reset.h"

static void test_cf9(void **state)
{
	(void)state;
	struct reset_dev r;
	reset_init(&r);
	/* Linux's reboot=pci: 0x02 (SYS_RST, no RST_CPU), then 0x06. */
	assert_int_equal(reset_write(&r, 0xCF9, 0x02), RESET_NONE);
	assert_int_equal(reset_read(&r, 0xCF9), 0x02);
	assert_int_equal(r.reason, RESET_NONE);
	assert_int_equal(reset_write(&r, 0xCF9, 0x06), RESET_CF9_HARD);
	assert_int_equal(r.reason, RESET_CF9_HARD);
	assert_int_equal(reset_read(&r, 0xCF9), 0x02); /* RST_CPU does not read back */
	reset_init(&r);
	assert_int_equal(reset_write(&r, 0xCF9, 0x04), RESET_CF9_SOFT);
	reset_init(&r);
	assert_int_equal(reset_write(&r, 0xCF9, 0x0E), RESET_CF9_FULL);
	/* The first reason sticks. */
	assert_int_equal(reset_write(&r, 0x64, 0xFE), RESET_KBC_PULSE);
	assert_int_equal(r.reason, RESET_CF9_FULL);
	assert_string_equal(reset_reason_name(r.reason), "full reset (power cycle) through port 0xCF9");
}

static void test_kbc_and_port92(void **state)
{
	(void)state;
	struct reset_dev r;
	reset_init(&r);
	/* The status register says "buffers empty" so reboot code goes on. */
	assert_int_equal(reset_read(&r, 0x64) & 0x03, 0);
	assert_int_equal(reset_read(&r, 0x60), 0xFF);
	assert_int_equal(reset_write(&r, 0x64, 0xD1), RESET_NONE); /* write output port */
	assert_int_equal(reset_write(&r, 0x60, 0xDF), RESET_NONE);
	assert_int_equal(reset_write(&r, 0x64, 0xFE), RESET_KBC_PULSE);
	assert_string_equal(reset_reason_name(RESET_KBC_PULSE), "keyboard controller reset pulse (0xFE to port 0x64)");
	reset_init(&r);
	assert_int_equal(reset_read(&r, 0x92), 0x02); /* A20 on */
	assert_int_equal(reset_write(&r, 0x92, 0x02), RESET_NONE);
	assert_int_equal(reset_write(&r, 0x92, 0x03), RESET_PORT92);
	assert_int_equal(reset_write(&r, 0x92, 0x03), RESET_NONE); /* no new rising edge */
	assert_int_equal(r.reason, RESET_PORT92);
	assert_string_equal(reset_reason_name(RESET_PORT92), "fast reset through port 0x92");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cf9),
		cmocka_unit_test(test_kbc_and_port92),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
