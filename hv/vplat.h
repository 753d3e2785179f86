/*
 * hv/vplat.h - a VM's virtual PC platform: the device models of hv/dev/
 * on the VM's port bus, and the console that the UART's output feeds.
 *
 * The exit path calls vplat_port_io for every non-string IN/OUT; nothing
 * here touches the VMCB/VMCS. docs/platform.md lists what a guest sees.
 */
#ifndef HV_VPLAT_H
#define HV_VPLAT_H

#include "vplat_state.h"

struct vm;
struct vcpu;

/* The RTC's time at VM start (2026-01-01 00:00:00 UTC, seconds since
 * 1970): every VM starts on the same date, so runs are reproducible. */
#define VPLAT_RTC_START 1767225600ull

/* Register the devices on vm's bus. Returns false (message printed) if a
 * range could not be registered: a bug in the platform layout. */
void vplat_init(struct vm *vm);
/* Quick answer for the exit path: true if no device is near `port`, so the
 * access reads all ones and writes go nowhere. */
static inline bool vplat_port_unclaimed(const struct vplat *pl, u16 port, unsigned size)
{
	return !bus_io_block_used(&pl->bus, port) && !bus_io_block_used(&pl->bus, (u16)(port + size - 1));
}
/* One IN or OUT of `size` bytes at `port` from v. Multi-byte accesses reach
 * the byte-wide devices one byte per port, as on the ISA bus; unclaimed
 * bytes read all ones. Returns the reset the access requested, if any. */
enum reset_reason vplat_port_io(struct vcpu *v, u16 port, unsigned size, bool write, u64 *val);
/* The local APIC of a new vCPU (power-up state, xAPIC mode). */
void vplat_vcpu_init(struct vcpu *v);
/* Is `msr` one of the local APIC's (IA32_APIC_BASE, x2APIC 0x800-0x8FF,
 * IA32_TSC_DEADLINE)? */
static inline bool vplat_is_lapic_msr(u32 msr)
{
	return msr == MSR_IA32_APIC_BASE || msr == MSR_IA32_TSC_DEADLINE ||
	       (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST);
}
/* RDMSR/WRMSR of a local APIC MSR by v: LAPIC_OK or LAPIC_GP. IPIs it sends
 * are routed to the VM's vCPUs, waking halted ones and kicking running ones. */
int vplat_lapic_msr(struct vcpu *v, u32 msr, bool write, u64 *val);
/* The exit path's straight way for the x2APIC writes of an interrupt's
 * round trip (EOI, ICR, SELF IPI), none of which moves the timer: the write
 * as vplat_lapic_msr does it, then v's interrupt delivered (vplat_deliver)
 * under the same lock. false, with nothing done, if the write is not one
 * the x2APIC accepts now (not in x2APIC mode, a #GP): the general path
 * takes it. */
bool vplat_x2apic_fast_write(struct vcpu *v, u32 msr, u64 val);
static inline bool vplat_x2apic_fast_msr(u32 msr)
{
	return msr == MSR_X2APIC_FIRST + (LAPIC_EOI >> 4) || msr == MSR_X2APIC_FIRST + (LAPIC_ICR_LO >> 4) ||
	       msr == MSR_X2APIC_FIRST + (LAPIC_SELF_IPI >> 4);
}
/* A WRMSR the platform finishes by itself, v running on p: an x2APIC EOI,
 * ICR or SELF IPI write the x2APIC accepts (the interrupt it lets through
 * already delivered), or IA32_TSC_DEADLINE (hv's timer moved if it comes
 * first). The exit handler's straight path and the backends' fast paths
 * (docs/benchmarks.md, sixth pass). False: none of those, or one the
 * x2APIC refuses; then nothing changed, and the exit handler's general
 * path raises the #GP. */
bool vplat_fast_eoi(struct vcpu *v, u64 val);
bool vplat_fast_tsc_deadline(struct pcpu *p, struct vcpu *v, u64 val);
static inline bool vplat_fast_wrmsr(struct pcpu *p, struct vcpu *v, u32 msr, u64 val)
{
	if (msr == MSR_X2APIC_FIRST + (LAPIC_EOI >> 4))      /* a tick's EOI, the commonest */
		return vplat_fast_eoi(v, val);
	if (msr == MSR_IA32_TSC_DEADLINE)
		return vplat_fast_tsc_deadline(p, v, val);
	return vplat_x2apic_fast_msr(msr) && vplat_x2apic_fast_write(v, msr, val);
}
/* Has v's LAPIC a vector the priority rules let through? */
bool vplat_irq_pending(struct vcpu *v);
/* Called after the exits that can make a guest interrupt deliverable (an
 * APIC MSR access, a host interrupt that may be an IPI's kick, an interrupt
 * window, HLT) and when v is dispatched, so nothing is added to other
 * exits: inject its LAPIC's highest deliverable vector if the
 * guest can take it, else ask for an interrupt window (vendor ops).
 * true if it injected one. */
bool vplat_deliver(struct vcpu *v);
/* v took an INIT while it ran (init_req) and is being switched out, runs
 * nowhere: put it into wait-for-SIPI (LAPIC INIT state; a SIPI that came
 * meanwhile starts it at once: true). Called by the scheduler, no lock
 * held; if false the caller checks whether the VM can still run. */
bool vplat_init_ap(struct vcpu *v);
/* v halted with IF=1 and may have an interrupt: make it runnable again. */
void vplat_wake(struct vcpu *v);
/* Fire v's APIC timer if it is due at `now` (guest TSC); true if that left
 * an interrupt to deliver. */
bool vplat_timer_fire(struct vcpu *v, u64 now);
/* The same for v running on this pCPU, and what is deliverable to it then
 * delivered, under one lock (the backends' fast path of a tick). */
void vplat_timer_tick(struct vcpu *v, u64 now);
/* Could this APIC's timer wake its halted vCPU (armed, unmasked)? */
static inline bool vplat_timer_can_wake(const struct lapic *l)
{
	return l->timer_deadline && !(l->lvt[LVT_TIMER] & LVT_MASKED);
}

/*
 * The nested-page-fault hook for device pages (issue 11): EXIT_NPF on an
 * address vplat_mmio_device names decodes the faulting instruction
 * (hv/mmio.c, through vcpu_mmio_exit and device_lookup in hv/vcpu.c) and
 * calls vplat_mmio_access for its access.
 */
/* Which device decodes guest-physical gpa for v (its xAPIC page while in
 * xAPIC mode, the IOAPIC), or NULL. */
const char *vplat_mmio_device(struct vcpu *v, u64 gpa);
/* One MMIO access of `size` bytes at gpa by v: 0, or -1 if no device
 * decodes it or the access is not one the device supports (the xAPIC
 * registers take aligned 32-bit accesses, SDM 11.4.1; so does the IOAPIC). */
int vplat_mmio_access(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val);
/* (The caller then delivers what the access may have made pending, like
 * vcpu.c's irq_check after an APIC MSR: an EOI, a TPR write, an IPI.) */

/* console_input: move what hv's COM1 received into the named VM's COM1
 * (any pCPU, no lock held; cheap when nothing came). */
void vplat_input_poll_now(void);
extern struct vm *vplat_console_vm;      /* console_input's VM, NULL: none */
static inline void vplat_input_poll(void)
{
	if (vplat_console_vm)
		vplat_input_poll_now();
}
/* Is vm the one that gets hv's serial input (so a halted vCPU of it with
 * IF=1 may still be woken by a keystroke)? */
bool vplat_input_vm(const struct vm *vm);
/* Bytes hv's COM1 received for it so far (the report). */
u64 vplat_input_bytes(void);

/* Print v's pending console line (the UART's output is line-buffered per
 * vCPU and printed as "[vm.vcpu] text"). */
void console_flush(struct vcpu *v);

#endif
