/*
 * tests/unit/test_acpi.c - host unit tests for hv/acpi.c: the tables are
 * read back the way an OS would (RSDP -> XSDT -> tables) by a parser written
 * here from the ACPI 6.4 specification, independent of the builder; and,
 * when acpica-tools is installed (Makefile DEPS), disassembled by `iasl -d`,
 * which must accept every table and show what we meant. Without iasl that
 * case reports SKIP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "acpi.h"

#define BASE 0xe0000
#define ROOM 0x20000

static u8 mem[ROOM];
static char err[256];

static u16 get16(const u8 *p) { return (u16)(p[0] | p[1] << 8); }
static u32 get32(const u8 *p) { return get16(p) | (u32)get16(p + 2) << 16; }
static u64 get64(const u8 *p) { return get32(p) | (u64)get32(p + 4) << 32; }

static u8 sum(const u8 *p, size_t n)
{
	unsigned s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return (u8)s;
}

/* Guest-physical address -> pointer into mem, checking the range. */
static const u8 *at(u64 gpa, u32 len)
{
	if (gpa < BASE || gpa + len > BASE + ROOM)
		fail_msg("address 0x%llx+%u outside the tables' area", (unsigned long long)gpa, len);
	return mem + (gpa - BASE);
}

/* A table with a valid header: signature, length within bounds, checksum 0. */
static const u8 *table(u64 gpa, const char *sig)
{
	const u8 *t = at(gpa, 36);
	if (memcmp(t, sig, 4) != 0)
		fail_msg("table at 0x%llx is '%.4s', expected '%s'", (unsigned long long)gpa, (const char *)t, sig);
	u32 len = get32(t + 4);
	assert_true(len >= 36);
	at(gpa, len);
	if (sum(t, len) != 0)
		fail_msg("%s checksum is off by %u", sig, sum(t, len));
	assert_memory_equal(t + 10, "HV    ", 6);
	return t;
}

struct parsed {
	const u8 *rsdp, *xsdt, *rsdt, *fadt, *madt, *dsdt;
	unsigned lapics, x2apics, ioapics, isos, nmis;
	u8 apic_ids[256];
	u32 ioapic_addr, ioapic_gsi;
	u8 iso_src;
	u32 iso_gsi;
	u16 iso_flags;
};

/* Walk from the RSDP like an OS: RSDP -> XSDT -> FADT (-> DSDT) and MADT. */
static void parse(struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	p->rsdp = at(BASE, 36);
	assert_memory_equal(p->rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(p->rsdp, 20), 0);
	assert_int_equal(p->rsdp[15], 2);
	assert_int_equal(get32(p->rsdp + 20), 36);
	assert_int_equal(sum(p->rsdp, 36), 0);
	p->xsdt = table(get64(p->rsdp + 24), "XSDT");
	p->rsdt = table(get32(p->rsdp + 16), "RSDT");
	u32 n = (get32(p->xsdt + 4) - 36) / 8;
	assert_int_equal(get32(p->xsdt + 4), 36 + n * 8);
	assert_int_equal(get32(p->rsdt + 4), 36 + n * 4);
	for (u32 i = 0; i < n; i++) {
		u64 a = get64(p->xsdt + 36 + i * 8);
		assert_int_equal(get32(p->rsdt + 36 + i * 4), a);     /* RSDT lists the same tables */
		const u8 *t = at(a, 36);
		if (memcmp(t, "FACP", 4) == 0)
			p->fadt = table(a, "FACP");
		else if (memcmp(t, "APIC", 4) == 0)
			p->madt = table(a, "APIC");
		else
			fail_msg("unexpected table '%.4s' in the XSDT", (const char *)t);
	}
	assert_non_null(p->fadt);
	assert_non_null(p->madt);
	assert_int_equal(get32(p->fadt + 4), 276);
	u64 x_dsdt = get64(p->fadt + 140);
	assert_int_equal(get32(p->fadt + 40), x_dsdt);
	p->dsdt = table(x_dsdt, "DSDT");

	/* MADT entries: each within the table, lengths as the spec fixes them */
	assert_int_equal(get32(p->madt + 36), 0xfee00000);
	u32 len = get32(p->madt + 4), off = 44;
	while (off < len) {
		const u8 *e = p->madt + off;
		assert_true(off + 2 <= len && e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(get32(e + 4) & 1, 1);
			p->apic_ids[p->lapics + p->x2apics] = e[3];
			p->lapics++;
			break;
		case 9:
			assert_int_equal(e[1], 16);
			assert_int_equal(get32(e + 8) & 1, 1);
			p->apic_ids[p->lapics + p->x2apics] = (u8)get32(e + 4);
			assert_int_equal(get32(e + 12), get32(e + 4));
			p->x2apics++;
			break;
		case 1:
			assert_int_equal(e[1], 12);
			p->ioapic_addr = get32(e + 4);
			p->ioapic_gsi = get32(e + 8);
			p->ioapics++;
			break;
		case 2:
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);
			p->iso_src = e[3];
			p->iso_gsi = get32(e + 4);
			p->iso_flags = get16(e + 8);
			p->isos++;
			break;
		case 4:
			assert_int_equal(e[1], 6);
			assert_int_equal(e[5], 1);
			p->nmis++;
			break;
		case 10:
			assert_int_equal(e[1], 12);
			assert_int_equal(e[8], 1);
			p->nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(off, len);
}

static bool has(const u8 *t, const void *needle, size_t n)
{
	u32 len = get32(t + 4);
	for (u32 i = 36; i + n <= len; i++)
		if (memcmp(t + i, needle, n) == 0)
			return true;
	return false;
}

static struct acpi_platform platform(unsigned ncpus)
{
	return (struct acpi_platform){ .base = BASE, .ncpus = ncpus, .ioapic_id = (u8)ncpus,
				       .com1 = true, .rtc = true, .reset = true, .sleep = true };
}

static void full_platform(void **state)
{
	(void)state;
	struct acpi_layout lay;
	struct acpi_platform p = platform(2);
	memset(mem, 0xee, sizeof(mem));
	assert_int_equal(acpi_build(&p, mem, sizeof(mem), &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.rsdp, BASE);
	assert_true(lay.size > 0 && lay.size < 1024);
	struct parsed t;
	parse(&t);
	assert_int_equal(lay.madt, BASE + (t.madt - mem));
	/* FADT: hardware-reduced, reset via 0xCF9 = 6, sleep registers in I/O space */
	u32 flags = get32(t.fadt + 112);
	assert_true(flags & BIT(20));
	assert_true(flags & BIT(10));
	assert_int_equal(t.fadt[8], 6);                        /* revision */
	assert_int_equal(t.fadt[116], 1);                      /* RESET_REG: system I/O */
	assert_int_equal(get64(t.fadt + 120), 0xcf9);
	assert_int_equal(t.fadt[128], 6);
	assert_int_equal(t.fadt[244], 1);
	assert_int_equal(get64(t.fadt + 248), ACPI_SLEEP_CONTROL_PORT);
	assert_int_equal(get64(t.fadt + 260), ACPI_SLEEP_STATUS_PORT);
	assert_int_equal(get16(t.fadt + 109) & BIT(5), 0);     /* an RTC exists */
	assert_int_equal(get16(t.fadt + 109) & BIT(1), 0);     /* no 8042 */
	assert_int_equal(get32(t.fadt + 76), 0);               /* no PM timer */
	assert_int_equal(get16(t.fadt + 46), 0);               /* no SCI */
	/* With pm_timer: PM_TMR_BLK 0x608, 4 bytes, X_PM_TMR_BLK a dword in I/O space. */
	p.pm_timer = true;
	assert_int_equal(acpi_build(&p, mem, sizeof(mem), &lay, err, sizeof(err)), 0);
	parse(&t);
	assert_int_equal(get32(t.fadt + 76), 0x608);
	assert_int_equal(t.fadt[91], 4);
	assert_int_equal(t.fadt[208], 1);
	assert_int_equal(t.fadt[209], 32);
	assert_int_equal(t.fadt[211], 3);
	assert_int_equal(get64(t.fadt + 212), 0x608);
	assert_int_equal(get32(t.fadt + 112) & BIT(8), 0);     /* TMR_VAL_EXT clear: 24 bits */
	assert_int_equal(acpi_sum(t.fadt, get32(t.fadt + 4)), 0);
	p.pm_timer = false;
	assert_int_equal(acpi_build(&p, mem, sizeof(mem), &lay, err, sizeof(err)), 0);
	parse(&t);
	/* MADT: two local APICs 0 and 1, one IOAPIC at 0xFEC00000 from GSI 0, IRQ 4 -> GSI 4 */
	assert_int_equal(t.lapics, 2);
	assert_int_equal(t.x2apics, 0);
	assert_int_equal(t.apic_ids[0], 0);
	assert_int_equal(t.apic_ids[1], 1);
	assert_int_equal(t.ioapics, 1);
	assert_int_equal(t.ioapic_addr, 0xfec00000);
	assert_int_equal(t.ioapic_gsi, 0);
	assert_int_equal(t.isos, 1);
	assert_int_equal(t.iso_src, 4);
	assert_int_equal(t.iso_gsi, 4);
	assert_int_equal(t.iso_flags, 5);
	assert_int_equal(t.nmis, 1);
	assert_int_equal(get32(t.madt + 40) & 1, 0);           /* no PCAT_COMPAT: no 8259 */
	/* DSDT: COM1 with its EISA id, the I/O and IRQ descriptors, \_S5 */
	assert_true(has(t.dsdt, "COM1", 4));
	assert_true(has(t.dsdt, "\x0c\x41\xd0\x05\x01", 5));
	assert_true(has(t.dsdt, "\x47\x01\xf8\x03\xf8\x03\x01\x08", 8));
	assert_true(has(t.dsdt, "\x22\x10\x00\x79\x00", 5));
	assert_true(has(t.dsdt, "_S5_\x12", 5));
	assert_true(has(t.dsdt, "\x0c\x41\xd0\x0b\x00", 5));          /* PNP0B00 */
	assert_true(has(t.dsdt, "\x47\x01\x70\x00\x70\x00\x01\x02\x22\x00\x01", 11));
	/* nothing written past the reported size */
	for (u32 i = lay.size; i < 4096; i++)
		if (mem[i] != 0xee && mem[i] != 0)
			fail_msg("byte 0x%x written past the tables' end 0x%x", i, lay.size);
}

/* The AML's package lengths: walk \_SB scope -> device -> _CRS buffer by PkgLength. */
static u32 pkglen(const u8 *p, u32 *bytes)
{
	u32 n = (p[0] >> 6) + 1;
	u32 len = n == 1 ? p[0] & 0x3f : p[0] & 0xf;
	for (u32 i = 1; i < n; i++)
		len |= (u32)p[i] << (4 + 8 * (i - 1));
	*bytes = n;
	return len;
}

static void dsdt_structure(void **state)
{
	(void)state;
	struct acpi_layout lay;
	struct acpi_platform p = platform(1);
	assert_int_equal(acpi_build(&p, mem, sizeof(mem), &lay, err, sizeof(err)), 0);
	struct parsed t;
	parse(&t);
	const u8 *d = t.dsdt + 36;
	u32 dlen = get32(t.dsdt + 4) - 36, nb;
	assert_int_equal(d[0], 0x10);                          /* ScopeOp */
	u32 scope = pkglen(d + 1, &nb);
	const u8 *body = d + 1 + nb;
	assert_memory_equal(body, "\\_SB_", 5);
	assert_true(1 + scope <= dlen);
	const u8 *dev = body + 5;
	assert_int_equal(dev[0], 0x5b);
	assert_int_equal(dev[1], 0x82);                        /* DeviceOp */
	u32 devlen = pkglen(dev + 2, &nb);
	assert_memory_equal(dev + 2 + nb, "COM1", 4);
	const u8 *rtc = dev + 2 + devlen;                      /* the next device: the RTC */
	assert_int_equal(rtc[0], 0x5b);
	assert_int_equal(rtc[1], 0x82);
	u32 rtclen = pkglen(rtc + 2, &nb);
	assert_memory_equal(rtc + 2 + nb, "RTC_", 4);
	assert_int_equal(rtc + 2 + rtclen, d + 1 + scope);     /* it ends where the scope does */
	/* after the scope: \_S5 */
	const u8 *s5 = d + 1 + scope;
	assert_memory_equal(s5, "\x08\\_S5_\x12", 7);
	u32 s5len = pkglen(s5 + 7, &nb);
	assert_int_equal(s5 + 7 + s5len, d + dlen);            /* and the DSDT ends with it */
	assert_int_equal(s5[7 + nb], 2);                       /* two elements */
	assert_int_equal(s5[7 + nb + 2], 5);                   /* SLP_TYPa = 5 */

	/* without COM1 or sleep: an empty DSDT, no ISO */
	p.com1 = false;
	p.sleep = false;
	p.reset = false;
	p.rtc = false;
	assert_int_equal(acpi_build(&p, mem, sizeof(mem), &lay, err, sizeof(err)), 0);
	parse(&t);
	assert_int_equal(get32(t.dsdt + 4), 36);
	assert_int_equal(t.isos, 0);
	assert_int_equal(get32(t.fadt + 112) & BIT(10), 0);
	assert_int_equal(get64(t.fadt + 248), 0);
	assert_true(get16(t.fadt + 109) & BIT(5));             /* no RTC */
}

static void many_cpus_x2apic(void **state)
{
	(void)state;
	struct acpi_layout lay;
	struct acpi_platform p = platform(255);
	struct parsed t;
	assert_int_equal(acpi_build(&p, mem, sizeof(mem), &lay, err, sizeof(err)), 0);
	parse(&t);
	assert_int_equal(t.lapics, 255);
	for (unsigned i = 0; i < 255; i++)
		assert_int_equal(t.apic_ids[i], i);
	p.x2apic = true;
	p.ncpus = 16;
	assert_int_equal(acpi_build(&p, mem, sizeof(mem), &lay, err, sizeof(err)), 0);
	parse(&t);
	assert_int_equal(t.lapics, 0);
	assert_int_equal(t.x2apics, 16);
	assert_int_equal(t.apic_ids[15], 15);
	assert_int_equal(t.nmis, 1);
}

static void bad_requests(void **state)
{
	(void)state;
	struct acpi_layout lay;
	struct acpi_platform p = platform(0);
	assert_int_equal(acpi_build(&p, mem, sizeof(mem), &lay, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "0 vCPUs"));
	p = platform(256);
	assert_int_equal(acpi_build(&p, mem, sizeof(mem), &lay, err, sizeof(err)), -1);
	p = platform(1);
	p.base = BASE + 8;
	assert_int_equal(acpi_build(&p, mem, sizeof(mem), &lay, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "16-byte"));
	p = platform(1);
	assert_int_equal(acpi_build(&p, mem, 200, &lay, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "need"));
}

/* ---- iasl -d: the reference disassembler must accept them ---------------------------- */

static bool iasl_available(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

/* Disassemble one table; returns the .dsl text (malloc'd) or fails the test. */
static char *disassemble(const char *dir, const char *name, const u8 *t, u32 len)
{
	char path[600], cmd[1400];
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(t, 1, len, f), len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat > %s.log 2>&1", dir, name, name);
	if (system(cmd) != 0)
		fail_msg("iasl -d rejected %s (see %s/%s.log)", name, dir, name);
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	static char text[65536];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = 0;
	fclose(f);
	return text;
}

static void expect(const char *text, const char *what, const char *table)
{
	if (!strstr(text, what))
		fail_msg("iasl's disassembly of %s lacks \"%s\"", table, what);
}

static void iasl_disassembles(void **state)
{
	(void)state;
	if (!iasl_available()) {
		print_message("iasl (Debian acpica-tools) not installed: skipped\n");
		skip();
	}
	struct acpi_layout lay;
	struct acpi_platform p = platform(2);
	assert_int_equal(acpi_build(&p, mem, sizeof(mem), &lay, err, sizeof(err)), 0);
	struct parsed t;
	parse(&t);
	char dir[200];
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/hv-acpi-XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
	assert_non_null(mkdtemp(dir));
	char *s = disassemble(dir, "dsdt", t.dsdt, get32(t.dsdt + 4));
	expect(s, "Device (COM1)", "DSDT");
	expect(s, "EisaId (\"PNP0501\")", "DSDT");
	expect(s, "IO (Decode16,", "DSDT");
	expect(s, "0x03F8,", "DSDT");
	expect(s, "IRQNoFlags ()", "DSDT");
	expect(s, "{4}", "DSDT");
	expect(s, "Name (\\_S5, Package (0x02)", "DSDT");
	expect(s, "Device (RTC)", "DSDT");
	expect(s, "EisaId (\"PNP0B00\")", "DSDT");
	expect(s, "{8}", "DSDT");
	s = disassemble(dir, "facp", t.fadt, get32(t.fadt + 4));
	expect(s, "Hardware Reduced (V5) : 1", "FADT");
	expect(s, "Reset Register Supported (V2) : 1", "FADT");
	s = disassemble(dir, "apic", t.madt, get32(t.madt + 4));
	expect(s, "Subtable Type : 00 [Processor Local APIC]", "MADT");
	expect(s, "Subtable Type : 01 [I/O APIC]", "MADT");
	expect(s, "Address : FEC00000", "MADT");
	expect(s, "Subtable Type : 02 [Interrupt Source Override]", "MADT");
	s = disassemble(dir, "xsdt", t.xsdt, get32(t.xsdt + 4));
	expect(s, "ACPI Table Address   1", "XSDT");
	s = disassemble(dir, "rsdt", t.rsdt, get32(t.rsdt + 4));
	expect(s, "ACPI Table Address   1", "RSDT");
	/* (iasl 20200925 cannot disassemble a lone RSDP; parse() checks it) */
	/* iasl reports checksum errors as "Incorrect checksum"; none may appear */
	char cmd[1000];
	snprintf(cmd, sizeof(cmd), "grep -qi 'incorrect checksum\\|invalid' %s/*.dsl %s/*.log", dir, dir);
	if (system(cmd) == 0)
		fail_msg("iasl reports a bad checksum or invalid field (see %s)", dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		print_message("could not remove %s\n", dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_platform),
		cmocka_unit_test(dsdt_structure),
		cmocka_unit_test(many_cpus_x2apic),
		cmocka_unit_test(bad_requests),
		cmocka_unit_test(iasl_disassembles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
