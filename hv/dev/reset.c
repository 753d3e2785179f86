/*
 * hv/dev/reset.c - reset requests: 0xCF9, the 8042 pulse, port 0x92.
 *
 * Implements:
 *   - the Reset Control Register at I/O port 0xCF9 of the Intel PCH/ICH
 *     (e.g. Intel 300 Series Chipset PCH datasheet vol. 2, "Reset Control
 *     Register (RST_CNT)"): bit 1 SYS_RST selects a hard (1) or soft (0)
 *     reset, bit 2 RST_CPU starts it on a 0 -> 1 write, bit 3 FULL_RST turns
 *     a hard reset into a power cycle; bits 1 and 3 read back;
 *   - the 8042 keyboard controller command 0xFE, "pulse output port bit 0"
 *     (the CPU reset line) written to port 0x64; the status register at 0x64
 *     reads 0 (input and output buffers empty, so reboot code that waits for
 *     "input buffer empty" goes on) and the data port 0x60 reads 0xFF: there
 *     is no keyboard;
 *   - System Control Port A at 0x92 (PS/2 and later chipsets): bit 0 fast
 *     reset on a 0 -> 1 write, bit 1 A20 gate (read back only: a guest of hv
 *     always has A20 on).
 * What a reset then does is the caller's: hv ends the VM with the reason.
 */
#include "reset.h"

#define CF9_SYS_RST BIT(1)
#define CF9_RST_CPU BIT(2)
#define CF9_FULL_RST BIT(3)
#define KBC_CMD_PULSE_RESET 0xFE

void reset_init(struct reset_dev *r)
{
	r->cf9 = 0;
	r->port92 = 0x02; /* A20 on */
	r->reason = RESET_NONE;
}

u8 reset_read(struct reset_dev *r, u16 port)
{
	switch (port) {
	case RESET_PORT_CF9: return r->cf9;
	case RESET_PORT_92: return r->port92;
	case RESET_PORT_KBC_CMD: return 0x00;
	default: return 0xFF;
	}
}

static enum reset_reason note(struct reset_dev *r, enum reset_reason why)
{
	if (r->reason == RESET_NONE)
		r->reason = why;
	return why;
}

enum reset_reason reset_write(struct reset_dev *r, u16 port, u8 val)
{
	switch (port) {
	case RESET_PORT_CF9:
		r->cf9 = val & (CF9_SYS_RST | CF9_FULL_RST);
		if (!(val & CF9_RST_CPU))
			return RESET_NONE;
		if (val & CF9_FULL_RST)
			return note(r, RESET_CF9_FULL);
		return note(r, (val & CF9_SYS_RST) ? RESET_CF9_HARD : RESET_CF9_SOFT);
	case RESET_PORT_KBC_CMD:
		return val == KBC_CMD_PULSE_RESET ? note(r, RESET_KBC_PULSE) : RESET_NONE;
	case RESET_PORT_92: {
		bool rise = (val & 1) && !(r->port92 & 1);
		r->port92 = val & 0x03;
		return rise ? note(r, RESET_PORT92) : RESET_NONE;
	}
	default:
		return RESET_NONE;
	}
}

const char *reset_reason_name(enum reset_reason why)
{
	switch (why) {
	case RESET_NONE: return "no reset";
	case RESET_CF9_SOFT: return "soft reset through port 0xCF9";
	case RESET_CF9_HARD: return "hard reset through port 0xCF9";
	case RESET_CF9_FULL: return "full reset (power cycle) through port 0xCF9";
	case RESET_KBC_PULSE: return "keyboard controller reset pulse (0xFE to port 0x64)";
	case RESET_ACPI_S5: return "power off (ACPI S5 through the sleep control register 0x600)";
	case RESET_ACPI_SLEEP: return "sleep state other than S5 through the ACPI sleep control register (hv offers none)";
	case RESET_PORT92: return "fast reset through port 0x92";
	}
	return "unknown reset";
}
