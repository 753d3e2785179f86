/*
 * hv/dev/pic.c - an 8259A pair that reads back as absent.
 *
 * The Intel 8259A datasheet (order 231468) defines OCW1 (a write to the odd
 * port) as the interrupt mask register, which reads back what was written.
 * A PC without the pair has nothing driving the bus at 0x20/0x21/0xA0/0xA1,
 * so every read returns all ones. Linux (arch/x86/kernel/i8259.c,
 * probe_8259A) writes a mask to 0x21 and reads it back: a value other than
 * the one written means no PIC, and it uses the "null legacy PIC" instead.
 * hv emulates that absence rather than the chip: the guest platform routes
 * legacy interrupts through the IOAPIC (hv/dev/ioapic.c), as hardware-reduced
 * ACPI platforms do (see the platform notes in docs/platform.md), so a
 * working 8259 would only be a second, unused path for interrupts. The ELCR
 * (0x4D0/0x4D1) that goes with the pair is absent too.
 */
#include "pic.h"

void pic_init(struct pic_absent *p) { p->writes = 0; }

u8 pic_read(struct pic_absent *p, u16 port)
{
	(void)p;
	(void)port;
	return 0xFF;
}

void pic_write(struct pic_absent *p, u16 port, u8 val)
{
	(void)port;
	(void)val;
	p->writes++;
}
