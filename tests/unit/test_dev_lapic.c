/*
 * tests/unit/test_dev_lapic.c - the virtual local APIC (hv/dev/lapic.c)
 * against the Intel SDM Vol. 3A chapter 11: register file, mode transitions,
 * priorities, EOI, errors, the three timer modes, IPIs and their routing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dev/lapic.h"

/* What the callbacks saw. */
static struct irq_msg sent[8];
static int n_sent;
static int eoi_vectors[8];
static int n_eoi;

static void on_send(void *ctx, const struct irq_msg *m)
{
	(void)ctx;
	if (n_sent < 8)
		sent[n_sent] = *m;
	n_sent++;
}

static void on_eoi(void *ctx, u8 v)
{
	(void)ctx;
	if (n_eoi < 8)
		eoi_vectors[n_eoi] = v;
	n_eoi++;
}

static const struct lapic_ops ops = { .send = on_send, .eoi = on_eoi };

static int setup(void **state)
{
	(void)state;
	n_sent = n_eoi = 0;
	memset(sent, 0, sizeof(sent));
	return 0;
}

static u32 rd(struct lapic *l, u32 off, u64 now)
{
	u32 v = 0xDEADBEEF;
	assert_int_equal(lapic_mmio_read(l, off, &v, now), LAPIC_OK);
	return v;
}

static void wr(struct lapic *l, u32 off, u32 v, u64 now)
{
	assert_int_equal(lapic_mmio_write(l, off, v, now), LAPIC_OK);
}

/* A software-enabled xAPIC with spurious vector 0xFF. */
static void enabled(struct lapic *l, u32 id)
{
	lapic_init(l, id, id == 0, &ops);
	wr(l, LAPIC_SVR, 0x1FF, 0);
}

static void to_x2apic(struct lapic *l)
{
	assert_int_equal(lapic_base_write(l, LAPIC_BASE_DEFAULT | LAPIC_BASE_EN | LAPIC_BASE_EXTD, 39), LAPIC_OK);
}

static void test_power_up_state(void **state)
{
	(void)state;
	struct lapic l;
	lapic_init(&l, 3, true, &ops);
	assert_int_equal(lapic_mode(&l), LAPIC_MODE_XAPIC);
	assert_int_equal(lapic_base_read(&l), 0xFEE00900ull); /* EN | BSP */
	assert_int_equal(rd(&l, LAPIC_ID, 0), 3u << 24);
	assert_int_equal(rd(&l, LAPIC_VERSION, 0), 0x00050014);
	assert_int_equal(rd(&l, LAPIC_SVR, 0), 0xFF);
	assert_int_equal(rd(&l, LAPIC_DFR, 0), 0xFFFFFFFF);
	for (u32 off = LAPIC_LVT_TIMER; off <= LAPIC_LVT_ERROR; off += 0x10)
		assert_int_equal(rd(&l, off, 0), LVT_MASKED);
	/* ID and version are read-only in xAPIC mode: writes are ignored. */
	wr(&l, LAPIC_ID, 7u << 24, 0);
	wr(&l, LAPIC_VERSION, 0, 0);
	assert_int_equal(rd(&l, LAPIC_ID, 0), 3u << 24);
	assert_int_equal(rd(&l, LAPIC_VERSION, 0), 0x00050014);
}

static void test_mode_transitions(void **state)
{
	(void)state;
	struct lapic l;
	const u64 base = LAPIC_BASE_DEFAULT;
	lapic_init(&l, 0x23, false, &ops);
	/* Reserved bits: 7:0, 9, and above MAXPHYADDR. */
	assert_int_equal(lapic_base_write(&l, base | LAPIC_BASE_EN | 1, 39), LAPIC_GP);
	assert_int_equal(lapic_base_write(&l, base | LAPIC_BASE_EN | BIT(9), 39), LAPIC_GP);
	assert_int_equal(lapic_base_write(&l, BIT(40) | LAPIC_BASE_EN, 39), LAPIC_GP);
	/* EXTD without EN is the invalid state. */
	assert_int_equal(lapic_base_write(&l, base | LAPIC_BASE_EXTD, 39), LAPIC_GP);
	assert_int_equal(lapic_mode(&l), LAPIC_MODE_XAPIC);
	/* xAPIC -> x2APIC: LDR derived from the id (SDM 11.12.10.2). */
	to_x2apic(&l);
	assert_int_equal(lapic_mode(&l), LAPIC_MODE_X2APIC);
	u64 v;
	assert_int_equal(lapic_msr_read(&l, 0x80D, &v, 0), LAPIC_OK);
	assert_int_equal(v, (2u << 16) | (1u << 3));
	assert_int_equal(lapic_msr_read(&l, 0x802, &v, 0), LAPIC_OK);
	assert_int_equal(v, 0x23);
	/* x2APIC -> xAPIC is forbidden. */
	assert_int_equal(lapic_base_write(&l, base | LAPIC_BASE_EN, 39), LAPIC_GP);
	assert_int_equal(lapic_mode(&l), LAPIC_MODE_X2APIC);
	/* x2APIC -> disabled is allowed and resets the state. */
	assert_int_equal(lapic_msr_write(&l, 0x808, 0x30, 0), LAPIC_OK);
	assert_int_equal(lapic_base_write(&l, base, 39), LAPIC_OK);
	assert_int_equal(lapic_mode(&l), LAPIC_MODE_DISABLED);
	/* disabled -> x2APIC is forbidden, disabled -> xAPIC allowed. */
	assert_int_equal(lapic_base_write(&l, base | LAPIC_BASE_EN | LAPIC_BASE_EXTD, 39), LAPIC_GP);
	assert_int_equal(lapic_base_write(&l, base | LAPIC_BASE_EN, 39), LAPIC_OK);
	assert_int_equal(rd(&l, LAPIC_TPR, 0), 0);
	assert_int_equal(rd(&l, LAPIC_SVR, 0), 0xFF);
	/* Relocation; the BSP bit is not software's to change. */
	assert_int_equal(lapic_base_write(&l, 0xFED00000ull | LAPIC_BASE_EN | LAPIC_BASE_BSP, 39), LAPIC_OK);
	assert_int_equal(lapic_base_read(&l), 0xFED00800ull);
	/* A disabled APIC is nobody's destination. */
	assert_int_equal(lapic_base_write(&l, 0xFED00000ull, 39), LAPIC_OK);
	struct irq_msg m = { .dest = 0x23, .x2apic = true };
	assert_false(lapic_match_dest(&l, &m));
}

static void test_x2apic_msr_rules(void **state)
{
	(void)state;
	struct lapic l;
	u64 v;
	enabled(&l, 1);
	/* x2APIC MSRs #GP in xAPIC mode; MMIO works. */
	assert_int_equal(lapic_msr_read(&l, 0x808, &v, 0), LAPIC_GP);
	assert_int_equal(lapic_msr_write(&l, 0x808, 0, 0), LAPIC_GP);
	to_x2apic(&l);
	/* The MMIO page is not the device's any more. */
	u32 w;
	assert_int_equal(lapic_mmio_read(&l, LAPIC_TPR, &w, 0), LAPIC_NOT_MINE);
	assert_int_equal(lapic_mmio_write(&l, LAPIC_TPR, 0, 0), LAPIC_NOT_MINE);
	/* Table 11-6: read-only registers #GP on write. */
	assert_int_equal(lapic_msr_write(&l, 0x802, 5, 0), LAPIC_GP); /* ID */
	assert_int_equal(lapic_msr_write(&l, 0x803, 0, 0), LAPIC_GP); /* version */
	assert_int_equal(lapic_msr_write(&l, 0x80A, 0, 0), LAPIC_GP); /* PPR */
	assert_int_equal(lapic_msr_write(&l, 0x80D, 0, 0), LAPIC_GP); /* LDR */
	assert_int_equal(lapic_msr_write(&l, 0x810, 0, 0), LAPIC_GP); /* ISR */
	assert_int_equal(lapic_msr_write(&l, 0x839, 0, 0), LAPIC_GP); /* CCR */
	/* Write-only registers #GP on read. */
	assert_int_equal(lapic_msr_read(&l, 0x80B, &v, 0), LAPIC_GP); /* EOI */
	assert_int_equal(lapic_msr_read(&l, 0x83F, &v, 0), LAPIC_GP); /* SELF IPI */
	/* Registers that do not exist in x2APIC mode. */
	assert_int_equal(lapic_msr_read(&l, 0x80E, &v, 0), LAPIC_GP); /* DFR */
	assert_int_equal(lapic_msr_read(&l, 0x809, &v, 0), LAPIC_GP); /* APR */
	assert_int_equal(lapic_msr_read(&l, 0x831, &v, 0), LAPIC_GP); /* ICR high */
	assert_int_equal(lapic_msr_read(&l, 0x82F, &v, 0), LAPIC_GP); /* CMCI: not implemented */
	assert_int_equal(lapic_msr_read(&l, 0x8FF, &v, 0), LAPIC_GP);
	/* EOI and ESR accept only 0; upper halves of 32-bit registers are reserved. */
	assert_int_equal(lapic_msr_write(&l, 0x80B, 1, 0), LAPIC_GP);
	assert_int_equal(lapic_msr_write(&l, 0x80B, 0, 0), LAPIC_OK);
	assert_int_equal(lapic_msr_write(&l, 0x828, 1, 0), LAPIC_GP);
	assert_int_equal(lapic_msr_write(&l, 0x808, 1ull << 32, 0), LAPIC_GP);
	/* TPR round trip; the ICR is one 64-bit register. */
	assert_int_equal(lapic_msr_write(&l, 0x808, 0x20, 0), LAPIC_OK);
	assert_int_equal(lapic_msr_read(&l, 0x808, &v, 0), LAPIC_OK);
	assert_int_equal(v, 0x20);
	assert_int_equal(lapic_msr_write(&l, 0x830, (7ull << 32) | 0x4041, 0), LAPIC_OK);
	assert_int_equal(lapic_msr_read(&l, 0x830, &v, 0), LAPIC_OK);
	assert_int_equal(v, (7ull << 32) | 0x4041);
	/* Other MSRs are not the LAPIC's. */
	assert_int_equal(lapic_msr_read(&l, 0x10, &v, 0), LAPIC_NOT_MINE);
}

static void test_priority_and_eoi(void **state)
{
	(void)state;
	struct lapic l;
	enabled(&l, 0);
	struct irq_msg a = { .vector = 0x31 }, b = { .vector = 0x52, .level = true };
	lapic_accept_msg(&l, &a);
	lapic_accept_msg(&l, &b);
	assert_int_equal(rd(&l, LAPIC_IRR0 + 0x10, 0), 1u << 0x11);
	assert_int_equal(rd(&l, LAPIC_IRR0 + 0x20, 0), 1u << 0x12);
	assert_int_equal(rd(&l, LAPIC_TMR0 + 0x20, 0), 1u << 0x12);
	wr(&l, LAPIC_TPR, 0x40, 0);
	assert_int_equal(lapic_pending_vector(&l), 0x52);
	lapic_ack(&l, 0x52);
	assert_int_equal(rd(&l, LAPIC_ISR0 + 0x20, 0), 1u << 0x12);
	assert_int_equal(rd(&l, LAPIC_PPR, 0), 0x50);
	/* 0x31 is in class 3, below the processor priority class 5. */
	assert_int_equal(lapic_pending_vector(&l), -1);
	/* EOI of a level-triggered vector goes out for the IOAPICs. */
	wr(&l, LAPIC_EOI, 0, 0);
	assert_int_equal(n_eoi, 1);
	assert_int_equal(eoi_vectors[0], 0x52);
	assert_int_equal(rd(&l, LAPIC_PPR, 0), 0x40);
	assert_int_equal(lapic_pending_vector(&l), -1); /* class 3 <= TPR class 4 */
	wr(&l, LAPIC_TPR, 0x00, 0);
	assert_int_equal(lapic_pending_vector(&l), 0x31);
	lapic_ack(&l, 0x31);
	/* A higher vector arriving while 0x31 is in service preempts it... */
	struct irq_msg c = { .vector = 0x90 };
	lapic_accept_msg(&l, &c);
	assert_int_equal(lapic_pending_vector(&l), 0x90);
	lapic_ack(&l, 0x90);
	/* ...and EOI retires the highest in service first; edge: no broadcast. */
	wr(&l, LAPIC_EOI, 0, 0);
	assert_int_equal(rd(&l, LAPIC_ISR0 + 0x40, 0), 0);
	assert_int_equal(rd(&l, LAPIC_ISR0 + 0x10, 0), 1u << 0x11);
	wr(&l, LAPIC_EOI, 0, 0);
	assert_int_equal(n_eoi, 1);
	/* Same class as in service: not deliverable. */
	struct irq_msg d = { .vector = 0x45 }, e = { .vector = 0x4A };
	lapic_accept_msg(&l, &d);
	lapic_ack(&l, 0x45);
	lapic_accept_msg(&l, &e);
	assert_int_equal(lapic_pending_vector(&l), -1);
	/* EOI with nothing in service is harmless. */
	wr(&l, LAPIC_EOI, 0, 0);
	wr(&l, LAPIC_EOI, 0, 0);
	assert_int_equal(lapic_pending_vector(&l), 0x4A);
}

static void test_software_disable(void **state)
{
	(void)state;
	struct lapic l;
	enabled(&l, 0);
	wr(&l, LAPIC_LVT_TIMER, 0x40, 0);
	assert_int_equal(rd(&l, LAPIC_LVT_TIMER, 0), 0x40);
	wr(&l, LAPIC_SVR, 0x0FF, 0); /* software disable */
	assert_int_equal(rd(&l, LAPIC_LVT_TIMER, 0), LVT_MASKED | 0x40);
	wr(&l, LAPIC_LVT_LINT0, 0x41, 0); /* the mask cannot be cleared */
	assert_int_equal(rd(&l, LAPIC_LVT_LINT0, 0), LVT_MASKED | 0x41);
	struct irq_msg f = { .vector = 0x50 }, n = { .delivery = IRQ_DM_NMI };
	lapic_accept_msg(&l, &f);
	assert_int_equal(lapic_pending_vector(&l), -1);
	lapic_accept_msg(&l, &n);
	assert_true(l.nmi_pending);
}

static void test_error_status(void **state)
{
	(void)state;
	struct lapic l;
	enabled(&l, 0);
	wr(&l, LAPIC_LVT_ERROR, 0xFE, 0);
	/* A received vector 0-15 is illegal (SDM 11.5.2). */
	struct irq_msg bad = { .vector = 5 };
	lapic_accept_msg(&l, &bad);
	assert_int_equal(rd(&l, LAPIC_ESR, 0), 0); /* not latched yet */
	wr(&l, LAPIC_ESR, 0, 0);
	assert_int_equal(rd(&l, LAPIC_ESR, 0), ESR_RECV_ILLEGAL_VECTOR);
	assert_int_equal(lapic_pending_vector(&l), 0xFE); /* the error LVT fired */
	/* Sending an illegal vector: nothing goes out, ESR bit 5. */
	wr(&l, LAPIC_ICR_HI, 1u << 24, 0);
	wr(&l, LAPIC_ICR_LO, 0x0003, 0);
	assert_int_equal(n_sent, 0);
	wr(&l, LAPIC_ESR, 0, 0);
	assert_int_equal(rd(&l, LAPIC_ESR, 0), ESR_SEND_ILLEGAL_VECTOR);
	/* A reserved register offset (CMCI is not implemented). */
	u32 v;
	assert_int_equal(lapic_mmio_read(&l, LAPIC_LVT_CMCI, &v, 0), LAPIC_OK);
	assert_int_equal(v, 0);
	wr(&l, 0x3A0, 1, 0);
	wr(&l, LAPIC_ESR, 0, 0);
	assert_int_equal(rd(&l, LAPIC_ESR, 0), ESR_ILLEGAL_REGISTER);
	wr(&l, LAPIC_ESR, 0, 0);
	assert_int_equal(rd(&l, LAPIC_ESR, 0), 0);
	/* Reserved delivery modes are not sent. */
	wr(&l, LAPIC_ICR_LO, 0x0340, 0);
	wr(&l, LAPIC_ICR_LO, 0x0740, 0);
	assert_int_equal(n_sent, 0);
}

static void test_timer_oneshot(void **state)
{
	(void)state;
	struct lapic l;
	enabled(&l, 0);
	wr(&l, LAPIC_TIMER_DCR, 0x3, 0);      /* divide by 16 */
	wr(&l, LAPIC_LVT_TIMER, 0x30, 1000);  /* one-shot, vector 0x30 */
	wr(&l, LAPIC_TIMER_ICR, 100, 1000);
	assert_int_equal(lapic_next_deadline(&l), 1000 + 1600);
	assert_int_equal(rd(&l, LAPIC_TIMER_CCR, 1800), 50);
	assert_false(lapic_advance(&l, 2599));
	assert_int_equal(lapic_pending_vector(&l), -1);
	assert_true(lapic_advance(&l, 2600));
	assert_int_equal(lapic_pending_vector(&l), 0x30);
	assert_int_equal(lapic_next_deadline(&l), 0);
	assert_int_equal(rd(&l, LAPIC_TIMER_CCR, 3000), 0);
	assert_false(lapic_advance(&l, 1000000));
	/* Divide values: 1011b is 1, 1010b is 128 (figure 11-10). */
	wr(&l, LAPIC_TIMER_DCR, 0xB, 0);
	wr(&l, LAPIC_TIMER_ICR, 7, 0);
	assert_int_equal(lapic_next_deadline(&l), 7);
	wr(&l, LAPIC_TIMER_DCR, 0xA, 0);
	wr(&l, LAPIC_TIMER_ICR, 7, 0);
	assert_int_equal(lapic_next_deadline(&l), 7 * 128);
	/* Writing 0 to the initial count stops it. */
	wr(&l, LAPIC_TIMER_ICR, 0, 0);
	assert_int_equal(lapic_next_deadline(&l), 0);
}

static void test_timer_periodic(void **state)
{
	(void)state;
	struct lapic l;
	enabled(&l, 0);
	wr(&l, LAPIC_TIMER_DCR, 0xB, 0);
	wr(&l, LAPIC_LVT_TIMER, (TIMER_PERIODIC << 17) | 0x40, 0);
	wr(&l, LAPIC_TIMER_ICR, 10, 0);
	for (u64 t = 10; t <= 50; t += 10) {
		assert_false(lapic_advance(&l, t - 1));
		assert_true(lapic_advance(&l, t));
		assert_int_equal(lapic_pending_vector(&l), 0x40);
		lapic_ack(&l, 0x40);
		wr(&l, LAPIC_EOI, 0, t);
	}
	assert_int_equal(l.timer_fired, 5);
	assert_int_equal(rd(&l, LAPIC_TIMER_CCR, 53), 7);
	/* Late by 3.5 periods: one interrupt (one IRR bit), phase kept. */
	assert_true(lapic_advance(&l, 95));
	assert_int_equal(lapic_next_deadline(&l), 100);
	assert_int_equal(rd(&l, LAPIC_TIMER_CCR, 95), 5);
	/* Masked: it still counts and reloads, but raises nothing. */
	lapic_ack(&l, 0x40);
	wr(&l, LAPIC_EOI, 0, 95);
	wr(&l, LAPIC_LVT_TIMER, LVT_MASKED | (TIMER_PERIODIC << 17) | 0x40, 95);
	assert_true(lapic_advance(&l, 100));
	assert_true(lapic_advance(&l, 110));
	assert_int_equal(lapic_pending_vector(&l), -1);
	assert_int_equal(lapic_next_deadline(&l), 120);
}

static void test_timer_tsc_deadline(void **state)
{
	(void)state;
	struct lapic l;
	u64 v;
	enabled(&l, 0);
	/* Outside TSC-deadline mode the MSR reads 0 and ignores writes. */
	assert_int_equal(lapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 500, 0), LAPIC_OK);
	assert_int_equal(lapic_msr_read(&l, MSR_IA32_TSC_DEADLINE, &v, 0), LAPIC_OK);
	assert_int_equal(v, 0);
	assert_int_equal(lapic_next_deadline(&l), 0);
	/* A one-shot count is disarmed by switching to TSC-deadline mode. */
	wr(&l, LAPIC_TIMER_ICR, 1000, 0);
	wr(&l, LAPIC_LVT_TIMER, (TIMER_TSC_DEADLINE << 17) | 0xEC, 0);
	assert_int_equal(lapic_next_deadline(&l), 0);
	assert_int_equal(rd(&l, LAPIC_TIMER_ICR, 0), 0);
	wr(&l, LAPIC_TIMER_ICR, 1000, 0); /* ignored in this mode */
	assert_int_equal(lapic_next_deadline(&l), 0);
	assert_int_equal(lapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 5000, 0), LAPIC_OK);
	assert_int_equal(lapic_msr_read(&l, MSR_IA32_TSC_DEADLINE, &v, 0), LAPIC_OK);
	assert_int_equal(v, 5000);
	assert_int_equal(lapic_next_deadline(&l), 5000);
	assert_int_equal(rd(&l, LAPIC_TIMER_CCR, 100), 0); /* CCR reads 0 */
	assert_false(lapic_advance(&l, 4999));
	assert_true(lapic_advance(&l, 5000));
	assert_int_equal(lapic_pending_vector(&l), 0xEC);
	/* Firing disarms and clears the MSR (11.5.4.1). */
	assert_int_equal(lapic_msr_read(&l, MSR_IA32_TSC_DEADLINE, &v, 0), LAPIC_OK);
	assert_int_equal(v, 0);
	assert_false(lapic_advance(&l, 10000));
	/* Writing 0 disarms; a deadline in the past fires at once. */
	lapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 20000, 10000);
	lapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 0, 10000);
	assert_false(lapic_advance(&l, 30000));
	lapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 100, 30000);
	assert_true(lapic_advance(&l, 30000));
	/* Leaving the mode disarms too. */
	lapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 90000, 30000);
	wr(&l, LAPIC_LVT_TIMER, 0xEC, 30000);
	assert_int_equal(lapic_next_deadline(&l), 0);
}

static void test_ipi_sending(void **state)
{
	(void)state;
	struct lapic l;
	enabled(&l, 1);
	/* xAPIC: destination in ICR high bits 31:24; the low write sends. */
	wr(&l, LAPIC_ICR_HI, 2u << 24, 0);
	wr(&l, LAPIC_ICR_LO, 0x0840 | (1u << 14), 0); /* logical, fixed, assert */
	assert_int_equal(n_sent, 1);
	assert_int_equal(sent[0].vector, 0x40);
	assert_int_equal(sent[0].delivery, IRQ_DM_FIXED);
	assert_true(sent[0].logical);
	assert_false(sent[0].x2apic);
	assert_int_equal(sent[0].dest, 2);
	assert_int_equal(sent[0].src_id, 1);
	/* Delivery status reads idle: the message went at once. */
	assert_int_equal(rd(&l, LAPIC_ICR_LO, 0) & (1u << 12), 0);
	/* INIT level de-assert is not sent (P4 and later). */
	wr(&l, LAPIC_ICR_LO, 0x8500, 0);
	assert_int_equal(n_sent, 1);
	/* INIT assert, then start-up with vector 0x9A, by shorthand all-but-self. */
	wr(&l, LAPIC_ICR_LO, 0xC4500, 0);
	wr(&l, LAPIC_ICR_LO, 0xC469A, 0);
	assert_int_equal(n_sent, 3);
	assert_int_equal(sent[1].delivery, IRQ_DM_INIT);
	assert_int_equal(sent[1].shorthand, IRQ_SH_ALL_EXCL);
	assert_int_equal(sent[2].delivery, IRQ_DM_SIPI);
	assert_int_equal(sent[2].vector, 0x9A);
	/* x2APIC: the 64-bit ICR carries a 32-bit destination. */
	to_x2apic(&l);
	assert_int_equal(lapic_msr_write(&l, 0x830, (0x12345ull << 32) | 0x0951, 0), LAPIC_OK);
	assert_int_equal(n_sent, 4);
	assert_true(sent[3].x2apic);
	assert_int_equal(sent[3].dest, 0x12345);
	assert_int_equal(sent[3].delivery, IRQ_DM_LOWEST);
	/* SELF IPI (MSR 0x83F): fixed, edge, to self. */
	assert_int_equal(lapic_msr_write(&l, 0x83F, 0x77, 0), LAPIC_OK);
	assert_int_equal(n_sent, 5);
	assert_int_equal(sent[4].shorthand, IRQ_SH_SELF);
	assert_int_equal(sent[4].vector, 0x77);
	assert_int_equal(sent[4].delivery, IRQ_DM_FIXED);
	/* NMI. */
	assert_int_equal(lapic_msr_write(&l, 0x830, (3ull << 32) | 0x0400, 0), LAPIC_OK);
	assert_int_equal(sent[5].delivery, IRQ_DM_NMI);
}

#define N 4
static struct lapic apics[N];
static struct lapic *set[N];

static void four(void)
{
	for (int i = 0; i < N; i++) {
		enabled(&apics[i], (u32)i);
		set[i] = &apics[i];
	}
}

static unsigned pending_mask(u8 vector)
{
	unsigned m = 0;
	for (int i = 0; i < N; i++)
		if (apics[i].irr[vector >> 5] & (1u << (vector & 31)))
			m |= 1u << i;
	return m;
}

static void test_routing_physical_and_shorthands(void **state)
{
	(void)state;
	four();
	struct irq_msg m = { .vector = 0x40, .dest = 2 };
	assert_int_equal(lapic_route(set, N, &apics[0], &m), 1);
	assert_int_equal(pending_mask(0x40), 1u << 2);
	m = (struct irq_msg){ .vector = 0x41, .dest = 0xFF };
	assert_int_equal(lapic_route(set, N, &apics[0], &m), 4);
	m = (struct irq_msg){ .vector = 0x42, .shorthand = IRQ_SH_SELF };
	assert_int_equal(lapic_route(set, N, &apics[3], &m), 1);
	assert_int_equal(pending_mask(0x42), 1u << 3);
	m = (struct irq_msg){ .vector = 0x43, .shorthand = IRQ_SH_ALL_EXCL };
	assert_int_equal(lapic_route(set, N, &apics[1], &m), 3);
	assert_int_equal(pending_mask(0x43), 0xD);
	m = (struct irq_msg){ .vector = 0x44, .shorthand = IRQ_SH_ALL_INCL, .dest = 2 };
	assert_int_equal(lapic_route(set, N, &apics[1], &m), 4);
	m = (struct irq_msg){ .vector = 0x45, .dest = 9 };
	assert_int_equal(lapic_route(set, N, &apics[1], &m), 0);
	/* NMI, INIT, SIPI set their flags. */
	m = (struct irq_msg){ .delivery = IRQ_DM_INIT, .dest = 1, .assert = true };
	lapic_route(set, N, &apics[0], &m);
	m = (struct irq_msg){ .delivery = IRQ_DM_SIPI, .vector = 0x10, .dest = 1 };
	lapic_route(set, N, &apics[0], &m);
	m = (struct irq_msg){ .delivery = IRQ_DM_NMI, .dest = 3 };
	lapic_route(set, N, &apics[0], &m);
	assert_true(apics[1].init_pending);
	assert_true(apics[1].sipi_pending);
	assert_int_equal(apics[1].sipi_vector, 0x10);
	assert_false(apics[0].init_pending);
	assert_true(apics[3].nmi_pending);
	assert_false(apics[2].nmi_pending);
}

/* ap_start = sipi: INIT then SIPI for a waiting AP, the second SIPI and an
 * INIT to a running vCPU ignored, INIT dropping an earlier SIPI. */
static void test_take_start(void **state)
{
	(void)state;
	struct lapic l;
	u8 vec = 0;
	enabled(&l, 1);
	to_x2apic(&l);
	assert_false(lapic_take_start(&l, true, &vec));      /* nothing pending */
	l.lvt[LVT_TIMER] = 0x41;                              /* some state INIT resets */
	l.init_pending = true;
	assert_false(lapic_take_start(&l, true, &vec));      /* INIT: keeps waiting */
	assert_false(l.init_pending);
	assert_int_equal(l.lvt[LVT_TIMER], LVT_MASKED);
	assert_int_equal(l.svr, 0xFF);
	assert_true(lapic_mode(&l) == LAPIC_MODE_X2APIC);      /* IA32_APIC_BASE kept */
	l.sipi_pending = true;
	l.sipi_vector = 0x08;
	assert_true(lapic_take_start(&l, true, &vec));       /* SIPI starts it */
	assert_int_equal(vec, 0x08);
	assert_false(l.sipi_pending);
	l.sipi_pending = true;                                /* the second SIPI */
	l.sipi_vector = 0x09;
	assert_false(lapic_take_start(&l, false, &vec));
	assert_false(l.sipi_pending);
	l.svr = 0x1FF;
	l.init_pending = true;                                /* INIT to a running vCPU: dropped */
	assert_false(lapic_take_start(&l, false, &vec));
	assert_false(l.init_pending);
	assert_int_equal(l.svr, 0x1FF);
	l.sipi_pending = true;                                /* SIPI then INIT while waiting: */
	l.init_pending = true;                                /* the INIT drops the SIPI */
	assert_false(lapic_take_start(&l, true, &vec));
	assert_false(l.sipi_pending);
	assert_false(lapic_take_start(&l, true, &vec));
}

static void test_routing_logical(void **state)
{
	(void)state;
	four();
	/* Flat model: one bit per APIC in LDR 31:24. */
	for (int i = 0; i < N; i++)
		wr(&apics[i], LAPIC_LDR, 1u << (24 + i), 0);
	struct irq_msg m = { .vector = 0x50, .logical = true, .dest = 0x05 };
	assert_int_equal(lapic_route(set, N, NULL, &m), 2);
	assert_int_equal(pending_mask(0x50), 0x5);
	/* Cluster model: cluster in 31:28, members in 27:24. */
	for (int i = 0; i < N; i++) {
		wr(&apics[i], LAPIC_DFR, 0x0FFFFFFF, 0);
		wr(&apics[i], LAPIC_LDR, ((u32)(i / 2 + 1) << 28) | (1u << (24 + i % 2)), 0);
	}
	assert_int_equal(rd(&apics[0], LAPIC_DFR, 0), 0x0FFFFFFF);
	m = (struct irq_msg){ .vector = 0x51, .logical = true, .dest = 0x23 };
	assert_int_equal(lapic_route(set, N, NULL, &m), 2);
	assert_int_equal(pending_mask(0x51), 0xC);
	/* Lowest priority: the lowest processor priority of the set wins. */
	wr(&apics[2], LAPIC_TPR, 0x20, 0);
	m = (struct irq_msg){ .vector = 0x52, .logical = true, .dest = 0x23, .delivery = IRQ_DM_LOWEST };
	assert_int_equal(lapic_route(set, N, NULL, &m), 1);
	assert_int_equal(pending_mask(0x52), 0x8);
	/* x2APIC logical: cluster 31:16 and member bitmap 15:0 from the id. */
	for (int i = 0; i < N; i++)
		to_x2apic(&apics[i]);
	m = (struct irq_msg){ .vector = 0x53, .logical = true, .x2apic = true, .dest = 0x0000000A };
	assert_int_equal(lapic_route(set, N, NULL, &m), 2);
	assert_int_equal(pending_mask(0x53), 0xA);
	m = (struct irq_msg){ .vector = 0x54, .logical = true, .x2apic = true, .dest = 0x0001000A };
	assert_int_equal(lapic_route(set, N, NULL, &m), 0);
	m = (struct irq_msg){ .vector = 0x55, .x2apic = true, .dest = 0xFFFFFFFF };
	assert_int_equal(lapic_route(set, N, NULL, &m), 4);
	m = (struct irq_msg){ .vector = 0x56, .x2apic = true, .dest = 0x102 };
	assert_int_equal(lapic_route(set, N, NULL, &m), 0);
}

static void test_lvt_lint(void **state)
{
	(void)state;
	struct lapic l;
	enabled(&l, 0);
	lapic_raise_lvt(&l, LVT_LINT1); /* masked: nothing */
	assert_false(l.nmi_pending);
	wr(&l, LAPIC_LVT_LINT1, IRQ_DM_NMI << 8, 0);
	lapic_raise_lvt(&l, LVT_LINT1);
	assert_true(l.nmi_pending);
	wr(&l, LAPIC_LVT_LINT0, 0x8061, 0); /* fixed, level, vector 0x61 */
	lapic_raise_lvt(&l, LVT_LINT0);
	assert_int_equal(lapic_pending_vector(&l), 0x61);
	assert_int_equal(rd(&l, LAPIC_TMR0 + 0x30, 0), 1u << 1);
	/* Read-only bits of an LVT entry (delivery status, remote IRR) stay 0. */
	wr(&l, LAPIC_LVT_LINT0, 0xFFFFFFFF, 0);
	assert_int_equal(rd(&l, LAPIC_LVT_LINT0, 0), 0x0001A7FF);
	wr(&l, LAPIC_LVT_TIMER, 0xFFFFFFFF, 0);
	assert_int_equal(rd(&l, LAPIC_LVT_TIMER, 0), 0x000100FF); /* reserved mode 3: one-shot */
}

/* ---- the IRR/ISR summaries (lapic.h irr_sum, isr_sum) against full scans ---- */

static u32 rng_state = 12345;
static u32 rnd(void)
{
	rng_state = rng_state * 1103515245u + 12345u;   /* a fixed LCG: the same run every time */
	return rng_state >> 8;
}

/* The definitions of SDM 11.8.3.1, by scanning all 256 bits. */
static int scan_highest(const u32 *r)
{
	for (int v = 255; v >= 0; v--)
		if (r[v >> 5] & (1u << (v & 31)))
			return v;
	return -1;
}

static void check_summaries(const struct lapic *l)
{
	for (int i = 0; i < 8; i++) {
		assert_int_equal(!!(l->irr_sum & (1u << i)), l->irr[i] != 0);
		assert_int_equal(!!(l->isr_sum & (1u << i)), l->isr[i] != 0);
	}
	int isrv = scan_highest(l->isr), irrv = scan_highest(l->irr);
	u32 isr_class = isrv < 0 ? 0 : ((u32)isrv & 0xF0);
	u32 ppr = (l->tpr & 0xF0) >= isr_class ? l->tpr & 0xFF : isr_class;
	assert_int_equal(lapic_ppr(l), ppr);
	int want = irrv >= 0 && ((u32)irrv & 0xF0) > (ppr & 0xF0) ? irrv : -1;
	assert_int_equal(lapic_pending_vector(l), want);
}

/* Random arrivals (fixed, by IPI and LVT, illegal vectors included), acks,
 * EOIs, TPR writes, software disable/enable, INIT and mode changes: after
 * every step the summaries and the answers built on them equal a full scan. */
static void test_summaries_random(void **state)
{
	(void)state;
	for (int round = 0; round < 4; round++) {
		struct lapic l;
		enabled(&l, 0);
		if (round & 1)
			to_x2apic(&l);
		for (int step = 0; step < 20000; step++) {
			u32 op = rnd() % 100;
			if (op < 40) {
				/* arrivals cluster in a few words so that words empty and refill */
				u8 vec = (u8)((rnd() % 4) * 0x40 + rnd() % 0x48);
				struct irq_msg m = { .vector = vec, .level = rnd() & 1 };
				lapic_accept_msg(&l, &m);
			} else if (op < 65) {
				int v = lapic_pending_vector(&l);
				if (v >= 0)
					lapic_ack(&l, (u8)v);
			} else if (op < 70) {
				/* an ack of some vector set in IRR, not only the
				 * highest: the summaries must not assume the order */
				int v = (int)(rnd() % 256);
				while (v >= 0 && !(l.irr[v >> 5] & (1u << (v & 31))))
					v--;
				if (v >= 0)
					lapic_ack(&l, (u8)v);
			} else if (op < 88) {
				if (lapic_mode(&l) == LAPIC_MODE_X2APIC && (step & 1))
					assert_int_equal(lapic_x2apic_irq_write(&l, MSR_X2APIC_FIRST + (LAPIC_EOI >> 4), 0), LAPIC_OK);
				else if (lapic_mode(&l) == LAPIC_MODE_X2APIC)
					assert_int_equal(lapic_msr_write(&l, MSR_X2APIC_FIRST + (LAPIC_EOI >> 4), 0, 0), LAPIC_OK);
				else
					wr(&l, LAPIC_EOI, 0, 0);
			} else if (op < 94) {
				u32 tpr = (rnd() % 16) << 4 | (rnd() % 16);
				if (lapic_mode(&l) == LAPIC_MODE_X2APIC)
					assert_int_equal(lapic_msr_write(&l, MSR_X2APIC_FIRST + (LAPIC_TPR >> 4), tpr, 0), LAPIC_OK);
				else
					wr(&l, LAPIC_TPR, tpr, 0);
			} else if (op < 96) {
				/* the error LVT raises a vector into IRR */
				u32 e = 0x20 + rnd() % 0xD0;
				if (lapic_mode(&l) == LAPIC_MODE_XAPIC) {
					wr(&l, LAPIC_LVT_ERROR, e, 0);
					struct irq_msg bad = { .vector = (u8)(rnd() % 16) };
					lapic_accept_msg(&l, &bad);   /* illegal vector: ESR, error LVT */
				}
			} else if (op < 97) {
				lapic_init_reset(&l);              /* INIT: IRR and ISR clear */
				if (lapic_mode(&l) == LAPIC_MODE_XAPIC)
					wr(&l, LAPIC_SVR, 0x1FF, 0);
				else
					assert_int_equal(lapic_msr_write(&l, MSR_X2APIC_FIRST + (LAPIC_SVR >> 4), 0x1FF, 0), LAPIC_OK);
			} else if (op < 98 && lapic_mode(&l) == LAPIC_MODE_XAPIC) {
				/* disabled and back: power-up state (11.4.3) */
				assert_int_equal(lapic_base_write(&l, LAPIC_BASE_DEFAULT, 39), LAPIC_OK);
				assert_int_equal(lapic_base_write(&l, LAPIC_BASE_DEFAULT | LAPIC_BASE_EN, 39), LAPIC_OK);
				wr(&l, LAPIC_SVR, 0x1FF, 0);
			} else {
				/* a self IPI through the ICR (xAPIC) or SELF IPI (x2APIC)
				 * goes out through `send`: deliver it as the router would */
				n_sent = 0;
				u8 vec = (u8)(0x10 + rnd() % 0xF0);
				if (lapic_mode(&l) == LAPIC_MODE_X2APIC)
					assert_int_equal(lapic_msr_write(&l, MSR_X2APIC_FIRST + (LAPIC_SELF_IPI >> 4), vec, 0), LAPIC_OK);
				else
					wr(&l, LAPIC_ICR_LO, vec | (1u << 18), 0);
				if (n_sent == 1)
					lapic_accept_msg(&l, &sent[0]);
			}
			check_summaries(&l);
		}
	}
}

/* The exit path's short way for EOI, ICR and SELF IPI (lapic_x2apic_irq_write)
 * keeps the rules of lapic_msr_write: #GP outside x2APIC mode, for a
 * non-zero EOI and an upper half in SELF IPI; the same IPIs go out. */
static void test_x2apic_irq_write(void **state)
{
	(void)state;
	const u32 eoi = MSR_X2APIC_FIRST + (LAPIC_EOI >> 4), icr = MSR_X2APIC_FIRST + (LAPIC_ICR_LO >> 4),
		  self = MSR_X2APIC_FIRST + (LAPIC_SELF_IPI >> 4);
	struct lapic l;
	enabled(&l, 3);
	assert_int_equal(lapic_x2apic_irq_write(&l, eoi, 0), LAPIC_GP);        /* xAPIC mode */
	assert_int_equal(lapic_x2apic_irq_write(&l, icr, 0x40), LAPIC_GP);
	assert_int_equal(n_sent, 0);
	to_x2apic(&l);
	assert_int_equal(lapic_x2apic_irq_write(&l, eoi, 1), LAPIC_GP);
	assert_int_equal(lapic_x2apic_irq_write(&l, self, 1ull << 32 | 0x40), LAPIC_GP);
	assert_int_equal(n_sent, 0);
	assert_int_equal(lapic_x2apic_irq_write(&l, icr, 7ull << 32 | 0x4041), LAPIC_OK);
	assert_int_equal(n_sent, 1);
	assert_int_equal(sent[0].vector, 0x41);
	assert_int_equal(sent[0].dest, 7);
	assert_int_equal(sent[0].assert, true);
	assert_true(sent[0].x2apic);
	u64 v = 0;
	assert_int_equal(lapic_msr_read(&l, icr, &v, 0), LAPIC_OK);
	assert_int_equal(v, 7ull << 32 | 0x4041);
	assert_int_equal(lapic_x2apic_irq_write(&l, self, 0x42), LAPIC_OK);
	assert_int_equal(n_sent, 2);
	assert_int_equal(sent[1].shorthand, IRQ_SH_SELF);
	assert_int_equal(sent[1].vector, 0x42);
	/* EOI retires the highest in service */
	struct irq_msg a = { .vector = 0x50 }, b = { .vector = 0x60 };
	lapic_accept_msg(&l, &a);
	lapic_ack(&l, 0x50);
	lapic_accept_msg(&l, &b);
	lapic_ack(&l, 0x60);
	assert_int_equal(lapic_x2apic_irq_write(&l, eoi, 0), LAPIC_OK);
	assert_int_equal(lapic_ppr(&l), 0x50);
	assert_int_equal(lapic_x2apic_irq_write(&l, eoi, 0), LAPIC_OK);
	assert_int_equal(lapic_ppr(&l), 0);
}

/* lapic_single_dest (the router's short cut) agrees with lapic_route on
 * every message: random vectors, delivery modes, shorthands, physical and
 * logical destinations, in APICs of mixed modes (ids = indexes). */
static void test_single_dest_agrees(void **state)
{
	(void)state;
	struct lapic a[N], b[N];
	struct lapic *sa[N], *sb[N];
	for (int round = 0; round < 3000; round++) {
		for (int i = 0; i < N; i++) {
			enabled(&a[i], (u32)i);
			u32 mode = rnd() % 4;                 /* xAPIC, x2APIC, disabled, soft-disabled */
			if (mode == 1)
				to_x2apic(&a[i]);
			else if (mode == 2)
				assert_int_equal(lapic_base_write(&a[i], LAPIC_BASE_DEFAULT, 39), LAPIC_OK);
			else if (mode == 3)
				wr(&a[i], LAPIC_SVR, 0xFF, 0);
			if (mode == 0 || mode == 3) {
				wr(&a[i], LAPIC_LDR, (1u << (24 + i)), 0);
			}
			b[i] = a[i];
			sa[i] = &a[i];
			sb[i] = &b[i];
		}
		bool x2 = rnd() & 1;
		u32 dests[] = { 0, 1, 2, 3, 4, 5, 0xFF, 0xFFFFFFFFu, 0x100, 0x102, 1u << 16 | 1 };
		struct irq_msg m = {
			.vector = (u8)rnd(),
			.delivery = (u8)(rnd() % 3 == 0 ? rnd() % 8 : IRQ_DM_FIXED),
			.logical = rnd() % 4 == 0,
			.shorthand = (u8)(rnd() % 3 == 0 ? rnd() % 4 : IRQ_SH_NONE),
			.x2apic = x2,
			.dest = dests[rnd() % (sizeof(dests) / sizeof(dests[0]))],
			.assert = true,
		};
		int src = (int)(rnd() % (N + 1));         /* N: no source (an IOAPIC) */
		if (m.shorthand == IRQ_SH_SELF && src == N)
			src = 0;
		int one = lapic_single_dest(sb, N, src < N ? sb[src] : NULL, &m);
		lapic_route(sa, N, src < N ? sa[src] : NULL, &m);
		if (one == LAPIC_DEST_GENERAL) {
			assert_true(m.delivery != IRQ_DM_FIXED || m.logical || m.shorthand != IRQ_SH_NONE ||
				    m.dest == (x2 ? 0xFFFFFFFFu : 0xFFu));
			continue;
		}
		assert_true(one == LAPIC_DEST_NONE || (one >= 0 && one < N));
		if (one >= 0)
			lapic_accept_msg(&b[one], &m);
		for (int i = 0; i < N; i++) {
			assert_memory_equal(a[i].irr, b[i].irr, sizeof(a[i].irr));
			assert_memory_equal(a[i].tmr, b[i].tmr, sizeof(a[i].tmr));
			assert_int_equal(a[i].irr_sum, b[i].irr_sum);
			assert_int_equal(a[i].esr_pending, b[i].esr_pending);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_power_up_state, setup),
		cmocka_unit_test_setup(test_mode_transitions, setup),
		cmocka_unit_test_setup(test_x2apic_msr_rules, setup),
		cmocka_unit_test_setup(test_priority_and_eoi, setup),
		cmocka_unit_test_setup(test_software_disable, setup),
		cmocka_unit_test_setup(test_error_status, setup),
		cmocka_unit_test_setup(test_timer_oneshot, setup),
		cmocka_unit_test_setup(test_timer_periodic, setup),
		cmocka_unit_test_setup(test_timer_tsc_deadline, setup),
		cmocka_unit_test_setup(test_ipi_sending, setup),
		cmocka_unit_test_setup(test_routing_physical_and_shorthands, setup),
		cmocka_unit_test_setup(test_routing_logical, setup),
		cmocka_unit_test_setup(test_take_start, setup),
		cmocka_unit_test_setup(test_lvt_lint, setup),
		cmocka_unit_test_setup(test_summaries_random, setup),
		cmocka_unit_test_setup(test_x2apic_irq_write, setup),
		cmocka_unit_test_setup(test_single_dest_agrees, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
