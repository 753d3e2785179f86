/*
 * tests/unit/test_acpi_parse.c - hv/x86/acpi_parse.c against crafted ACPI
 * tables (layouts from ACPI 6.x chapter 5.2 and the IA-PC HPET spec) and
 * CPUID 0x15 values, including malformed tables that must not be overrun.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "x86/acpi_parse.h"

static void put32(u8 *p, u32 v) { memcpy(p, &v, 4); }
static void put64(u8 *p, u64 v) { memcpy(p, &v, 8); }

static void header(u8 *t, const char *sig, u32 len)
{
	memset(t, 0, 36);
	memcpy(t, sig, 4);
	put32(t + 4, len);
}

/* ---- MADT ---------------------------------------------------------------- */

static u8 madt[256];
static u32 madt_len;

static void madt_start(void)
{
	memset(madt, 0xcc, sizeof(madt));   /* garbage past the end must not be read as entries */
	madt_len = 44;
	header(madt, "APIC", madt_len);
	put32(madt + 36, 0xfee00000);
	put32(madt + 40, 1);
}

static void madt_lapic(u8 id, u32 flags)
{
	u8 *e = madt + madt_len;
	e[0] = 0, e[1] = 8, e[2] = id, e[3] = id;
	put32(e + 4, flags);
	madt_len += 8;
	put32(madt + 4, madt_len);
}

static void madt_x2apic(u32 id, u32 flags)
{
	u8 *e = madt + madt_len;
	memset(e, 0, 16);
	e[0] = 9, e[1] = 16;
	put32(e + 4, id);
	put32(e + 8, flags);
	put32(e + 12, id);
	madt_len += 16;
	put32(madt + 4, madt_len);
}

static void test_madt_xapic_and_x2apic(void **state)
{
	(void)state;
	madt_start();
	madt_lapic(0, 1);          /* self */
	madt_lapic(2, 1);
	madt_lapic(4, 0);          /* disabled */
	madt_lapic(6, 1);
	madt_x2apic(6, 1);         /* the same CPU listed twice: once */
	madt_x2apic(300, 1);       /* only reachable in x2APIC mode */
	madt_x2apic(301, 0);       /* disabled */
	u32 ids[8] = { 0 };
	unsigned n = 1, unreach = 0;
	madt_cpu_ids(madt, 0, true, ids, &n, 8, &unreach);
	assert_int_equal(n, 4);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 6);
	assert_int_equal(ids[3], 300);
	assert_int_equal(unreach, 0);

	n = 1;
	madt_cpu_ids(madt, 0, false, ids, &n, 8, &unreach);
	assert_int_equal(n, 3);
	assert_int_equal(unreach, 1);
}

static void test_madt_max_and_malformed(void **state)
{
	(void)state;
	madt_start();
	madt_lapic(1, 1);
	madt_lapic(2, 1);
	madt_lapic(3, 1);
	u32 ids[2] = { 0 };
	unsigned n = 1, unreach = 0;
	madt_cpu_ids(madt, 0, false, ids, &n, 2, &unreach);
	assert_int_equal(n, 2);                  /* max respected */
	assert_int_equal(ids[1], 1);

	/* An entry of length 0 would loop forever; one past the end overruns. */
	madt_start();
	madt_lapic(1, 1);
	madt[madt_len] = 0, madt[madt_len + 1] = 0;
	madt_len += 8;
	put32(madt + 4, madt_len);
	madt_lapic(2, 1);                        /* after the bad entry: not reached */
	u32 ids2[8];
	n = 0;
	madt_cpu_ids(madt, 99, false, ids2, &n, 8, &unreach);
	assert_int_equal(n, 1);
	assert_int_equal(ids2[0], 1);

	madt_start();
	madt_lapic(1, 1);
	madt[madt_len - 7] = 40;                 /* entry claims 40 bytes, table ends sooner */
	n = 0;
	madt_cpu_ids(madt, 99, false, ids2, &n, 8, &unreach);
	assert_int_equal(n, 0);
}

/* ---- FADT ---------------------------------------------------------------- */

static u8 fadt[276];

static void fadt_make(u32 len, u32 pm_blk, u32 flags)
{
	memset(fadt, 0, sizeof(fadt));
	header(fadt, "FACP", len);
	put32(fadt + 76, pm_blk);
	put32(fadt + 112, flags);
}

static void test_fadt_pm_timer(void **state)
{
	(void)state;
	u16 port = 0;
	bool b32 = false;
	fadt_make(116, 0x608, 0);
	assert_true(fadt_pm_timer(fadt, &port, &b32));
	assert_int_equal(port, 0x608);
	assert_false(b32);

	fadt_make(276, 0x608, 1u << 8);          /* TMR_VAL_EXT */
	fadt[208] = 1;                           /* X_PM_TMR_BLK in I/O space wins */
	put64(fadt + 212, 0xb008);
	assert_true(fadt_pm_timer(fadt, &port, &b32));
	assert_int_equal(port, 0xb008);
	assert_true(b32);

	fadt[208] = 0;                           /* memory space: hv uses PM_TMR_BLK */
	assert_true(fadt_pm_timer(fadt, &port, &b32));
	assert_int_equal(port, 0x608);

	fadt_make(276, 0, 0);                    /* no PM timer (hardware-reduced ACPI) */
	assert_false(fadt_pm_timer(fadt, &port, &b32));
	fadt_make(100, 0x608, 0);                /* too short to hold the field */
	assert_false(fadt_pm_timer(fadt, &port, &b32));
}

static void test_fadt_reset_reg(void **state)
{
	(void)state;
	u8 space = 9, value = 0;
	u64 addr = 0;
	fadt_make(276, 0x608, 1u << 10);        /* RESET_REG_SUP */
	fadt[116] = 1;
	put64(fadt + 120, 0xcf9);
	fadt[128] = 0x06;
	assert_true(fadt_reset_reg(fadt, &space, &addr, &value));
	assert_int_equal(space, 1);
	assert_int_equal(addr, 0xcf9);
	assert_int_equal(value, 6);

	put32(fadt + 112, 0);                    /* not supported: not used */
	assert_false(fadt_reset_reg(fadt, &space, &addr, &value));
	put32(fadt + 112, 1u << 10);
	fadt[116] = 2;                           /* PCI config space: hv does not write it */
	assert_false(fadt_reset_reg(fadt, &space, &addr, &value));
	fadt_make(120, 0, 1u << 10);             /* ACPI 1.0 FADT: no RESET_REG */
	assert_false(fadt_reset_reg(fadt, &space, &addr, &value));
}

/* ---- HPET, RSDP walk ----------------------------------------------------- */

static void test_hpet(void **state)
{
	(void)state;
	u8 t[56];
	u64 base = 0;
	header(t, "HPET", 56);
	memset(t + 36, 0, 20);
	put64(t + 44, 0xfed00000);
	assert_true(hpet_table_base(t, &base));
	assert_int_equal(base, 0xfed00000);
	t[40] = 1;                               /* I/O space: not an HPET hv can use */
	assert_false(hpet_table_base(t, &base));
	t[40] = 0;
	put32(t + 4, 40);                        /* short table */
	assert_false(hpet_table_base(t, &base));
}

static void test_table_find_xsdt(void **state)
{
	(void)state;
	static u8 rsdp[36], xsdt[36 + 16], a[36], b[36];
	header(a, "FACP", 36);
	header(b, "HPET", 36);
	header(xsdt, "XSDT", sizeof(xsdt));
	put64(xsdt + 36, (u64)(uintptr_t)a);
	put64(xsdt + 44, (u64)(uintptr_t)b);
	memcpy(rsdp, "RSD PTR ", 8);
	rsdp[15] = 2;
	put64(rsdp + 24, (u64)(uintptr_t)xsdt);
	assert_ptr_equal(acpi_table_find(rsdp, "HPET"), b);
	assert_ptr_equal(acpi_table_find(rsdp, "FACP"), a);
	assert_null(acpi_table_find(rsdp, "APIC"));
	rsdp[0] = 'X';                           /* not an RSDP */
	assert_null(acpi_table_find(rsdp, "HPET"));
	assert_null(acpi_table_find(NULL, "HPET"));
}

/* ---- CPUID 0x15 ---------------------------------------------------------- */

static void test_cpuid15(void **state)
{
	(void)state;
	u64 crystal = 0;
	/* Bochs icelake: crystal 38.4 MHz, ratio 78/2 -> 1497.6 MHz */
	assert_int_equal(cpuid15_tsc_khz(2, 78, 38400000, 0, &crystal), 1497600);
	assert_int_equal(crystal, 38400000);
	/* Skylake client style: no crystal in ECX, base 2400 MHz from 0x16, ratio 200/2 */
	assert_int_equal(cpuid15_tsc_khz(2, 200, 0, 2400, &crystal), 2400000);
	assert_int_equal(crystal, 24000000);
	/* no ratio, or neither crystal nor 0x16: nothing */
	assert_int_equal(cpuid15_tsc_khz(0, 78, 38400000, 0, &crystal), 0);
	assert_int_equal(cpuid15_tsc_khz(2, 0, 38400000, 0, &crystal), 0);
	assert_int_equal(cpuid15_tsc_khz(2, 78, 0, 0, &crystal), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_madt_xapic_and_x2apic),
		cmocka_unit_test(test_madt_max_and_malformed),
		cmocka_unit_test(test_fadt_pm_timer),
		cmocka_unit_test(test_fadt_reset_reg),
		cmocka_unit_test(test_hpet),
		cmocka_unit_test(test_table_find_xsdt),
		cmocka_unit_test(test_cpuid15),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
