/*
 * hv/vplat.c - the virtual PC platform of a VM: devices on the port bus.
 *
 * Ports (docs/platform.md): the 8259 pair and its ELCR, read back absent
 * (hv/dev/pic.c); the 8042 data/status ports and port 0x92 (hv/dev/reset.c);
 * CMOS/RTC at 0x70/0x71 (hv/dev/cmos.c); the 8254 PIT at 0x40-0x43 with
 * its gate and OUT2 in port 0x61, no IRQ 0 (hv/dev/pit.c); COM1, a 16550A at 0x3F8
 * (hv/dev/uart16550.c); the reset control register 0xCF9. Everything else
 * is an empty bus. COM1's interrupt line is IOAPIC pin 4; the VM the
 * config's `console_input` names gets what hv's own COM1 receives.
 */
#include "core.h"
#include "hv.h"
#include "trace.h"
#include "vendor.h"
#include "vplat.h"
#include "x86/apic.h"
#include "x86/cpu.h"
#include "x86/trap.h"

/* ---- console: the UART's transmit side ---- */

void console_flush(struct vcpu *v)
{
	printk("[%s.%u] %.*s\n", v->vm->name, v->id, (int)v->line_len, v->line);
	v->line_len = 0;
}

static void console_byte(struct vcpu *v, u8 c)
{
	if (c == '\r')
		return;
	if (c == '\n') {
		console_flush(v);
		return;
	}
	v->line[v->line_len++] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
	if (v->line_len == CONSOLE_LINE_MAX)
		console_flush(v);
}

static void com1_tx(void *ctx, u8 byte)
{
	struct vplat *pl = ctx;
	console_byte(pl->io_vcpu, byte);
}

/* ---- byte-wide port handlers (the bus calls them with size 1) ---- */

static u64 rtc_now(const struct vplat *pl)
{
	return VPLAT_RTC_START + (rdtsc() - pl->start_tsc) / (tsc_per_ms * 1000);
}

/* The PIT's input clock (PIT_HZ) since the VM was created, from the TSC:
 * whole milliseconds and the rest apart, so no product overflows. */
static u64 pit_now(const struct vplat *pl)
{
	u64 d = rdtsc() - pl->start_tsc;
	return d / tsc_per_ms * PIT_HZ / 1000 + d % tsc_per_ms * PIT_HZ / (tsc_per_ms * 1000);
}

static int com1_read(void *dev, u64 off, unsigned size, u64 *val, u64 now)
{
	(void)size, (void)now;
	*val = uart_read(&((struct vplat *)dev)->com1, (unsigned)off);
	return 0;
}

static int com1_write(void *dev, u64 off, unsigned size, u64 val, u64 now)
{
	(void)size, (void)now;
	uart_write(&((struct vplat *)dev)->com1, (unsigned)off, (u8)val);
	return 0;
}

static int cmos_rd(void *dev, u64 off, unsigned size, u64 *val, u64 now)
{
	(void)size, (void)now;
	struct vplat *pl = dev;
	*val = cmos_read(&pl->cmos, (u16)(CMOS_PORT_INDEX + off), rtc_now(pl));
	return 0;
}

static int cmos_wr(void *dev, u64 off, unsigned size, u64 val, u64 now)
{
	(void)size, (void)now;
	struct vplat *pl = dev;
	cmos_write(&pl->cmos, (u16)(CMOS_PORT_INDEX + off), (u8)val, rtc_now(pl));
	return 0;
}

/* The absent PIC and the reset ports need the port number, not the offset:
 * their ranges are registered with `dev` pointing at a small record. */
struct port_dev {
	struct vplat *pl;
	u16 base;
};

static int pic_rd(void *dev, u64 off, unsigned size, u64 *val, u64 now)
{
	(void)size, (void)now;
	struct port_dev *d = dev;
	*val = pic_read(&d->pl->pic, (u16)(d->base + off));
	return 0;
}

static int pic_wr(void *dev, u64 off, unsigned size, u64 val, u64 now)
{
	(void)size, (void)now;
	struct port_dev *d = dev;
	pic_write(&d->pl->pic, (u16)(d->base + off), (u8)val);
	return 0;
}

static int reset_rd(void *dev, u64 off, unsigned size, u64 *val, u64 now)
{
	(void)size, (void)now;
	struct port_dev *d = dev;
	*val = reset_read(&d->pl->reset, (u16)(d->base + off));
	return 0;
}

static int reset_wr(void *dev, u64 off, unsigned size, u64 val, u64 now)
{
	(void)size, (void)now;
	struct port_dev *d = dev;
	return (int)reset_write(&d->pl->reset, (u16)(d->base + off), (u8)val);
}

static int ioapic_rd(void *dev, u64 off, unsigned size, u64 *val, u64 now)
{
	(void)now;
	if (size != 4 || (off & 3))
		return -1;
	*val = ioapic_mmio_read(&((struct vplat *)dev)->ioapic, (u32)off);
	return 0;
}

static int ioapic_wr(void *dev, u64 off, unsigned size, u64 val, u64 now)
{
	(void)now;
	if (size != 4 || (off & 3))
		return -1;
	ioapic_mmio_write(&((struct vplat *)dev)->ioapic, (u32)off, (u32)val);
	return 0;
}

/* The ACPI sleep registers and PM timer of a Linux VM (hv/dev/acpi_pm.c). */
static int acpi_pm_rd(void *dev, u64 off, unsigned size, u64 *val, u64 now)
{
	(void)size, (void)now;
	struct port_dev *d = dev;
	*val = acpi_pm_read(&d->pl->acpi_pm, (u16)(d->base + off), rdtsc());
	return 0;
}

static int acpi_pm_wr(void *dev, u64 off, unsigned size, u64 val, u64 now)
{
	(void)size, (void)now;
	struct port_dev *d = dev;
	switch (acpi_pm_write(&d->pl->acpi_pm, (u16)(d->base + off), (u8)val)) {
	case ACPI_PM_POWER_OFF: return RESET_ACPI_S5;
	case ACPI_PM_SLEEP: return RESET_ACPI_SLEEP;
	default: return 0;
	}
}

static const struct bus_handler acpi_pm_h = { acpi_pm_rd, acpi_pm_wr };
static const struct bus_handler com1_h = { com1_read, com1_write };
static const struct bus_handler ioapic_h = { ioapic_rd, ioapic_wr };
static const struct bus_handler cmos_h = { cmos_rd, cmos_wr };
static const struct bus_handler pic_h = { pic_rd, pic_wr };
static const struct bus_handler reset_h = { reset_rd, reset_wr };

static int pit_rd(void *dev, u64 off, unsigned size, u64 *val, u64 now)
{
	(void)size, (void)now;
	struct port_dev *d = dev;
	*val = pit_read(&d->pl->pit, (u16)(d->base + off), pit_now(d->pl));
	return 0;
}

static int pit_wr(void *dev, u64 off, unsigned size, u64 val, u64 now)
{
	(void)size, (void)now;
	struct port_dev *d = dev;
	pit_write(&d->pl->pit, (u16)(d->base + off), (u8)val, pit_now(d->pl));
	return 0;
}

static const struct bus_handler pit_h = { pit_rd, pit_wr };

static const struct {
	u16 base, len;
	const char *name;
	const struct bus_handler *h;
} port_layout[] = {
	{ PIC_MASTER_BASE, 2, "8259 master (absent)", &pic_h },
	{ PIC_SLAVE_BASE, 2, "8259 slave (absent)", &pic_h },
	{ PIC_ELCR_BASE, 2, "ELCR (absent)", &pic_h },
	{ RESET_PORT_KBC_DATA, 1, "8042 data", &reset_h },
	{ RESET_PORT_KBC_CMD, 1, "8042 command/status", &reset_h },
	{ RESET_PORT_92, 1, "system control port A", &reset_h },
	{ RESET_PORT_CF9, 1, "reset control", &reset_h },
	{ PIT_PORT_CH0, 4, "8254 PIT", &pit_h },
	{ PIT_PORT_B, 1, "port B (PIT gate 2, OUT2)", &pit_h },
};

struct vm *vplat_console_vm;          /* console_input (below) */

static void com1_irq(void *ctx, bool level)
{
	struct vplat *pl = ctx;
	ioapic_set_irq(&pl->ioapic, UART_COM1_IRQ, level);
}

static void route_msg(struct vm *vm, const struct lapic *src, const struct irq_msg *m);

static void ioapic_deliver(void *ctx, const struct irq_msg *m)
{
	route_msg(ctx, NULL, m);
}

void vplat_init(struct vm *vm)
{
	struct vplat *pl = &vm->plat;
	bus_init(&pl->bus);
	ioapic_init(&pl->ioapic, 0, ioapic_deliver, vm);
	struct uart_ops uops = { .tx = com1_tx, .irq = com1_irq, .ctx = pl };
	uart_init(&pl->com1, &uops);
	u64 below = vm->mem_size < GiB(4) ? vm->mem_size : GiB(4);
	cmos_init(&pl->cmos, below, vm->mem_size - below);
	pic_init(&pl->pic);
	pit_init(&pl->pit);
	reset_init(&pl->reset);
	pl->start_tsc = rdtsc();
	pl->lapics = kzalloc(sizeof(struct lapic *) * vm->nvcpus);

	int rc = bus_register(&pl->bus, BUS_IO, UART_COM1_BASE, 8, "COM1 16550A", &com1_h, pl);
	if (rc == BUS_OK)
		rc = bus_register(&pl->bus, BUS_IO, CMOS_PORT_INDEX, 2, "CMOS/RTC", &cmos_h, pl);
	if (rc == BUS_OK)
		rc = bus_register(&pl->bus, BUS_MMIO, IOAPIC_BASE_DEFAULT, IOAPIC_MMIO_SIZE, "IOAPIC", &ioapic_h, pl);
	for (unsigned i = 0; rc == BUS_OK && i < ARRAY_SIZE(port_layout); i++) {
		struct port_dev *d = kzalloc(sizeof(*d));
		d->pl = pl;
		d->base = port_layout[i].base;
		rc = bus_register(&pl->bus, BUS_IO, port_layout[i].base, port_layout[i].len,
				  port_layout[i].name, port_layout[i].h, d);
	}
	if (vm_is_linux(vm->cfg)) {
		/* The ports the FADT names (hv/acpi.c, hv/linux_load.c). */
		acpi_pm_init(&pl->acpi_pm, pl->start_tsc, tsc_per_ms * 1000);
		static const u16 base[] = { ACPI_PM_SLEEP_CONTROL, ACPI_PM_TIMER };
		static const u16 len[] = { 2, 4 };
		static const char *const name[] = { "ACPI sleep control/status", "ACPI PM timer" };
		for (unsigned i = 0; rc == BUS_OK && i < 2; i++) {
			struct port_dev *d = kzalloc(sizeof(*d));
			d->pl = pl;
			d->base = base[i];
			rc = bus_register(&pl->bus, BUS_IO, base[i], len[i], name[i], &acpi_pm_h, d);
		}
	}
	ASSERT(rc == BUS_OK, "vm %s: %s", vm->name, pl->bus.err);
	if (hv_cfg->console_input == (int)vm->id + 1) {
		serial_input_init();
		vplat_console_vm = vm;
		printk("hv: vm %s: its COM1 receives what hv's COM1 receives (console_input)\n", vm->name);
	}
}

static void wake_all(struct vm *vm, u64 wake);

/*
 * ---- console input: hv's own COM1 into one VM's COM1 (`console_input`) ----
 *
 * hv polls its COM1 (no host serial interrupt) at every tick of a pCPU's
 * timer (sched_timer_tick: at least once a slice on a pCPU that runs a
 * vCPU), in the idle loop (woken at least once a slice) and before each
 * read of the input VM from its COM1 (a guest polling LSR sees a byte at
 * once). Bytes wait in a ring of INPUT_RING bytes and go into the virtual
 * UART's receive FIFO while it has room, so a guest that reads slowly loses
 * nothing that fits the ring; when the ring is full hv leaves the host
 * UART's FIFO alone (on QEMU its serial chardev then holds the bytes back,
 * on a real UART its own FIFO overruns). One pCPU polls at a time (the
 * others skip); the order is input_busy -> pl->lock, never the reverse.
 */
#define INPUT_RING 256
static volatile u32 input_busy;
static u8 input_ring[INPUT_RING];
static unsigned input_head, input_count;
static u64 input_bytes;

void vplat_input_poll_now(void)
{
	struct vm *vm = vplat_console_vm;
	if (!vm || __atomic_exchange_n(&input_busy, 1, __ATOMIC_ACQUIRE))
		return;
	u8 b;
	while (input_count < INPUT_RING && serial_getc(&b)) {
		input_ring[(input_head + input_count) % INPUT_RING] = b;
		input_count++;
		input_bytes++;
	}
	u64 wake = 0;
	if (vm_ended(vm)) {
		input_count = 0;                 /* nobody to read them */
	} else if (input_count) {
		struct vplat *pl = &vm->plat;
		spin_lock(&pl->lock);
		while (input_count && uart_rx_room(&pl->com1)) {
			uart_push_input(&pl->com1, input_ring[input_head]);
			input_head = (input_head + 1) % INPUT_RING;
			input_count--;
		}
		wake = pl->wake;
		pl->wake = 0;
		spin_unlock(&pl->lock);
	}
	__atomic_store_n(&input_busy, 0, __ATOMIC_RELEASE);
	wake_all(vm, wake);
}

bool vplat_input_vm(const struct vm *vm)
{
	return vm == vplat_console_vm;
}

u64 vplat_input_bytes(void)
{
	return input_bytes;
}

enum reset_reason vplat_port_io(struct vcpu *v, u16 port, unsigned size, bool write, u64 *val)
{
	struct vplat *pl = &v->vm->plat;
	enum reset_reason why = RESET_NONE;
	u64 in = 0;
	if (!write && v->vm == vplat_console_vm && (u16)(port - UART_COM1_BASE) < 8)
		vplat_input_poll();            /* what came in, before the guest looks */
	spin_lock(&pl->lock);
	pl->io_vcpu = v;
	for (unsigned i = 0; i < size; i++) {
		u64 b = write ? (*val >> (8 * i)) & 0xff : 0;
		int rc = bus_access(&pl->bus, BUS_IO, (u16)(port + i), 1, write, &b, 0);
		if (rc == BUS_UNCLAIMED && !write)
			b = 0xff;                 /* an empty bus reads all ones */
		else if (rc > 0 && why == RESET_NONE)
			why = (enum reset_reason)rc;
		in |= (b & 0xff) << (8 * i);
	}
	pl->io_vcpu = NULL;
	u64 wake = pl->wake;
	pl->wake = 0;
	spin_unlock(&pl->lock);
	wake_all(v->vm, wake);
	if (!write)
		*val = in;
	return why;
}

/* ---- local APICs: x2APIC MSRs, IPIs, delivery ---- */

static unsigned maxphyaddr;

/* An IPI from v's LAPIC (pl->lock held): route it to the VM's LAPICs and
 * note which vCPUs may now have something to take. */
/* An interrupt message (IPI from `src`, or from the IOAPIC: src NULL) with
 * pl->lock held: route it to the VM's LAPICs and note which vCPUs may now
 * have something to take (woken after the lock is dropped: wake_all). */
static bool start_ap(struct vcpu *t);

static __attribute__((noinline)) void route_general(struct vm *vm, const struct lapic *src, const struct irq_msg *m);

static void route_msg(struct vm *vm, const struct lapic *src, const struct irq_msg *m)
{
	struct vplat *pl = &vm->plat;
	/* A fixed IPI to self or to one physical id: only that vCPU can take
	 * it (what lapic_route would do, without the walk over every APIC:
	 * tests/unit/test_dev_lapic.c checks the two agree). */
	int one = lapic_single_dest(pl->lapics, (int)vm->nvcpus, src, m);
	if (one != LAPIC_DEST_GENERAL) {
		if (one >= 0) {
			struct vcpu *t = vm->vcpus[one];
			lapic_accept_msg(&t->lapic, m);
			if (lapic_pending_vector(&t->lapic) >= 0) {
				t->irq_check = true;
				pl->wake |= 1ull << one;
			}
		}
		return;
	}
	route_general(vm, src, m);
}

static void route_general(struct vm *vm, const struct lapic *src, const struct irq_msg *m)
{
	struct vplat *pl = &vm->plat;
	bool ap_sipi = vm->cfg->ap_sipi;
	lapic_route(pl->lapics, (int)vm->nvcpus, src, m);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *t = vm->vcpus[i];
		if (ap_sipi && (t->lapic.init_pending || t->lapic.sipi_pending)) {
			if (start_ap(t))
				pl->wake |= 1ull << i;
		}
		if (lapic_pending_vector(&t->lapic) >= 0 || t->lapic.nmi_pending) {
			t->irq_check = true;
			pl->wake |= 1ull << i;
		}
	}
}

/*
 * ap_start = sipi (pl->lock held): INIT and start-up IPIs as an AP takes
 * them (SDM Vol. 3A 9.4.4 and 11.6.1). INIT to an AP in wait-for-SIPI
 * resets its LAPIC (11.4.7.3) and it keeps waiting; a SIPI then starts it
 * in real mode at vector << 8 : 0000 (9.4.4.1) with the INIT register
 * state (table 9-1); a SIPI to a vCPU that runs is ignored (the second
 * SIPI of INIT-SIPI-SIPI). INIT to an AP that runs (or halted) puts it
 * back into wait-for-SIPI: it is marked (init_req) and kicked, and the
 * scheduler hands it to vplat_init_ap where it is switched out; a SIPI
 * that comes meanwhile waits for that. INIT to the BSP is dropped (on
 * hardware it restarts at the reset vector, in firmware hv does not
 * have). The caller wakes or kicks a vCPU this returns true for.
 */
static bool start_ap(struct vcpu *t)
{
	struct vm *vm = t->vm;
	struct lapic *l = &t->lapic;
	spin_lock(&vm->lock);
	bool waiting = t->wait_sipi && t->state == VCPU_HALTED;
	bool runs = !waiting && t->state != VCPU_STOPPED;
	bool going = t->init_req;
	if (l->init_pending && runs && t->id != 0 && !going) {
		l->init_pending = false;
		l->sipi_pending = false;      /* one that came before the INIT is void */
		t->init_req = true;
		if (t->state == VCPU_HALTED)
			t->halt_if = true;    /* vplat_wake queues it; dispatch does the INIT */
		spin_unlock(&vm->lock);
		return true;
	}
	spin_unlock(&vm->lock);
	if (going) {
		l->init_pending = false;      /* already on its way; a SIPI waits */
		return false;
	}
	u8 vector;
	if (!lapic_take_start(l, waiting, &vector))
		return false;
	/* It runs nowhere: its control structure is free to change. */
	memset(&t->regs, 0, offsetof(struct guest_regs, spec_ctrl));
	t->regs.rdx = cpuid(1, 0).eax;    /* EDX = processor signature (table 9-1) */
	vendor->start_real(t, (u16)(vector << 8));
	printk("hv: vm %s: vCPU %u started by SIPI at %04x:0000\n", vm->name, t->id, vector << 8);
	spin_lock(&vm->lock);
	t->wait_sipi = false;
	t->halt_if = true;                /* vplat_wake makes it runnable */
	spin_unlock(&vm->lock);
	return true;
}

bool vplat_init_ap(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct vplat *pl = &vm->plat;
	spin_lock(&pl->lock);
	bool sipi = v->lapic.sipi_pending;
	u8 sipi_vector = v->lapic.sipi_vector;
	lapic_init_reset(&v->lapic);      /* INIT state of the LAPIC (11.4.7.3) */
	v->lapic.sipi_pending = sipi;
	v->lapic.sipi_vector = sipi_vector;
	spin_lock(&vm->lock);
	if (v->state == VCPU_RUNNABLE)
		vm->nrunnable--;
	v->state = VCPU_HALTED;
	v->wait_sipi = true;
	v->halt_if = false;
	v->init_req = false;
	v->irq_check = false;
	spin_unlock(&vm->lock);
	if (v->line_len)
		console_flush(v);
	printk("hv: vm %s: vCPU %u took INIT: waits for a SIPI\n", vm->name, v->id);
	bool started = sipi && start_ap(v);
	spin_unlock(&pl->lock);
	if (started)
		vplat_wake(v);
	return started;
}

static void lapic_send(void *ctx, const struct irq_msg *m)
{
	struct vcpu *src = ctx;
	route_msg(src->vm, &src->lapic, m);
}

/* EOI of a level-triggered vector: broadcast to the IOAPIC (SDM 11.8.5). */
static void lapic_eoi_broadcast(void *ctx, u8 vector)
{
	struct vcpu *v = ctx;
	ioapic_eoi(&v->vm->plat.ioapic, vector);
}

static void wake_all(struct vm *vm, u64 wake)
{
	while (wake) {
		unsigned i = (unsigned)__builtin_ctzll(wake);
		wake &= wake - 1;
		vplat_wake(vm->vcpus[i]);
	}
}

void vplat_vcpu_init(struct vcpu *v)
{
	struct lapic_ops ops = { .send = lapic_send, .eoi = lapic_eoi_broadcast, .ctx = v };
	lapic_init(&v->lapic, v->id, v->id == 0, &ops);
	v->vm->plat.lapics[v->id] = &v->lapic;
	if (!maxphyaddr) {
		u32 n = cpuid(0x80000008, 0).eax & 0xff;
		maxphyaddr = n ? n : 36;
	}
}

void vplat_wake(struct vcpu *v)
{
	struct vm *vm = v->vm;
	bool enqueue = false;
	spin_lock(&vm->lock);
	/* An interrupt wakes a vCPU halted with IF=1; an NMI wakes it from
	 * any HLT (not from wait-for-SIPI, which holds NMIs: SDM 9.4.4). */
	if (v->state == VCPU_HALTED && (v->halt_if || (v->lapic.nmi_pending && !v->wait_sipi))) {
		v->state = VCPU_RUNNABLE;
		vm->nrunnable++;
		enqueue = true;
	}
	if (enqueue && v->timer_sleep) {
		__atomic_sub_fetch(&v->timer_sleep->nsleepers, 1, __ATOMIC_RELAXED);
		v->timer_sleep = NULL;
	}
	spin_unlock(&vm->lock);
	if (enqueue) {
		sched_enqueue(v->home, v);
		return;
	}
	/* Running elsewhere: a host IPI makes it exit, and it takes the
	 * interrupt at its next entry (a stale `current` costs a spurious IPI). */
	struct pcpu *p = v->home, *me = this_pcpu();
	if (p && p != me && p->current == v && v->state == VCPU_RUNNABLE)
		apic_send_ipi(p->apic_id, VEC_WAKE);
}

static inline __attribute__((always_inline)) u64 tsc_deadline_write(struct vcpu *v, u64 val)
{
	struct vplat *pl = &v->vm->plat;
	spin_lock(&pl->lock);
	u64 dl = lapic_tsc_deadline_write(&v->lapic, val);
	spin_unlock(&pl->lock);
	return dl;
}

int vplat_lapic_msr(struct vcpu *v, u32 msr, bool write, u64 *val)
{
	struct vplat *pl = &v->vm->plat;
	int rc;
	u64 wake;
	spin_lock(&pl->lock);
	if (msr == MSR_IA32_APIC_BASE) {
		if (write) {
			rc = lapic_base_write(&v->lapic, *val, maxphyaddr);
		} else {
			*val = lapic_base_read(&v->lapic);
			rc = LAPIC_OK;
		}
	} else if (write) {
		rc = lapic_msr_write(&v->lapic, msr, *val, rdtsc());
	} else {
		rc = lapic_msr_read(&v->lapic, msr, val, rdtsc());
	}
	/* EOI, TPR and the like may let a waiting vector through; a self-NMI. */
	if (lapic_pending_vector(&v->lapic) >= 0 || v->lapic.nmi_pending)
		v->irq_check = true;
	wake = pl->wake & ~(1ull << v->id);
	pl->wake = 0;
	spin_unlock(&pl->lock);
	wake_all(v->vm, wake);
	return rc == LAPIC_OK ? LAPIC_OK : LAPIC_GP;
}

static bool deliver_locked(struct vcpu *v);

/* The end of a straight x2APIC write (pl->lock held): the EOI may let a
 * waiting vector through, the IPI may be to self: deliver now, under the
 * same lock (what irq_check would do next); then wake the targets. Without
 * self_changed (an IPI to one other vCPU) v's IRR, ISR and TPR are as they
 * were, and a vector already deliverable to v has set v->irq_check (its
 * sender did, or the write that lowered v's PPR delivered it). */
static inline bool x2apic_write_done(struct vcpu *v, struct vplat *pl, bool self_changed)
{
	u64 wake = pl->wake & ~(1ull << v->id);
	pl->wake = 0;
	if (v->irq_check || (self_changed && lapic_pending_vector(&v->lapic) >= 0))
		deliver_locked(v);
	spin_unlock(&pl->lock);
	if (wake)
		wake_all(v->vm, wake);
	return true;
}

/* An ICR write: a fixed IPI to self or one x2APIC id is the ICR write and
 * the IRR of its target in one step (lapic_x2apic_icr_single), no message
 * built and routed; anything else takes lapic_x2apic_irq_write. */
static __attribute__((noinline)) bool x2apic_icr_write(struct vcpu *v, u64 val)
{
	struct vm *vm = v->vm;
	struct vplat *pl = &vm->plat;
	spin_lock(&pl->lock);
	int one = lapic_x2apic_icr_single(&v->lapic, val, pl->lapics, (int)vm->nvcpus);
	if (one >= 0) {
		struct vcpu *t = vm->vcpus[one];
		if (t == v)
			return x2apic_write_done(v, pl, true);
		if (lapic_pending_vector(&t->lapic) >= 0) {
			t->irq_check = true;
			pl->wake |= 1ull << one;
		}
		return x2apic_write_done(v, pl, false);
	} else if (one == LAPIC_DEST_GENERAL &&
		   lapic_x2apic_irq_write(&v->lapic, MSR_X2APIC_FIRST + (LAPIC_ICR_LO >> 4), val) != LAPIC_OK) {
		spin_unlock(&pl->lock);
		return false;
	}
	return x2apic_write_done(v, pl, true);
}

bool vplat_x2apic_fast_write(struct vcpu *v, u32 msr, u64 val)
{
	if (msr == MSR_X2APIC_FIRST + (LAPIC_ICR_LO >> 4))
		return x2apic_icr_write(v, val);
	struct vplat *pl = &v->vm->plat;
	spin_lock(&pl->lock);
	/* Anything but a write the x2APIC accepts goes the general way (#GP
	 * there; none of these registers changes state before it). */
	if (lapic_x2apic_irq_write(&v->lapic, msr, val) != LAPIC_OK) {
		spin_unlock(&pl->lock);
		return false;
	}
	return x2apic_write_done(v, pl, true);
}

/* vplat_fast_wrmsr's cases (vplat.h), each its own function: no case pays
 * for the registers of another. */
bool vplat_fast_eoi(struct vcpu *v, u64 val)
{
	struct vplat *pl = &v->vm->plat;
	spin_lock(&pl->lock);
	if (lapic_x2apic_eoi(&v->lapic, val) != LAPIC_OK) {
		spin_unlock(&pl->lock);
		return false;                        /* #GP: the exit handler's */
	}
	return x2apic_write_done(v, pl, true);
}

bool vplat_fast_tsc_deadline(struct pcpu *p, struct vcpu *v, u64 val)
{
	pcpu_timer_shorten(p, tsc_deadline_write(v, val));
	return true;
}

bool vplat_timer_fire(struct vcpu *v, u64 now)
{
	struct vplat *pl = &v->vm->plat;
	bool r = false;
	spin_lock(&pl->lock);
	if (lapic_advance(&v->lapic, now) && lapic_pending_vector(&v->lapic) >= 0) {
		v->irq_check = true;
		r = true;
	}
	spin_unlock(&pl->lock);
	return r;
}

void vplat_timer_tick(struct vcpu *v, u64 now)
{
	struct vplat *pl = &v->vm->plat;
	spin_lock(&pl->lock);
	/* The commonest case straight: nothing else pending or in service,
	 * the window open; then the outcome of lapic_advance plus
	 * deliver_locked, without looking for the highest vector twice. */
	int vec = lapic_timer_direct_vector(&v->lapic);
	if (vec >= 0 && !v->lapic.nmi_pending && static_call_vendor_irq_window(v, WINDOW_INTR)) {
		lapic_timer_fire_in_service(&v->lapic, now, (u8)vec);
		static_call_vendor_inject_event(v, false, (u8)vec);
		v->irqs_injected++;
		v->irq_check = false;          /* IRR empty, no NMI */
		spin_unlock(&pl->lock);
		return;
	}
	if (lapic_advance(&v->lapic, now))
		v->irq_check = true;   /* (in vain if the LVT is masked: deliver_locked clears it) */
	if (v->irq_check)
		deliver_locked(v);
	spin_unlock(&pl->lock);
}

bool vplat_irq_pending(struct vcpu *v)
{
	struct vplat *pl = &v->vm->plat;
	spin_lock(&pl->lock);
	bool r = lapic_pending_vector(&v->lapic) >= 0 || v->lapic.nmi_pending;
	spin_unlock(&pl->lock);
	return r;
}

/* vplat_deliver with pl->lock held; true if it injected a vector. */
static bool deliver_locked(struct vcpu *v)
{
	/* An NMI first (SDM 6.9: NMI before maskable interrupts). One that
	 * cannot go in yet (the last NMI's handler has not executed IRET, a
	 * shadow, an event queued) waits for the window the backend opens;
	 * maskable interrupts may still go in meanwhile. */
	if (v->lapic.nmi_pending && static_call_vendor_irq_window(v, WINDOW_NMI)) {
		v->lapic.nmi_pending = false;
		static_call_vendor_inject_event(v, true, 2);
		v->nmis_injected++;
		v->irq_check = true;           /* a vector may wait */
		return true;
	}
	int vec = lapic_pending_vector(&v->lapic);
	if (vec < 0) {
		v->irq_check = v->lapic.nmi_pending;
		static_call_vendor_irq_window(v, WINDOW_NONE);
		return false;
	}
	v->irq_check = true;           /* (the window exit looks again) */
	if (!static_call_vendor_irq_window(v, WINDOW_INTR))
		return false;
	lapic_ack(&v->lapic, (u8)vec);
	static_call_vendor_inject_event(v, false, (u8)vec);
	v->irqs_injected++;
	/* One event per entry: a second deliverable vector (a higher class
	 * than the one now in service) is looked at after the next exit;
	 * only if IRR holds any (irq_check may be true in vain, never false
	 * while one is deliverable), or an NMI waits. */
	v->irq_check = v->lapic.irr_sum != 0 || v->lapic.nmi_pending;
	return true;
}

bool vplat_deliver(struct vcpu *v)
{
	struct vplat *pl = &v->vm->plat;
	spin_lock(&pl->lock);
	bool r = deliver_locked(v);
	spin_unlock(&pl->lock);
	return r;
}

/* ---- MMIO: the nested-page-fault hook ---- */

static bool in_xapic_page(const struct vcpu *v, u64 gpa)
{
	return lapic_mode(&v->lapic) == LAPIC_MODE_XAPIC &&
	       (gpa & ~0xFFFull) == (v->lapic.base & ~0xFFFull & ((1ull << 52) - 1));
}

const char *vplat_mmio_device(struct vcpu *v, u64 gpa)
{
	if (in_xapic_page(v, gpa))
		return "local APIC, xAPIC page";
	const struct bus_range *r = bus_find(&v->vm->plat.bus, BUS_MMIO, gpa);
	return r ? r->name : NULL;
}

int vplat_mmio_access(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val)
{
	struct vplat *pl = &v->vm->plat;
	int rc;
	spin_lock(&pl->lock);
	if (in_xapic_page(v, gpa)) {
		u32 off = (u32)(gpa & 0xFFF), w = (u32)*val;
		if (size != 4 || (off & 3)) {
			rc = -1;
		} else if (write) {
			rc = lapic_mmio_write(&v->lapic, off, w, rdtsc()) == LAPIC_OK ? 0 : -1;
		} else {
			rc = lapic_mmio_read(&v->lapic, off, &w, rdtsc()) == LAPIC_OK ? 0 : -1;
			*val = w;
		}
		if (lapic_pending_vector(&v->lapic) >= 0 || v->lapic.nmi_pending)
			v->irq_check = true;
	} else {
		rc = bus_access(&pl->bus, BUS_MMIO, gpa, size, write, val, rdtsc());
		rc = rc == BUS_OK ? 0 : -1;
	}
	u64 wake = pl->wake & ~(1ull << v->id);
	pl->wake = 0;
	spin_unlock(&pl->lock);
	wake_all(v->vm, wake);
	return rc;
}
