/*
 * tests/linux/plan.c - hv's Linux loader logic (hv/linux.c, hv/acpi.c) run on
 * the host, producing a "load list" that tests/linux/pvhstub.asm carries out
 * inside QEMU: an end-to-end check of the layout plan, boot_params /
 * hvm_start_info, identity map, entry state and ACPI tables with the real
 * Debian kernel, before hv itself can load Linux.
 *
 * Usage: plan KERNEL INITRD "CMDLINE" RAM_MIB NCPUS OUT [x2apic]
 * (x2apic: the MADT lists x2APIC entries instead of local APIC ones)
 *
 * OUT format (little endian): "HVLL", u32 record count, the entry state
 *   u32 format (1 bzImage, 2 PVH), u32 entry, u32 rsi, u32 rbx, u32 cr0,
 *   u32 cr3, u32 cr4, u32 efer, u32 gdt_base, u32 gdt_limit,
 *   u32 cs, u32 ds
 * then records: u32 dest, u32 len, u32 kind (0 copy the len bytes that
 * follow, padded to 4; 1 zero-fill len bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "linux.h"

static FILE *out;
static unsigned nrec;

static void w32(u32 v) { fwrite(&v, 4, 1, out); }

static void rec_copy(u64 dest, const void *p, u64 len)
{
	static const u8 pad[4];
	w32((u32)dest), w32((u32)len), w32(0);
	fwrite(p, 1, len, out);
	fwrite(pad, 1, (4 - len % 4) % 4, out);
	nrec++;
}

static void rec_zero(u64 dest, u64 len)
{
	w32((u32)dest), w32((u32)len), w32(1);
	nrec++;
}

static u8 *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	u8 *b = malloc(*n ? *n : 1);
	if (!b || fread(b, 1, *n, f) != *n) {
		fprintf(stderr, "%s: read failed\n", path);
		exit(1);
	}
	fclose(f);
	return b;
}

int main(int argc, char **argv)
{
	if (argc != 7 && !(argc == 8 && strcmp(argv[7], "x2apic") == 0)) {
		fprintf(stderr, "usage: plan KERNEL INITRD CMDLINE RAM_MIB NCPUS OUT [x2apic]\n");
		return 2;
	}
	size_t kn, in;
	u8 *k = slurp(argv[1], &kn), *initrd = slurp(argv[2], &in);
	char err[256];
	struct linux_image img;
	if (linux_probe(k, kn, &img, err, sizeof(err))) {
		fprintf(stderr, "plan: %s\n", err);
		return 1;
	}
	static u8 acpi[LINUX_ACPI_ROOM];
	struct acpi_platform ap = { .base = LINUX_ACPI, .ncpus = (unsigned)atoi(argv[5]), .ioapic_id = 0,
				    .com1 = true, .rtc = true, .reset = true, .sleep = true, .x2apic = argc == 8 };
	struct acpi_layout al;
	if (acpi_build(&ap, acpi, sizeof(acpi), &al, err, sizeof(err))) {
		fprintf(stderr, "plan: %s\n", err);
		return 1;
	}
	struct linux_params p = { .ram_size = MiB(atoi(argv[4])), .cmdline = argv[3], .initrd_size = in,
				  .acpi_size = al.size };
	struct linux_layout lay;
	if (linux_plan(&img, &p, &lay, err, sizeof(err))) {
		fprintf(stderr, "plan: %s\n", err);
		return 1;
	}
	struct linux_cpu_state s;
	linux_cpu_state(&lay, &s);

	out = fopen(argv[6], "wb");
	if (!out) {
		perror(argv[6]);
		return 1;
	}
	fwrite("HVLL", 4, 1, out);
	w32(0);                                  /* record count, patched below */
	u32 st[] = { (u32)lay.format, (u32)s.rip, (u32)s.rsi, (u32)s.rbx, (u32)s.cr0, (u32)s.cr3,
		     (u32)s.cr4, (u32)s.efer, (u32)s.gdt_base, s.gdt_limit, s.cs.sel, s.ds.sel };
	fwrite(st, sizeof(st), 1, out);

	static u8 page[4096], tables[LINUX_PT_PAGES * 4096];
	linux_fill_gdt(page);
	rec_copy(LINUX_GDT, page, 4096);
	if (lay.format == LINUX_FMT_BZIMAGE) {
		linux_fill_page_tables(tables);
		rec_copy(LINUX_PML4, tables, sizeof(tables));
	}
	linux_fill_boot_info(&img, k, &lay, page);
	rec_copy(lay.boot_info, page, 4096);
	rec_copy(lay.cmdline, argv[3], lay.cmdline_len + 1);
	rec_copy(LINUX_ACPI, acpi, al.size);
	if (lay.format == LINUX_FMT_BZIMAGE) {
		rec_copy(lay.kernel_addr, k + img.setup_size, kn - img.setup_size);
	} else {
		for (unsigned i = 0; i < img.nsegments; i++) {
			const struct linux_segment *g = &img.seg[i];
			if (g->filesz)
				rec_copy(g->paddr, k + g->offset, g->filesz);
			if (g->memsz > g->filesz)
				rec_zero(g->paddr + g->filesz, g->memsz - g->filesz);
		}
	}
	rec_copy(lay.initrd_addr, initrd, in);
	fseek(out, 4, SEEK_SET);
	w32(nrec);
	fclose(out);
	printf("plan: %s, entry 0x%llx, kernel [0x%llx, 0x%llx), initrd [0x%llx, +%llu), ACPI %u bytes at 0x%x, %u records\n",
	       lay.format == LINUX_FMT_BZIMAGE ? "bzImage 64-bit entry" : "PVH entry",
	       (unsigned long long)lay.entry, (unsigned long long)lay.kernel_addr,
	       (unsigned long long)lay.kernel_end, (unsigned long long)lay.initrd_addr,
	       (unsigned long long)lay.initrd_size, al.size, LINUX_ACPI, nrec);
	return 0;
}
