/*
 * hv/vm.h - creating VMs from the config and ending them (vm.c). The
 * objects themselves: core.h.
 */
#ifndef HV_VM_H
#define HV_VM_H

#include "core.h"

/* End a VM (all its vCPUs) with a result and a printf-style reason. */
void vm_end(struct vm *vm, enum vm_result r, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A vCPU did something hv does not allow: end its VM as a fault, dump state. */
void vm_fail(struct vcpu *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* End vm with result halt if every vCPU is halted or stopped. */
void vm_check_halted(struct vm *vm);
void vms_create(void);

#endif
