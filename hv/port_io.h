/*
 * hv/port_io.h - a vCPU's port access through its VM's bus (vplat.c), shared
 * by the IN/OUT exit (vcpu.c) and string I/O (emulate.c), inline on the
 * fast path.
 */
#ifndef HV_PORT_IO_H
#define HV_PORT_IO_H

#include "vm.h"
#include "vplat.h"

/* A guest interrupt may be deliverable now: inject it before the next entry. */
static inline void irq_check(struct vcpu *v)
{
	if (v->irq_check)
		vplat_deliver(v);
}

/*
 * One port access through the VM's bus (vplat.c): *val in and out, a reset
 * request ends the VM (true). Most ports have no device near them: no lock,
 * no search (the bus never changes after vplat_init); they read all ones.
 */
static inline bool port_access(struct vcpu *v, u16 port, unsigned size, bool write, u64 *val)
{
	if (vplat_port_unclaimed(&v->vm->plat, port, size)) {
		*val = ~0ull;                  /* an empty bus reads all ones */
		return false;
	}
	enum reset_reason why = vplat_port_io(v, port, size, write, val);
	if (why == RESET_ACPI_S5) {             /* a normal end: the guest powered off */
		vm_end(v->vm, RESULT_EXIT, 0, "vCPU %u: %s", v->id, reset_reason_name(why));
		return true;
	}
	if (why != RESET_NONE) {
		vm_end(v->vm, RESULT_SHUTDOWN, -1, "vCPU %u requested a %s", v->id, reset_reason_name(why));
		return true;
	}
	irq_check(v);                          /* COM1's interrupt, through the IOAPIC */
	return false;
}

#endif
