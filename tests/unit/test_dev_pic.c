/*
 * tests/unit/test_dev_pic.c - the absent 8259A pair (hv/dev/pic.c): the
 * probe Linux runs (write a mask to the IMR, read it back) must see no PIC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dev/pic.h"

static void test_imr_reads_all_ones(void **state)
{
	(void)state;
	struct pic_absent p;
	pic_init(&p);
	/* ICW1-ICW4 on both chips, then a mask: nothing sticks. */
	static const struct { u16 port; u8 val; } init_seq[] = {
		{ 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 }, { 0x21, 0x01 },
		{ 0xA0, 0x11 }, { 0xA1, 0x28 }, { 0xA1, 0x02 }, { 0xA1, 0x01 },
		{ 0xA1, 0xFF }, { 0x21, 0xFB },
	};
	for (size_t i = 0; i < sizeof(init_seq) / sizeof(init_seq[0]); i++)
		pic_write(&p, init_seq[i].port, init_seq[i].val);
	assert_int_equal(p.writes, 10);
	assert_int_not_equal(pic_read(&p, 0x21), 0xFB); /* Linux: "no PIC" */
	assert_int_equal(pic_read(&p, 0x21), 0xFF);
	assert_int_equal(pic_read(&p, 0xA1), 0xFF);
	/* OCW3 "read IRR/ISR" gets all ones as well, and ELCR. */
	pic_write(&p, 0x20, 0x0B);
	assert_int_equal(pic_read(&p, 0x20), 0xFF);
	assert_int_equal(pic_read(&p, 0xA0), 0xFF);
	assert_int_equal(pic_read(&p, 0x4D0), 0xFF);
	assert_int_equal(pic_read(&p, 0x4D1), 0xFF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_imr_reads_all_ones),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
