/*
 * hv/dev/uart16550.c - a virtual 16550A UART.
 *
 * Implements the National Semiconductor PC16550D datasheet (June 1995):
 *   8.4   the line control register (word length, stop, parity, break: kept
 *         and read back; DLAB, bit 7, selects the divisor latch at 0/1)
 *   8.5   the line status register: DR, OE, THRE, TEMT (PE/FE/BI never occur
 *         on a virtual wire), bit 7 (an error in the FIFO) never set
 *   8.6   the FIFO control register: enable, clear RX/TX, RX trigger level
 *         1/4/8/14; IIR bits 7:6 read 11b while FIFOs are on
 *   8.7   the interrupt identification register and its priorities (table
 *         IV): line status > received data / character timeout > THRE >
 *         modem status; 8.8 the interrupt enable register
 *   8.9   the modem control register, loopback mode (8.9 bit 4: TX goes to
 *         RX, the modem outputs feed the modem status inputs); OUT2 gates the
 *         interrupt line, as on PC serial ports
 *   8.10  the modem status register and its delta bits
 *   8.11  the scratchpad register
 *   8.10 (baud generator) the divisor latch is stored and read back; the
 *         virtual wire has no speed: a byte written to THR is sent at once,
 *         so THR and the shifter are always empty again when read.
 *
 * The character timeout (IIR 1100b) is taken as elapsed as soon as the FIFO
 * holds fewer bytes than the trigger level: input arrives in bursts that
 * uart_push_input delivers whole, so "no more characters for four character
 * times" is true at once.
 */
#include "uart16550.h"

#define IER_RDA BIT(0)
#define IER_THRE BIT(1)
#define IER_RLS BIT(2)
#define IER_MS BIT(3)
#define LCR_DLAB BIT(7)
#define LSR_DR BIT(0)
#define LSR_OE BIT(1)
#define LSR_THRE BIT(5)
#define LSR_TEMT BIT(6)
#define MCR_OUT2 BIT(3)
#define MCR_LOOP BIT(4)
#define FCR_ENABLE BIT(0)
#define IIR_NONE 0x01
#define IIR_MS 0x00
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_RLS 0x06
#define IIR_TIMEOUT 0x0C

static const u8 trigger_levels[4] = { 1, 4, 8, 14 };

static bool fifo_on(const struct uart16550 *u) { return u->fcr & FCR_ENABLE; }
static unsigned rx_capacity(const struct uart16550 *u) { return fifo_on(u) ? UART_FIFO_SIZE : 1; }

/* The highest-priority pending interrupt's IIR bits 3:0 (table IV). */
static u8 iir_id(const struct uart16550 *u)
{
	if ((u->ier & IER_RLS) && (u->lsr & LSR_OE))
		return IIR_RLS;
	if ((u->ier & IER_RDA) && u->rx_count) {
		if (!fifo_on(u) || u->rx_count >= trigger_levels[u->fcr >> 6])
			return IIR_RDA;
		return IIR_TIMEOUT;
	}
	if ((u->ier & IER_THRE) && u->thre_pending)
		return IIR_THRE;
	if ((u->ier & IER_MS) && (u->msr & 0x0F))
		return IIR_MS;
	return IIR_NONE;
}

static void update_irq(struct uart16550 *u)
{
	bool level = iir_id(u) != IIR_NONE && (u->mcr & MCR_OUT2);
	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->ops.irq)
		u->ops.irq(u->ops.ctx, level);
}

/* Modem status inputs: loopback wires them to the MCR outputs (8.9);
 * otherwise CTS, DSR and DCD are on (a present, ready peer). */
static void update_msr(struct uart16550 *u)
{
	u8 in;
	if (u->mcr & MCR_LOOP)
		in = (u8)(((u->mcr & 2) << 3) | ((u->mcr & 1) << 5) |
		          ((u->mcr & 4) << 4) | ((u->mcr & 8) << 4));
	else
		in = 0xB0; /* DCD, DSR, CTS */
	u8 old = u->msr & 0xF0, delta = 0;
	if ((old ^ in) & 0x10) delta |= 0x01; /* DCTS */
	if ((old ^ in) & 0x20) delta |= 0x02; /* DDSR */
	if ((old & 0x40) && !(in & 0x40)) delta |= 0x04; /* TERI: trailing edge */
	if ((old ^ in) & 0x80) delta |= 0x08; /* DDCD */
	u->msr = in | (u->msr & 0x0F) | delta;
}

static void rx_clear(struct uart16550 *u)
{
	u->rx_head = u->rx_count = 0;
	u->lsr &= ~LSR_DR;
}

void uart_init(struct uart16550 *u, const struct uart_ops *ops)
{
	memset(u, 0, sizeof(*u));
	if (ops)
		u->ops = *ops;
	u->lsr = LSR_THRE | LSR_TEMT;
	u->lcr = 0x03; /* 8N1 */
	u->dll = 12;   /* 9600 baud from 1.8432 MHz */
	update_msr(u);
	u->msr &= 0xF0; /* no deltas at reset */
}

static bool rx_put(struct uart16550 *u, u8 byte)
{
	if (u->rx_count >= rx_capacity(u)) {
		u->lsr |= LSR_OE;
		u->rx_overruns++;
		return false;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
	u->rx_count++;
	u->lsr |= LSR_DR;
	return true;
}

bool uart_push_input(struct uart16550 *u, u8 byte)
{
	if (u->mcr & MCR_LOOP)
		return false; /* loopback disconnects the receive wire (8.9) */
	bool ok = rx_put(u, byte);
	update_irq(u);
	return ok;
}

unsigned uart_rx_room(const struct uart16550 *u)
{
	return rx_capacity(u) - u->rx_count;
}

bool uart_irq_level(const struct uart16550 *u) { return u->irq_level; }

u8 uart_read(struct uart16550 *u, unsigned off)
{
	u8 v = 0;
	switch (off & 7) {
	case UART_RBR_THR_DLL:
		if (u->lcr & LCR_DLAB) {
			v = u->dll;
			break;
		}
		if (u->rx_count) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
			u->rx_count--;
		}
		if (!u->rx_count)
			u->lsr &= ~LSR_DR;
		break;
	case UART_IER_DLM:
		v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
		break;
	case UART_IIR_FCR: {
		u8 id = iir_id(u);
		v = id | (fifo_on(u) ? 0xC0 : 0);
		if (id == IIR_THRE)
			u->thre_pending = false; /* reading IIR clears it (table IV) */
		break;
	}
	case UART_LCR: v = u->lcr; break;
	case UART_MCR: v = u->mcr; break;
	case UART_LSR:
		v = u->lsr;
		u->lsr &= ~LSR_OE; /* reading LSR clears the error bits */
		break;
	case UART_MSR:
		v = u->msr;
		u->msr &= 0xF0; /* reading MSR clears the deltas */
		break;
	case UART_SCR: v = u->scr; break;
	}
	update_irq(u);
	return v;
}

void uart_write(struct uart16550 *u, unsigned off, u8 val)
{
	switch (off & 7) {
	case UART_RBR_THR_DLL:
		if (u->lcr & LCR_DLAB) {
			u->dll = val;
			break;
		}
		u->tx_bytes++;
		if (u->mcr & MCR_LOOP)
			rx_put(u, val);
		else if (u->ops.tx)
			u->ops.tx(u->ops.ctx, val);
		/* Sent at once: THR is empty again, which raises THRE. */
		u->thre_pending = true;
		break;
	case UART_IER_DLM:
		if (u->lcr & LCR_DLAB) {
			u->dlm = val;
			break;
		}
		/* Enabling THRE with THR empty raises it (8.8, table IV). */
		if ((val & IER_THRE) && !(u->ier & IER_THRE))
			u->thre_pending = true;
		u->ier = val & 0x0F;
		break;
	case UART_IIR_FCR:
		if ((val & FCR_ENABLE) != (u->fcr & FCR_ENABLE))
			rx_clear(u); /* changing FIFO mode empties the FIFOs */
		if (val & 0x02)
			rx_clear(u);
		/* bit 2 clears the TX FIFO: it is always empty. */
		u->fcr = val & 0xC9;
		if (!(val & FCR_ENABLE))
			u->fcr = 0;
		break;
	case UART_LCR: u->lcr = val; break;
	case UART_MCR:
		u->mcr = val & 0x1F;
		update_msr(u);
		break;
	case UART_LSR: break; /* factory test only: ignored */
	case UART_MSR: break;
	case UART_SCR: u->scr = val; break;
	}
	update_irq(u);
}
