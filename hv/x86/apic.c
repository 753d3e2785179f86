/*
 * hv/x86/apic.c - the host's local APIC (SDM Vol. 3 ch. 11 "Advanced
 * Programmable Interrupt Controller"), its timer, the clocks that measure
 * it, and the legacy 8259 PIC, which hv masks completely.
 *
 * Two register interfaces (SDM Vol. 3 11.12 "Extended XAPIC (x2APIC)"):
 * xAPIC, memory-mapped at IA32_APIC_BASE; x2APIC, MSRs 0x800 + offset/16.
 * hv uses whichever mode the firmware left (IA32_APIC_BASE.EXTD, bit 10):
 * firmware on current servers often hands over x2APIC mode, sometimes
 * locked (IA32_XAPIC_DISABLE_STATUS), and then the MMIO page does not work.
 *
 * Clocks (apic_calibrate): the TSC rate comes from CPUID 0x15 (with 0x16
 * for a missing crystal value) where the CPU enumerates it, else from a
 * measurement against the ACPI PM timer, the HPET or, last, PIT channel 2
 * (which some current platforms no longer clock). The LAPIC timer is then
 * measured against the TSC. The boot log names the source and the rates.
 */
#include "../hv.h"
#include "acpi_parse.h"
#include "apic.h"
#include "cpu.h"
#include "smp.h"
#include "trap.h"

#define APIC_BASE_EXTD BIT(10)         /* x2APIC mode (SDM Vol. 3 11.12.1) */
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
#define X2APIC_MSR(reg) (0x800u + ((reg) >> 4))   /* SDM Vol. 3 table 11-6 */
#define X2APIC_ICR 0x830u                         /* one 64-bit register */
#define MSR_ARCH_CAPABILITIES 0x10a
#define ARCH_CAP_XAPIC_DISABLE BIT(21)            /* IA32_XAPIC_DISABLE_STATUS exists */
#define MSR_XAPIC_DISABLE_STATUS 0xbd
#define LEGACY_XAPIC_DISABLED BIT(0)              /* x2APIC locked on */

static volatile u8 *lapic;
static bool x2apic;                /* every CPU runs in the mode the boot CPU found */
static bool x2apic_locked;
static u64 apic_ticks_per_ms;
/* LAPIC timer ticks per TSC tick in 32.32 fixed point, rounded up (set
 * with the clocks), so a delay converted with it never ends early. */
static u64 ticks_per_tsc_fx;
u64 tsc_per_ms;
u64 tsc_per_10us;   /* (the timer paths' slack, divided once) */

static inline u32 lapic_read(u32 reg)
{
	if (x2apic)
		return (u32)rdmsr(X2APIC_MSR(reg));
	return *(volatile u32 *)(lapic + reg);
}

static inline void lapic_write(u32 reg, u32 v)
{
	if (x2apic)
		wrmsr(X2APIC_MSR(reg), v);
	else
		*(volatile u32 *)(lapic + reg) = v;
}

static inline u32 read_apic_id(void)
{
	if (x2apic)
		return (u32)rdmsr(X2APIC_MSR(LAPIC_ID));   /* all 32 bits (11.12.5.1) */
	return lapic ? *(volatile u32 *)(lapic + LAPIC_ID) >> 24 : 0;
}

u32 apic_id(void)
{
	return read_apic_id();
}

bool apic_x2apic_mode(void)
{
	return x2apic;
}

/* Called once on the boot CPU before anything else touches the LAPIC. */
static void detect_mode(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	x2apic = (rdmsr(MSR_APIC_BASE) & (APIC_BASE_ENABLE | APIC_BASE_EXTD)) ==
		 (APIC_BASE_ENABLE | APIC_BASE_EXTD);
	/* Locked x2APIC: ARCH_CAPABILITIES[21] says IA32_XAPIC_DISABLE_STATUS
	 * exists; its bit 0 says xAPIC mode cannot be entered (SDM Vol. 4 2.1,
	 * "IA32_XAPIC_DISABLE_STATUS"). */
	if (cpuid(0, 0).eax >= 7 && (cpuid(7, 0).edx & BIT(29)) &&
	    (rdmsr(MSR_ARCH_CAPABILITIES) & ARCH_CAP_XAPIC_DISABLE))
		x2apic_locked = rdmsr(MSR_XAPIC_DISABLE_STATUS) & LEGACY_XAPIC_DISABLED;
}

struct interrupt_frame;
static void eoi_isr_xapic(struct interrupt_frame *f);
static void eoi_isr_x2apic(struct interrupt_frame *f);

void apic_init_cpu(void)
{
	/* 8259: mask every line on both controllers so no stray IRQ arrives. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);

	detect_mode();
	/* hv's timer and wake IPI: the lean EOI-only handler of this mode */
	u64 isr = x2apic ? (u64)eoi_isr_x2apic : (u64)eoi_isr_xapic;
	desc_set_gate(VEC_TIMER, isr);
	desc_set_gate(VEC_WAKE, isr);
	u64 base = rdmsr(MSR_APIC_BASE);
	if (x2apic) {
		/* An AP may come out of INIT-SIPI in xAPIC mode: enable, then EXTD
		 * (the transition order of SDM Vol. 3 11.12.5, figure 11-27). */
		if (!(base & APIC_BASE_ENABLE))
			wrmsr(MSR_APIC_BASE, base |= APIC_BASE_ENABLE);
		if (!(base & APIC_BASE_EXTD))
			wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
	} else {
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
		lapic = pa_to_va(base & ~0xfffull);
	}
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);   /* software enable */
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	/* Stopped (a count the firmware left running is cancelled: SDM Vol. 3A
	 * 11.5.4, an initial count of 0 stops the timer), then one-shot and
	 * unmasked for good: arming it is then one write of the initial count
	 * (apic_timer_oneshot_ticks). The calibration's count of 2^32 - 1
	 * cannot run out within its 5 ms windows. */
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);
}

void apic_report_mode(void)
{
	printk("hv: host LAPIC in %s mode%s, boot CPU APIC id %u\n", x2apic ? "x2APIC" : "xAPIC",
	       x2apic_locked ? " (locked by the firmware)" : "", apic_id());
	printk("kv host.apic=%s\n", x2apic ? "x2apic" : "xapic");
	printk("kv host.apic_locked=%d\n", x2apic_locked);
}

/* ---- clocks ---------------------------------------------------------------- */

#define PM_TIMER_HZ 3579545ull          /* ACPI 6.x 4.8.3.3 "Power Management Timer" */
#define PIT_HZ 1193182ull
#define CAL_MS 10
#define SPIN_MAX 50000000ull           /* bound every wait: a dead clock must not hang */

/* A reference clock: read() returns a free-running count of hz per second,
 * mask wide (wraps are handled once per read). */
struct refclock {
	u64 hz, mask;
	u64 (*read)(void);
	u16 port;
	volatile u8 *mmio;
};
static struct refclock ref;

static u64 pm_read(void) { return inl(ref.port); }
static u64 hpet_read(void) { return *(volatile u64 *)(ref.mmio + 0xf0); }   /* main counter */

/*
 * Count TSC ticks over ms milliseconds of the reference clock; 0 when the
 * clock does not advance (no such device, a dead timer).
 */
static u64 tsc_over_ref(unsigned ms)
{
	u64 want = ref.hz * ms / 1000, last = ref.read() & ref.mask, done = 0, spins = 0;
	/* start on an edge, so partial ticks do not count */
	while ((ref.read() & ref.mask) == last && ++spins < SPIN_MAX)
		pause();
	last = ref.read() & ref.mask;
	u64 t0 = rdtsc();
	while (done < want && ++spins < SPIN_MAX) {
		u64 now = ref.read() & ref.mask;
		done += (now - last) & ref.mask;
		last = now;
	}
	u64 t1 = rdtsc();
	if (done < want)
		return 0;
	return (t1 - t0) * want / done;
}

/* PIT channel 2 one-shot, gated by port 0x61 (no interrupt needed). */
static u64 tsc_over_pit(unsigned ms)
{
	u16 count = (u16)(PIT_HZ * ms / 1000);
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);                 /* channel 2, lo/hi, mode 0 */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	outb(0x61, inb(0x61) & ~0x01);    /* restart the count with a gate edge */
	outb(0x61, inb(0x61) | 0x01);
	u64 t0 = rdtsc(), spins = 0;
	while (!(inb(0x61) & 0x20) && ++spins < SPIN_MAX)
		;
	u64 t1 = rdtsc();
	/* A PIT that is not clocked never raises OUT2 (or raises it at once). */
	if (spins >= SPIN_MAX || spins < 16)
		return 0;
	return (t1 - t0) / ms;
}

/* CPUID 0x15 "Time Stamp Counter and Nominal Core Crystal Clock" (SDM Vol. 2
 * CPUID; Vol. 3 19.7.3): TSC Hz = ECX * EBX / EAX (acpi_parse.c). */
static u64 tsc_khz_from_cpuid(u64 *crystal_hz)
{
	u32 max = cpuid(0, 0).eax;
	if (max < 0x15)
		return 0;
	struct cpuid_regs r = cpuid(0x15, 0);
	u32 base = max >= 0x16 ? cpuid(0x16, 0).eax & 0xffff : 0;
	return cpuid15_tsc_khz(r.eax, r.ebx, r.ecx, base, crystal_hz);
}

/* The PM timer (FADT) as the reference clock. */
static bool find_pm_timer(u64 rsdp, char *what, size_t n)
{
	const void *fadt = acpi_find_table(rsdp, "FACP");
	u16 port;
	bool bits32;
	if (!fadt || !fadt_pm_timer(fadt, &port, &bits32))
		return false;
	ref.port = port;
	ref.hz = PM_TIMER_HZ;
	ref.mask = bits32 ? 0xffffffffull : 0xffffffull;
	ref.read = pm_read;
	ksnprintf(what, n, "ACPI PM timer at port 0x%x, %u bits", port, bits32 ? 32 : 24);
	return true;
}

/* The HPET (IA-PC HPET spec 1.0a, 2.3: GCAP_ID at 0 with the period in fs in
 * bits 63:32 and COUNT_SIZE_CAP in bit 13; GEN_CONF at 0x10; counter 0xF0). */
static bool find_hpet(u64 rsdp, char *what, size_t n)
{
	const void *t = acpi_find_table(rsdp, "HPET");
	u64 base;
	if (!t || !hpet_table_base(t, &base) || base >= GiB(4))
		return false;
	ref.mmio = pa_to_va(base);
	u64 cap = *(volatile u64 *)ref.mmio;
	u64 period = cap >> 32;
	if (!period || period > 100000000ull)    /* the spec's upper bound: 100 ns */
		return false;
	*(volatile u64 *)(ref.mmio + 0x10) |= 1;   /* GEN_CONF.ENABLE_CNF: count */
	ref.hz = 1000000000000000ull / period;
	ref.mask = (cap & BIT(13)) ? ~0ull : 0xffffffffull;
	ref.read = hpet_read;
	ksnprintf(what, n, "HPET at 0x%llx, %llu Hz", (unsigned long long)base,
		  (unsigned long long)ref.hz);
	return true;
}

static const char *const clock_names[] = { "auto", "cpuid", "acpi-pm", "hpet", "pit" };

/* Try one source; on success set tsc_per_ms and describe it. */
static bool try_source(enum clock_source s, u64 rsdp, char *what, size_t n)
{
	u64 crystal = 0, khz;
	switch (s) {
	case CLOCK_CPUID:
		khz = tsc_khz_from_cpuid(&crystal);
		if (!khz)
			return false;
		tsc_per_ms = khz;
		ksnprintf(what, n, "CPUID 0x15 (crystal %llu Hz, ratio %u/%u)", (unsigned long long)crystal,
			  cpuid(0x15, 0).ebx, cpuid(0x15, 0).eax);
		return true;
	case CLOCK_ACPI_PM:
		if (!find_pm_timer(rsdp, what, n))
			return false;
		tsc_per_ms = tsc_over_ref(CAL_MS) / CAL_MS;
		return tsc_per_ms != 0;
	case CLOCK_HPET:
		if (!find_hpet(rsdp, what, n))
			return false;
		tsc_per_ms = tsc_over_ref(CAL_MS) / CAL_MS;
		return tsc_per_ms != 0;
	case CLOCK_PIT:
		tsc_per_ms = tsc_over_pit(CAL_MS);
		ksnprintf(what, n, "PIT channel 2");
		return tsc_per_ms != 0;
	case CLOCK_AUTO:
		break;
	}
	return false;
}

/* The LAPIC timer (divide by 16) against the TSC, whose rate is now known:
 * the least of three 5 ms windows (a host that deschedules an emulator
 * mid-window only ever adds ticks). */
static u64 lapic_per_ms_over_tsc(void)
{
	u64 best = 0;
	for (int i = 0; i < 3; i++) {
		u64 window = tsc_per_ms * 5;
		lapic_write(LAPIC_TIMER_INIT, 0xffffffff);
		u32 a0 = lapic_read(LAPIC_TIMER_CUR);
		u64 t0 = rdtsc();
		while (rdtsc() - t0 < window)
			pause();
		u32 a1 = lapic_read(LAPIC_TIMER_CUR);
		lapic_write(LAPIC_TIMER_INIT, 0);
		u64 r = (a0 - a1) / 5;
		if (r && (!best || r < best))
			best = r;
	}
	return best;
}

void apic_calibrate(enum clock_source want, u64 rsdp)
{
	static const enum clock_source order[] = { CLOCK_CPUID, CLOCK_ACPI_PM, CLOCK_HPET, CLOCK_PIT };
	enum clock_source used = CLOCK_AUTO;
	char what[96] = "";

	if (want != CLOCK_AUTO) {
		if (try_source(want, rsdp, what, sizeof(what)))
			used = want;
		else
			printk("hv: note: clock = %s asked, but that clock is absent or does not count; "
			       "trying the others\n", clock_names[want]);
	}
	for (unsigned i = 0; used == CLOCK_AUTO && i < ARRAY_SIZE(order); i++)
		if (order[i] != want && try_source(order[i], rsdp, what, sizeof(what)))
			used = order[i];
	if (used == CLOCK_AUTO) {
		tsc_per_ms = 1000000;
		ksnprintf(what, sizeof(what), "nothing (no clock counted): assuming 1 GHz");
	}

	/*
	 * CPUID 0x15 is what the CPU claims. Unless the config insists on it,
	 * check the claim against a clock that counts (an emulator may claim a
	 * rate its TSC does not run at: Bochs 2.7 icelake says 1.4976 GHz and
	 * counts about its ips setting); more than 2% apart, the measurement wins.
	 */
	if (used == CLOCK_CPUID && want != CLOCK_CPUID) {
		u64 claimed = tsc_per_ms;
		char what2[96];
		for (unsigned i = 1; i < ARRAY_SIZE(order); i++) {
			if (!try_source(order[i], rsdp, what2, sizeof(what2)))
				continue;
			u64 diff = tsc_per_ms > claimed ? tsc_per_ms - claimed : claimed - tsc_per_ms;
			printk("hv: clock: CPUID 0x15 says TSC %llu kHz; %s measures %llu kHz\n",
			       (unsigned long long)claimed, what2, (unsigned long long)tsc_per_ms);
			printk("kv timer.cpuid_khz=%llu\n", (unsigned long long)claimed);
			if (diff * 50 > claimed) {
				printk("hv: clock: they differ by more than 2%%: using the measurement\n");
				used = order[i];
				memcpy(what, what2, sizeof(what));
			} else {
				tsc_per_ms = claimed;
			}
			break;
		}
		if (used == CLOCK_CPUID)
			tsc_per_ms = claimed;
	}

	apic_ticks_per_ms = lapic_per_ms_over_tsc();
	if (!apic_ticks_per_ms)
		apic_ticks_per_ms = 1000;   /* a LAPIC timer that does not count: guess 16 MHz */
	/* (below 2^32: the LAPIC timer never counts faster than the TSC here;
	 * if it did, the product in apic_timer_oneshot_tsc could overflow) */
	tsc_per_10us = tsc_per_ms / 100;
	ticks_per_tsc_fx = ((apic_ticks_per_ms << 32) + tsc_per_ms - 1) / tsc_per_ms;
	if (ticks_per_tsc_fx > 0xffffffffull)
		ticks_per_tsc_fx = 0xffffffffull;

	printk("hv: clock: TSC %llu kHz from %s; LAPIC timer %llu ticks/ms (div 16), measured "
	       "against the TSC\n", (unsigned long long)tsc_per_ms, what,
	       (unsigned long long)apic_ticks_per_ms);
	printk("kv timer.source=%s\n", used == CLOCK_AUTO ? "none" : clock_names[used]);
	printk("kv timer.tsc_khz=%llu\n", (unsigned long long)tsc_per_ms);
	printk("kv timer.lapic_per_ms=%llu\n", (unsigned long long)apic_ticks_per_ms);
}

/* ---- timer and interrupts -------------------------------------------------- */

static inline u32 ticks_of(u64 tsc)
{
	/* The factor is below 2^32, so neither product overflows; +1: the
	 * calibration's own error must not make it early either. A delay
	 * below 2^32 TSC ticks (a timer tick's) needs the one product. */
	if (!(tsc >> 32))
		return (u32)((tsc * ticks_per_tsc_fx + 0xffffffffull) >> 32) + 1;
	u64 ticks = (tsc >> 32) * ticks_per_tsc_fx +
		    (((tsc & 0xffffffffull) * ticks_per_tsc_fx + 0xffffffffull) >> 32) + 1;
	return ticks > 0xffffffffull ? 0xffffffffu : (u32)ticks;
}

u32 apic_timer_ticks(u64 tsc)
{
	return ticks_of(tsc);
}

/* (The LVT is one-shot and unmasked since apic_init_cpu.) */
void apic_timer_oneshot_ticks(u32 ticks)
{
	lapic_write(LAPIC_TIMER_INIT, ticks);
}

void apic_timer_oneshot_tsc(u64 tsc)
{
	lapic_write(LAPIC_TIMER_INIT, ticks_of(tsc));
}

/*
 * hv's host interrupts, straight from the IDT (apic_init_cpu): its timer (one per
 * guest timer tick or slice) and the wake IPI, taken at intr_exit's sti or
 * the idle loop's HLT. Neither records anything: whoever takes them looks
 * at the TSC (p->timer_at, sched_timer_tick), so the handler only EOIs.
 * GCC's interrupt attribute saves only the registers the body uses, where
 * entry.S's common path saves all fifteen and calls C (docs/benchmarks.md,
 * sixth pass).
 */

/* One for each mode, so neither tests the mode nor saves the other's
 * registers (xAPIC: one store; x2APIC: one WRMSR). */
__attribute__((interrupt)) static void eoi_isr_xapic(struct interrupt_frame *f)
{
	(void)f;
	*(volatile u32 *)(lapic + LAPIC_EOI) = 0;
}

__attribute__((interrupt)) static void eoi_isr_x2apic(struct interrupt_frame *f)
{
	(void)f;
	wrmsr(X2APIC_MSR(LAPIC_EOI), 0);
}

/*
 * Interprocessor interrupts. xAPIC (SDM Vol. 3 11.6.1): destination in
 * ICR_HI[31:24], wait for the delivery-status bit. x2APIC (11.12.9): one
 * 64-bit WRMSR to 0x830, destination in bits 63:32, no delivery status.
 */
static void icr_send(u32 apic, u32 lo)
{
	if (x2apic) {
		wrmsr(X2APIC_ICR, ((u64)apic << 32) | lo);
		return;
	}
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
