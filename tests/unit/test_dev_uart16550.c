/*
 * tests/unit/test_dev_uart16550.c - the virtual 16550A (hv/dev/uart16550.c)
 * against the PC16550D datasheet: registers, divisor latch, FIFO and trigger
 * levels, LSR/IIR/IER, THRE and receive interrupts, OUT2, loopback, scratch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dev/uart16550.h"

static char out[64];
static int n_out;
static int irq_changes;
static bool irq_now;

static void tx(void *ctx, u8 b)
{
	(void)ctx;
	if (n_out < 63)
		out[n_out] = (char)b;
	n_out++;
}

static void irq(void *ctx, bool level)
{
	(void)ctx;
	irq_changes++;
	irq_now = level;
}

static struct uart16550 u;
static const struct uart_ops ops = { .tx = tx, .irq = irq };

static int setup(void **state)
{
	(void)state;
	memset(out, 0, sizeof(out));
	n_out = irq_changes = 0;
	irq_now = false;
	uart_init(&u, &ops);
	return 0;
}

static void test_reset_and_registers(void **state)
{
	(void)state;
	assert_int_equal(uart_read(&u, UART_LSR), 0x60); /* THRE | TEMT */
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x01); /* nothing pending */
	assert_int_equal(uart_read(&u, UART_IER_DLM), 0);
	assert_int_equal(uart_read(&u, UART_LCR), 0x03);
	assert_int_equal(uart_read(&u, UART_MSR), 0xB0); /* DCD DSR CTS */
	/* Scratch. */
	uart_write(&u, UART_SCR, 0x5A);
	assert_int_equal(uart_read(&u, UART_SCR), 0x5A);
	/* Divisor latch behind DLAB; IER and RBR/THR come back after. */
	uart_write(&u, UART_IER_DLM, 0x05);
	uart_write(&u, UART_LCR, 0x83);
	uart_write(&u, UART_RBR_THR_DLL, 0x01);
	uart_write(&u, UART_IER_DLM, 0x00);
	assert_int_equal(uart_read(&u, UART_RBR_THR_DLL), 0x01);
	assert_int_equal(uart_read(&u, UART_IER_DLM), 0x00);
	assert_int_equal(n_out, 0); /* a DLL write is not a byte sent */
	uart_write(&u, UART_LCR, 0x03);
	assert_int_equal(uart_read(&u, UART_IER_DLM), 0x05);
	uart_write(&u, UART_IER_DLM, 0xFF);
	assert_int_equal(uart_read(&u, UART_IER_DLM), 0x0F); /* bits 7:4 are 0 */
}

static void test_transmit_and_thre(void **state)
{
	(void)state;
	uart_write(&u, UART_RBR_THR_DLL, 'h');
	uart_write(&u, UART_RBR_THR_DLL, 'i');
	assert_int_equal(n_out, 2);
	assert_memory_equal(out, "hi", 2);
	assert_int_equal(uart_read(&u, UART_LSR) & 0x60, 0x60);
	/* THRE interrupt needs IER bit 1 and, on a PC, OUT2. */
	uart_write(&u, UART_IER_DLM, 0x02);
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x02);
	assert_false(irq_now);
	/* Reading IIR cleared it; a THR write raises it again. */
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x01);
	uart_write(&u, UART_MCR, 0x08);
	uart_write(&u, UART_RBR_THR_DLL, '!');
	assert_true(irq_now);
	assert_true(uart_irq_level(&u));
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x02);
	assert_false(irq_now);
	/* Re-enabling THRE with THR empty raises it (Linux's probe does this). */
	uart_write(&u, UART_IER_DLM, 0x00);
	uart_write(&u, UART_IER_DLM, 0x02);
	assert_true(irq_now);
	uart_write(&u, UART_IER_DLM, 0x00);
	assert_false(irq_now);
}

static void test_receive_no_fifo(void **state)
{
	(void)state;
	uart_write(&u, UART_MCR, 0x08);
	uart_write(&u, UART_IER_DLM, 0x05); /* RDA and line status */
	assert_true(uart_push_input(&u, 'a'));
	assert_true(irq_now);
	assert_int_equal(uart_read(&u, UART_LSR) & 1, 1);
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x04);
	/* Without FIFOs there is one holding register: the next byte overruns. */
	assert_false(uart_push_input(&u, 'b'));
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x06); /* line status first */
	assert_int_equal(uart_read(&u, UART_LSR), 0x63);     /* DR OE THRE TEMT */
	assert_int_equal(uart_read(&u, UART_LSR), 0x61);     /* OE cleared by the read */
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x04);
	assert_int_equal(uart_read(&u, UART_RBR_THR_DLL), 'a');
	assert_int_equal(uart_read(&u, UART_LSR) & 1, 0);
	assert_false(irq_now);
	assert_int_equal(uart_rx_room(&u), 1);
}

static void test_receive_fifo_trigger(void **state)
{
	(void)state;
	uart_write(&u, UART_MCR, 0x08);
	uart_write(&u, UART_IIR_FCR, 0x87); /* FIFO on, clear both, trigger 8 */
	uart_write(&u, UART_IER_DLM, 0x01);
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0xC1);
	for (int i = 0; i < 3; i++)
		uart_push_input(&u, (u8)('0' + i));
	/* Below the trigger level: character timeout (1100b). */
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0xCC);
	for (int i = 3; i < 8; i++)
		uart_push_input(&u, (u8)('0' + i));
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0xC4);
	assert_true(irq_now);
	for (int i = 8; i < 16; i++)
		assert_true(uart_push_input(&u, (u8)('0' + i)));
	assert_int_equal(uart_rx_room(&u), 0);
	assert_false(uart_push_input(&u, 'x'));
	for (int i = 0; i < 16; i++)
		assert_int_equal(uart_read(&u, UART_RBR_THR_DLL), '0' + i);
	assert_int_equal(uart_read(&u, UART_LSR) & 0x03, 0x02); /* OE, no DR */
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0xC1);
	assert_false(irq_now);
	/* FCR bit 1 empties the receive FIFO. */
	uart_push_input(&u, 'y');
	uart_write(&u, UART_IIR_FCR, 0x03);
	assert_int_equal(uart_read(&u, UART_LSR) & 1, 0);
	/* Turning FIFOs off: IIR bits 7:6 read 0. */
	uart_write(&u, UART_IIR_FCR, 0x00);
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x01);
}

/* The receive FIFO is a ring: many bytes through it, pushed and read in
 * uneven bursts (as console_input delivers them), come out whole and in
 * order, with the interrupt line following what waits. */
static void test_receive_order_wrap(void **state)
{
	(void)state;
	uart_write(&u, UART_MCR, 0x08);
	uart_write(&u, UART_IIR_FCR, 0xC7); /* FIFO on, trigger 14 */
	uart_write(&u, UART_IER_DLM, 0x01);
	unsigned sent = 0, got = 0;
	for (int round = 0; round < 100; round++) {
		unsigned burst = 1 + (unsigned)(round * 7) % 16;
		while (burst-- && uart_rx_room(&u))
			assert_true(uart_push_input(&u, (u8)(sent++ * 13)));
		assert_true(irq_now);
		u8 iir = uart_read(&u, UART_IIR_FCR);
		assert_true(iir == 0xC4 || iir == 0xCC);
		unsigned take = 1 + (unsigned)(round * 5) % 11;
		while (take-- && (uart_read(&u, UART_LSR) & 1))
			assert_int_equal(uart_read(&u, UART_RBR_THR_DLL), (u8)(got++ * 13));
	}
	while (uart_read(&u, UART_LSR) & 1)
		assert_int_equal(uart_read(&u, UART_RBR_THR_DLL), (u8)(got++ * 13));
	assert_int_equal(got, sent);
	assert_true(sent > 500);
	assert_false(irq_now);
	assert_int_equal(u.rx_overruns, 0);
	assert_int_equal(uart_rx_room(&u), UART_FIFO_SIZE);
}

/* DLAB on: offset 0 is the divisor latch, the received byte stays; IIR
 * priorities (table IV): line status > received data > THRE. */
static void test_receive_dlab_and_priority(void **state)
{
	(void)state;
	uart_write(&u, UART_MCR, 0x08);
	uart_write(&u, UART_IER_DLM, 0x07);  /* RDA, THRE, RLS */
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x02); /* THRE (and clears it) */
	uart_push_input(&u, 'd');
	uart_write(&u, UART_LCR, 0x83);
	assert_int_equal(uart_read(&u, UART_RBR_THR_DLL), 12); /* DLL, 9600 baud */
	uart_write(&u, UART_LCR, 0x03);
	uart_write(&u, UART_RBR_THR_DLL, 'T');                 /* THRE pending again */
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x04);   /* data before THRE */
	uart_push_input(&u, 'e');                              /* overrun: no FIFO */
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x06);   /* line status first */
	assert_int_equal(uart_read(&u, UART_LSR) & 0x03, 0x03);
	assert_int_equal(uart_read(&u, UART_RBR_THR_DLL), 'd'); /* the kept byte */
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x02);   /* then THRE */
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x01);
	assert_false(irq_now);
}

static void test_out2_gates_irq(void **state)
{
	(void)state;
	uart_write(&u, UART_IER_DLM, 0x01);
	uart_push_input(&u, 'z');
	assert_false(irq_now); /* OUT2 off */
	uart_write(&u, UART_MCR, 0x08);
	assert_true(irq_now);
	uart_write(&u, UART_MCR, 0x00);
	assert_false(irq_now);
	assert_int_equal(irq_changes, 2);
}

static void test_loopback(void **state)
{
	(void)state;
	uart_write(&u, UART_MCR, 0x10 | 0x0F); /* loop, DTR RTS OUT1 OUT2 */
	assert_int_equal(uart_read(&u, UART_MSR) & 0xF0, 0xF0);
	uart_write(&u, UART_MCR, 0x10 | 0x01); /* DTR only: DSR */
	assert_int_equal(uart_read(&u, UART_MSR), 0x20 | 0x0D); /* deltas: DCTS, TERI, DDCD */
	assert_int_equal(uart_read(&u, UART_MSR), 0x20);         /* read clears deltas */
	uart_write(&u, UART_RBR_THR_DLL, 'L');
	assert_int_equal(n_out, 0); /* not on the wire */
	assert_int_equal(uart_read(&u, UART_RBR_THR_DLL), 'L');
	assert_false(uart_push_input(&u, 'w')); /* the receive wire is cut */
	uart_write(&u, UART_MCR, 0x00);
	uart_write(&u, UART_RBR_THR_DLL, 'W');
	assert_int_equal(n_out, 1);
	/* Modem status interrupt from the deltas. */
	uart_read(&u, UART_MSR);
	uart_write(&u, UART_MCR, 0x18);
	uart_write(&u, UART_IER_DLM, 0x08);
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x00);
	uart_read(&u, UART_MSR);
	assert_int_equal(uart_read(&u, UART_IIR_FCR), 0x01);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reset_and_registers, setup),
		cmocka_unit_test_setup(test_transmit_and_thre, setup),
		cmocka_unit_test_setup(test_receive_no_fifo, setup),
		cmocka_unit_test_setup(test_receive_fifo_trigger, setup),
		cmocka_unit_test_setup(test_receive_order_wrap, setup),
		cmocka_unit_test_setup(test_receive_dlab_and_priority, setup),
		cmocka_unit_test_setup(test_out2_gates_irq, setup),
		cmocka_unit_test_setup(test_loopback, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
