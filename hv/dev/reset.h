/*
 * hv/dev/reset.h - the ways a PC guest resets itself (hv/dev/reset.c):
 * the reset control register (0xCF9), the keyboard controller's reset
 * pulse (0xFE to 0x64) and system control port A (0x92, fast reset).
 */
#ifndef HV_DEV_RESET_H
#define HV_DEV_RESET_H

#include "../lib.h"

#define RESET_PORT_CF9 0xCF9
#define RESET_PORT_KBC_DATA 0x60
#define RESET_PORT_KBC_CMD 0x64
#define RESET_PORT_92 0x92

enum reset_reason {
	RESET_NONE = 0,
	RESET_CF9_SOFT,   /* 0xCF9 RST_CPU with SYS_RST = 0: INIT-like */
	RESET_CF9_HARD,   /* 0xCF9 RST_CPU with SYS_RST = 1 */
	RESET_CF9_FULL,   /* 0xCF9 RST_CPU with FULL_RST = 1: power cycle */
	RESET_KBC_PULSE,  /* 0xFE written to the keyboard controller */
	RESET_PORT92,     /* fast reset through port 0x92 bit 0 */
	/* Not resets, but the same path out of a port write (hv/vplat.c): */
	RESET_ACPI_S5,    /* ACPI sleep control SLP_EN, SLP_TYP 5: power off (hv/dev/acpi_pm.c) */
	RESET_ACPI_SLEEP, /* ACPI sleep control SLP_EN, another state: hv offers none */
};

struct reset_dev {
	u8 cf9;   /* SYS_RST (bit 1) and FULL_RST (bit 3) as written */
	u8 port92;
	enum reset_reason reason; /* the first reset requested, sticky */
};

void reset_init(struct reset_dev *r);
u8 reset_read(struct reset_dev *r, u16 port);
/* Returns the reset the write requests (RESET_NONE if none); it is also
 * kept in r->reason until reset_init. */
enum reset_reason reset_write(struct reset_dev *r, u16 port, u8 val);
/* A short name for messages: "0xCF9 hard reset", ... */
const char *reset_reason_name(enum reset_reason why);

#endif
