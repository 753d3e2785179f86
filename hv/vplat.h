/*
 * hv/vplat.h - a VM's virtual PC platform: the device models of hv/dev/
 * on the VM's port bus, and the console that the UART's output feeds.
 *
 * The exit path calls vplat_port_io for every non-string IN/OUT; nothing
 * here touches the VMCB/VMCS. docs/platform.md lists what a guest sees.
 */
#ifndef HV_VPLAT_H
#define HV_VPLAT_H

#include "dev/bus.h"
#include "dev/cmos.h"
#include "dev/pic.h"
#include "dev/reset.h"
#include "dev/uart16550.h"
#include "x86/spinlock.h"

struct vm;
struct vcpu;

/* The RTC's time at VM start (2026-01-01 00:00:00 UTC, seconds since
 * 1970): every VM starts on the same date, so runs are reproducible. */
#define VPLAT_RTC_START 1767225600ull

struct vplat {
	struct spinlock lock;     /* every device below and io_vcpu */
	struct bus bus;
	struct uart16550 com1;
	struct cmos cmos;
	struct pic_absent pic;
	struct reset_dev reset;
	struct vcpu *io_vcpu;     /* whose access is being handled (lock held) */
	u64 start_tsc;            /* the VM's creation, for the RTC */
};

/* Register the devices on vm's bus. Returns false (message printed) if a
 * range could not be registered: a bug in the platform layout. */
void vplat_init(struct vm *vm);
/* One IN or OUT of `size` bytes at `port` from v. Multi-byte accesses reach
 * the byte-wide devices one byte per port, as on the ISA bus; unclaimed
 * bytes read all ones. Returns the reset the access requested, if any. */
enum reset_reason vplat_port_io(struct vcpu *v, u16 port, unsigned size, bool write, u64 *val);
/* Print v's pending console line (the UART's output is line-buffered per
 * vCPU and printed as "[vm.vcpu] text"). */
void console_flush(struct vcpu *v);

#endif
