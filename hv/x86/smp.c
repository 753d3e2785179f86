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
#include "apic.h"
#include "cpu.h"
#include "smp.h"

struct __attribute__((packed)) acpi_header {
	char sig[4];
	u32 length;
	u8 revision, checksum;
	char oem[6], oem_table[8];
	u32 oem_rev, creator, creator_rev;
};

struct __attribute__((packed)) acpi_rsdp {
	char sig[8];
	u8 checksum;
	char oem[6];
	u8 revision;
	u32 rsdt;
	u32 length;
	u64 xsdt;
};

static const struct acpi_header *find_table(u64 rsdp_pa, const char *sig)
{
	if (!rsdp_pa)
		return NULL;
	const struct acpi_rsdp *rsdp = pa_to_va(rsdp_pa);
	if (!rsdp_pa || memcmp(rsdp->sig, "RSD PTR ", 8))
		return NULL;
	bool x = rsdp->revision >= 2 && rsdp->xsdt;
	const struct acpi_header *root = pa_to_va(x ? rsdp->xsdt : rsdp->rsdt);
	unsigned esize = x ? 8 : 4;
	unsigned n = (root->length - sizeof(*root)) / esize;
	const u8 *entries = (const u8 *)(root + 1);
	for (unsigned i = 0; i < n; i++) {
		u64 pa = 0;
		memcpy(&pa, entries + i * esize, esize);
		const struct acpi_header *t = pa_to_va(pa);
		if (pa && !memcmp(t->sig, sig, 4))
			return t;
	}
	return NULL;
}

const void *acpi_find_table(u64 rsdp, const char *sig)
{
	return find_table(rsdp, sig);
}

static bool have_id(const u32 *ids, unsigned n, u32 id)
{
	for (unsigned i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

unsigned acpi_madt_cpus(u64 rsdp, u32 *apic_ids, unsigned max)
{
	const struct acpi_header *madt = find_table(rsdp, "APIC");
	unsigned n = 0;
	u32 self = apic_id();
	if (max)
		apic_ids[n++] = self;
	if (!madt)
		return n;
	const u8 *p = (const u8 *)madt + sizeof(*madt) + 8;   /* LAPIC address, flags */
	const u8 *end = (const u8 *)madt + madt->length;
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		u32 flags, id;
		/* Type 0: processor local APIC {uid, apic id, flags: bit 0 enabled}. */
		if (p[0] == 0 && p[1] >= 8) {
			memcpy(&flags, p + 4, 4);
			if ((flags & 1) && p[3] != self && n < max && !have_id(apic_ids, n, p[3]))
				apic_ids[n++] = p[3];
		}
		/* Type 9: processor local x2APIC {2 reserved, x2apic id, flags, uid}
		 * (ACPI 6.x 5.2.12.12): how firmware lists ids of 255 and above.
		 * xAPIC mode cannot address them (8-bit destinations). */
		if (p[0] == 9 && p[1] >= 16) {
			memcpy(&id, p + 4, 4);
			memcpy(&flags, p + 8, 4);
			if ((flags & 1) && id != self && n < max && !have_id(apic_ids, n, id)) {
				if (id > 254 && !apic_x2apic_mode())
					printk("hv: note: CPU with x2APIC id %u cannot be reached in xAPIC mode; "
					       "left out\n", id);
				else
					apic_ids[n++] = id;
			}
		}
		p += p[1];
	}
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
