/*
 * hv/linux_load.h - booting a Linux kernel in a VM at creation (hv/linux_load.c).
 */
#ifndef HV_LINUX_LOAD_H
#define HV_LINUX_LOAD_H

#include "bootinfo.h"
#include "linux.h"

struct vm;

/*
 * Probe the kernel, build the ACPI tables, plan the layout and copy
 * everything into vm's RAM; fill *cpu with the boot vCPU's entry state.
 * 0, or -1 with a message in err naming the file, its config line and the
 * reason (the VM then ends; the others run).
 */
int linux_load(struct vm *vm, const struct boot_image *kernel, const struct boot_image *initrd,
	       struct linux_cpu_state *cpu, char *err, size_t errlen);

#endif
