/*
 * tests/unit/test_dev_pit.c - the 8254 and port 0x61 (hv/dev/pit.c): the two
 * sequences Linux calibrates with, every counter mode, the latch and
 * read-back commands, BCD, the access modes and channel 2's gate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dev/pit.h"

static u16 read16(struct pit *p, unsigned c, u64 now)
{
	u8 lo = pit_read(p, (u16)(PIT_PORT_CH0 + c), now);
	u8 hi = pit_read(p, (u16)(PIT_PORT_CH0 + c), now);
	return (u16)(lo | hi << 8);
}

static void write16(struct pit *p, unsigned c, u16 v, u64 now)
{
	pit_write(p, (u16)(PIT_PORT_CH0 + c), (u8)v, now);
	pit_write(p, (u16)(PIT_PORT_CH0 + c), (u8)(v >> 8), now);
}

/* Linux's quick_pit_calibrate (arch/x86/kernel/tsc.c): channel 2, mode 0,
 * count 0xFFFF, the MSB read as it falls by one every 256 clocks. */
static void test_linux_quick_calibrate(void **state)
{
	(void)state;
	struct pit p;
	pit_init(&p);
	u64 t = 1000;
	pit_write(&p, PIT_PORT_B, (u8)((pit_read(&p, PIT_PORT_B, t) & ~0x02) | 0x01), t);
	pit_write(&p, PIT_PORT_CTRL, 0xB0, t);         /* channel 2, LSB+MSB, mode 0, binary */
	write16(&p, 2, 0xFFFF, t);
	assert_int_equal(read16(&p, 2, t), 0xFFFF);
	for (unsigned i = 1; i < 200; i++) {
		u16 v = read16(&p, 2, t + 256u * i);
		assert_int_equal(v >> 8, 0xFF - i);
		assert_int_equal(v & 0xFF, 0xFF);
	}
	assert_int_equal(pit_read(&p, PIT_PORT_B, t) & 0x20, 0);   /* OUT2 low while counting */
}

/* Linux's pit_calibrate_tsc: mode 0 for 10 ms, OUT2 polled in port 0x61. */
static void test_linux_out2_poll(void **state)
{
	(void)state;
	struct pit p;
	pit_init(&p);
	u32 latch = PIT_HZ / 100;                       /* CAL_LATCH for 10 ms */
	pit_write(&p, PIT_PORT_B, (u8)((pit_read(&p, PIT_PORT_B, 0) & ~0x02) | 0x01), 0);
	pit_write(&p, PIT_PORT_CTRL, 0xB0, 0);
	pit_write(&p, 0x42, (u8)latch, 5);
	pit_write(&p, 0x42, (u8)(latch >> 8), 5);
	assert_int_equal(pit_read(&p, PIT_PORT_B, 5) & 0x20, 0);
	assert_int_equal(pit_read(&p, PIT_PORT_B, 5 + latch - 1) & 0x20, 0);
	assert_int_equal(pit_read(&p, PIT_PORT_B, 5 + latch) & 0x20, 0x20);
	assert_int_equal(pit_read(&p, PIT_PORT_B, 5 + 3 * latch) & 0x20, 0x20);   /* stays high */
	/* the count went on past 0: 0xFFFF one clock after */
	assert_int_equal(read16(&p, 2, 5 + latch + 1), 0xFFFF);
}

static void test_mode0_first_byte_stops(void **state)
{
	(void)state;
	struct pit p;
	pit_init(&p);
	pit_write(&p, PIT_PORT_CTRL, 0x30, 0);          /* channel 0, LSB+MSB, mode 0 */
	assert_false(pit_out(&p, 0, 0));               /* low after the control word */
	write16(&p, 0, 10, 0);
	assert_true(pit_out(&p, 0, 10));
	pit_write(&p, PIT_PORT_CH0, 50, 20);            /* first byte of a new count */
	assert_false(pit_out(&p, 0, 30));
	pit_write(&p, PIT_PORT_CH0, 0, 40);             /* second: 50 from now */
	assert_int_equal(read16(&p, 0, 60), 30);
	assert_false(pit_out(&p, 0, 89));
	assert_true(pit_out(&p, 0, 90));
}

static void test_mode2_rate_generator(void **state)
{
	(void)state;
	struct pit p;
	pit_init(&p);
	pit_write(&p, PIT_PORT_CTRL, 0x34, 0);          /* channel 0, LSB+MSB, mode 2 */
	assert_true(pit_out(&p, 0, 0));
	write16(&p, 0, 100, 0);
	for (u64 e = 0; e < 300; e++) {
		u16 want = (u16)(100 - e % 100);
		assert_int_equal(read16(&p, 0, e), want);
		assert_int_equal(pit_out(&p, 0, e), want != 1);   /* low for the clock at 1 */
	}
}

static void test_mode3_square_wave(void **state)
{
	(void)state;
	struct pit p;
	pit_init(&p);
	pit_write(&p, PIT_PORT_CTRL, 0x36, 0);          /* channel 0, LSB+MSB, mode 3 */
	write16(&p, 0, 100, 0);
	unsigned high = 0;
	for (u64 e = 0; e < 1000; e++) {
		high += pit_out(&p, 0, e);
		u16 v = read16(&p, 0, e);
		assert_true(v >= 2 && v <= 100 && !(v & 1));
	}
	assert_int_equal(high, 500);                     /* half the time high */
	assert_true(pit_out(&p, 0, 49));
	assert_false(pit_out(&p, 0, 50));
	/* modes 6 and 7 are 2 and 3 */
	pit_write(&p, PIT_PORT_CTRL, 0x3E, 0);
	pit_write(&p, PIT_PORT_CTRL, 0xE2, 0);          /* read back channel 0's status */
	assert_int_equal((pit_read(&p, PIT_PORT_CH0, 0) >> 1) & 7, 3);
}

static void test_mode4_strobe(void **state)
{
	(void)state;
	struct pit p;
	pit_init(&p);
	pit_write(&p, PIT_PORT_CTRL, 0x38, 0);          /* channel 0, LSB+MSB, mode 4 */
	write16(&p, 0, 20, 0);
	assert_true(pit_out(&p, 0, 19));
	assert_false(pit_out(&p, 0, 20));
	assert_true(pit_out(&p, 0, 21));
}

/* Modes 1 and 5 start at a rising edge of the gate: channel 2 only. */
static void test_mode1_triggered(void **state)
{
	(void)state;
	struct pit p;
	pit_init(&p);
	pit_write(&p, PIT_PORT_CTRL, 0xB2, 0);          /* channel 2, LSB+MSB, mode 1 */
	write16(&p, 2, 30, 0);
	assert_true(pit_out(&p, 2, 100));               /* no trigger yet */
	assert_int_equal(read16(&p, 2, 100), 30);
	pit_write(&p, PIT_PORT_B, 0x01, 100);           /* gate rises */
	assert_false(pit_out(&p, 2, 110));
	assert_int_equal(read16(&p, 2, 110), 20);
	pit_write(&p, PIT_PORT_B, 0x00, 115);           /* the level does not matter */
	assert_true(pit_out(&p, 2, 130));
	pit_write(&p, PIT_PORT_B, 0x01, 200);           /* retrigger */
	assert_false(pit_out(&p, 2, 201));
	assert_true(pit_out(&p, 2, 230));
	/* mode 5: the strobe comes N clocks after the trigger */
	pit_write(&p, PIT_PORT_B, 0x00, 300);
	pit_write(&p, PIT_PORT_CTRL, 0xBA, 300);
	write16(&p, 2, 10, 300);
	assert_true(pit_out(&p, 2, 400));
	pit_write(&p, PIT_PORT_B, 0x01, 400);
	assert_false(pit_out(&p, 2, 410));
	assert_true(pit_out(&p, 2, 411));
}

static void test_gate_pauses_and_reloads(void **state)
{
	(void)state;
	struct pit p;
	pit_init(&p);
	pit_write(&p, PIT_PORT_CTRL, 0xB0, 0);          /* channel 2, mode 0, gate low */
	write16(&p, 2, 1000, 0);
	assert_int_equal(read16(&p, 2, 500), 1000);     /* not counting */
	pit_write(&p, PIT_PORT_B, 0x01, 500);
	assert_int_equal(read16(&p, 2, 600), 900);
	pit_write(&p, PIT_PORT_B, 0x00, 600);
	assert_int_equal(read16(&p, 2, 5000), 900);     /* paused */
	pit_write(&p, PIT_PORT_B, 0x01, 5000);
	assert_int_equal(read16(&p, 2, 5100), 800);
	/* mode 2: gate low holds OUT high, a rising edge starts the count again */
	pit_write(&p, PIT_PORT_CTRL, 0xB4, 6000);
	write16(&p, 2, 50, 6000);
	assert_int_equal(read16(&p, 2, 6010), 40);
	pit_write(&p, PIT_PORT_B, 0x00, 6010);
	assert_true(pit_out(&p, 2, 6049));
	pit_write(&p, PIT_PORT_B, 0x01, 7000);
	assert_int_equal(read16(&p, 2, 7005), 45);
}

static void test_latch_and_readback(void **state)
{
	(void)state;
	struct pit p;
	pit_init(&p);
	pit_write(&p, PIT_PORT_CTRL, 0x30, 0);
	write16(&p, 0, 0x1234, 0);
	pit_write(&p, PIT_PORT_CTRL, 0x00, 0x34);       /* latch channel 0: 0x1200 */
	pit_write(&p, PIT_PORT_CTRL, 0x00, 0x100);      /* a second latch is ignored */
	assert_int_equal(read16(&p, 0, 0x200), 0x1200);
	assert_int_equal(read16(&p, 0, 0x234), 0x1000); /* live again */
	/* read-back of status and count (status first): OUT low, loaded, rw 3, mode 0 */
	pit_write(&p, PIT_PORT_CTRL, 0xC2, 0x334);
	assert_int_equal(pit_read(&p, PIT_PORT_CH0, 0x400), 0x30);
	assert_int_equal(read16(&p, 0, 0x400), 0x0F00);
	/* status only, after the control word: null count set, OUT low */
	pit_write(&p, PIT_PORT_CTRL, 0x30, 0x400);
	pit_write(&p, PIT_PORT_CTRL, 0xE2, 0x400);
	assert_int_equal(pit_read(&p, PIT_PORT_CH0, 0x400), 0x70);
	/* channels 1 and 2 at once, count only */
	pit_write(&p, PIT_PORT_CTRL, 0x70, 0);          /* channel 1, LSB+MSB, mode 0 */
	write16(&p, 1, 500, 0);
	pit_write(&p, PIT_PORT_CTRL, 0xB0, 0);
	write16(&p, 2, 700, 0);                         /* gate 2 low: holds */
	pit_write(&p, PIT_PORT_CTRL, 0xDC, 100);        /* count latch, channels 1 and 2 */
	assert_int_equal(read16(&p, 1, 300), 400);
	assert_int_equal(read16(&p, 2, 300), 700);
	/* the control word port reads as nothing */
	assert_int_equal(pit_read(&p, PIT_PORT_CTRL, 0), 0xFF);
}

static void test_access_modes_and_bcd(void **state)
{
	(void)state;
	struct pit p;
	pit_init(&p);
	pit_write(&p, PIT_PORT_CTRL, 0x10, 0);          /* channel 0, LSB only, mode 0 */
	pit_write(&p, PIT_PORT_CH0, 0x80, 0);
	assert_int_equal(pit_read(&p, PIT_PORT_CH0, 0x10), 0x70);
	assert_int_equal(pit_read(&p, PIT_PORT_CH0, 0x10), 0x70);   /* no flip-flop */
	pit_write(&p, PIT_PORT_CTRL, 0x20, 0);          /* MSB only */
	pit_write(&p, PIT_PORT_CH0, 0x02, 0);           /* 0x200 */
	assert_int_equal(pit_read(&p, PIT_PORT_CH0, 0x100), 0x01);
	pit_write(&p, PIT_PORT_CTRL, 0x31, 0);          /* LSB+MSB, mode 0, BCD */
	write16(&p, 0, 0x0100, 0);                      /* 100 decimal */
	assert_int_equal(read16(&p, 0, 1), 0x0099);
	assert_int_equal(read16(&p, 0, 100), 0x0000);
	assert_int_equal(read16(&p, 0, 101), 0x9999);   /* on from 9999 */
	write16(&p, 0, 0x0000, 200);                    /* 0 is 10000 in BCD */
	assert_int_equal(read16(&p, 0, 201), 0x9999);
	assert_true(pit_out(&p, 0, 200 + 10000));
	assert_false(pit_out(&p, 0, 200 + 9999));
}

static void test_port_b(void **state)
{
	(void)state;
	struct pit p;
	pit_init(&p);
	pit_write(&p, PIT_PORT_B, 0xFF, 0);
	assert_int_equal(pit_read(&p, PIT_PORT_B, 0) & 0xCF, 0x0F);   /* bits 6, 7: no NMI source */
	assert_int_equal(pit_read(&p, PIT_PORT_B, 0) & 0x10, 0);
	assert_int_equal(pit_read(&p, PIT_PORT_B, 18) & 0x10, 0x10);  /* refresh toggles */
	assert_int_equal(pit_read(&p, PIT_PORT_B, 36) & 0x10, 0);
	/* OUT2 in bit 5 follows channel 2 (mode 2: high but at count 1) */
	pit_write(&p, PIT_PORT_CTRL, 0xB4, 0);
	write16(&p, 2, 4, 0);
	assert_int_equal(pit_read(&p, PIT_PORT_B, 2) & 0x20, 0x20);
	assert_int_equal(pit_read(&p, PIT_PORT_B, 3) & 0x20, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_quick_calibrate),
		cmocka_unit_test(test_linux_out2_poll),
		cmocka_unit_test(test_mode0_first_byte_stops),
		cmocka_unit_test(test_mode2_rate_generator),
		cmocka_unit_test(test_mode3_square_wave),
		cmocka_unit_test(test_mode4_strobe),
		cmocka_unit_test(test_mode1_triggered),
		cmocka_unit_test(test_gate_pauses_and_reloads),
		cmocka_unit_test(test_latch_and_readback),
		cmocka_unit_test(test_access_modes_and_bcd),
		cmocka_unit_test(test_port_b),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
