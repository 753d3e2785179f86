/*
 * hv/vplat_state.h - the state of a VM's virtual PC platform (struct vplat,
 * held by value in struct vm, core.h): the devices of hv/dev/ and its lock.
 * What works on it: vplat.h.
 */
#ifndef HV_VPLAT_STATE_H
#define HV_VPLAT_STATE_H

#include "dev/acpi_pm.h"
#include "dev/bus.h"
#include "dev/cmos.h"
#include "dev/ioapic.h"
#include "dev/lapic.h"
#include "dev/pic.h"
#include "dev/pit.h"
#include "dev/reset.h"
#include "dev/uart16550.h"
#include "x86/spinlock.h"

struct vcpu;

struct vplat {
	struct spinlock lock;     /* every device below and io_vcpu */
	struct bus bus;
	struct uart16550 com1;
	struct cmos cmos;
	struct pit pit;
	struct pic_absent pic;
	struct reset_dev reset;
	struct ioapic ioapic;     /* MMIO 0xFEC00000; COM1's IRQ on pin 4 */
	struct acpi_pm acpi_pm;   /* a Linux VM's sleep registers and PM timer (0x600-0x60B) */
	struct vcpu *io_vcpu;     /* whose access is being handled (lock held) */
	u64 start_tsc;            /* the VM's creation, for the RTC */
	struct lapic **lapics;    /* every vCPU's local APIC, by vCPU id (the
	                           * LAPICs are guarded by `lock` too) */
	u64 wake;                 /* vCPUs an IPI reached (lock held; bit = id) */
};

#endif
