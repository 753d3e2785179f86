/*
 * hv/dev/pit.h - the 8254 programmable interval timer at ports 0x40-0x43
 * and the timer bits of port 0x61 (NMI status and control, "port B")
 * (hv/dev/pit.c).
 *
 * Time comes in as a parameter: `now` counts the PIT's input clock
 * (PIT_HZ) since any fixed start; hv derives it from the TSC. The counters
 * count and read back and OUT2 shows in port 0x61, which is what software
 * measures time with (Linux calibrates the CPU against channel 2 at boot);
 * no interrupt is raised: channel 0's OUT (IRQ 0 on a PC) is not wired, and
 * guests take their timer interrupts from the local APIC (docs/platform.md).
 */
#ifndef HV_DEV_PIT_H
#define HV_DEV_PIT_H

#include "../lib.h"

#define PIT_PORT_CH0 0x40
#define PIT_PORT_CTRL 0x43
#define PIT_PORT_B 0x61
#define PIT_HZ 1193182u

struct pit_channel {
	u8 mode;          /* 0-5 (written 6 and 7 are 2 and 3) */
	u8 rw;            /* access: 1 LSB only, 2 MSB only, 3 LSB then MSB */
	bool bcd;         /* counts in 4 BCD digits */
	bool loaded;      /* a whole count was written since the control word */
	bool running;     /* counting now (gate, trigger) */
	bool triggered;   /* modes 1 and 5: a gate rising edge started it */
	u16 reload;       /* the count written (0 = the modulus: 65536 or 10000) */
	u64 start;        /* PIT clock at which the current run began */
	u64 acc;          /* clocks counted in earlier runs since the load */
	bool write_msb;   /* rw 3: the next data write is the MSB */
	u8 lsb;           /* ... the LSB written before it */
	bool read_msb;    /* rw 3: the next live read is the MSB */
	bool count_latched, latch_msb;
	u16 latch;        /* the latched count (as it reads: BCD if bcd) */
	bool status_latched;
	u8 status;
};

struct pit {
	struct pit_channel ch[3];
	u8 port_b;        /* port 0x61 bits 0-3 as written */
};

void pit_init(struct pit *p);
/* `port` is 0x40-0x43 or 0x61. */
u8 pit_read(struct pit *p, u16 port, u64 now);
void pit_write(struct pit *p, u16 port, u8 val, u64 now);
/* Channel c's count (as it reads) and its OUT at `now` (tests, port 0x61). */
u16 pit_count(const struct pit *p, unsigned c, u64 now);
bool pit_out(const struct pit *p, unsigned c, u64 now);

#endif
