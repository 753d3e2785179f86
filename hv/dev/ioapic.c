/*
 * hv/dev/ioapic.c - a virtual I/O APIC, 24 pins.
 *
 * Implements, from the Intel 82093AA I/O APIC datasheet (order 290566-001):
 *   3.0    the indirect register window: IOREGSEL (+0x00) selects, IOWIN
 *          (+0x10) reads and writes 32 bits of the selected register
 *   3.1    IOAPICID (0x00, bits 27:24), IOAPICVER (0x01: version 0x20, max
 *          redirection entry 23 in bits 23:16), IOAPICARB (0x02, reads the id)
 *   3.2.4  the redirection table (0x10 + 2n low, 0x11 + 2n high): vector,
 *          delivery mode, destination mode, delivery status (read-only),
 *          polarity, remote IRR (read-only), trigger mode, mask, destination
 * and the EOI register at +0x40 of version 0x20 I/O APICs (as in the ICH
 * datasheets' "I/O APIC EOI register"), with the local APICs' EOI broadcast
 * of the Intel SDM Vol. 3A 11.8.5 doing the same.
 *
 * Edge pins send a message on each rising edge while unmasked. Level pins
 * send one while asserted, unmasked and remote IRR is clear, and set remote
 * IRR; the EOI of their vector clears it and, if the pin is still asserted,
 * sends again. Unmasking an asserted level pin sends it. An edge that
 * arrives while the pin is masked is lost, as on the part.
 */
#include "ioapic.h"

#define VERSION_VALUE (0x20u | ((u32)(IOAPIC_PINS - 1) << 16))
/* Writable bits of a redirection entry: all but delivery status and
 * remote IRR (bits 12, 14), reserved bits 55:17 zero. */
#define REDIR_WRITABLE (0xFF00000000000000ull | 0x1AFFFull)

void ioapic_init(struct ioapic *io, u32 id,
	void (*deliver)(void *ctx, const struct irq_msg *m), void *ctx)
{
	memset(io, 0, sizeof(*io));
	io->id = id & 0xF;
	for (int i = 0; i < IOAPIC_PINS; i++)
		io->redir[i] = IOREDIR_MASKED; /* reset state: masked */
	io->deliver = deliver;
	io->ctx = ctx;
}

static void send(struct ioapic *io, unsigned pin)
{
	u64 e = io->redir[pin];
	struct irq_msg m = {
		.vector = e & 0xFF,
		.delivery = (e >> 8) & 7,
		.logical = e & IOREDIR_LOGICAL,
		.level = e & IOREDIR_LEVEL,
		.assert = true,
		.dest = (u32)(e >> 56),
		.shorthand = IRQ_SH_NONE,
	};
	if (m.level)
		io->redir[pin] |= IOREDIR_REMOTE_IRR;
	io->delivered++;
	if (io->deliver)
		io->deliver(io->ctx, &m);
}

/* Send pin `pin` if a level pin is asserted, unmasked and not in service. */
static void check_level(struct ioapic *io, unsigned pin)
{
	u64 e = io->redir[pin];
	if ((e & IOREDIR_LEVEL) && !(e & IOREDIR_MASKED) && !(e & IOREDIR_REMOTE_IRR) &&
	    (io->lines & (1u << pin)))
		send(io, pin);
}

u32 ioapic_mmio_read(struct ioapic *io, u32 off)
{
	if (off == IOAPIC_REGSEL)
		return io->regsel;
	if (off != IOAPIC_IOWIN)
		return 0;
	u32 r = io->regsel;
	switch (r) {
	case 0x00: return io->id << 24;
	case 0x01: return VERSION_VALUE;
	case 0x02: return io->id << 24;
	}
	if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
		u64 e = io->redir[(r - 0x10) / 2];
		return (r & 1) ? (u32)(e >> 32) : (u32)e;
	}
	return 0;
}

void ioapic_mmio_write(struct ioapic *io, u32 off, u32 val)
{
	if (off == IOAPIC_REGSEL) {
		io->regsel = val & 0xFF;
		return;
	}
	if (off == IOAPIC_EOIR) {
		ioapic_eoi(io, val & 0xFF);
		return;
	}
	if (off != IOAPIC_IOWIN)
		return;
	u32 r = io->regsel;
	if (r == 0x00) {
		io->id = (val >> 24) & 0xF;
		return;
	}
	if (r < 0x10 || r >= 0x10 + 2 * IOAPIC_PINS)
		return; /* version, arbitration and the rest are read-only */
	unsigned pin = (r - 0x10) / 2;
	u64 e = io->redir[pin];
	u64 nv = (r & 1) ? ((u64)val << 32) | (e & 0xFFFFFFFF)
	                 : (e & 0xFFFFFFFF00000000ull) | val;
	nv = (nv & REDIR_WRITABLE) | (e & ~REDIR_WRITABLE & IOREDIR_REMOTE_IRR);
	if (!(nv & IOREDIR_LEVEL))
		nv &= ~IOREDIR_REMOTE_IRR; /* remote IRR means nothing for edge */
	io->redir[pin] = nv;
	check_level(io, pin);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, bool asserted)
{
	if (pin >= IOAPIC_PINS)
		return;
	u32 bit = 1u << pin;
	bool was = io->lines & bit;
	if (asserted)
		io->lines |= bit;
	else
		io->lines &= ~bit;
	u64 e = io->redir[pin];
	if (e & IOREDIR_LEVEL) {
		check_level(io, pin);
		return;
	}
	if (asserted && !was && !(e & IOREDIR_MASKED))
		send(io, pin);
}

void ioapic_eoi(struct ioapic *io, u8 vector)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		u64 e = io->redir[pin];
		if ((e & 0xFF) != vector || !(e & IOREDIR_REMOTE_IRR))
			continue;
		io->redir[pin] = e & ~IOREDIR_REMOTE_IRR;
		check_level(io, pin);
	}
}
