/*
 * tests/unit/test_dev_cmos.c - CMOS RAM and the RTC (hv/dev/cmos.c):
 * time of day from the `now` parameter in BCD and binary, 24- and 12-hour
 * formats, setting the clock with SET, status registers, memory size bytes,
 * the NMI mask bit, and the calendar arithmetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dev/cmos.h"

static struct cmos c;

static u8 rd(u8 reg, u64 now)
{
	cmos_write(&c, CMOS_PORT_INDEX, reg, now);
	return cmos_read(&c, CMOS_PORT_DATA, now);
}

static void wr(u8 reg, u8 val, u64 now)
{
	cmos_write(&c, CMOS_PORT_INDEX, reg, now);
	cmos_write(&c, CMOS_PORT_DATA, val, now);
}

/* 2026-12-06 03:14:15 UTC, a Sunday. */
#define T0 1796526855ull

static void test_calendar_against_libc(void **state)
{
	(void)state;
	/* Every ~9.7 days from 1900 to 2400 against the host's gmtime. */
	for (s64 t = -2208988800LL; t < 13569465600LL; t += 836789) {
		time_t tt = (time_t)t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		struct cmos_date d;
		cmos_date_from_epoch(t, &d);
		assert_int_equal(d.year, tm.tm_year + 1900);
		assert_int_equal(d.month, tm.tm_mon + 1);
		assert_int_equal(d.day, tm.tm_mday);
		assert_int_equal(d.hour, tm.tm_hour);
		assert_int_equal(d.min, tm.tm_min);
		assert_int_equal(d.sec, tm.tm_sec);
		assert_int_equal(d.wday, tm.tm_wday);
		assert_int_equal(cmos_epoch_from_date(&d), t);
	}
}

static void test_time_bcd_24h(void **state)
{
	(void)state;
	cmos_init(&c, MiB(128), 0);
	assert_int_equal(rd(0x00, T0), 0x15);
	assert_int_equal(rd(0x02, T0), 0x14);
	assert_int_equal(rd(0x04, T0), 0x03);
	assert_int_equal(rd(0x06, T0), 0x01); /* Sunday */
	assert_int_equal(rd(0x07, T0), 0x06);
	assert_int_equal(rd(0x08, T0), 0x12);
	assert_int_equal(rd(0x09, T0), 0x26);
	assert_int_equal(rd(0x32, T0), 0x20);
	/* Time moves with `now`. */
	assert_int_equal(rd(0x00, T0 + 44), 0x59);
	assert_int_equal(rd(0x02, T0 + 45), 0x15);
	/* Status registers. */
	assert_int_equal(rd(0x0A, T0) & 0x80, 0); /* no update in progress */
	assert_int_equal(rd(0x0B, T0), 0x02);
	assert_int_equal(rd(0x0C, T0), 0x00);
	assert_int_equal(rd(0x0D, T0), 0x80);
	wr(0x0D, 0, T0);
	assert_int_equal(rd(0x0D, T0), 0x80);
	wr(0x0A, 0xA6, T0);
	assert_int_equal(rd(0x0A, T0), 0x26); /* UIP is read-only */
}

static void test_binary_and_12h(void **state)
{
	(void)state;
	cmos_init(&c, MiB(128), 0);
	wr(0x0B, 0x06, T0); /* binary, 24h */
	assert_int_equal(rd(0x00, T0), 15);
	assert_int_equal(rd(0x09, T0), 26);
	wr(0x0B, 0x04, T0); /* binary, 12h: 03:14 is 3 AM */
	assert_int_equal(rd(0x04, T0), 3);
	assert_int_equal(rd(0x04, T0 + 12 * 3600), 0x80 | 3); /* 3 PM */
	assert_int_equal(rd(0x04, T0 - 3 * 3600 - 14 * 60), 12); /* midnight: 12 AM */
	wr(0x0B, 0x00, T0); /* BCD, 12h */
	assert_int_equal(rd(0x04, T0 + 9 * 3600), 0x80 | 0x12); /* noon: 12 PM */
}

static void test_set_clock(void **state)
{
	(void)state;
	cmos_init(&c, MiB(128), 0);
	/* Freeze, write 1999-12-31 23:59:50, release. */
	wr(0x0B, 0x82, T0);
	wr(0x00, 0x50, T0);
	wr(0x02, 0x59, T0);
	wr(0x04, 0x23, T0);
	wr(0x07, 0x31, T0);
	wr(0x08, 0x12, T0);
	wr(0x09, 0x99, T0);
	wr(0x32, 0x19, T0);
	assert_int_equal(rd(0x00, T0 + 100), 0x50); /* frozen while SET */
	wr(0x0B, 0x02, T0 + 100);
	/* 15 s later it is the year 2000. */
	assert_int_equal(rd(0x00, T0 + 115), 0x05);
	assert_int_equal(rd(0x09, T0 + 115), 0x00);
	assert_int_equal(rd(0x32, T0 + 115), 0x20);
	assert_int_equal(rd(0x08, T0 + 115), 0x01);
	assert_int_equal(rd(0x06, T0 + 115), 0x07); /* 2000-01-01 was a Saturday */
	/* A single register written without SET takes effect too. */
	wr(0x02, 0x30, T0 + 115);
	assert_int_equal(rd(0x02, T0 + 115), 0x30);
	assert_int_equal(rd(0x00, T0 + 115), 0x05);
}

static void test_memory_and_ram(void **state)
{
	(void)state;
	cmos_init(&c, MiB(128), GiB(2));
	assert_int_equal(rd(0x15, 0) | rd(0x16, 0) << 8, 640);
	assert_int_equal(rd(0x17, 0) | rd(0x18, 0) << 8, 0xFFFF); /* 127 MiB: capped */
	assert_int_equal(rd(0x30, 0) | rd(0x31, 0) << 8, 0xFFFF);
	assert_int_equal(rd(0x34, 0) | rd(0x35, 0) << 8, (128 - 16) * 16);
	assert_int_equal(rd(0x5B, 0) | rd(0x5C, 0) << 8 | rd(0x5D, 0) << 16, 2 * 16384);
	cmos_init(&c, MiB(32), 0);
	assert_int_equal(rd(0x17, 0) | rd(0x18, 0) << 8, 31 * 1024);
	/* Plain RAM, shutdown status among it. */
	wr(0x0F, 0x0A, 0);
	wr(0x40, 0x77, 0);
	assert_int_equal(rd(0x0F, 0), 0x0A);
	assert_int_equal(rd(0x40, 0), 0x77);
}

static void test_nmi_mask_and_index(void **state)
{
	(void)state;
	cmos_init(&c, MiB(64), 0);
	assert_false(cmos_nmi_masked(&c));
	cmos_write(&c, CMOS_PORT_INDEX, 0x80 | 0x40, 0);
	assert_true(cmos_nmi_masked(&c));
	cmos_write(&c, CMOS_PORT_DATA, 0x12, 0);
	cmos_write(&c, CMOS_PORT_INDEX, 0x40, 0);
	assert_false(cmos_nmi_masked(&c));
	assert_int_equal(cmos_read(&c, CMOS_PORT_DATA, 0), 0x12); /* bit 7 not part of the index */
	assert_int_equal(cmos_read(&c, CMOS_PORT_INDEX, 0), 0xFF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calendar_against_libc),
		cmocka_unit_test(test_time_bcd_24h),
		cmocka_unit_test(test_binary_and_12h),
		cmocka_unit_test(test_set_clock),
		cmocka_unit_test(test_memory_and_ram),
		cmocka_unit_test(test_nmi_mask_and_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
