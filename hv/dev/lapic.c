/*
 * hv/dev/lapic.c - a virtual local APIC, one per vCPU.
 *
 * Implements, from the Intel SDM Vol. 3A chapter 11 ("Advanced Programmable
 * Interrupt Controller"):
 *   11.4.1  the xAPIC register page (table 11-1), 32-bit registers at 16-byte
 *           aligned offsets; reserved offsets set ESR bit 7 (11.5.3)
 *   11.4.4  IA32_APIC_BASE; 11.12.5 the xAPIC/x2APIC/disabled transitions
 *           (figure 11-27), #GP for the forbidden ones
 *   11.4.6  local APIC id, 11.4.8 version (max LVT entry 5: no CMCI)
 *   11.4.7  power-up, INIT and software-disabled (SVR bit 8) states
 *   11.5.1  the LVT entries and their masks; 11.5.3 the error status register
 *   11.5.4  the timer: one-shot, periodic, TSC-deadline (11.5.4.1), divide
 *           configuration (figure 11-10)
 *   11.6.1  the ICR: fixed, lowest priority, NMI, INIT (and INIT level
 *           de-assert, ignored as on P4 and later), start-up, shorthands
 *   11.6.2  physical and logical destinations (flat and cluster models)
 *   11.8.3  IRR/ISR/TMR, task and processor priority; 11.8.5 EOI
 *   11.12   x2APIC: MSRs 0x800-0x8FF (table 11-6), 32-bit id, derived LDR
 *           (11.12.10.2), 64-bit ICR, SELF IPI (11.12.11), #GP rules
 *
 * Not implemented: CMCI LVT, SMI delivery (dropped), ExtINT (there is no
 * 8259 to ask), directed EOI (version bit 24 is 0), APIC id writes (the id
 * is read-only in both modes, which the SDM allows: 11.4.6).
 *
 * Choices where the SDM leaves room:
 *   - the timer input clock is the TSC clock (see lapic.h);
 *   - a periodic timer that is late by several periods fires once (one IRR
 *     bit, as hardware coalesces) and keeps its phase;
 *   - an ICR with a reserved delivery mode (011b, 111b) sends nothing; P6
 *     and later ESRs have no bit for it (11.5.3), so none is set;
 *   - a fixed interrupt arriving while the APIC is software-disabled is
 *     dropped (11.4.7.2 keeps only INIT, NMI, SMI and start-up working).
 */
#include "lapic.h"

#define SVR_ENABLE BIT(8)
#define SVR_MASK 0x3FFu            /* vector, enable, focus check (bit 9) */
#define ICR_LO_MASK 0x000CCFFFu    /* vector, dm, dest mode, level, trigger, shorthand */
#define ICR_DELIVS BIT(12)
#define ICR_LEVEL_ASSERT BIT(14)
#define ICR_TRIGGER_LEVEL BIT(15)
#define LVT_LEVEL BIT(15)
#define VERSION_VALUE (0x14u | ((u32)(LVT_COUNT - 1) << 16))

/* Writable bits of each LVT entry (SDM 11.5.1, figure 11-8). */
static const u32 lvt_writable[LVT_COUNT] = {
	[LVT_TIMER] = 0x000700FF,   /* vector, mask, timer mode */
	[LVT_THERMAL] = 0x000107FF, /* vector, delivery mode, mask */
	[LVT_PMC] = 0x000107FF,
	[LVT_LINT0] = 0x0001A7FF,   /* + polarity, trigger mode */
	[LVT_LINT1] = 0x0001A7FF,
	[LVT_ERROR] = 0x000100FF,
};

static void vec_set(u32 *r, unsigned v) { r[v >> 5] |= 1u << (v & 31); }
static void vec_clear(u32 *r, unsigned v) { r[v >> 5] &= ~(1u << (v & 31)); }

/*
 * IRR and ISR keep a summary beside them (lapic.h): bit i of irr_sum/isr_sum
 * is set exactly when word i of the register is non-zero. Every change of
 * those two registers goes through lapic_sum_set/lapic_sum_clear (and
 * reset_regs), so the highest vector is two bit scans, not a walk over
 * eight words (they are asked at every exit that may deliver an interrupt:
 * docs/benchmarks.md).
 */
#define sum_set lapic_sum_set
#define sum_clear lapic_sum_clear
#define sum_highest lapic_sum_highest

static bool sw_enabled(const struct lapic *l) { return l->svr & SVR_ENABLE; }


/* The register state of power-up and INIT (SDM 11.4.7.1, 11.4.7.3). */
static void reset_regs(struct lapic *l)
{
	l->tpr = 0;
	l->svr = 0xFF;
	l->ldr = 0;
	l->dfr = 0xFFFFFFFF;
	l->esr = l->esr_pending = 0;
	l->icr_lo = l->icr_hi = 0;
	for (int i = 0; i < LVT_COUNT; i++)
		l->lvt[i] = LVT_MASKED;
	memset(l->irr, 0, sizeof(l->irr));
	memset(l->isr, 0, sizeof(l->isr));
	l->irr_sum = l->isr_sum = 0;
	memset(l->tmr, 0, sizeof(l->tmr));
	l->timer_icr = l->timer_dcr = 0;
	l->timer_deadline = l->timer_period = l->tsc_deadline_msr = 0;
	l->nmi_pending = l->init_pending = l->sipi_pending = false;
	l->sipi_vector = 0;
}

void lapic_init(struct lapic *l, u32 id, bool bsp, const struct lapic_ops *ops)
{
	memset(l, 0, sizeof(*l));
	l->id = id;
	l->base = LAPIC_BASE_DEFAULT | LAPIC_BASE_EN | (bsp ? LAPIC_BASE_BSP : 0);
	if (ops)
		l->ops = *ops;
	reset_regs(l);
}

void lapic_init_reset(struct lapic *l)
{
	reset_regs(l);
	if (lapic_mode(l) == LAPIC_MODE_X2APIC)
		l->ldr = ((l->id >> 4) << 16) | (1u << (l->id & 0xF));
}

bool lapic_take_start(struct lapic *l, bool waiting, u8 *vector)
{
	if (l->init_pending) {
		l->init_pending = false;
		if (waiting) {
			lapic_init_reset(l);
			return false;
		}
	}
	if (!l->sipi_pending)
		return false;
	l->sipi_pending = false;
	*vector = l->sipi_vector;
	return waiting;
}

u64 lapic_base_read(const struct lapic *l) { return l->base; }

int lapic_base_write(struct lapic *l, u64 val, unsigned maxphyaddr)
{
	/* Bits 7:0, 9 and those from MAXPHYADDR up are reserved (11.4.4). */
	u64 reserved = 0x2FFull;
	if (maxphyaddr < 64)
		reserved |= ~0ull << maxphyaddr;
	if (val & reserved)
		return LAPIC_GP;
	bool en = val & LAPIC_BASE_EN, extd = val & LAPIC_BASE_EXTD;
	if (extd && !en)
		return LAPIC_GP; /* the invalid state of figure 11-27 */
	enum lapic_mode from = lapic_mode(l);
	enum lapic_mode to = !en ? LAPIC_MODE_DISABLED
	                         : extd ? LAPIC_MODE_X2APIC : LAPIC_MODE_XAPIC;
	/* x2APIC -> xAPIC and disabled -> x2APIC are forbidden (11.12.5). */
	if ((from == LAPIC_MODE_X2APIC && to == LAPIC_MODE_XAPIC) ||
	    (from == LAPIC_MODE_DISABLED && to == LAPIC_MODE_X2APIC))
		return LAPIC_GP;
	/* BSP is the processor's, not software's: keep it. */
	l->base = (val & ~LAPIC_BASE_BSP) | (l->base & LAPIC_BASE_BSP);
	if (to == LAPIC_MODE_DISABLED && from != LAPIC_MODE_DISABLED)
		reset_regs(l); /* 11.4.3: the APIC returns to its power-up state */
	if (to == LAPIC_MODE_X2APIC && from == LAPIC_MODE_XAPIC)
		l->ldr = ((l->id >> 4) << 16) | (1u << (l->id & 0xF)); /* 11.12.10.2 */
	return LAPIC_OK;
}

u32 lapic_ppr(const struct lapic *l)
{
	int isrv = sum_highest(l->isr, l->isr_sum);
	u32 isr_class = isrv < 0 ? 0 : ((u32)isrv & 0xF0);
	if ((l->tpr & 0xF0) >= isr_class)
		return l->tpr & 0xFF;
	return isr_class;
}

/* An error is found: latch it and raise the error LVT (11.5.3). */
static void signal_error(struct lapic *l, u32 bits)
{
	l->esr_pending |= bits;
	u32 e = l->lvt[LVT_ERROR];
	if (!(e & LVT_MASKED) && (e & 0xFF) >= 16) {
		sum_set(l->irr, &l->irr_sum, e & 0xFF);
		vec_clear(l->tmr, e & 0xFF);
	}
}

/* A fixed interrupt arrives: vectors 0-15 are illegal (11.5.2). */
static void set_irr(struct lapic *l, u8 vector, bool level)
{
	if (vector < 16) {
		signal_error(l, ESR_RECV_ILLEGAL_VECTOR);
		return;
	}
	sum_set(l->irr, &l->irr_sum, vector);
	if (level)
		vec_set(l->tmr, vector);
	else
		vec_clear(l->tmr, vector);
}

void lapic_accept_msg(struct lapic *l, const struct irq_msg *m)
{
	switch (m->delivery) {
	case IRQ_DM_FIXED:
	case IRQ_DM_LOWEST:
		if (sw_enabled(l))
			set_irr(l, m->vector, m->level);
		break;
	case IRQ_DM_NMI:
		l->nmi_pending = true;
		break;
	case IRQ_DM_INIT:
		if (m->level && !m->assert)
			break; /* INIT level de-assert: no effect (11.6.1) */
		l->init_pending = true;
		break;
	case IRQ_DM_SIPI:
		l->sipi_pending = true;
		l->sipi_vector = m->vector;
		break;
	default:
		break; /* SMI, ExtINT, reserved: not modelled */
	}
}

bool lapic_match_dest(const struct lapic *l, const struct irq_msg *m)
{
	enum lapic_mode mode = lapic_mode(l);
	if (mode == LAPIC_MODE_DISABLED)
		return false;
	u32 bcast = m->x2apic ? 0xFFFFFFFFu : 0xFFu;
	if (m->dest == bcast)
		return true;
	if (mode == LAPIC_MODE_X2APIC) {
		if (!m->logical)
			return m->dest == l->id;
		/* Cluster in bits 31:16, member bitmap in 15:0 (11.12.10.2). */
		return (m->dest >> 16) == (l->ldr >> 16) && (m->dest & l->ldr & 0xFFFF);
	}
	if (m->dest > 0xFF)
		return false;
	u32 d = m->dest, lid = l->ldr >> 24;
	if (!m->logical)
		return d == (l->id & 0xFF);
	if ((l->dfr >> 28) == 0xF)
		return (lid & d) != 0;                      /* flat model */
	return (lid >> 4) == (d >> 4) && (lid & d & 0xF); /* cluster model */
}

int lapic_route(struct lapic *const *set, int n, const struct lapic *src,
	const struct irq_msg *m)
{
	int count = 0, best = -1;
	for (int i = 0; i < n; i++) {
		struct lapic *t = set[i];
		bool hit;
		switch (m->shorthand) {
		case IRQ_SH_SELF: hit = t == src; break;
		case IRQ_SH_ALL_INCL: hit = lapic_mode(t) != LAPIC_MODE_DISABLED; break;
		case IRQ_SH_ALL_EXCL:
			hit = t != src && lapic_mode(t) != LAPIC_MODE_DISABLED;
			break;
		default: hit = lapic_match_dest(t, m); break;
		}
		if (!hit)
			continue;
		if (m->delivery == IRQ_DM_LOWEST && m->shorthand == IRQ_SH_NONE) {
			/* Lowest priority (11.6.2.4): the lowest PPR among the
			 * software-enabled targets takes it. */
			if (!sw_enabled(t))
				continue;
			if (best < 0 || lapic_ppr(t) < lapic_ppr(set[best]))
				best = i;
			continue;
		}
		lapic_accept_msg(t, m);
		count++;
	}
	if (best >= 0) {
		lapic_accept_msg(set[best], m);
		count++;
	}
	return count;
}

void lapic_raise_lvt(struct lapic *l, enum lapic_lvt which)
{
	u32 e = l->lvt[which];
	if (e & LVT_MASKED)
		return;
	u32 dm = (which == LVT_TIMER || which == LVT_ERROR) ? 0 : (e >> 8) & 7;
	struct irq_msg m = {
		.vector = e & 0xFF,
		.delivery = (u8)dm,
		.level = (which == LVT_LINT0 || which == LVT_LINT1) && (e & LVT_LEVEL),
		.assert = true,
	};
	if (dm == IRQ_DM_FIXED) {
		set_irr(l, m.vector, m.level);
		return;
	}
	if (dm == IRQ_DM_NMI || dm == IRQ_DM_INIT)
		lapic_accept_msg(l, &m);
	/* SMI, ExtINT: not modelled. */
}

/* An IPI written to the ICR (11.6.1) or SELF IPI (11.12.11). */
static void send_ipi(struct lapic *l, u32 lo, u32 dest, bool x2)
{
	struct irq_msg m = {
		.vector = lo & 0xFF,
		.delivery = (lo >> 8) & 7,
		.logical = lo & BIT(11),
		.assert = lo & ICR_LEVEL_ASSERT,
		.level = lo & ICR_TRIGGER_LEVEL,
		.shorthand = (lo >> 18) & 3,
		.x2apic = x2,
		.dest = dest,
		.src_id = l->id,
	};
	if (m.delivery == IRQ_DM_RESERVED3 || m.delivery == IRQ_DM_EXTINT ||
	    m.delivery == IRQ_DM_SMI)
		return;
	if ((m.delivery == IRQ_DM_FIXED || m.delivery == IRQ_DM_LOWEST) && m.vector < 16) {
		signal_error(l, ESR_SEND_ILLEGAL_VECTOR);
		return;
	}
	if (m.delivery == IRQ_DM_INIT && m.level && !m.assert)
		return; /* INIT level de-assert: nothing on P4 and later */
	if (l->ops.send)
		l->ops.send(l->ops.ctx, &m);
}

/* Divide configuration (figure 11-10): bits 0, 1, 3; 1011b divides by 1. */
static u64 timer_divisor(const struct lapic *l)
{
	u32 v = (l->timer_dcr & 3) | ((l->timer_dcr >> 1) & 4);
	return 1ull << ((v + 1) & 7);
}

static u32 timer_mode(const struct lapic *l) { return LVT_TIMER_MODE(l->lvt[LVT_TIMER]); }

static void timer_start(struct lapic *l, u64 now)
{
	if (l->timer_icr == 0) {
		l->timer_deadline = l->timer_period = 0;
		return;
	}
	l->timer_period = (u64)l->timer_icr * timer_divisor(l);
	l->timer_deadline = now + l->timer_period;
	if (l->timer_deadline == 0)
		l->timer_deadline = 1;
}

static u32 timer_current(const struct lapic *l, u64 now)
{
	if (timer_mode(l) == TIMER_TSC_DEADLINE || !l->timer_deadline || !l->timer_period)
		return 0;
	u64 left;
	if (now < l->timer_deadline)
		left = l->timer_deadline - now;
	else if (timer_mode(l) == TIMER_PERIODIC)
		left = l->timer_period - (now - l->timer_deadline) % l->timer_period;
	else
		return 0;
	return (u32)(left / timer_divisor(l));
}

bool lapic_advance(struct lapic *l, u64 now)
{
	if (!l->timer_deadline || now < l->timer_deadline)
		return false;
	u32 lvt = l->lvt[LVT_TIMER];
	if (!(lvt & LVT_MASKED))
		set_irr(l, lvt & 0xFF, false);   /* lapic_raise_lvt's case for the timer: fixed, edge */
	lapic_timer_expired(l, now);
	return true;
}

u64 lapic_next_deadline(const struct lapic *l) { return l->timer_deadline; }

/* Register read common to both modes. `x2` selects the x2APIC rules;
 * LAPIC_GP for a register that does not exist / cannot be read there. */
static int reg_read(struct lapic *l, u32 off, u32 *val, u64 now, bool x2)
{
	switch (off) {
	case LAPIC_ID: *val = x2 ? l->id : (l->id & 0xFF) << 24; return 0;
	case LAPIC_VERSION: *val = VERSION_VALUE; return 0;
	case LAPIC_TPR: *val = l->tpr; return 0;
	case LAPIC_PPR: *val = lapic_ppr(l); return 0;
	case LAPIC_LDR: *val = l->ldr; return 0;
	case LAPIC_SVR: *val = l->svr; return 0;
	case LAPIC_ESR: *val = l->esr; return 0;
	case LAPIC_LVT_TIMER: case LAPIC_LVT_THERMAL: case LAPIC_LVT_PMC:
	case LAPIC_LVT_LINT0: case LAPIC_LVT_LINT1: case LAPIC_LVT_ERROR:
		*val = l->lvt[(off - LAPIC_LVT_TIMER) >> 4];
		return 0;
	case LAPIC_TIMER_ICR: *val = l->timer_icr; return 0;
	case LAPIC_TIMER_CCR: *val = timer_current(l, now); return 0;
	case LAPIC_TIMER_DCR: *val = l->timer_dcr; return 0;
	}
	if (off >= LAPIC_ISR0 && off < LAPIC_ISR0 + 0x80) {
		*val = l->isr[(off - LAPIC_ISR0) >> 4];
		return 0;
	}
	if (off >= LAPIC_TMR0 && off < LAPIC_TMR0 + 0x80) {
		*val = l->tmr[(off - LAPIC_TMR0) >> 4];
		return 0;
	}
	if (off >= LAPIC_IRR0 && off < LAPIC_IRR0 + 0x80) {
		*val = l->irr[(off - LAPIC_IRR0) >> 4];
		return 0;
	}
	if (!x2) {
		switch (off) {
		case LAPIC_APR: case LAPIC_EOI: case LAPIC_RRD: *val = 0; return 0;
		case LAPIC_DFR: *val = l->dfr | 0x0FFFFFFF; return 0;
		case LAPIC_ICR_LO: *val = l->icr_lo; return 0;
		case LAPIC_ICR_HI: *val = l->icr_hi; return 0;
		}
	}
	return LAPIC_GP;
}

/* Register write common to both modes (ICR handled by the callers). */
static int reg_write(struct lapic *l, u32 off, u32 val, u64 now, bool x2)
{
	switch (off) {
	case LAPIC_TPR:
		l->tpr = val & 0xFF;
		return 0;
	case LAPIC_EOI:
		if (x2 && val)
			return LAPIC_GP; /* 11.12.1.2: non-zero EOI writes #GP */
		lapic_do_eoi(l);
		return 0;
	case LAPIC_SVR:
		l->svr = val & SVR_MASK;
		if (!sw_enabled(l))
			for (int i = 0; i < LVT_COUNT; i++)
				l->lvt[i] |= LVT_MASKED; /* 11.4.7.2 */
		return 0;
	case LAPIC_ESR:
		if (x2 && val)
			return LAPIC_GP;
		l->esr = l->esr_pending; /* a write latches the errors (11.5.3) */
		l->esr_pending = 0;
		return 0;
	case LAPIC_LVT_TIMER: case LAPIC_LVT_THERMAL: case LAPIC_LVT_PMC:
	case LAPIC_LVT_LINT0: case LAPIC_LVT_LINT1: case LAPIC_LVT_ERROR: {
		unsigned i = (off - LAPIC_LVT_TIMER) >> 4;
		u32 keep = l->lvt[i] & ~lvt_writable[i];
		u32 nv = keep | (val & lvt_writable[i]);
		if (!sw_enabled(l))
			nv |= LVT_MASKED;
		if (i == LVT_TIMER) {
			if (LVT_TIMER_MODE(nv) == 3)
				nv &= ~(3u << 17); /* reserved mode 3: one-shot */
			bool was_dl = timer_mode(l) == TIMER_TSC_DEADLINE;
			bool is_dl = LVT_TIMER_MODE(nv) == TIMER_TSC_DEADLINE;
			if (was_dl != is_dl) {
				/* 11.5.4.1: switching into or out of TSC-deadline
				 * mode disarms the timer. */
				l->timer_deadline = l->timer_period = 0;
				l->timer_icr = 0;
				l->tsc_deadline_msr = 0;
			}
		}
		l->lvt[i] = nv;
		return 0;
	}
	case LAPIC_TIMER_ICR:
		if (timer_mode(l) == TIMER_TSC_DEADLINE)
			return 0; /* ignored in TSC-deadline mode (11.5.4.1) */
		l->timer_icr = val;
		timer_start(l, now);
		return 0;
	case LAPIC_TIMER_DCR:
		l->timer_dcr = val & 0xB;
		return 0;
	}
	if (!x2) {
		switch (off) {
		case LAPIC_LDR: l->ldr = val & 0xFF000000; return 0;
		case LAPIC_DFR: l->dfr = val | 0x0FFFFFFF; return 0;
		case LAPIC_ICR_HI: l->icr_hi = val & 0xFF000000; return 0;
		case LAPIC_ICR_LO:
			l->icr_lo = val & ICR_LO_MASK;
			send_ipi(l, l->icr_lo, l->icr_hi >> 24, false);
			return 0;
		}
	} else if (off == LAPIC_SELF_IPI) {
		/* 11.12.11: a fixed, edge IPI to self with vector bits 7:0. */
		send_ipi(l, (val & 0xFF) | ((u32)IRQ_SH_SELF << 18), 0, true);
		return 0;
	}
	return LAPIC_GP;
}

/* Registers that exist but ignore writes (read-only) in xAPIC mode. */
static bool xapic_read_only(u32 off)
{
	return off == LAPIC_ID || off == LAPIC_VERSION || off == LAPIC_APR ||
	       off == LAPIC_PPR || off == LAPIC_RRD || off == LAPIC_TIMER_CCR ||
	       (off >= LAPIC_ISR0 && off < LAPIC_IRR0 + 0x80);
}

int lapic_mmio_read(struct lapic *l, u32 off, u32 *val, u64 now)
{
	if (lapic_mode(l) != LAPIC_MODE_XAPIC)
		return LAPIC_NOT_MINE;
	off &= 0xFF0;
	if (reg_read(l, off, val, now, false) != 0) {
		*val = 0;
		signal_error(l, ESR_ILLEGAL_REGISTER);
	}
	return LAPIC_OK;
}

int lapic_mmio_write(struct lapic *l, u32 off, u32 val, u64 now)
{
	if (lapic_mode(l) != LAPIC_MODE_XAPIC)
		return LAPIC_NOT_MINE;
	off &= 0xFF0;
	if (xapic_read_only(off))
		return LAPIC_OK;
	if (reg_write(l, off, val, now, false) != 0)
		signal_error(l, ESR_ILLEGAL_REGISTER);
	return LAPIC_OK;
}

int lapic_msr_read(struct lapic *l, u32 msr, u64 *val, u64 now)
{
	if (msr == MSR_IA32_TSC_DEADLINE) {
		/* Reads 0 outside TSC-deadline mode (11.5.4.1). */
		*val = timer_mode(l) == TIMER_TSC_DEADLINE ? l->tsc_deadline_msr : 0;
		return LAPIC_OK;
	}
	if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST)
		return LAPIC_NOT_MINE;
	if (lapic_mode(l) != LAPIC_MODE_X2APIC)
		return LAPIC_GP; /* 11.12.1.2 */
	u32 off = (msr - MSR_X2APIC_FIRST) << 4;
	if (off == LAPIC_ICR_LO) {
		*val = ((u64)l->icr_hi << 32) | l->icr_lo;
		return LAPIC_OK;
	}
	u32 v;
	if (reg_read(l, off, &v, now, true) != 0)
		return LAPIC_GP;
	*val = v;
	return LAPIC_OK;
}

int lapic_x2apic_irq_write(struct lapic *l, u32 msr, u64 val)
{
	if (lapic_mode(l) != LAPIC_MODE_X2APIC)
		return LAPIC_GP;           /* 11.12.1.2 */
	switch (msr) {
	case MSR_X2APIC_FIRST + (LAPIC_EOI >> 4):
		if (val)
			return LAPIC_GP;   /* 11.12.1.2: non-zero EOI writes #GP */
		lapic_do_eoi(l);
		return LAPIC_OK;
	case MSR_X2APIC_FIRST + (LAPIC_ICR_LO >> 4):
		l->icr_lo = (u32)val & ICR_LO_MASK;
		l->icr_hi = (u32)(val >> 32);
		send_ipi(l, l->icr_lo, l->icr_hi, true);
		return LAPIC_OK;
	default:
		return lapic_msr_write(l, msr, val, 0);
	}
}

int lapic_x2apic_icr_single(struct lapic *l, u64 val, struct lapic *const *set, int n)
{
	u32 lo = (u32)val & ICR_LO_MASK, dest = (u32)(val >> 32);
	u32 sh = (lo >> 18) & 3, vec = lo & 0xFF;
	/* delivery mode 000 (fixed), physical, edge, no shorthand or self */
	if ((lo & (0x700u | BIT(11) | ICR_TRIGGER_LEVEL)) || vec < 16 || sh > IRQ_SH_SELF ||
	    lapic_mode(l) != LAPIC_MODE_X2APIC)
		return LAPIC_DEST_GENERAL;
	struct lapic *t;
	int i;
	if (sh == IRQ_SH_SELF) {
		if (l->id >= (u32)n)
			return LAPIC_DEST_GENERAL;
		t = l;
		i = (int)l->id;
	} else {
		if (dest == 0xFFFFFFFFu)
			return LAPIC_DEST_GENERAL;     /* broadcast */
		if (dest < (u32)n) {
			i = (int)array_index_nospec(dest, (u32)n);
			t = set[i];
			if (lapic_mode(t) != LAPIC_MODE_X2APIC || t->id != dest)
				return LAPIC_DEST_GENERAL;
		} else {
			t = NULL;
			i = LAPIC_DEST_NONE;
		}
	}
	l->icr_lo = lo;
	l->icr_hi = dest;
	if (t && sw_enabled(t)) {
		sum_set(t->irr, &t->irr_sum, vec);
		vec_clear(t->tmr, vec);
	}
	return i;
}

int lapic_msr_write(struct lapic *l, u32 msr, u64 val, u64 now)
{
	if (msr == MSR_IA32_TSC_DEADLINE) {
		lapic_tsc_deadline_write(l, val);
		(void)now;
		return LAPIC_OK;
	}
	if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST)
		return LAPIC_NOT_MINE;
	if (lapic_mode(l) != LAPIC_MODE_X2APIC)
		return LAPIC_GP;
	u32 off = (msr - MSR_X2APIC_FIRST) << 4;
	if (off == LAPIC_ICR_LO) {
		l->icr_lo = (u32)val & ICR_LO_MASK;
		l->icr_hi = (u32)(val >> 32);
		send_ipi(l, l->icr_lo, l->icr_hi, true);
		return LAPIC_OK;
	}
	if (val >> 32)
		return LAPIC_GP; /* reserved upper half of a 32-bit register */
	return reg_write(l, off, (u32)val, now, true);
}
