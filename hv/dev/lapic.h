/*
 * hv/dev/lapic.h - a virtual local APIC, one per vCPU (hv/dev/lapic.c).
 *
 * The face of the device: register access (xAPIC MMIO offsets, x2APIC MSRs,
 * IA32_APIC_BASE, IA32_TSC_DEADLINE), interrupts arriving (lapic_accept_msg),
 * time passing (lapic_advance, lapic_next_deadline), and the queries the
 * injection code asks (lapic_pending_vector, lapic_ack, the NMI/INIT/SIPI
 * flags). IPIs the guest sends go out through `send`, EOIs of level-triggered
 * vectors through `eoi`; the caller routes both. No VMCB/VMCS, no globals.
 *
 * Time: every `now` is the guest's TSC value. The timer's input clock is the
 * TSC clock itself (the "core crystal clock" of CPUID 0x15 with a TSC/crystal
 * ratio of 1), before the divide configuration register divides it.
 */
#ifndef HV_DEV_LAPIC_H
#define HV_DEV_LAPIC_H

#include "irq.h"

/* IA32_APIC_BASE (MSR 0x1B) bits, SDM Vol. 3A 11.4.4 and 11.12.1. */
#define LAPIC_BASE_BSP     BIT(8)
#define LAPIC_BASE_EXTD    BIT(10)
#define LAPIC_BASE_EN      BIT(11)
#define LAPIC_BASE_DEFAULT 0xFEE00000ull

#define MSR_IA32_APIC_BASE   0x1B
#define MSR_IA32_TSC_DEADLINE 0x6E0
#define MSR_X2APIC_FIRST     0x800
#define MSR_X2APIC_LAST      0x8FF

/* Register offsets in the xAPIC page (SDM Vol. 3A table 11-1). */
enum lapic_reg {
	LAPIC_ID = 0x020,
	LAPIC_VERSION = 0x030,
	LAPIC_TPR = 0x080,
	LAPIC_APR = 0x090,
	LAPIC_PPR = 0x0A0,
	LAPIC_EOI = 0x0B0,
	LAPIC_RRD = 0x0C0,
	LAPIC_LDR = 0x0D0,
	LAPIC_DFR = 0x0E0,
	LAPIC_SVR = 0x0F0,
	LAPIC_ISR0 = 0x100, /* ISR 0x100-0x170, TMR 0x180-0x1F0, IRR 0x200-0x270 */
	LAPIC_TMR0 = 0x180,
	LAPIC_IRR0 = 0x200,
	LAPIC_ESR = 0x280,
	LAPIC_LVT_CMCI = 0x2F0,
	LAPIC_ICR_LO = 0x300,
	LAPIC_ICR_HI = 0x310,
	LAPIC_LVT_TIMER = 0x320,
	LAPIC_LVT_THERMAL = 0x330,
	LAPIC_LVT_PMC = 0x340,
	LAPIC_LVT_LINT0 = 0x350,
	LAPIC_LVT_LINT1 = 0x360,
	LAPIC_LVT_ERROR = 0x370,
	LAPIC_TIMER_ICR = 0x380,
	LAPIC_TIMER_CCR = 0x390,
	LAPIC_TIMER_DCR = 0x3E0,
	LAPIC_SELF_IPI = 0x3F0, /* x2APIC only (MSR 0x83F) */
};

/* The LVT entries hv implements, in register order (no CMCI). */
enum lapic_lvt {
	LVT_TIMER, LVT_THERMAL, LVT_PMC, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT
};

#define LVT_MASKED      BIT(16)
#define LVT_TIMER_MODE(v) (((v) >> 17) & 3)
enum { TIMER_ONESHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2 };

/* Error status register bits (SDM Vol. 3A 11.5.3, figure 11-9). */
#define ESR_SEND_ILLEGAL_VECTOR BIT(5)
#define ESR_RECV_ILLEGAL_VECTOR BIT(6)
#define ESR_ILLEGAL_REGISTER    BIT(7)

enum lapic_mode { LAPIC_MODE_DISABLED, LAPIC_MODE_XAPIC, LAPIC_MODE_X2APIC };

/* Results of register accesses. */
enum lapic_status {
	LAPIC_OK = 0,
	LAPIC_GP = -1,       /* the instruction takes #GP(0) (MSR accesses) */
	LAPIC_NOT_MINE = -2, /* not this device's register now (MSR in xAPIC mode
	                      * is #GP too; MMIO in x2APIC mode: caller decides) */
};

/* How the device reaches the rest of the VM. */
struct lapic_ops {
	/* An IPI the guest wrote to the ICR / SELF IPI register. */
	void (*send)(void *ctx, const struct irq_msg *msg);
	/* EOI of a vector whose TMR bit was set (level-triggered): the caller
	 * broadcasts it to the IOAPICs (SDM 11.8.5). */
	void (*eoi)(void *ctx, u8 vector);
	void *ctx;
};

struct lapic {
	u32 id;            /* x2APIC id; xAPIC id is its low 8 bits */
	u64 base;          /* IA32_APIC_BASE */
	u32 tpr, svr, ldr, dfr;
	u32 esr;           /* readable ESR (latched by the last ESR write) */
	u32 esr_pending;   /* errors found since */
	u32 icr_lo, icr_hi;
	u32 lvt[LVT_COUNT];
	u32 irr[8], isr[8], tmr[8];
	u8 irr_sum, isr_sum;  /* bit i: word i of irr/isr is non-zero (lapic.c) */
	u32 timer_icr, timer_dcr;
	u64 timer_deadline;   /* TSC of the next expiry; 0: not armed */
	u64 timer_period;     /* TSC ticks per period (one-shot/periodic) */
	u64 tsc_deadline_msr; /* IA32_TSC_DEADLINE as the guest wrote it */
	u64 timer_fired;      /* expiries counted (diagnostics, tests) */
	bool nmi_pending, init_pending, sipi_pending;
	u8 sipi_vector;
	struct lapic_ops ops;
};

/* Power-up state (SDM 11.4.7.1): xAPIC mode, base 0xFEE00000, software
 * disabled, every LVT masked. `bsp` sets IA32_APIC_BASE.BSP. */
void lapic_init(struct lapic *l, u32 id, bool bsp, const struct lapic_ops *ops);
/* INIT (SDM 11.4.7.3): like power-up but keeps the id and IA32_APIC_BASE. */
void lapic_init_reset(struct lapic *l);
/*
 * Take a pending INIT and start-up IPI as an AP does (SDM Vol. 3A 9.4.4,
 * 11.6.1), for a vCPU that is in wait-for-SIPI (`waiting`) or runs. INIT to
 * a waiting AP resets its LAPIC (a SIPI that came before it is dropped) and
 * it keeps waiting; INIT to one that runs is dropped here (hv/vplat.c
 * takes that case before: the vCPU is switched out into wait-for-SIPI). A SIPI to a waiting AP starts it: true, *vector = the SIPI's vector
 * (start at vector << 8 : 0000); a SIPI to one that runs is ignored.
 * Both flags are clear afterwards.
 */
bool lapic_take_start(struct lapic *l, bool waiting, u8 *vector);

static inline enum lapic_mode lapic_mode(const struct lapic *l)
{
	if (!(l->base & LAPIC_BASE_EN))
		return LAPIC_MODE_DISABLED;
	return (l->base & LAPIC_BASE_EXTD) ? LAPIC_MODE_X2APIC : LAPIC_MODE_XAPIC;
}
u64 lapic_base_read(const struct lapic *l);
/* WRMSR to IA32_APIC_BASE: LAPIC_GP for a forbidden mode transition
 * (SDM 11.12.5, figure 11-27) or reserved bits beyond `maxphyaddr`. */
int lapic_base_write(struct lapic *l, u64 val, unsigned maxphyaddr);

/* xAPIC MMIO: `off` is the offset in the 4 KiB page, 32-bit accesses to a
 * 16-byte aligned register. LAPIC_NOT_MINE when not in xAPIC mode. */
int lapic_mmio_read(struct lapic *l, u32 off, u32 *val, u64 now);
int lapic_mmio_write(struct lapic *l, u32 off, u32 val, u64 now);
/* RDMSR/WRMSR of 0x800-0x8FF and IA32_TSC_DEADLINE. LAPIC_GP as the
 * SDM says (11.12.1.2, 11.12.1.3, table 11-6, 11.5.4.1). */
int lapic_msr_read(struct lapic *l, u32 msr, u64 *val, u64 now);
int lapic_msr_write(struct lapic *l, u32 msr, u64 val, u64 now);
/* The same for the writes of an interrupt's round trip that do not use the
 * time (x2APIC EOI, ICR, SELF IPI), EOI and ICR on a short path: LAPIC_OK
 * or LAPIC_GP (also outside x2APIC mode), as lapic_msr_write. */
int lapic_x2apic_irq_write(struct lapic *l, u32 msr, u64 val);
/* A timer tick's two writes alone: IA32_TSC_DEADLINE here (ignored outside
 * TSC-deadline mode; returns the timer's deadline after it, 0: none), the
 * x2APIC EOI (lapic_x2apic_eoi, LAPIC_OK or LAPIC_GP) at the end of this
 * file, after the IRR/ISR helpers it uses. */
static inline u64 lapic_tsc_deadline_write(struct lapic *l, u64 val)
{
	if (lapic_mode(l) != LAPIC_MODE_DISABLED && LVT_TIMER_MODE(l->lvt[LVT_TIMER]) == TIMER_TSC_DEADLINE) {
		l->tsc_deadline_msr = val;
		l->timer_deadline = val;   /* 0 disarms; a past value fires now */
		l->timer_period = 0;
	}                                  /* (ignored outside TSC-deadline mode) */
	return l->timer_deadline;
}
/*
 * The common x2APIC ICR write (SDM 11.12.9, 11.6.1): a fixed, edge-triggered
 * IPI with a vector of 16 or more, by the self shorthand or to one physical
 * x2APIC id, written by an APIC in x2APIC mode. Takes it whole: ICR
 * updated, the target's IRR set (dropped if the target is software-disabled,
 * SDM 11.4.7.2) and returns the target's index in `set` (APIC id = index),
 * or LAPIC_DEST_NONE if no APIC has that id. Any other write, or a target
 * not in x2APIC mode with that id, returns LAPIC_DEST_GENERAL with nothing
 * changed: the caller takes lapic_x2apic_irq_write and the router.
 * tests/unit/test_dev_lapic.c checks both ways agree.
 */
int lapic_x2apic_icr_single(struct lapic *l, u64 val, struct lapic *const *set, int n);

/* Does a message with this destination reach this APIC (SDM 11.6.2)?
 * Shorthands are the router's business (they do not use `dest`). */
bool lapic_match_dest(const struct lapic *l, const struct irq_msg *m);
/* A message routed to this APIC arrives (SDM 11.6.1, 11.5.2 illegal vectors). */
void lapic_accept_msg(struct lapic *l, const struct irq_msg *m);
/* Route `m` sent by `src` (may be NULL for an IOAPIC) to the APICs in
 * set[0..n): shorthand, physical/logical destination, lowest priority
 * arbitration (the lowest PPR wins, the lowest index on a tie). Returns
 * how many APICs accepted it. */
int lapic_route(struct lapic *const *set, int n, const struct lapic *src,
	const struct irq_msg *m);

/*
 * The router's short cut for a fixed message to one APIC: shorthand self,
 * or a physical destination other than the broadcast id. In a set where
 * set[i]->id == i (a VM's LAPICs: hv/vplat.c) the id picks the only APIC
 * that can match; lapic_match_dest still decides (APIC mode, 8-bit xAPIC
 * ids). Returns its index (the caller gives it the message with
 * lapic_accept_msg: what lapic_route would do), LAPIC_DEST_NONE if no APIC
 * takes it, LAPIC_DEST_GENERAL for every other message (lapic_route).
 */
#define LAPIC_DEST_NONE    (-1)
#define LAPIC_DEST_GENERAL (-2)
static inline int lapic_single_dest(struct lapic *const *set, int n, const struct lapic *src, const struct irq_msg *m)
{
	if (m->delivery == IRQ_DM_FIXED && m->shorthand == IRQ_SH_SELF && src)
		return (int)src->id;
	if (m->delivery != IRQ_DM_FIXED || m->shorthand != IRQ_SH_NONE || m->logical ||
	    m->dest == (m->x2apic ? 0xFFFFFFFFu : 0xFFu))
		return LAPIC_DEST_GENERAL;
	if (m->dest >= (u32)n)
		return LAPIC_DEST_NONE;            /* no APIC has that id */
	int i = (int)array_index_nospec(m->dest, (u32)n);
	return lapic_match_dest(set[i], m) ? i : LAPIC_DEST_NONE;
}

/* Raise local interrupt LINT0/LINT1 or another LVT source (SDM 11.5.1). */
void lapic_raise_lvt(struct lapic *l, enum lapic_lvt which);

/* Time: fire the timer if it is due at `now`; returns true if it fired. */
bool lapic_advance(struct lapic *l, u64 now);
/* The same for a vCPU that takes an interrupt at once (the backends' fast
 * path of a tick), in two steps: the timer's vector if, once fired, it
 * would be the one delivered (LVT unmasked, IRR and ISR empty, TPR below
 * it), else -1 (the general way: lapic_advance); then, the timer being due
 * and the guest able to take it, fire it straight into service (ISR), as
 * lapic_advance and lapic_ack would. */
static inline int lapic_timer_direct_vector(const struct lapic *l)
{
	u32 lvt = l->lvt[LVT_TIMER], vec = lvt & 0xFF;
	if ((lvt & LVT_MASKED) || vec < 16 || l->irr_sum || l->isr_sum || (l->tpr & 0xF0) >= (vec & 0xF0))
		return -1;
	return (int)vec;
}
/* TSC of the next timer expiry, 0 if none is armed (masked timers count on). */
u64 lapic_next_deadline(const struct lapic *l);

/* IRR/ISR with their summaries (irr_sum, isr_sum): set and clear a vector,
 * the highest set vector or -1. Inline: the exit path asks several times. */
static inline void lapic_sum_set(u32 *r, u8 *sum, unsigned v)
{
	r[v >> 5] |= 1u << (v & 31);
	*sum |= (u8)(1u << (v >> 5));
}

static inline void lapic_sum_clear(u32 *r, u8 *sum, unsigned v)
{
	r[v >> 5] &= ~(1u << (v & 31));
	if (!r[v >> 5])
		*sum &= (u8)~(1u << (v >> 5));
}

static inline int lapic_sum_highest(const u32 *r, u8 sum)
{
	if (!sum)
		return -1;
	/* 31 ^ clz = 31 - clz for a non-zero word, and GCC makes it one BSR
	 * (31 - clz came out as BSR, XOR, MOV and SUB). */
	unsigned i = (unsigned)__builtin_clz(sum) ^ 31;
	return (int)(i * 32 + ((unsigned)__builtin_clz(r[i]) ^ 31));
}

/* Highest IRR vector the priority rules let through (SDM 11.8.3.1), or -1:
 * its class must be above PPR's, the higher of TPR's and the ISR's. */
static inline int lapic_pending_vector(const struct lapic *l)
{
	int v = lapic_sum_highest(l->irr, l->irr_sum);
	if (v < 0)
		return -1;
	if (!(l->isr_sum | (l->tpr & 0xF0)))
		return v;                      /* PPR 0: IRR never holds 0-15 (set_irr) */
	u32 tpr_class = l->tpr & 0xF0;
	int isrv = lapic_sum_highest(l->isr, l->isr_sum);
	u32 isr_class = isrv < 0 ? 0 : ((u32)isrv & 0xF0);
	u32 ppr_class = tpr_class >= isr_class ? tpr_class : isr_class;
	return ((u32)v & 0xF0) > ppr_class ? v : -1;
}

/* The CPU took `vector` (INTA): IRR -> ISR (SDM 11.8.4). */
static inline void lapic_ack(struct lapic *l, u8 vector)
{
	lapic_sum_clear(l->irr, &l->irr_sum, vector);
	lapic_sum_set(l->isr, &l->isr_sum, vector);
}
/* Processor priority (PPR), SDM 11.8.3.1. */
u32 lapic_ppr(const struct lapic *l);

/* (Defined here, after the IRR/ISR helpers they use.) */
static inline void lapic_do_eoi(struct lapic *l)
{
	int v = lapic_sum_highest(l->isr, l->isr_sum);
	if (v < 0)
		return;
	lapic_sum_clear(l->isr, &l->isr_sum, (unsigned)v);
	if ((l->tmr[(unsigned)v >> 5] & (1u << (v & 31))) && l->ops.eoi)
		l->ops.eoi(l->ops.ctx, (u8)v);   /* level-triggered: to the IOAPICs */
}
static inline int lapic_x2apic_eoi(struct lapic *l, u64 val)
{
	if (lapic_mode(l) != LAPIC_MODE_X2APIC || val)
		return LAPIC_GP;           /* 11.12.1.2 */
	lapic_do_eoi(l);
	return LAPIC_OK;
}

/* (The timer's own state after it fires at `now`, its interrupt aside:
 * lapic_advance's second half.) */
static inline void lapic_timer_expired(struct lapic *l, u64 now)
{
	l->timer_fired++;
	u32 mode = LVT_TIMER_MODE(l->lvt[LVT_TIMER]);
	if (mode == TIMER_PERIODIC && l->timer_period) {
		u64 k = (now - l->timer_deadline) / l->timer_period + 1;
		l->timer_deadline += k * l->timer_period;
	} else {
		l->timer_deadline = 0;     /* one-shot ends; TSC-deadline disarms */
		if (mode == TIMER_TSC_DEADLINE)
			l->tsc_deadline_msr = 0;   /* 11.5.4.1 */
	}
}
static inline void lapic_timer_fire_in_service(struct lapic *l, u64 now, u8 vec)
{
	lapic_sum_set(l->isr, &l->isr_sum, vec);   /* IRR, then taken at once: straight to ISR */
	l->tmr[vec >> 5] &= ~(1u << (vec & 31));   /* edge */
	lapic_timer_expired(l, now);
}

#endif
