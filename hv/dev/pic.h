/*
 * hv/dev/pic.h - the 8259A pair, present only as an absence (hv/dev/pic.c).
 */
#ifndef HV_DEV_PIC_H
#define HV_DEV_PIC_H

#include "../lib.h"

#define PIC_MASTER_BASE 0x20 /* 0x20 command, 0x21 data (IMR) */
#define PIC_SLAVE_BASE 0xA0  /* 0xA0 command, 0xA1 data (IMR) */
#define PIC_ELCR_BASE 0x4D0  /* edge/level control, 0x4D0-0x4D1 */

struct pic_absent {
	u64 writes; /* writes swallowed (diagnostics) */
};

void pic_init(struct pic_absent *p);
/* Every port of the pair and of ELCR reads 0xFF; writes are dropped. */
u8 pic_read(struct pic_absent *p, u16 port);
void pic_write(struct pic_absent *p, u16 port, u8 val);

#endif
