/*
 * hv/x86/smp.c - application processors: found in the ACPI MADT (ACPI 6.x
 * 5.2.12), started by INIT-SIPI-SIPI (SDM Vol. 3 8.4.4.1) after hv owns the
 * machine.
 *
 * Why INIT-SIPI-SIPI rather than the firmware's EFI_MP_SERVICES before
 * ExitBootServices: it works the same from both boot paths (UEFI and
 * Multiboot2, where there is no firmware service), and the APs never run
 * firmware code or sit on firmware stacks after hv has taken over.
 */
#include "../hv.h"
#include "acpi_parse.h"
#include "apic.h"
#include "cpu.h"
#include "smp.h"

unsigned acpi_madt_cpus(u64 rsdp, u32 *apic_ids, unsigned max)
{
	const void *madt = acpi_find_table(rsdp, "APIC");
	unsigned n = 0, unreachable = 0;
	if (max)
		apic_ids[n++] = apic_id();
	if (!madt)
		return n;
	madt_cpu_ids(madt, apic_id(), apic_x2apic_mode(), apic_ids, &n, max, &unreachable);
	if (unreachable)
		printk("hv: note: %u CPU(s) with x2APIC ids above 254 cannot be reached in xAPIC mode; "
		       "left out\n", unreachable);
	return n;
}

extern const u8 ap_boot_start[], ap_boot_end[], ap_boot_pm32[], ap_boot_lm64[];
static volatile u32 ap_alive[256];

void smp_ap_started(unsigned cpu)
{
	__atomic_store_n(&ap_alive[cpu], 1, __ATOMIC_RELEASE);
}

static void delay_us(u64 us)
{
	u64 end = rdtsc() + us * tsc_per_ms / 1000;
	while (rdtsc() < end)
		pause();
}

#define PARAMS 0xf00

bool smp_start_ap(u64 tramp_pa, u32 apic, unsigned cpu, u64 stack_top, void (*entry)(unsigned cpu))
{
	u8 *page = pa_to_va(tramp_pa);
	u64 *low_pml4 = pa_to_va(tramp_pa + 0x1000);
	u64 *low_pdpt = pa_to_va(tramp_pa + 0x2000);

	/* Code, then a 4 GiB identity map (2 MiB pages) for the 32->64 switch. */
	memcpy(page, ap_boot_start, (size_t)(ap_boot_end - ap_boot_start));
	memset(low_pml4, 0, 4096);
	memset(low_pdpt, 0, 4096);
	low_pml4[0] = (tramp_pa + 0x2000) | 3;
	for (u64 g = 0; g < 4; g++) {
		u64 *pd = pa_to_va(tramp_pa + 0x3000 + g * 0x1000);
		low_pdpt[g] = (tramp_pa + 0x3000 + g * 0x1000) | 3;
		for (u64 i = 0; i < 512; i++)
			pd[i] = (g << 30) + (i << 21) + 0x83;
	}

	u8 *p = page + PARAMS;
	u64 *gdt = (u64 *)(p + 64);
	gdt[0] = 0;
	gdt[1] = 0x00cf9b000000ffffull;   /* 0x08: 32-bit code */
	gdt[2] = 0x00cf93000000ffffull;   /* 0x10: data */
	gdt[3] = 0x00af9b000000ffffull;   /* 0x18: 64-bit code */
	*(u16 *)(p + 0) = 4 * 8 - 1;
	*(u32 *)(p + 2) = (u32)(tramp_pa + PARAMS + 64);
	*(u32 *)(p + 8) = (u32)(tramp_pa + (u64)(ap_boot_pm32 - ap_boot_start));
	*(u16 *)(p + 12) = 0x08;
	*(u32 *)(p + 16) = (u32)(tramp_pa + (u64)(ap_boot_lm64 - ap_boot_start));
	*(u16 *)(p + 20) = 0x18;
	*(u64 *)(p + 24) = tramp_pa + 0x1000;
	*(u64 *)(p + 32) = read_cr3();
	*(u64 *)(p + 40) = stack_top;
	*(u64 *)(p + 48) = (u64)(uintptr_t)entry;
	*(u64 *)(p + 56) = cpu;
	ap_alive[cpu] = 0;

	/* INIT, 10 ms, SIPI, 200 us, SIPI (SDM Vol. 3 8.4.4.1). */
	apic_send_init(apic);
	delay_us(10000);
	for (int i = 0; i < 2 && !ap_alive[cpu]; i++) {
		apic_send_sipi(apic, (u8)(tramp_pa >> 12));
		delay_us(200);
	}
	for (int ms = 0; ms < 1000 && !__atomic_load_n(&ap_alive[cpu], __ATOMIC_ACQUIRE); ms++)
		delay_us(1000);
	return ap_alive[cpu];
}
