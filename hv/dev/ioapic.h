/*
 * hv/dev/ioapic.h - a virtual I/O APIC with 24 pins (hv/dev/ioapic.c).
 *
 * The face: the two MMIO registers (IOREGSEL at +0x00, IOWIN at +0x10, and
 * the EOI register at +0x40 of version 0x20 parts), the pins (ioapic_set_irq)
 * and the EOI broadcast from the local APICs (ioapic_eoi). Interrupt messages
 * leave through `deliver`; the caller routes them to local APICs.
 */
#ifndef HV_DEV_IOAPIC_H
#define HV_DEV_IOAPIC_H

#include "irq.h"

#define IOAPIC_PINS 24
#define IOAPIC_BASE_DEFAULT 0xFEC00000ull
#define IOAPIC_MMIO_SIZE 0x1000

#define IOAPIC_REGSEL 0x00
#define IOAPIC_IOWIN 0x10
#define IOAPIC_EOIR 0x40

/* Redirection entry bits (82093AA datasheet 3.2.4). */
#define IOREDIR_MASKED BIT(16)
#define IOREDIR_LEVEL BIT(15)
#define IOREDIR_REMOTE_IRR BIT(14)
#define IOREDIR_POLARITY_LOW BIT(13)
#define IOREDIR_DELIVS BIT(12)
#define IOREDIR_LOGICAL BIT(11)

struct ioapic {
	u32 id;           /* IOAPICID bits 27:24 */
	u8 regsel;
	u64 redir[IOAPIC_PINS];
	u32 lines;        /* bit n: pin n asserted */
	u64 delivered;    /* messages sent (diagnostics, tests) */
	void (*deliver)(void *ctx, const struct irq_msg *m);
	void *ctx;
};

void ioapic_init(struct ioapic *io, u32 id,
	void (*deliver)(void *ctx, const struct irq_msg *m), void *ctx);
/* 32-bit accesses at `off` in the register window; other offsets read 0
 * and ignore writes (the part decodes only these, datasheet 3.0). */
u32 ioapic_mmio_read(struct ioapic *io, u32 off);
void ioapic_mmio_write(struct ioapic *io, u32 off, u32 val);
/* A device drives pin `pin`: `asserted` is the logical state (the virtual
 * wires carry "requesting service", so the polarity bit only reads back).
 * Out-of-range pins are ignored. */
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool asserted);
/* A local APIC took an EOI for level-triggered `vector` (SDM 11.8.5). */
void ioapic_eoi(struct ioapic *io, u8 vector);

#endif
