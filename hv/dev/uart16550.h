/*
 * hv/dev/uart16550.h - a virtual 16550A UART (hv/dev/uart16550.c).
 *
 * The face: port accesses at offsets 0-7 from the base (0x3F8 for COM1),
 * bytes the guest sends go to `tx`, bytes for the guest come in through
 * uart_push_input, and the interrupt line (IRQ 4 for COM1) is reported
 * through `irq` whenever it changes and by uart_irq_level.
 */
#ifndef HV_DEV_UART16550_H
#define HV_DEV_UART16550_H

#include "../lib.h"

#define UART_COM1_BASE 0x3F8
#define UART_COM1_IRQ 4
#define UART_FIFO_SIZE 16

/* Register offsets (PC16550D datasheet, table II). */
enum {
	UART_RBR_THR_DLL = 0, UART_IER_DLM = 1, UART_IIR_FCR = 2, UART_LCR = 3,
	UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

struct uart_ops {
	void (*tx)(void *ctx, u8 byte);     /* a byte the guest transmitted */
	void (*irq)(void *ctx, bool level); /* the INTR line changed */
	void *ctx;
};

struct uart16550 {
	u8 ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	u8 rx[UART_FIFO_SIZE];
	u8 rx_head, rx_count;
	bool thre_pending; /* the THR-empty interrupt condition (cleared by an
	                    * IIR read that reports it, or a THR write) */
	bool irq_level;
	u64 tx_bytes, rx_overruns;
	struct uart_ops ops;
};

void uart_init(struct uart16550 *u, const struct uart_ops *ops);
u8 uart_read(struct uart16550 *u, unsigned off);
void uart_write(struct uart16550 *u, unsigned off, u8 val);
/* A byte arrives on the receive wire. Returns false if it was lost to an
 * overrun (LSR.OE set), as on the part. */
bool uart_push_input(struct uart16550 *u, u8 byte);
/* Free places in the receive FIFO (1 holding register without FIFOs). */
unsigned uart_rx_room(const struct uart16550 *u);
bool uart_irq_level(const struct uart16550 *u);

#endif
