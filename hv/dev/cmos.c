/*
 * hv/dev/cmos.c - CMOS RAM and the MC146818A real-time clock.
 *
 * Implements, from the Motorola MC146818A datasheet:
 *   address map (figure 3): seconds 0x00, minutes 0x02, hours 0x04 (bit 7 PM
 *   in 12-hour mode), day of week 0x06 (1 = Sunday), date 0x07, month 0x08,
 *   year 0x09; alarms 0x01/0x03/0x05 are plain RAM (no alarm interrupt);
 *   register A (0x0A): UIP reads 0 (an update is never caught in progress),
 *   divider and rate bits stored; register B (0x0B): SET (bit 7) freezes the
 *   clock for setting, DM (bit 2) binary/BCD, 24/12 (bit 1); PIE/AIE/UIE are
 *   stored but no interrupt is raised (IRQ 8 is not wired); register C
 *   (0x0C) reads 0 (no flags); register D (0x0D) reads VRT = 1.
 * and the PC/AT conventions of the CMOS RAM: the index port's bit 7 masks
 * NMI; 0x0F shutdown status (RAM); 0x15/0x16 base memory in KiB (640);
 * 0x17/0x18 and 0x30/0x31 extended memory above 1 MiB in KiB (at most
 * 0xFFFF); 0x32 century (BCD, as the ACPI FADT CENTURY field names it);
 * 0x34/0x35 memory between 16 MiB and 4 GiB in 64 KiB units; 0x5B-0x5D
 * memory above 4 GiB in 64 KiB units (the SeaBIOS/QEMU convention).
 */
#include "cmos.h"

enum {
	R_SEC = 0x00, R_MIN = 0x02, R_HOUR = 0x04, R_WDAY = 0x06, R_DAY = 0x07,
	R_MON = 0x08, R_YEAR = 0x09, R_A = 0x0A, R_B = 0x0B, R_C = 0x0C, R_D = 0x0D,
	R_CENTURY = 0x32,
};
#define B_SET BIT(7)
#define B_BINARY BIT(2)
#define B_24H BIT(1)

static bool is_time_reg(u8 r)
{
	return r == R_SEC || r == R_MIN || r == R_HOUR || r == R_WDAY || r == R_DAY ||
	       r == R_MON || r == R_YEAR || r == R_CENTURY;
}

/* Days from 1970-01-01 to year-month-day (month 1..12), by counting from
 * March so that the leap day ends the year. */
static s64 days_from_civil(s64 y, int m, int d)
{
	if (m <= 2)
		y--;
	s64 era = (y >= 0 ? y : y - 399) / 400;
	s64 yoe = y - era * 400;                            /* 0..399 */
	s64 mp = (m + 9) % 12;                              /* March = 0 */
	s64 doy = (153 * mp + 2) / 5 + d - 1;               /* 0..365 */
	s64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;    /* 0..146096 */
	return era * 146097 + doe - 719468;                 /* 719468: 0000-03-01 to 1970 */
}

void cmos_date_from_epoch(s64 secs, struct cmos_date *d)
{
	s64 days = secs / 86400, rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	d->hour = (int)(rem / 3600);
	d->min = (int)(rem / 60 % 60);
	d->sec = (int)(rem % 60);
	d->wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
	s64 z = days + 719468;
	s64 era = (z >= 0 ? z : z - 146096) / 146097;
	s64 doe = z - era * 146097;
	s64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	s64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	s64 mp = (5 * doy + 2) / 153;
	d->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	d->month = (int)(mp < 10 ? mp + 3 : mp - 9);
	d->year = (int)(yoe + era * 400 + (d->month <= 2));
}

s64 cmos_epoch_from_date(const struct cmos_date *d)
{
	return days_from_civil(d->year, d->month, d->day) * 86400 +
	       d->hour * 3600 + d->min * 60 + d->sec;
}

static u8 to_bcd(unsigned v) { return (u8)(((v / 10) << 4) | (v % 10)); }
static unsigned from_bcd(u8 v) { return (v >> 4) * 10 + (v & 0xF); }

static u8 enc(const struct cmos *c, unsigned v)
{
	return (c->ram[R_B] & B_BINARY) ? (u8)v : to_bcd(v);
}
static unsigned dec(const struct cmos *c, u8 v)
{
	return (c->ram[R_B] & B_BINARY) ? v : from_bcd(v);
}

/* Write the clock's current value into the time registers. */
static void latch_time(struct cmos *c, u64 now)
{
	struct cmos_date d;
	cmos_date_from_epoch((s64)now + c->offset, &d);
	c->ram[R_SEC] = enc(c, (unsigned)d.sec);
	c->ram[R_MIN] = enc(c, (unsigned)d.min);
	if (c->ram[R_B] & B_24H) {
		c->ram[R_HOUR] = enc(c, (unsigned)d.hour);
	} else {
		unsigned h12 = d.hour % 12 ? (unsigned)d.hour % 12 : 12;
		c->ram[R_HOUR] = enc(c, h12) | (d.hour >= 12 ? 0x80 : 0);
	}
	c->ram[R_WDAY] = enc(c, (unsigned)d.wday + 1);
	c->ram[R_DAY] = enc(c, (unsigned)d.day);
	c->ram[R_MON] = enc(c, (unsigned)d.month);
	c->ram[R_YEAR] = enc(c, (unsigned)d.year % 100);
	c->ram[R_CENTURY] = to_bcd((unsigned)d.year / 100 % 100);
}

/* Take the time registers as the guest set them: the new offset. */
static void commit_time(struct cmos *c, u64 now)
{
	struct cmos_date d = {
		.sec = (int)dec(c, c->ram[R_SEC]),
		.min = (int)dec(c, c->ram[R_MIN]),
		.day = (int)dec(c, c->ram[R_DAY]),
		.month = (int)dec(c, c->ram[R_MON]),
		.year = (int)(from_bcd(c->ram[R_CENTURY]) * 100 + dec(c, c->ram[R_YEAR])),
	};
	u8 h = c->ram[R_HOUR];
	if (c->ram[R_B] & B_24H) {
		d.hour = (int)dec(c, h);
	} else {
		d.hour = (int)dec(c, h & 0x7F) % 12 + ((h & 0x80) ? 12 : 0);
	}
	if (d.month < 1 || d.month > 12)
		d.month = 1;
	c->offset = cmos_epoch_from_date(&d) - (s64)now;
}

void cmos_init(struct cmos *c, u64 mem_below_4g, u64 mem_above_4g)
{
	memset(c, 0, sizeof(*c));
	c->ram[R_A] = 0x26; /* 32.768 kHz time base, 1024 Hz rate */
	c->ram[R_B] = B_24H;
	c->ram[R_D] = 0x80; /* valid RAM and time */
	c->ram[0x15] = 0x80; /* 640 KiB base memory */
	c->ram[0x16] = 0x02;
	u64 ext = mem_below_4g > MiB(1) ? (mem_below_4g - MiB(1)) >> 10 : 0;
	if (ext > 0xFFFF)
		ext = 0xFFFF;
	c->ram[0x17] = c->ram[0x30] = (u8)ext;
	c->ram[0x18] = c->ram[0x31] = (u8)(ext >> 8);
	u64 above16 = mem_below_4g > MiB(16) ? (mem_below_4g - MiB(16)) >> 16 : 0;
	if (above16 > 0xFFFF)
		above16 = 0xFFFF;
	c->ram[0x34] = (u8)above16;
	c->ram[0x35] = (u8)(above16 >> 8);
	u64 high = mem_above_4g >> 16;
	c->ram[0x5B] = (u8)high;
	c->ram[0x5C] = (u8)(high >> 8);
	c->ram[0x5D] = (u8)(high >> 16);
}

bool cmos_nmi_masked(const struct cmos *c) { return c->nmi_masked; }

u8 cmos_read(struct cmos *c, u16 port, u64 now)
{
	if (port == CMOS_PORT_INDEX)
		return 0xFF; /* write-only on the PC/AT */
	u8 r = c->index;
	if (is_time_reg(r) && !(c->ram[R_B] & B_SET))
		latch_time(c, now);
	if (r == R_C)
		return 0;
	return c->ram[r];
}

void cmos_write(struct cmos *c, u16 port, u8 val, u64 now)
{
	if (port == CMOS_PORT_INDEX) {
		c->index = val & 0x7F;
		c->nmi_masked = val & 0x80;
		return;
	}
	u8 r = c->index;
	switch (r) {
	case R_A:
		c->ram[R_A] = val & 0x7F; /* UIP is read-only */
		return;
	case R_B: {
		bool was_set = c->ram[R_B] & B_SET;
		if (!was_set && (val & B_SET))
			latch_time(c, now); /* freeze the registers for setting */
		if ((val ^ c->ram[R_B]) & (B_BINARY | B_24H)) {
			/* A format change re-encodes the clock (the part leaves
			 * the registers for software to rewrite; reading them
			 * in the new format is what software then expects). */
			if (!was_set)
				latch_time(c, now);
		}
		c->ram[R_B] = val;
		if (was_set && !(val & B_SET))
			commit_time(c, now);
		return;
	}
	case R_C: case R_D:
		return; /* read-only */
	}
	if (is_time_reg(r) && !(c->ram[R_B] & B_SET)) {
		latch_time(c, now);
		c->ram[r] = val;
		commit_time(c, now);
		return;
	}
	c->ram[r] = val;
}
