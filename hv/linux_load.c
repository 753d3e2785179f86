/*
 * hv/linux_load.c - a Linux VM at creation: the kernel, initrd, command
 * line, boot information, GDT, page tables and ACPI tables copied into
 * guest RAM as hv/linux.c plans them (docs/platform.md "Linux").
 *
 * Everything Linux-specific in hv is here, in hv/linux.c (the boot
 * protocols, pure) and hv/acpi.c (the tables, pure); the core only calls
 * linux_load() from vms_create() and loads the returned register state
 * into the boot vCPU through vendor->set_boot_state. The APs wait for
 * INIT-SIPI-SIPI (ap_start = sipi, set by the config for a Linux VM); Linux
 * finds them through the MADT.
 */
#include "acpi.h"
#include "bootinfo.h"
#include "core.h"
#include "hv.h"
#include "linux.h"
#include "linux_load.h"
#include "x86/apic.h"

/* Does the command line already say `word...` (at a word start)? */
static bool has_param(const char *cmd, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = cmd; *p; p++)
		if ((p == cmd || p[-1] == ' ') && strncmp(p, word, n) == 0)
			return true;
	return false;
}

static bool contains(const char *s, const char *sub)
{
	size_t n = strlen(sub);
	for (; *s; s++)
		if (strncmp(s, sub, n) == 0)
			return true;
	return false;
}

int linux_load(struct vm *vm, const struct boot_image *kernel, const struct boot_image *initrd,
	       struct linux_cpu_state *cpu, char *err, size_t errlen)
{
	const struct vm_config *c = vm->cfg;
	const char *cfgname = hv_bootinfo->config_name;
	char why[192];
	int n = ksnprintf(err, errlen, "kernel '%s' (%s:%u): ", c->kernel, cfgname, c->kernel_line);
	char *msg = err + n;
	size_t msglen = errlen > (size_t)n ? errlen - (size_t)n : 0;

	const u8 *file = pa_to_va(kernel->pa);
	struct linux_image img;
	if (linux_probe(file, kernel->size, &img, why, sizeof(why))) {
		ksnprintf(msg, msglen, "%s", why);
		return -1;
	}

	/* The platform Linux reads: hardware-reduced ACPI (hv/acpi.h). */
	struct acpi_platform ap = { .base = LINUX_ACPI, .ncpus = vm->nvcpus, .x2apic = false,
				    .ioapic_id = 0, .com1 = true, .rtc = true, .reset = true,
				    .sleep = true, .pm_timer = true };
	struct acpi_layout al;
	u8 *acpi = guest_phys_ptr(vm, LINUX_ACPI);
	if (acpi_build(&ap, acpi, LINUX_RESET_VECTOR - LINUX_ACPI, &al, why, sizeof(why))) {
		ksnprintf(msg, msglen, "ACPI tables: %s", why);
		return -1;
	}

	/*
	 * The command line, plus the TSC rate hv measured when the config does
	 * not give it: with an AMD CPUID vendor Linux reads no CPUID leaf for
	 * it (arch/x86/kernel/tsc.c native_calibrate_tsc), and calibrating
	 * against the PM timer alone needs the PIT it does not find.
	 */
	static char cmd[CFG_CMDLINE_MAX + 48];
	size_t len = strlen(c->cmdline);
	memcpy(cmd, c->cmdline, len + 1);
	if (!has_param(cmd, "tsc_early_khz="))
		ksnprintf(cmd + len, sizeof(cmd) - len, "%stsc_early_khz=%llu", len ? " " : "",
			  (unsigned long long)tsc_per_ms);

	struct linux_params p = { .ram_size = vm->mem_size, .cmdline = cmd,
				  .initrd_size = initrd->size, .acpi_size = al.size };
	struct linux_layout lay;
	if (linux_plan(&img, &p, &lay, why, sizeof(why))) {
		if (c->initrd[0] && contains(why, "initrd"))
			n = ksnprintf(err, errlen, "initrd '%s' (%s:%u): ", c->initrd, cfgname, c->initrd_line);
		else if (contains(why, "command line") && c->cmdline_line)
			n = ksnprintf(err, errlen, "cmdline (%s:%u): ", cfgname, c->cmdline_line);
		ksnprintf(err + n, errlen > (size_t)n ? errlen - (size_t)n : 0, "%s", why);
		return -1;
	}

	/* Copy everything to its planned place (guest RAM is zero already). */
	linux_fill_gdt(guest_phys_ptr(vm, LINUX_GDT));
	if (lay.format == LINUX_FMT_BZIMAGE)
		linux_fill_page_tables(guest_phys_ptr(vm, LINUX_PML4));
	linux_fill_boot_info(&img, file, &lay, guest_phys_ptr(vm, lay.boot_info));
	memcpy(guest_phys_ptr(vm, lay.cmdline), cmd, lay.cmdline_len + 1);
	if (lay.format == LINUX_FMT_BZIMAGE) {
		memcpy(guest_phys_ptr(vm, lay.kernel_addr), file + img.setup_size, kernel->size - img.setup_size);
	} else {
		for (unsigned i = 0; i < img.nsegments; i++) {
			const struct linux_segment *g = &img.seg[i];
			memcpy(guest_phys_ptr(vm, g->paddr), file + g->offset, g->filesz);
			memset(guest_phys_ptr(vm, g->paddr + g->filesz), 0, g->memsz - g->filesz);
		}
	}
	/*
	 * The reset vector F000:FFF0 (physical 0xFFFF0, the top of the ACPI
	 * area): a hardware-reduced platform makes Linux reboot through EFI
	 * (arch/x86/kernel/reboot.c reboot_init: efi_reboot_required), and
	 * with no EFI it falls back to a real-mode jump to the BIOS reset
	 * vector (machine_real_restart). There hv puts what a firmware would
	 * do: a full reset through 0xCF9, which ends the VM with that reason.
	 *   mov al, 6; mov dx, 0xcf9; out dx, al; hlt; jmp $-1
	 */
	static const u8 reset_vector[] = { 0xb0, ACPI_RESET_VALUE, 0xba, ACPI_RESET_PORT & 0xff,
					   ACPI_RESET_PORT >> 8, 0xee, 0xf4, 0xeb, 0xfd };
	memcpy(guest_phys_ptr(vm, LINUX_RESET_VECTOR), reset_vector, sizeof(reset_vector));
	if (lay.initrd_size)
		memcpy(guest_phys_ptr(vm, lay.initrd_addr), pa_to_va(initrd->pa), lay.initrd_size);
	linux_cpu_state(&lay, cpu);
	printk("hv: vm %s: Linux %s, entry 0x%llx, kernel [0x%llx, 0x%llx), initrd %llu bytes at 0x%llx, "
	       "ACPI %u bytes at 0x%x, command line \"%s\"\n", vm->name,
	       lay.format == LINUX_FMT_BZIMAGE ? "bzImage (64-bit entry)" : "vmlinux (PVH entry)",
	       (unsigned long long)lay.entry, (unsigned long long)lay.kernel_addr,
	       (unsigned long long)lay.kernel_end, (unsigned long long)lay.initrd_size,
	       (unsigned long long)lay.initrd_addr, al.size, LINUX_ACPI, cmd);
	err[0] = '\0';
	return 0;
}
