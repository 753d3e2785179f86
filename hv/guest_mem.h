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

/* The paging-structure entries one translation read, to re-check later. */
struct guest_walk {
	unsigned n;
	u64 gpa[4], val[4];
	u8 size[4];
};

/* Translate a linear address; false if unmapped or outside guest RAM. */
bool guest_linear_to_phys(const struct vm *vm, const struct guest_paging *g, u64 la, u64 *gpa);
/* The same, recording the entries read into *w (w may be NULL). */
bool guest_walk(const struct vm *vm, const struct guest_paging *g, u64 la, u64 *gpa, struct guest_walk *w);
/* Do the entries recorded in *w still hold the same values? */
bool guest_walk_unchanged(const struct vm *vm, const struct guest_walk *w);

/* Copy up to n bytes at linear address la; returns how many were readable. */
size_t guest_read_linear(const struct vm *vm, const struct guest_paging *g, u64 la, void *buf, size_t n);

#endif
