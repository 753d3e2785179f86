/*
 * hv/acpi.c - ACPI tables for a hardware-reduced VM platform (see hv/acpi.h).
 *
 * References (ACPI Specification 6.4): 5.2.5 RSDP, 5.2.6 table header,
 * 5.2.7 RSDT, 5.2.8 XSDT, 5.2.9 FADT (table 5.9; flags table 5.10,
 * IAPC_BOOT_ARCH table 5.11), 5.2.12 MADT (tables 5.20-5.30), 5.2.3.2
 * Generic Address Structure, 20.2 AML grammar, 6.4 resource descriptors,
 * 4.1 hardware-reduced ACPI, 4.8.3.7 sleep control/status registers.
 */
#include "acpi.h"

#define MSG(...) ((void)ksnprintf(err, errlen, __VA_ARGS__), -1)

static void wr16(u8 *p, size_t off, u16 v) { p[off] = (u8)v; p[off + 1] = (u8)(v >> 8); }
static void wr32(u8 *p, size_t off, u32 v) { wr16(p, off, (u16)v); wr16(p, off + 2, (u16)(v >> 16)); }
static void wr64(u8 *p, size_t off, u64 v) { wr32(p, off, (u32)v); wr32(p, off + 4, (u32)(v >> 32)); }

u8 acpi_sum(const u8 *p, size_t n)
{
	u8 s = 0;
	while (n--)
		s = (u8)(s + *p++);
	return s;
}

#define OEM_ID "HV    "                /* 6 bytes */
#define OEM_TABLE_ID "HVPLATFM"        /* 8 bytes */
#define CREATOR_ID "HV  "
#define HDR_LEN 36

/* The common header (5.2.6); the checksum is set by finish() once the body is in. */
static void header(u8 *t, const char *sig, u8 rev)
{
	memcpy(t, sig, 4);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	wr32(t, 24, 1);                        /* OEM revision */
	memcpy(t + 28, CREATOR_ID, 4);
	wr32(t, 32, 1);                        /* creator revision */
}

static void finish(u8 *t, u32 len)
{
	wr32(t, 4, len);
	t[9] = 0;
	t[9] = (u8)-acpi_sum(t, len);
}

/* Generic Address Structure (5.2.3.2): one byte-wide register in system I/O space. */
static void gas_io8(u8 *g, u16 port)
{
	g[0] = 1;                              /* address space: system I/O */
	g[1] = 8;                              /* register bit width */
	g[2] = 0;                              /* bit offset */
	g[3] = 1;                              /* access size: byte */
	wr64(g, 4, port);
}

/* ---- DSDT: a few bytes of AML (20.2) ------------------------------------------------- */

struct aml {
	u8 *b;
	u32 n;
};

static void emit(struct aml *a, const void *bytes, u32 n)
{
	memcpy(a->b + a->n, bytes, n);
	a->n += n;
}

#define EMIT(a, ...) emit((a), (const u8[]){ __VA_ARGS__ }, sizeof((const u8[]){ __VA_ARGS__ }))

/*
 * PkgLength (20.2.4): the length of a package, counting its own encoding.
 * One byte holds up to 63; otherwise the lead byte's bits 7-6 say how many
 * bytes follow, its bits 3-0 are the low nibble, the next byte bits 4-11.
 * open() leaves one byte; close() widens it to two when the body is long.
 */
static u32 open_pkg(struct aml *a)
{
	return a->n++;
}

static void close_pkg(struct aml *a, u32 at)
{
	u32 body = a->n - at - 1;
	if (body + 1 <= 0x3f) {
		a->b[at] = (u8)(body + 1);
		return;
	}
	u32 len = body + 2;                    /* < 0x1000 for anything this file builds */
	memmove(a->b + at + 2, a->b + at + 1, body);
	a->b[at] = (u8)(0x40 | (len & 0xf));
	a->b[at + 1] = (u8)(len >> 4);
	a->n++;
}

static u32 build_dsdt(const struct acpi_platform *p, u8 *t)
{
	struct aml a = { t, HDR_LEN };
	header(t, "DSDT", 2);                  /* revision 2: 64-bit integers */
	u32 scope = 0;
	if (p->com1 || p->rtc) {
		/* Scope (\_SB) { ... }: ScopeOp 0x10, PkgLength, NameString "\_SB_" (root prefix 0x5c). */
		EMIT(&a, 0x10);
		scope = open_pkg(&a);
		EMIT(&a, '\\', '_', 'S', 'B', '_');
	}
	if (p->com1) {
		/* Device (COM1) { ... }: ExtOpPrefix 0x5b, DeviceOp 0x82, PkgLength, NameSeg. */
		EMIT(&a, 0x5b, 0x82);
		u32 dev = open_pkg(&a);
		EMIT(&a, 'C', 'O', 'M', '1');
		/*
		 * Name (_HID, EisaId ("PNP0501")): NameOp 0x08, "_HID", DWordPrefix 0x0c and the
		 * compressed EISA id (6.1.5): "PNP" as 5-bit letters 0x10 0x0e 0x10 -> 0x41d0,
		 * product 0x0501, stored big-endian within the dword: 41 d0 05 01. 16550A-compatible.
		 */
		EMIT(&a, 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01);
		/* Name (_UID, One): NameOp, "_UID", OneOp 0x01. */
		EMIT(&a, 0x08, '_', 'U', 'I', 'D', 0x01);
		/*
		 * Name (_CRS, ResourceTemplate () { IO (Decode16, 0x3F8, 0x3F8, 1, 8) IRQNoFlags () {4} }):
		 * NameOp, "_CRS", BufferOp 0x11, PkgLength, BytePrefix 0x0a + buffer size 13, then
		 * the resource descriptors (6.4.2):
		 *   47 01 f8 03 f8 03 01 08  I/O port (small item 0x08, 7 bytes): decodes 16 bits,
		 *                            minimum 0x3f8, maximum 0x3f8, alignment 1, length 8
		 *   22 10 00                 IRQ (small item 0x04, 2 bytes): mask bit 4 = IRQ 4
		 *                            (no flags byte: edge-triggered, active high)
		 *   79 00                    end tag (small item 0x0f), checksum 0 = "ignore"
		 */
		EMIT(&a, 0x08, '_', 'C', 'R', 'S', 0x11);
		u32 buf = open_pkg(&a);
		EMIT(&a, 0x0a, 13,
		     0x47, 0x01, ACPI_COM1_PORT & 0xff, ACPI_COM1_PORT >> 8, ACPI_COM1_PORT & 0xff,
		     ACPI_COM1_PORT >> 8, 0x01, 0x08,
		     0x22, 1 << ACPI_COM1_IRQ, 0x00,
		     0x79, 0x00);
		close_pkg(&a, buf);
		close_pkg(&a, dev);
	}
	if (p->rtc) {
		/*
		 * Device (RTC) { Name (_HID, EisaId ("PNP0B00")) Name (_CRS, ResourceTemplate () {
		 * IO (Decode16, 0x70, 0x70, 1, 2) IRQNoFlags () {8} }) }: the CMOS RTC, which
		 * Linux's rtc_cmos driver binds only through this PNP id when ACPI is on.
		 *   5b 82 PkgLength "RTC_"        DeviceOp, name padded with '_'
		 *   08 "_HID" 0c 41 d0 0b 00      "PNP" as above, product 0x0b00
		 *   08 "_CRS" 11 PkgLength 0a 13  a 13-byte buffer:
		 *     47 01 70 00 70 00 01 02     I/O 0x70-0x71
		 *     22 00 01                    IRQ mask bit 8
		 *     79 00                       end tag
		 */
		EMIT(&a, 0x5b, 0x82);
		u32 dev = open_pkg(&a);
		EMIT(&a, 'R', 'T', 'C', '_');
		EMIT(&a, 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0b, 0x00);
		EMIT(&a, 0x08, '_', 'C', 'R', 'S', 0x11);
		u32 buf = open_pkg(&a);
		EMIT(&a, 0x0a, 13,
		     0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02,
		     0x22, 0x00, 0x01,
		     0x79, 0x00);
		close_pkg(&a, buf);
		close_pkg(&a, dev);
	}
	if (p->com1 || p->rtc)
		close_pkg(&a, scope);
	if (p->sleep) {
		/*
		 * Name (\_S5, Package () { 5, 0 }): NameOp, "\_S5_", PackageOp 0x12, PkgLength,
		 * NumElements 2, BytePrefix 0x0a 5 (SLP_TYPa), ZeroOp 0x00 (SLP_TYPb, unused when
		 * hardware-reduced). Linux's power-off then writes SLP_TYP << 2 | SLP_EN to
		 * SLEEP_CONTROL_REG (4.8.3.7).
		 */
		EMIT(&a, 0x08, '\\', '_', 'S', '5', '_', 0x12);
		u32 pkg = open_pkg(&a);
		EMIT(&a, 0x02, 0x0a, ACPI_S5_SLP_TYP, 0x00);
		close_pkg(&a, pkg);
	}
	finish(t, a.n);
	return a.n;
}

/* ---- FADT (5.2.9, table 5.9: offsets below) ------------------------------------------- */

#define FADT_LEN 276                   /* revision 6: through the hypervisor vendor identity */
#define FADT_FLAG_WBINVD BIT(0)
#define FADT_FLAG_PWR_BUTTON BIT(4)    /* set: no fixed-feature power button */
#define FADT_FLAG_SLP_BUTTON BIT(5)    /* set: no fixed-feature sleep button */
#define FADT_FLAG_RESET_REG_SUP BIT(10)
#define FADT_FLAG_HW_REDUCED BIT(20)
#define BOOT_ARCH_VGA_NOT_PRESENT BIT(2)   /* table 5.11 */
#define BOOT_ARCH_CMOS_RTC_NOT_PRESENT BIT(5)

static u32 build_fadt(const struct acpi_platform *p, u8 *t, u64 dsdt)
{
	header(t, "FACP", 6);
	wr32(t, 40, (u32)dsdt);                /* DSDT (32-bit); X_DSDT at 140 says the same */
	/* 8042 absent (bit 1 clear), legacy devices not claimed (bit 0 clear), no VGA. */
	u16 arch = BOOT_ARCH_VGA_NOT_PRESENT | (p->rtc ? 0 : BOOT_ARCH_CMOS_RTC_NOT_PRESENT);
	wr16(t, 109, arch);
	u32 flags = FADT_FLAG_WBINVD | FADT_FLAG_PWR_BUTTON | FADT_FLAG_SLP_BUTTON | FADT_FLAG_HW_REDUCED;
	if (p->reset) {
		flags |= FADT_FLAG_RESET_REG_SUP;
		gas_io8(t + 116, ACPI_RESET_PORT);   /* RESET_REG */
		t[128] = ACPI_RESET_VALUE;           /* RESET_VALUE */
	}
	wr32(t, 112, flags);
	t[131] = 0;                            /* FADT minor version: ACPI 6.0 */
	wr64(t, 140, dsdt);                    /* X_DSDT */
	if (p->sleep) {
		gas_io8(t + 244, ACPI_SLEEP_CONTROL_PORT);
		gas_io8(t + 256, ACPI_SLEEP_STATUS_PORT);
	}
	if (p->pm_timer) {
		/* PM_TMR_BLK (76), PM_TMR_LEN (91) and X_PM_TMR_BLK (208): a 32-bit
		 * register in I/O space; TMR_VAL_EXT clear, so 24 bits count. */
		wr32(t, 76, ACPI_PM_TIMER_PORT);
		t[91] = 4;
		u8 *g = t + 208;
		g[0] = 1;                      /* system I/O */
		g[1] = 32;
		g[2] = 0;
		g[3] = 3;                      /* access size: dword */
		wr64(g, 4, ACPI_PM_TIMER_PORT);
	}
	memcpy(t + 268, "hv\0\0\0\0\0\0", 8);  /* hypervisor vendor identity */
	finish(t, FADT_LEN);
	return FADT_LEN;
}

/* ---- MADT (5.2.12) --------------------------------------------------------------------- */

#define MADT_LAPIC 0                   /* table 5.22, 8 bytes */
#define MADT_IOAPIC 1                  /* table 5.24, 12 bytes */
#define MADT_ISO 2                     /* table 5.25, 10 bytes */
#define MADT_LAPIC_NMI 4               /* table 5.28, 6 bytes */
#define MADT_X2APIC 9                  /* table 5.30, 16 bytes */
#define MADT_X2APIC_NMI 10             /* table 5.31, 12 bytes */
#define MADT_ENABLED BIT(0)
/* MPS INTI flags (table 5.26): polarity 01 = active high, trigger 01 = edge. */
#define INTI_HIGH_EDGE 0x0005

static u32 build_madt(const struct acpi_platform *p, u8 *t)
{
	header(t, "APIC", 5);
	wr32(t, 36, ACPI_LAPIC_ADDR);          /* local interrupt controller address */
	wr32(t, 40, 0);                        /* flags: PCAT_COMPAT clear, no 8259s */
	u32 n = 44;
	for (unsigned i = 0; i < p->ncpus; i++) {
		if (p->x2apic) {
			u8 *e = t + n;
			e[0] = MADT_X2APIC, e[1] = 16;
			wr32(e, 4, i);                 /* x2APIC id */
			wr32(e, 8, MADT_ENABLED);
			wr32(e, 12, i);                /* ACPI processor UID */
			n += 16;
		} else {
			u8 *e = t + n;
			e[0] = MADT_LAPIC, e[1] = 8;
			e[2] = (u8)i;                  /* ACPI processor UID */
			e[3] = (u8)i;                  /* APIC id */
			wr32(e, 4, MADT_ENABLED);
			n += 8;
		}
	}
	u8 *e = t + n;
	e[0] = MADT_IOAPIC, e[1] = 12;
	e[2] = p->ioapic_id;
	wr32(e, 4, ACPI_IOAPIC_ADDR);
	wr32(e, 8, 0);                         /* global system interrupt base */
	n += 12;
	if (p->com1) {
		/*
		 * ISA IRQ 4 -> GSI 4, edge, active high. Identity, but said explicitly: with
		 * hardware-reduced ACPI Linux has no legacy PIC and fills no identity ISA
		 * mappings of its own (nr_legacy_irqs() is 0).
		 */
		e = t + n;
		e[0] = MADT_ISO, e[1] = 10;
		e[2] = 0;                          /* bus: ISA */
		e[3] = ACPI_COM1_IRQ;              /* source IRQ */
		wr32(e, 4, ACPI_COM1_IRQ);         /* GSI */
		wr16(e, 8, INTI_HIGH_EDGE);
		n += 10;
	}
	/* LINT1 of every processor is NMI (the PC convention), edge, active high. */
	e = t + n;
	if (p->x2apic) {
		e[0] = MADT_X2APIC_NMI, e[1] = 12;
		wr16(e, 2, INTI_HIGH_EDGE);
		wr32(e, 4, 0xffffffff);            /* all processors */
		e[8] = 1;                          /* LINT1 */
		n += 12;
	} else {
		e[0] = MADT_LAPIC_NMI, e[1] = 6;
		e[2] = 0xff;                       /* all processors */
		wr16(e, 3, INTI_HIGH_EDGE);
		e[5] = 1;                          /* LINT1 */
		n += 6;
	}
	finish(t, n);
	return n;
}

/* ---- the whole set ----------------------------------------------------------------------- */

#define RSDP_LEN 36
#define DSDT_MAX 256
#define MADT_MAX(ncpus) (44 + (ncpus) * 16 + 12 + 10 + 12)

int acpi_build(const struct acpi_platform *p, u8 *buf, size_t room, struct acpi_layout *out,
	       char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (p->ncpus == 0 || p->ncpus > ACPI_MAX_CPUS)
		return MSG("acpi: %u vCPUs: the MADT describes 1 to %u", p->ncpus, ACPI_MAX_CPUS);
	if (p->base % 16 || p->base >= GiB(4))
		return MSG("acpi: tables at 0x%llx: need a 16-byte aligned address below 4 GiB",
			   (unsigned long long)p->base);
	/* Offsets: RSDP, XSDT (2 entries), RSDT (2), FADT, MADT, DSDT, each 16-aligned. */
	u32 o_xsdt = ALIGN_UP(RSDP_LEN, 16);
	u32 o_rsdt = ALIGN_UP(o_xsdt + HDR_LEN + 2 * 8, 16);
	u32 o_fadt = ALIGN_UP(o_rsdt + HDR_LEN + 2 * 4, 16);
	u32 o_madt = ALIGN_UP(o_fadt + FADT_LEN, 16);
	u32 o_dsdt = ALIGN_UP(o_madt + MADT_MAX(p->ncpus), 16);
	u32 need = o_dsdt + DSDT_MAX;
	if (room < need || p->base + need > GiB(4))
		return MSG("acpi: tables for %u vCPUs need %u bytes, the area at 0x%llx has %zu",
			   p->ncpus, need, (unsigned long long)p->base, room);
	memset(buf, 0, need);

	out->rsdp = p->base;
	out->xsdt = p->base + o_xsdt;
	out->rsdt = p->base + o_rsdt;
	out->fadt = p->base + o_fadt;
	out->madt = p->base + o_madt;
	out->dsdt = p->base + o_dsdt;

	u32 dsdt_len = build_dsdt(p, buf + o_dsdt);
	build_fadt(p, buf + o_fadt, out->dsdt);
	build_madt(p, buf + o_madt);

	u8 *x = buf + o_xsdt;
	header(x, "XSDT", 1);
	wr64(x, HDR_LEN, out->fadt);
	wr64(x, HDR_LEN + 8, out->madt);
	finish(x, HDR_LEN + 16);
	u8 *r = buf + o_rsdt;
	header(r, "RSDT", 1);
	wr32(r, HDR_LEN, (u32)out->fadt);
	wr32(r, HDR_LEN + 4, (u32)out->madt);
	finish(r, HDR_LEN + 8);

	/* RSDP (5.2.5.3): checksum over the first 20 bytes, extended checksum over all 36. */
	u8 *s = buf;
	memcpy(s, "RSD PTR ", 8);
	memcpy(s + 9, OEM_ID, 6);
	s[15] = 2;                             /* revision: ACPI 2.0+ (XSDT) */
	wr32(s, 16, (u32)out->rsdt);
	wr32(s, 20, RSDP_LEN);
	wr64(s, 24, out->xsdt);
	s[8] = (u8)-acpi_sum(s, 20);
	s[32] = (u8)-acpi_sum(s, RSDP_LEN);

	out->size = o_dsdt + dsdt_len;
	return 0;
}
