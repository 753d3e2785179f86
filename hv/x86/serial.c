/*
 * hv/x86/serial.c - polled 16550 UART on COM1 (0x3F8): hv's console.
 * Register layout: PC16550D data sheet; 115200 8N1, FIFO on.
 */
#include "../hv.h"
#include "cpu.h"
#include "spinlock.h"

#define COM1 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_THRE 0x20

static bool serial_ready;
static struct spinlock console_lock;   /* one line at a time from all pCPUs */

void serial_init(void)
{
	outb(COM1 + UART_IER, 0x00);   /* no interrupts: hv polls */
	outb(COM1 + UART_LCR, 0x80);   /* DLAB on to set the divisor */
	outb(COM1 + 0, 1);             /* 115200 baud */
	outb(COM1 + 1, 0);
	outb(COM1 + UART_LCR, 0x03);   /* 8N1, DLAB off */
	outb(COM1 + UART_FCR, 0xc7);   /* FIFO on, cleared, 14-byte threshold */
	outb(COM1 + UART_MCR, 0x03);   /* DTR, RTS */
	serial_ready = true;
}

static void serial_putc(char c)
{
	/* Bounded wait: a machine without a UART reads 0xff here and never blocks. */
	for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
		pause();
	outb(COM1 + UART_THR, (u8)c);
}

void console_write(const char *s, size_t n)
{
	spin_lock(&console_lock);
	if (!serial_ready)
		serial_init();
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
	spin_unlock(&console_lock);
}

void vprintk(const char *fmt, va_list ap)
{
	char buf[512];
	int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	console_write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}

/* For panic and exception dumps: the CPU that dies may hold the lock. */
void console_force_unlock(void)
{
	spin_unlock(&console_lock);
}
