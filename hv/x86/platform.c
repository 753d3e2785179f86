/*
 * hv/x86/platform.c - how hv leaves the machine.
 *
 * Under QEMU the test harness adds an isa-debug-exit device at port 0xf4:
 * writing c there ends QEMU with status (c<<1)|1. On a real machine nothing
 * may be poked blindly, so hv only does that when CPUID says it runs under
 * QEMU (hypervisor bit set and leaf 0x40000000 reads "TCGTCGTCGTCG" or
 * "KVMKVMKVM"); elsewhere it halts with the report on the console.
 */
#include "../hv.h"
#include "cpu.h"

#define ISA_DEBUG_EXIT_PORT 0xf4

bool platform_is_qemu(void)
{
	if (!(cpuid(1, 0).ecx & BIT(31)))
		return false;
	struct cpuid_regs r = cpuid(0x40000000, 0);
	char sig[13];
	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = 0;
	return memcmp(sig, "TCGTCGTCGTCG", 12) == 0 || memcmp(sig, "KVMKVMKVM", 9) == 0;
}

void platform_exit(enum hv_exit_code code)
{
	static const char *const names[] = { "pass", "fail", "config-error", "panic" };
	printk("hv: exit %s\n", names[code]);
	if (platform_is_qemu())
		outb(ISA_DEBUG_EXIT_PORT, (u8)code);
	printk("hv: halted; it is safe to power off\n");
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
