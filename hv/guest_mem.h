/*
 * hv/guest_mem.h - reading a guest's memory the way its CPU would see it:
 * linear address through the guest's own page tables (if paging is on),
 * then guest-physical through the VM's memory bounds. Used to fetch the
 * bytes of an exiting instruction when the hardware does not say how long
 * it was (SVM without NRIPS).
 */
#ifndef HV_GUEST_MEM_H
#define HV_GUEST_MEM_H

#include "vm.h"

struct guest_paging {
	u64 cr0, cr3, cr4, efer;
};

/* Translate a linear address; false if unmapped or outside guest RAM. */
bool guest_linear_to_phys(const struct vm *vm, const struct guest_paging *g, u64 la, u64 *gpa);

/* Copy up to n bytes at linear address la; returns how many were readable. */
size_t guest_read_linear(const struct vm *vm, const struct guest_paging *g, u64 la, void *buf, size_t n);

#endif
