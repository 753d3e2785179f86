/*
 * hv/guest_layout.h - where things sit in a guest's physical memory at
 * start. docs/guest-abi.md is the user-facing statement of the same facts.
 */
#ifndef HV_GUEST_LAYOUT_H
#define HV_GUEST_LAYOUT_H

#include "config.h"

/* Long mode: hv builds a GDT and identity page tables in low memory. */
#define GUEST_GDT 0x1000
#define GUEST_PML4 0x2000
#define GUEST_PDPT 0x3000
#define GUEST_PD 0x4000        /* one PD maps 1 GiB = CFG_MAX_MEMORY */
#define GUEST_LONG_LOAD 0x100000
#define GUEST_LONG_STACK 0x4000 /* per vCPU, from the top of memory down */

/* Real mode: a boot-sector-like start. */
#define GUEST_REAL_LOAD 0x7c00
#define GUEST_REAL_END 0xa0000
#define GUEST_REAL_STACK 0x100  /* per vCPU, below 0x7c00 */

_Static_assert(CFG_MAX_MEMORY <= GiB(1), "one guest PD must cover the largest VM");
_Static_assert(CFG_MAX_VCPUS * GUEST_REAL_STACK < GUEST_REAL_LOAD - 0x500, "real-mode stacks fit");

static inline u64 guest_load_addr(const struct vm_config *vm)
{
	return vm->mode == GUEST_MODE_REAL ? GUEST_REAL_LOAD : GUEST_LONG_LOAD;
}

/* Largest image that fits: below the stacks in long mode, below 640K in real mode. */
static inline u64 guest_image_max(const struct vm_config *vm)
{
	if (vm_is_linux(vm))
		return vm->memory;     /* a kernel or initrd: hv/linux_load.c checks the fit */
	if (vm->mode == GUEST_MODE_REAL)
		return GUEST_REAL_END - GUEST_REAL_LOAD;
	u64 stacks = (u64)vm->vcpus * GUEST_LONG_STACK;
	u64 room = vm->memory - GUEST_LONG_LOAD - stacks;
	return room < CFG_MAX_IMAGE_SIZE ? room : CFG_MAX_IMAGE_SIZE;
}

#endif
