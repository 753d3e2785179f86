/*
 * hv/x86/apic.c - local APIC timer (SDM Vol. 3 ch. 10 / 11 "APIC") and the
 * legacy 8259 PIC, which hv masks completely.
 *
 * The timer rate is measured once against PIT channel 2 (its gate and output
 * are visible in port 0x61, so no PIT interrupt is needed). The same
 * measurement gives the TSC rate, used for per-VM run limits.
 */
#include "../hv.h"
#include "apic.h"
#include "cpu.h"
#include "trap.h"

#define APIC_BASE_ENABLE BIT(11)
#define LAPIC_ID 0x20
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_PENDING BIT(12)
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define LVT_MASKED BIT(16)
#define TIMER_DIV_16 0x3

static volatile u8 *lapic;
static u64 apic_ticks_per_ms;
u64 tsc_per_ms;
static volatile bool timer_fired[256];

static inline u32 lapic_read(u32 reg) { return *(volatile u32 *)(lapic + reg); }
static inline void lapic_write(u32 reg, u32 v) { *(volatile u32 *)(lapic + reg) = v; }

u32 apic_id(void)
{
	return lapic ? lapic_read(LAPIC_ID) >> 24 : 0;
}

void apic_init_cpu(void)
{
	/* 8259: mask every line on both controllers so no stray IRQ arrives. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);

	u64 base = rdmsr(MSR_APIC_BASE);
	wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
	lapic = pa_to_va(base & ~0xfffull);
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);   /* software enable */
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
}

void apic_calibrate(void)
{
	const u32 pit_hz = 1193182, ms = 10;
	u16 count = (u16)(pit_hz * ms / 1000);

	/* PIT channel 2, mode 0 (interrupt on terminal count), gate via port 0x61. */
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);

	lapic_write(LAPIC_TIMER_INIT, 0xffffffff);
	u64 t0 = rdtsc();
	u32 a0 = lapic_read(LAPIC_TIMER_CUR);
	outb(0x61, inb(0x61) & ~0x01);   /* restart the count with a gate edge */
	outb(0x61, inb(0x61) | 0x01);
	u64 spins = 0;
	while (!(inb(0x61) & 0x20) && ++spins < 100000000)
		;
	u32 a1 = lapic_read(LAPIC_TIMER_CUR);
	u64 t1 = rdtsc();
	lapic_write(LAPIC_TIMER_INIT, 0);

	apic_ticks_per_ms = (a0 - a1) / ms;
	tsc_per_ms = (t1 - t0) / ms;
	if (!apic_ticks_per_ms)
		apic_ticks_per_ms = 1000;   /* no PIT: assume a 16 MHz timer */
	if (!tsc_per_ms)
		tsc_per_ms = 1000000;
	printk("hv: LAPIC timer %llu ticks/ms (div 16), TSC %llu kHz\n",
	       (unsigned long long)apic_ticks_per_ms, (unsigned long long)tsc_per_ms);
}

void apic_timer_oneshot(u64 us)
{
	u64 ticks = us * apic_ticks_per_ms / 1000;
	if (ticks == 0)
		ticks = 1;
	if (ticks > 0xffffffffu)
		ticks = 0xffffffffu;
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);          /* one-shot, unmasked */
	lapic_write(LAPIC_TIMER_INIT, (u32)ticks);
}

void apic_timer_stop(void)
{
	lapic_write(LAPIC_TIMER_INIT, 0);
}

void apic_timer_interrupt(void)
{
	timer_fired[apic_id() & 0xff] = true;
	lapic_write(LAPIC_EOI, 0);
}

void apic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

bool apic_timer_take(void)
{
	u32 id = apic_id() & 0xff;
	bool f = timer_fired[id];
	timer_fired[id] = false;
	return f;
}

/* Interprocessor interrupts (SDM Vol. 3 10.6.1, xAPIC ICR). */
static void icr_send(u32 apic, u32 lo)
{
	for (int i = 0; i < 1000000 && (lapic_read(LAPIC_ICR_LO) & ICR_PENDING); i++)
		pause();
	lapic_write(LAPIC_ICR_HI, apic << 24);
	lapic_write(LAPIC_ICR_LO, lo);
}

void apic_send_init(u32 apic)
{
	icr_send(apic, 0x4500);            /* INIT, level assert */
}

void apic_send_sipi(u32 apic, u8 page)
{
	icr_send(apic, 0x4600 | page);     /* start-up at page << 12 */
}

void apic_send_ipi(u32 apic, u8 vector)
{
	icr_send(apic, 0x4000 | vector);   /* fixed, assert */
}
