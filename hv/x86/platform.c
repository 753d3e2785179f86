/*
 * hv/x86/platform.c - how hv leaves the machine.
 *
 * Under QEMU the test harness adds an isa-debug-exit device at port 0xf4:
 * writing c there ends QEMU with status (c<<1)|1. On a real machine nothing
 * may be poked blindly, so hv only does that when CPUID says it runs under
 * QEMU (hypervisor bit set and leaf 0x40000000 reads "TCGTCGTCGTCG" or
 * "KVMKVMKVM"); elsewhere it halts with the report on the console.
 *
 * Under Bochs (tests/bochs/) the harness turns on port_e9_hack. Bochs has no
 * hypervisor CPUID leaf, so hv recognises it by port 0xE9 reading back 0xE9
 * (the e9 hack; an unused port on a PC reads 0xFF, and reading it has no
 * effect). There hv ends the run by writing "Shutdown" to Bochs's shutdown
 * port 0x8900 (Bochs exits with status 1), and should that not end it, with
 * the magic breakpoint `xchg bx, bx` (with magic_break on, Bochs's debugger
 * takes the next command of its -rc script). Bochs's status does not carry
 * hv's code: the harness reads the outcome from the `hv: exit ...` line
 * printed before.
 *
 * The config's `on_end` changes the ending: `halt` always halts (the report
 * stays on the screen; the tests' screendump uses this), `reset` restarts
 * the machine: the ACPI reset register (FADT RESET_REG, ACPI 6.x 4.8.3.6),
 * then the PCI reset control register 0xCF9, then the keyboard controller's
 * pulse-reset command, then a triple fault.
 */
#include "../hv.h"
#include "cpu.h"
#include "acpi_parse.h"
#include "smp.h"

#define ISA_DEBUG_EXIT_PORT 0xf4
#define BOCHS_E9_PORT 0xe9
#define BOCHS_SHUTDOWN_PORT 0x8900
#define COM1_LSR 0x3fd
#define LSR_TEMT 0x40      /* transmitter empty: the last byte has left the UART */

/* Bochs with port_e9_hack enabled (see the top of this file). */
static bool platform_is_bochs(void)
{
	return inb(BOCHS_E9_PORT) == BOCHS_E9_PORT;
}

/* Let the UART finish sending (bounded: a machine without one reads 0xff). */
static void serial_drain(void)
{
	for (int i = 0; i < 100000 && !(inb(COM1_LSR) & LSR_TEMT); i++)
		pause();
}

static void bochs_exit(void)
{
	for (const char *s = "Shutdown"; *s; s++)
		outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
	__asm__ volatile("xchg %%bx, %%bx" ::: "memory");    /* magic breakpoint */
}

static enum on_end on_end = ON_END_AUTO;
static u64 acpi_rsdp;

void platform_set_end(enum on_end how, u64 rsdp)
{
	on_end = how;
	acpi_rsdp = rsdp;
}

static void delay_spins(void)
{
	for (int i = 0; i < 10000000; i++)
		pause();
}

/* FADT RESET_REG (ACPI 6.x 4.8.3.6): a GAS in I/O or memory space and the
 * value to write, when flags.RESET_REG_SUP is set (acpi_parse.c). */
static void acpi_reset(void)
{
	const void *fadt = acpi_find_table(acpi_rsdp, "FACP");
	u8 space, value;
	u64 addr;
	if (!fadt || !fadt_reset_reg(fadt, &space, &addr, &value))
		return;
	printk("hv: resetting through the ACPI reset register (%s 0x%llx <- 0x%x)\n",
	       space == 1 ? "port" : "memory", (unsigned long long)addr, value);
	serial_drain();
	if (space == 1 && addr < 0x10000)
		outb((u16)addr, value);
	else if (space == 0 && addr < GiB(4))
		*(volatile u8 *)pa_to_va(addr) = value;
	delay_spins();
}

static void __attribute__((noreturn)) machine_reset(void)
{
	acpi_reset();
	printk("hv: resetting through port 0xCF9\n");
	serial_drain();
	outb(0xcf9, 0x02);                 /* system reset, then start it: 0x06 (hard) */
	outb(0xcf9, 0x06);
	delay_spins();
	printk("hv: resetting through the keyboard controller\n");
	serial_drain();
	outb(0x64, 0xfe);                  /* pulse the CPU reset line */
	delay_spins();
	printk("hv: nothing reset the machine; triple fault\n");
	serial_drain();
	static const u64 zero_idt[2] = { 0, 0 };
	__asm__ volatile("lidt (%0); int3" ::"r"(zero_idt) : "memory");
	for (;;)
		hlt();
}

void platform_exit(enum hv_exit_code code)
{
	static const char *const names[] = { "pass", "fail", "config-error", "panic" };
	printk("hv: exit %s\n", names[code]);
	serial_drain();
	if (on_end == ON_END_RESET)
		machine_reset();
	if (on_end == ON_END_AUTO) {
		if (platform_is_qemu())
			outb(ISA_DEBUG_EXIT_PORT, (u8)code);
		else if (platform_is_bochs())
			bochs_exit();
	}
	printk("hv: halted; it is safe to power off\n");
	printk("hv: to restart: hold the power button until the machine is off, then press it "
	       "again (or set on_end = reset in hv.cfg)\n");
	serial_drain();
	for (;;) {
		cli();
		hlt();
	}
}

void panic(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	cli();
	console_force_unlock();
	printk("\nhv: PANIC at %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
	printk("\n");
	platform_exit(HV_EXIT_PANIC);
}
