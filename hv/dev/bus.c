/*
 * hv/dev/bus.c - per-VM port and MMIO ranges.
 *
 * A short array per address space, searched linearly: a VM has a handful of
 * devices (UART, CMOS, reset, the absent PIC; LAPIC and IOAPIC pages), and a
 * linear scan over them is as fast as anything cleverer at this size.
 */
#include "bus.h"

static const char *const space_name[2] = { "port", "MMIO" };

void bus_init(struct bus *b)
{
	memset(b, 0, sizeof(*b));
}

int bus_register(struct bus *b, enum bus_space sp, u64 base, u64 len,
	const char *name, const struct bus_handler *h, void *dev)
{
	u64 last = base + len - 1;
	if (len == 0 || last < base || (sp == BUS_IO && last > 0xFFFF)) {
		ksnprintf(b->err, sizeof(b->err), "%s range %s at 0x%llx length 0x%llx is empty, wraps or is beyond 0xffff",
			space_name[sp], name, (unsigned long long)base, (unsigned long long)len);
		return BUS_E_RANGE;
	}
	for (unsigned i = 0; i < b->n[sp]; i++) {
		const struct bus_range *o = &b->r[sp][i];
		if (base <= o->base + o->len - 1 && o->base <= last) {
			ksnprintf(b->err, sizeof(b->err), "%s range 0x%llx-0x%llx (%s) overlaps 0x%llx-0x%llx (%s)",
				space_name[sp], (unsigned long long)base, (unsigned long long)last, name,
				(unsigned long long)o->base, (unsigned long long)(o->base + o->len - 1), o->name);
			return BUS_E_OVERLAP;
		}
	}
	if (b->n[sp] == BUS_MAX_RANGES) {
		ksnprintf(b->err, sizeof(b->err), "%s range %s: all %d places taken",
			space_name[sp], name, BUS_MAX_RANGES);
		return BUS_E_FULL;
	}
	b->r[sp][b->n[sp]++] = (struct bus_range){ base, len, name, h, dev };
	if (sp == BUS_IO)
		for (u64 blk = base >> 6; blk <= last >> 6; blk++)
			b->io_blocks[blk >> 6] |= 1ull << (blk & 63);
	b->err[0] = 0;
	return BUS_OK;
}

const struct bus_range *bus_find(const struct bus *b, enum bus_space sp, u64 addr)
{
	for (unsigned i = 0; i < b->n[sp]; i++) {
		const struct bus_range *r = &b->r[sp][i];
		if (addr - r->base < r->len)
			return r;
	}
	return NULL;
}

int bus_access(struct bus *b, enum bus_space sp, u64 addr, unsigned size,
	bool write, u64 *val, u64 now)
{
	const struct bus_range *r = bus_find(b, sp, addr);
	if (!r)
		return BUS_UNCLAIMED;
	u64 off = addr - r->base;
	if (size == 0 || size > r->len - off)
		return BUS_STRADDLE;
	if (write)
		return r->h->write ? r->h->write(r->dev, off, size, *val, now) : BUS_OK;
	if (!r->h->read) {
		*val = ~0ull;
		return BUS_OK;
	}
	return r->h->read(r->dev, off, size, val, now);
}
