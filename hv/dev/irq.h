/*
 * hv/dev/irq.h - the interrupt message that travels between the virtual
 * interrupt controllers (hv/dev/lapic.c, hv/dev/ioapic.c).
 *
 * It is the content of an APIC bus / system bus interrupt message: an ICR
 * write (Intel SDM Vol. 3A 11.6.1, "Interrupt Command Register") or an IOAPIC
 * redirection entry (82093AA datasheet 3.2.4) carry the same fields. The
 * device that raises it fills one in and hands it to a callback; the caller
 * (the VM) decides which local APICs it reaches, using lapic_match_dest().
 * Pure data: built into hv and into the host unit tests.
 */
#ifndef HV_DEV_IRQ_H
#define HV_DEV_IRQ_H

#include "../lib.h"

/* Delivery modes, ICR bits 10:8 / redirection entry bits 10:8 (SDM 11.6.1). */
enum irq_delivery {
	IRQ_DM_FIXED = 0,
	IRQ_DM_LOWEST = 1,
	IRQ_DM_SMI = 2,
	IRQ_DM_RESERVED3 = 3,
	IRQ_DM_NMI = 4,
	IRQ_DM_INIT = 5,
	IRQ_DM_SIPI = 6,   /* "Start-Up"; ExtINT in an IOAPIC entry or an LVT */
	IRQ_DM_EXTINT = 7, /* reserved in the ICR */
};

/* Destination shorthand, ICR bits 19:18 (SDM 11.6.1). */
enum irq_shorthand {
	IRQ_SH_NONE = 0,
	IRQ_SH_SELF = 1,
	IRQ_SH_ALL_INCL = 2,
	IRQ_SH_ALL_EXCL = 3,
};

struct irq_msg {
	u8 vector;
	u8 delivery;     /* enum irq_delivery */
	u8 shorthand;    /* enum irq_shorthand; IRQ_SH_NONE from an IOAPIC */
	bool logical;    /* destination mode: 0 physical, 1 logical */
	bool level;      /* trigger mode: 0 edge, 1 level */
	bool assert;     /* level: 1 assert, 0 de-assert (INIT level de-assert) */
	bool x2apic;     /* dest is a 32-bit x2APIC destination (else 8-bit) */
	u32 dest;        /* destination field */
	u32 src_id;      /* APIC id of the sender (for the shorthands) */
};

#endif
