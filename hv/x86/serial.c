/*
 * hv/x86/serial.c - hv's console: the polled 16550 UART on COM1 (0x3F8;
 * register layout: PC16550D data sheet; 115200 8N1, FIFO on) and the screen
 * (fbcon.c), as the config's `console` key picks. With the serial console
 * off under QEMU, the text also goes to port 0xE9 (QEMU's isa-debugcon), so
 * a test can read the log of a screen-only run; never on other machines.
 */
#include "../bootinfo.h"
#include "../hv.h"
#include "cpu.h"
#include "fbcon.h"
#include "spinlock.h"

#define COM1 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20

static bool serial_ready;
static bool serial_on = true;          /* until console_setup() says otherwise */
static bool e9_mirror;
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
	if (serial_on) {
		if (!serial_ready)
			serial_init();
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '\n')
				serial_putc('\r');
			serial_putc(s[i]);
		}
	} else if (e9_mirror) {
		for (size_t i = 0; i < n; i++)
			outb(0xe9, (u8)s[i]);
	}
	fbcon_write(s, n);
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

/*
 * The input side (config `console_input`, hv/vplat.c): hv polls COM1's line
 * status and takes the bytes that came in; the UART raises no interrupt
 * (IER stays 0). No lock: only vplat.c's input lock holder calls it, and
 * reading LSR/RBR does not disturb the output side's THR writes. A port
 * that reads 0xFF there is no UART at all: nothing came.
 */
static bool input_ok;

void serial_input_init(void)
{
	spin_lock(&console_lock);
	if (!serial_ready)
		serial_init();
	input_ok = inb(COM1 + UART_LSR) != 0xff;
	spin_unlock(&console_lock);
}

bool serial_getc(u8 *byte)
{
	if (!input_ok || !(inb(COM1 + UART_LSR) & LSR_DR))
		return false;
	*byte = inb(COM1 + UART_THR);  /* RBR: same offset as THR */
	return true;
}

/* For panic and exception dumps: the CPU that dies may hold the lock. */
void console_force_unlock(void)
{
	spin_unlock(&console_lock);
}

/*
 * Pick the consoles: mask from `console =` (0: every console there is). The
 * serial console stays on when nothing else would show the text.
 */
void console_setup(const struct boot_fb *fb, unsigned mask)
{
	bool want_screen = !mask || (mask & CONSOLE_SCREEN);
	bool screen = want_screen && fbcon_init(fb);
	if (mask && !(mask & CONSOLE_SERIAL) && screen) {
		serial_on = false;
		e9_mirror = platform_is_qemu();
	}
	if (screen)
		printk("hv: screen console %ux%u characters (%s, %ux%u)%s\n", fbcon_cols(), fbcon_rows(),
		       fb->kind == FB_EGA_TEXT ? "VGA text" : "32-bit pixels", fb->width, fb->height,
		       serial_on ? "; serial console on COM1 too" : "; serial console off");
	else if (want_screen && mask)
		printk("hv: note: console = screen asked, but the loader found no screen hv can "
		       "draw on; using COM1\n");
}
