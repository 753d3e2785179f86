/*
 * hv/x86/acpi_parse.c - pure parsers of ACPI tables and CPUID 0x15 (see
 * acpi_parse.h). Offsets are those of ACPI 6.x chapter 5.2; every read is
 * checked against the table's own length.
 */
#include "acpi_parse.h"
#include "../hv.h"

#define HDR_LEN 36                       /* the common table header (5.2.6) */

static u32 rd32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }
static u64 rd64(const u8 *p) { u64 v; memcpy(&v, p, 8); return v; }

static u32 table_len(const void *t)
{
	return rd32((const u8 *)t + 4);
}

const void *acpi_table_find(const void *rsdp_v, const char *sig)
{
	const u8 *rsdp = rsdp_v;
	if (!rsdp || memcmp(rsdp, "RSD PTR ", 8))
		return NULL;
	/* RSDP (5.2.5.3): revision at 15, RSDT address at 16, XSDT at 24. */
	bool x = rsdp[15] >= 2 && rd64(rsdp + 24);
	const u8 *root = (const u8 *)(uintptr_t)(x ? rd64(rsdp + 24) : rd32(rsdp + 16));
	if (!root)
		return NULL;
	u32 len = table_len(root);
	unsigned esize = x ? 8 : 4;
	if (len < HDR_LEN)
		return NULL;
	for (u32 off = HDR_LEN; off + esize <= len; off += esize) {
		u64 pa = x ? rd64(root + off) : rd32(root + off);
		const u8 *t = (const u8 *)(uintptr_t)pa;
		if (pa && !memcmp(t, sig, 4))
			return t;
	}
	return NULL;
}

static bool have(const u32 *ids, unsigned n, u32 id)
{
	for (unsigned i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

void madt_cpu_ids(const void *madt_v, u32 self, bool x2apic, u32 *ids, unsigned *n, unsigned max,
		  unsigned *unreachable)
{
	const u8 *madt = madt_v;
	u32 len = table_len(madt);
	/* After the header: local APIC address (4) and flags (4), then entries. */
	for (u32 off = HDR_LEN + 8; off + 2 <= len;) {
		const u8 *e = madt + off;
		if (e[1] < 2 || off + e[1] > len)
			break;
		u32 id = 0, flags = 0;
		bool cpu = false;
		if (e[0] == 0 && e[1] >= 8) {         /* {uid, apic id, flags} */
			id = e[3];
			flags = rd32(e + 4);
			cpu = true;
		} else if (e[0] == 9 && e[1] >= 16) { /* {2 reserved, x2apic id, flags, uid} */
			id = rd32(e + 4);
			flags = rd32(e + 8);
			cpu = true;
		}
		if (cpu && (flags & 1) && id != self && !have(ids, *n, id)) {
			if (id > 254 && !x2apic)
				(*unreachable)++;
			else if (*n < max)
				ids[(*n)++] = id;
		}
		off += e[1];
	}
}

bool fadt_pm_timer(const void *fadt_v, u16 *port, bool *bits32)
{
	const u8 *f = fadt_v;
	u32 len = table_len(f);
	if (len < 116)
		return false;
	u64 p = rd32(f + 76);                    /* PM_TMR_BLK */
	if (len >= 220 && f[208] == 1 && rd64(f + 212))   /* X_PM_TMR_BLK, I/O space */
		p = rd64(f + 212);
	if (!p || p > 0xffff)
		return false;
	*port = (u16)p;
	*bits32 = rd32(f + 112) & BIT(8);        /* flags.TMR_VAL_EXT */
	return true;
}

bool fadt_reset_reg(const void *fadt_v, u8 *space, u64 *addr, u8 *value)
{
	const u8 *f = fadt_v;
	if (table_len(f) < 129 || !(rd32(f + 112) & BIT(10)))   /* RESET_REG_SUP */
		return false;
	*space = f[116];
	*addr = rd64(f + 120);
	*value = f[128];
	return *addr != 0 && (*space == 0 || *space == 1);
}

bool hpet_table_base(const void *hpet_v, u64 *base)
{
	const u8 *t = hpet_v;
	if (table_len(t) < 56 || t[40] != 0)    /* GAS at 40: space 0 = memory */
		return false;
	*base = rd64(t + 44);
	return *base != 0;
}

u64 cpuid15_tsc_khz(u32 eax, u32 ebx, u32 ecx, u32 base_mhz, u64 *crystal_hz)
{
	if (!eax || !ebx)
		return 0;
	if (ecx) {
		*crystal_hz = ecx;
		return (u64)ecx * ebx / eax / 1000;
	}
	if (base_mhz) {                          /* no crystal: the base frequency stands in */
		*crystal_hz = (u64)base_mhz * 1000000 * eax / ebx;
		return (u64)base_mhz * 1000;
	}
	return 0;
}

const void *acpi_find_table(u64 rsdp, const char *sig)
{
	return rsdp ? acpi_table_find(pa_to_va(rsdp), sig) : NULL;
}
