/*
 * hv/dev/pit.c - the 8254 programmable interval timer (Intel 82C54 data
 * sheet: control word, counter modes 0-5, counter latch and read-back
 * commands, BCD counting) with channel 2's gate and OUT in port 0x61, as on
 * a PC. See pit.h for what is and is not modelled.
 *
 * A channel's count is not stepped: it is computed from the clocks it has
 * counted since its count was loaded (`acc` from earlier runs plus the
 * current run since `start`), so reading it costs the same however long it
 * ran. Simplifications (docs/platform.md): a count is loaded at once, not on
 * the next clock; a new count written in modes 2 and 3 takes effect at
 * once, not at the end of the current period; in mode 3 the count reads
 * back as an even value falling by two per clock in each half period.
 */
#include "pit.h"

static bool gate(const struct pit *p, unsigned c)
{
	return c != 2 || (p->port_b & 1);   /* gates 0 and 1 are tied high */
}

static u32 modulus(const struct pit_channel *ch)
{
	return ch->bcd ? 10000 : 65536;
}

static u32 bcd_to_bin(u16 v)
{
	return ((v >> 12) & 15) * 1000u + ((v >> 8) & 15) * 100u + ((v >> 4) & 15) * 10u + (v & 15);
}

static u16 bin_to_bcd(u32 v)
{
	return (u16)(((v / 1000) % 10) << 12 | ((v / 100) % 10) << 8 | ((v / 10) % 10) << 4 | (v % 10));
}

/* The initial count as a number of clocks: 1 .. modulus. */
static u32 initial(const struct pit_channel *ch)
{
	u32 m = modulus(ch), n = ch->bcd ? bcd_to_bin(ch->reload) % m : ch->reload;
	return n ? n : m;
}

static u64 elapsed(const struct pit_channel *ch, u64 now)
{
	return ch->acc + (ch->running && now > ch->start ? now - ch->start : 0);
}

/* The count in binary, 0 .. modulus - 1 (the modulus itself reads as 0). */
static u32 count_bin(const struct pit_channel *ch, u64 now)
{
	u32 m = modulus(ch), n = initial(ch);
	if (!ch->loaded || ((ch->mode == 1 || ch->mode == 5) && !ch->triggered))
		return n % m;
	u64 e = elapsed(ch, now);
	switch (ch->mode) {
	case 2: {
		u32 k = n < 2 ? 2 : n;         /* 1 is illegal in modes 2 and 3 */
		return (u32)(k - e % k) % m;   /* k, k-1, ..., 1, k, ... */
	}
	case 3: {
		u32 k = n < 2 ? 2 : n, hi = (k + 1) / 2;
		u32 phase = (u32)(e % k);
		u32 v = phase < hi ? k - 2 * phase : k - 2 * (phase - hi);
		return (v < 2 ? 2 : v & ~1u) % m;
	}
	default:                               /* 0, 1, 4, 5: down to 0, then on from m - 1 */
		return (u32)((n + m - e % m) % m);
	}
}

bool pit_out(const struct pit *p, unsigned c, u64 now)
{
	const struct pit_channel *ch = &p->ch[c];
	if (!ch->loaded)
		return ch->mode != 0;                  /* mode 0 sets OUT low, the others high */
	u64 e = elapsed(ch, now);
	u32 n = initial(ch);
	switch (ch->mode) {
	case 0:
		return e >= n;
	case 1:
		return !ch->triggered || e >= n;
	case 2: {
		u32 k = n < 2 ? 2 : n;
		return !ch->running || e % k != k - 1;   /* low for the clock at count 1 */
	}
	case 3: {
		u32 k = n < 2 ? 2 : n;
		return !ch->running || e % k < (k + 1) / 2;
	}
	case 4:
		return e != n;                         /* a one-clock low strobe */
	default:                                       /* 5 */
		return !ch->triggered || e != n;
	}
}

u16 pit_count(const struct pit *p, unsigned c, u64 now)
{
	const struct pit_channel *ch = &p->ch[c];
	u32 v = count_bin(ch, now);
	return ch->bcd ? bin_to_bcd(v) : (u16)v;
}

void pit_init(struct pit *p)
{
	memset(p, 0, sizeof(*p));
	for (unsigned c = 0; c < 3; c++)
		p->ch[c].rw = 3;
}

static void load(struct pit *p, unsigned c, u64 now)
{
	struct pit_channel *ch = &p->ch[c];
	ch->loaded = true;
	ch->acc = 0;
	ch->start = now;
	ch->triggered = false;
	ch->running = ch->mode != 1 && ch->mode != 5 && gate(p, c);
}

/* Channel 2's gate went from `was` to the current level (port 0x61 bit 0). */
static void gate_changed(struct pit *p, bool was, u64 now)
{
	struct pit_channel *ch = &p->ch[2];
	bool is = gate(p, 2);
	if (was == is || !ch->loaded)
		return;
	switch (ch->mode) {
	case 0:
	case 4:                                /* the level enables counting */
		if (is) {
			ch->start = now;
			ch->running = true;
		} else if (ch->running) {
			ch->acc += now > ch->start ? now - ch->start : 0;
			ch->running = false;
		}
		break;
	case 2:
	case 3:                                /* low stops it; a rising edge reloads */
		ch->acc = 0;
		ch->start = now;
		ch->running = is;
		break;
	default:                               /* 1, 5: a rising edge (re)triggers */
		if (is) {
			ch->acc = 0;
			ch->start = now;
			ch->running = true;
			ch->triggered = true;
		}
		break;
	}
}

static void latch_count(struct pit *p, unsigned c, u64 now)
{
	struct pit_channel *ch = &p->ch[c];
	if (ch->count_latched)
		return;                        /* the first latch holds until read */
	ch->latch = pit_count(p, c, now);
	ch->count_latched = true;
	ch->latch_msb = false;
}

static void latch_status(struct pit *p, unsigned c, u64 now)
{
	struct pit_channel *ch = &p->ch[c];
	if (ch->status_latched)
		return;
	ch->status = (u8)((pit_out(p, c, now) ? 0x80 : 0) | (ch->loaded ? 0 : 0x40) | (ch->rw << 4) |
			  (ch->mode << 1) | (ch->bcd ? 1 : 0));
	ch->status_latched = true;
}

static void control(struct pit *p, u8 val, u64 now)
{
	unsigned sc = val >> 6, rw = (val >> 4) & 3;
	if (sc == 3) {                         /* read-back: bits 3:1 pick channels 2..0 */
		for (unsigned c = 0; c < 3; c++) {
			if (!(val & (2u << c)))
				continue;
			if (!(val & 0x20))
				latch_count(p, c, now);
			if (!(val & 0x10))
				latch_status(p, c, now);
		}
		return;
	}
	if (rw == 0) {                         /* counter latch command */
		latch_count(p, sc, now);
		return;
	}
	struct pit_channel *ch = &p->ch[sc];
	unsigned mode = (val >> 1) & 7;
	ch->mode = (u8)(mode > 5 ? mode - 4 : mode);
	ch->rw = (u8)rw;
	ch->bcd = val & 1;
	ch->loaded = ch->running = ch->triggered = false;
	ch->acc = 0;
	ch->write_msb = ch->read_msb = false;
	ch->count_latched = ch->status_latched = false;
}

static u8 data_read(struct pit *p, unsigned c, u64 now)
{
	struct pit_channel *ch = &p->ch[c];
	if (ch->status_latched) {
		ch->status_latched = false;
		return ch->status;
	}
	if (ch->count_latched) {
		u16 v = ch->latch;
		if (ch->rw == 1 || (ch->rw == 3 && !ch->latch_msb)) {
			if (ch->rw == 3)
				ch->latch_msb = true;
			else
				ch->count_latched = false;
			return (u8)v;
		}
		ch->count_latched = ch->latch_msb = false;
		return (u8)(v >> 8);
	}
	u16 v = pit_count(p, c, now);
	if (ch->rw == 1)
		return (u8)v;
	if (ch->rw == 2)
		return (u8)(v >> 8);
	ch->read_msb = !ch->read_msb;
	return ch->read_msb ? (u8)v : (u8)(v >> 8);
}

static void data_write(struct pit *p, unsigned c, u8 val, u64 now)
{
	struct pit_channel *ch = &p->ch[c];
	if (ch->rw == 1) {
		ch->reload = val;
	} else if (ch->rw == 2) {
		ch->reload = (u16)(val << 8);
	} else if (!ch->write_msb) {
		ch->lsb = val;
		ch->write_msb = true;
		if (ch->mode == 0)
			ch->loaded = ch->running = false;   /* the first byte stops mode 0 */
		return;
	} else {
		ch->reload = (u16)(ch->lsb | val << 8);
		ch->write_msb = false;
	}
	load(p, c, now);
}

u8 pit_read(struct pit *p, u16 port, u64 now)
{
	if (port == PIT_PORT_B)                /* refresh toggles every 15 us (18 clocks) */
		return (u8)((p->port_b & 0x0F) | ((now / 18) & 1) << 4 | (pit_out(p, 2, now) ? 0x20 : 0));
	if (port >= PIT_PORT_CH0 && port < PIT_PORT_CTRL)
		return data_read(p, port - PIT_PORT_CH0, now);
	return 0xFF;                           /* the control word register is write-only */
}

void pit_write(struct pit *p, u16 port, u8 val, u64 now)
{
	if (port == PIT_PORT_B) {
		bool was = gate(p, 2);
		p->port_b = val & 0x0F;        /* gate 2, speaker, parity and IOCHK enables */
		gate_changed(p, was, now);
	} else if (port == PIT_PORT_CTRL) {
		control(p, val, now);
	} else if (port >= PIT_PORT_CH0 && port < PIT_PORT_CTRL) {
		data_write(p, port - PIT_PORT_CH0, val, now);
	}
}
