/*
 * tests/unit/test_dev_bus.c - the per-VM port and MMIO bus (hv/dev/bus.c):
 * registration, overlap refusal with a message naming both ranges, lookup
 * by port and by guest-physical address, dispatch with offsets, accesses
 * that are unclaimed or run past a range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dev/bus.h"

struct fake {
	u64 last_off, last_val, now;
	unsigned last_size, reads, writes;
	int result;
};

static int f_read(void *dev, u64 off, unsigned size, u64 *val, u64 now)
{
	struct fake *f = dev;
	f->reads++;
	f->last_off = off;
	f->last_size = size;
	f->now = now;
	*val = 0xA0 + off;
	return f->result;
}

static int f_write(void *dev, u64 off, unsigned size, u64 val, u64 now)
{
	struct fake *f = dev;
	f->writes++;
	f->last_off = off;
	f->last_size = size;
	f->last_val = val;
	f->now = now;
	return f->result;
}

static const struct bus_handler fake_h = { f_read, f_write };

static void test_register_and_overlap(void **state)
{
	(void)state;
	struct bus b;
	struct fake a = { 0 }, c = { 0 };
	bus_init(&b);
	assert_int_equal(bus_register(&b, BUS_IO, 0x3F8, 8, "uart", &fake_h, &a), BUS_OK);
	assert_int_equal(bus_register(&b, BUS_IO, 0x70, 2, "cmos", &fake_h, &c), BUS_OK);
	/* Overlaps at either end, inside, around. */
	assert_int_equal(bus_register(&b, BUS_IO, 0x3FF, 1, "late", &fake_h, &c), BUS_E_OVERLAP);
	assert_string_equal(b.err, "port range 0x3ff-0x3ff (late) overlaps 0x3f8-0x3ff (uart)");
	assert_int_equal(bus_register(&b, BUS_IO, 0x3F0, 9, "early", &fake_h, &c), BUS_E_OVERLAP);
	assert_int_equal(bus_register(&b, BUS_IO, 0x3F0, 0x20, "around", &fake_h, &c), BUS_E_OVERLAP);
	assert_int_equal(bus_register(&b, BUS_IO, 0x3F9, 2, "inside", &fake_h, &c), BUS_E_OVERLAP);
	/* Adjacent is fine; the same port in MMIO space is another space. */
	assert_int_equal(bus_register(&b, BUS_IO, 0x400, 1, "next", &fake_h, &c), BUS_OK);
	assert_int_equal(bus_register(&b, BUS_IO, 0x3F7, 1, "prev", &fake_h, &c), BUS_OK);
	assert_int_equal(bus_register(&b, BUS_MMIO, 0x3F8, 8, "mmio", &fake_h, &c), BUS_OK);
	/* Empty, wrapping, beyond the port space. */
	assert_int_equal(bus_register(&b, BUS_IO, 0x500, 0, "empty", &fake_h, &c), BUS_E_RANGE);
	assert_int_equal(bus_register(&b, BUS_IO, 0xFFFF, 2, "wide", &fake_h, &c), BUS_E_RANGE);
	assert_int_equal(bus_register(&b, BUS_MMIO, ~0ull, 2, "wrap", &fake_h, &c), BUS_E_RANGE);
	assert_non_null(strstr(b.err, "wrap"));
	assert_int_equal(bus_register(&b, BUS_MMIO, 0xFEE00000, 0x1000, "lapic", &fake_h, &c), BUS_OK);
	assert_int_equal(bus_register(&b, BUS_MMIO, 0xFEE00800, 0x1000, "late", &fake_h, &c), BUS_E_OVERLAP);
	assert_string_equal(b.err, "MMIO range 0xfee00800-0xfee017ff (late) overlaps 0xfee00000-0xfee00fff (lapic)");
	/* Full. */
	for (int i = 0; i < BUS_MAX_RANGES - 4; i++)
		assert_int_equal(bus_register(&b, BUS_IO, 0x1000 + (u64)i, 1, "n", &fake_h, &c), BUS_OK);
	assert_int_equal(bus_register(&b, BUS_IO, 0x2000, 1, "one too many", &fake_h, &c), BUS_E_FULL);
}

static void test_lookup_and_dispatch(void **state)
{
	(void)state;
	struct bus b;
	struct fake uart = { 0 }, apic = { 0 };
	bus_init(&b);
	bus_register(&b, BUS_IO, 0x3F8, 8, "uart", &fake_h, &uart);
	bus_register(&b, BUS_MMIO, 0xFEE00000, 0x1000, "lapic", &fake_h, &apic);
	/* The 64-port block map the exit path tests first. */
	assert_true(bus_io_block_used(&b, 0x3C0));
	assert_true(bus_io_block_used(&b, 0x3FF));
	assert_false(bus_io_block_used(&b, 0x3BF));
	assert_false(bus_io_block_used(&b, 0x400));
	assert_false(bus_io_block_used(&b, 0x2F0));
	assert_false(bus_io_block_used(&b, 0xFFFF));
	assert_null(bus_find(&b, BUS_IO, 0x3F7));
	assert_string_equal(bus_find(&b, BUS_IO, 0x3F8)->name, "uart");
	assert_string_equal(bus_find(&b, BUS_IO, 0x3FF)->name, "uart");
	assert_null(bus_find(&b, BUS_IO, 0x400));
	assert_string_equal(bus_find(&b, BUS_MMIO, 0xFEE00FFF)->name, "lapic");
	assert_null(bus_find(&b, BUS_MMIO, 0xFEE01000));
	assert_null(bus_find(&b, BUS_MMIO, 0x3F8));
	u64 v = 0;
	assert_int_equal(bus_access(&b, BUS_IO, 0x3FD, 1, false, &v, 77), BUS_OK);
	assert_int_equal(v, 0xA5);
	assert_int_equal(uart.last_off, 5);
	assert_int_equal(uart.now, 77);
	v = 0x41;
	assert_int_equal(bus_access(&b, BUS_IO, 0x3F8, 1, true, &v, 78), BUS_OK);
	assert_int_equal(uart.writes, 1);
	assert_int_equal(uart.last_val, 0x41);
	v = 0;
	assert_int_equal(bus_access(&b, BUS_MMIO, 0xFEE000B0, 4, true, &v, 0), BUS_OK);
	assert_int_equal(apic.last_off, 0xB0);
	assert_int_equal(apic.last_size, 4);
	/* Unclaimed and straddling accesses reach no device. */
	assert_int_equal(bus_access(&b, BUS_IO, 0x80, 1, true, &v, 0), BUS_UNCLAIMED);
	assert_int_equal(bus_access(&b, BUS_IO, 0x3FE, 4, false, &v, 0), BUS_STRADDLE);
	assert_int_equal(bus_access(&b, BUS_MMIO, 0xFEE00FFC, 8, false, &v, 0), BUS_STRADDLE);
	assert_int_equal(uart.reads, 1);
	/* A handler's error comes back unchanged. */
	apic.result = -7;
	assert_int_equal(bus_access(&b, BUS_MMIO, 0xFEE00030, 4, false, &v, 0), -7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_and_overlap),
		cmocka_unit_test(test_lookup_and_dispatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
