/*
 * tests/unit/test_dev_ioapic.c - the virtual I/O APIC (hv/dev/ioapic.c)
 * against the 82093AA datasheet: the register window, redirection entries,
 * edge and level pins, masking, remote IRR and the EOI broadcast.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dev/ioapic.h"

static struct irq_msg got[16];
static int n_got;

static void deliver(void *ctx, const struct irq_msg *m)
{
	(void)ctx;
	if (n_got < 16)
		got[n_got] = *m;
	n_got++;
}

static struct ioapic io;

static int setup(void **state)
{
	(void)state;
	n_got = 0;
	ioapic_init(&io, 2, deliver, NULL);
	return 0;
}

static u32 reg_read(u32 r)
{
	ioapic_mmio_write(&io, IOAPIC_REGSEL, r);
	return ioapic_mmio_read(&io, IOAPIC_IOWIN);
}

static void reg_write(u32 r, u32 v)
{
	ioapic_mmio_write(&io, IOAPIC_REGSEL, r);
	ioapic_mmio_write(&io, IOAPIC_IOWIN, v);
}

static void program(unsigned pin, u64 entry)
{
	reg_write(0x11 + 2 * pin, (u32)(entry >> 32));
	reg_write(0x10 + 2 * pin, (u32)entry);
}

static void test_registers(void **state)
{
	(void)state;
	assert_int_equal(reg_read(0x00), 2u << 24);
	assert_int_equal(reg_read(0x01), 0x00170020); /* 24 entries, version 0x20 */
	reg_write(0x00, 0x05000000);
	assert_int_equal(reg_read(0x00), 5u << 24);
	reg_write(0x01, 0);
	assert_int_equal(reg_read(0x01), 0x00170020);
	assert_int_equal(ioapic_mmio_read(&io, IOAPIC_REGSEL), 0x01);
	/* Every entry starts masked. */
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		assert_int_equal(reg_read(0x10 + 2 * pin), IOREDIR_MASKED);
	/* Read-only bits (delivery status, remote IRR) and reserved ones. */
	reg_write(0x10, 0xFFFFFFFF);
	assert_int_equal(reg_read(0x10), 0x0001AFFF);
	reg_write(0x11, 0xFFFFFFFF);
	assert_int_equal(reg_read(0x11), 0xFF000000);
	/* Beyond the table: reads 0. */
	assert_int_equal(reg_read(0x10 + 2 * IOAPIC_PINS), 0);
	assert_int_equal(ioapic_mmio_read(&io, 0x20), 0);
}

static void test_edge(void **state)
{
	(void)state;
	program(4, (3ull << 56) | 0x24); /* fixed, physical, edge, dest 3 */
	ioapic_set_irq(&io, 4, true);
	assert_int_equal(n_got, 1);
	assert_int_equal(got[0].vector, 0x24);
	assert_int_equal(got[0].dest, 3);
	assert_false(got[0].level);
	assert_false(got[0].logical);
	/* Held high: no new edge. */
	ioapic_set_irq(&io, 4, true);
	assert_int_equal(n_got, 1);
	ioapic_set_irq(&io, 4, false);
	ioapic_set_irq(&io, 4, true);
	assert_int_equal(n_got, 2);
	/* An edge while masked is lost; unmasking does not replay it. */
	ioapic_set_irq(&io, 4, false);
	program(4, IOREDIR_MASKED | 0x24);
	ioapic_set_irq(&io, 4, true);
	program(4, 0x24);
	assert_int_equal(n_got, 2);
	/* Logical destination, lowest priority. */
	program(5, (0x0Full << 56) | IOREDIR_LOGICAL | (1u << 8) | 0x25);
	ioapic_set_irq(&io, 5, true);
	assert_int_equal(n_got, 3);
	assert_true(got[2].logical);
	assert_int_equal(got[2].delivery, IRQ_DM_LOWEST);
	assert_int_equal(got[2].dest, 0x0F);
	/* Pins out of range are ignored. */
	ioapic_set_irq(&io, 24, true);
	assert_int_equal(n_got, 3);
}

static void test_level_remote_irr_eoi(void **state)
{
	(void)state;
	program(9, IOREDIR_LEVEL | 0x39);
	ioapic_set_irq(&io, 9, true);
	assert_int_equal(n_got, 1);
	assert_true(got[0].level);
	assert_true(reg_read(0x10 + 18) & IOREDIR_REMOTE_IRR);
	/* In service: no repeat while remote IRR is set. */
	ioapic_set_irq(&io, 9, true);
	assert_int_equal(n_got, 1);
	/* EOI of another vector changes nothing. */
	ioapic_eoi(&io, 0x38);
	assert_int_equal(n_got, 1);
	/* EOI while still asserted: sent again. */
	ioapic_eoi(&io, 0x39);
	assert_int_equal(n_got, 2);
	/* Device de-asserts, then EOI: remote IRR clear, nothing sent. */
	ioapic_set_irq(&io, 9, false);
	ioapic_eoi(&io, 0x39);
	assert_int_equal(n_got, 2);
	assert_false(reg_read(0x10 + 18) & IOREDIR_REMOTE_IRR);
	/* Masked and asserted: nothing until unmasked, then sent. */
	program(9, IOREDIR_MASKED | IOREDIR_LEVEL | 0x39);
	ioapic_set_irq(&io, 9, true);
	assert_int_equal(n_got, 2);
	program(9, IOREDIR_LEVEL | 0x39);
	assert_int_equal(n_got, 3);
	/* The EOI register at +0x40 does what a broadcast does. */
	ioapic_mmio_write(&io, IOAPIC_EOIR, 0x39);
	assert_int_equal(n_got, 4);
	/* Rewriting the entry keeps remote IRR (software cannot clear it). */
	program(9, IOREDIR_LEVEL | 0x39);
	assert_true(reg_read(0x10 + 18) & IOREDIR_REMOTE_IRR);
	assert_int_equal(n_got, 4);
	/* Switching to edge drops it. */
	program(9, 0x39);
	assert_false(reg_read(0x10 + 18) & IOREDIR_REMOTE_IRR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_registers, setup),
		cmocka_unit_test_setup(test_edge, setup),
		cmocka_unit_test_setup(test_level_remote_irr_eoi, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
