/*
 * hv/dev/bus.h - one VM's I/O port and MMIO ranges (hv/dev/bus.c).
 *
 * Devices register the ranges they decode; the exit path looks an access up
 * by port or guest-physical address and calls the owner with the offset
 * into its range. Ranges of one space never overlap: a registration that
 * would is refused, with a message naming both ranges.
 */
#ifndef HV_DEV_BUS_H
#define HV_DEV_BUS_H

#include "../lib.h"

enum bus_space { BUS_IO, BUS_MMIO };

/* Handlers return 0, or a nonzero value of their own that bus_access
 * passes on (for instance "inject #GP", or a reset request); their own
 * values must not collide with enum bus_status. `size` is 1, 2, 4 or 8. */
struct bus_handler {
	int (*read)(void *dev, u64 off, unsigned size, u64 *val, u64 now);
	int (*write)(void *dev, u64 off, unsigned size, u64 val, u64 now);
};

struct bus_range {
	u64 base, len;
	const char *name;
	const struct bus_handler *h;
	void *dev;
};

#define BUS_MAX_RANGES 16

enum bus_status {
	BUS_OK = 0,
	BUS_UNCLAIMED = -100, /* no device decodes the address */
	BUS_STRADDLE = -101,  /* the access runs past the end of its range */
	BUS_E_OVERLAP = -102, /* registration: overlaps a registered range */
	BUS_E_FULL = -103,    /* registration: no room */
	BUS_E_RANGE = -104,   /* registration: empty, wrapping or (ports) > 0xFFFF */
};

struct bus {
	struct bus_range r[2][BUS_MAX_RANGES]; /* [enum bus_space] */
	unsigned n[2];
	u64 io_blocks[16]; /* bit n: a port range meets ports 64n..64n+63 */
	char err[160]; /* why the last registration failed */
};

/* Quick test for the exit path: false means no device decodes `port` (its
 * 64-port block has none), without searching the ranges. */
static inline bool bus_io_block_used(const struct bus *b, u16 port)
{
	unsigned blk = port >> 6;
	return (b->io_blocks[blk >> 6] >> (blk & 63)) & 1;
}

void bus_init(struct bus *b);
int bus_register(struct bus *b, enum bus_space sp, u64 base, u64 len,
	const char *name, const struct bus_handler *h, void *dev);
/* The range that decodes `addr`, or NULL. */
const struct bus_range *bus_find(const struct bus *b, enum bus_space sp, u64 addr);
/* Look up and call: BUS_UNCLAIMED or BUS_STRADDLE (no call made), else the
 * handler's result. A read of an unclaimed address is the caller's to
 * answer (all ones for ports on a PC). */
int bus_access(struct bus *b, enum bus_space sp, u64 addr, unsigned size,
	bool write, u64 *val, u64 now);

#endif
