/*
 * tests/unit/test_linux.c - host unit tests for the Linux boot-protocol
 * planner (hv/linux.c): recognising a bzImage or a PVH vmlinux, the layout
 * plan, boot_params / hvm_start_info, page tables and the entry state.
 *
 * The images are synthetic, built here field by field from boot.rst and the
 * ELF gABI. One extra case checks a real Debian kernel when `make
 * linux-initramfs` (tests/linux/initramfs.py) has left one in build/linux;
 * without it that case reports SKIP, never a pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "linux.h"

#ifndef LINUX_BUILD_DIR
#define LINUX_BUILD_DIR "build/linux"
#endif

static char err[512];

static void put16(u8 *p, size_t o, u16 v) { p[o] = (u8)v; p[o + 1] = (u8)(v >> 8); }
static void put32(u8 *p, size_t o, u32 v) { put16(p, o, (u16)v); put16(p, o + 2, (u16)(v >> 16)); }
static void put64(u8 *p, size_t o, u64 v) { put32(p, o, (u32)v); put32(p, o + 4, (u32)(v >> 32)); }
static u16 get16(const u8 *p, size_t o) { return (u16)(p[o] | p[o + 1] << 8); }
static u32 get32(const u8 *p, size_t o) { return get16(p, o) | (u32)get16(p, o + 2) << 16; }
static u64 get64(const u8 *p, size_t o) { return get32(p, o) | (u64)get32(p, o + 4) << 32; }

#define assert_err_has(s) do { \
	if (!strstr(err, (s))) fail_msg("error \"%s\" lacks \"%s\"", err, (s)); } while (0)

/* ---- a synthetic bzImage (boot.rst "The real-mode kernel header") ------------------ */

#define BZ_SETUP_SECTS 4
#define BZ_PM_SIZE 8192
#define BZ_SIZE ((BZ_SETUP_SECTS + 1) * 512 + BZ_PM_SIZE)
#define BZ_HEADER_END 0x26c           /* through kernel_info_offset, as 2.15 kernels have it */

static u8 bz[BZ_SIZE];

static void make_bzimage(void)
{
	memset(bz, 0, sizeof(bz));
	bz[0x1f1] = BZ_SETUP_SECTS;
	put16(bz, 0x1fe, 0xaa55);
	bz[0x200] = 0xeb;                        /* short jmp over the header */
	bz[0x201] = BZ_HEADER_END - 0x202;
	memcpy(bz + 0x202, "HdrS", 4);
	put16(bz, 0x206, 0x020f);
	bz[0x211] = 0x01;                        /* LOADED_HIGH */
	put32(bz, 0x22c, 0x7fffffff);            /* initrd_addr_max */
	put32(bz, 0x230, 0x200000);              /* kernel_alignment */
	bz[0x234] = 1;                           /* relocatable */
	put16(bz, 0x236, 0x7f);                  /* xloadflags incl. XLF_KERNEL_64 */
	put32(bz, 0x238, 2047);                  /* cmdline_size */
	put32(bz, 0x248, 0x100);                 /* payload_offset */
	put32(bz, 0x24c, 0x1000);                /* payload_length */
	put64(bz, 0x258, 0x1000000);             /* pref_address */
	put32(bz, 0x260, 0x4000000);             /* init_size: 64 MiB */
	bz[0x268] = 0x5a;                        /* a header byte we expect copied verbatim */
}

static void bzimage_probe(void **state)
{
	(void)state;
	struct linux_image img;
	make_bzimage();
	assert_int_equal(linux_probe(bz, sizeof(bz), &img, err, sizeof(err)), 0);
	assert_int_equal(img.format, LINUX_FMT_BZIMAGE);
	assert_int_equal(img.version, 0x020f);
	assert_int_equal(img.setup_size, 5 * 512);
	assert_int_equal(img.header_end, BZ_HEADER_END);
	assert_true(img.relocatable);
	assert_int_equal(img.pref_address, 0x1000000);
	assert_int_equal(img.init_size, 0x4000000);
	assert_int_equal(img.cmdline_size, 2047);
	assert_int_equal(img.payload_offset, 0x100);
	assert_int_equal(img.load_start, 0x1000000);
	assert_int_equal(img.load_end, 0x5000000);
	/* setup_sects 0 means 4 (boot.rst) */
	bz[0x1f1] = 0;
	assert_int_equal(linux_probe(bz, sizeof(bz), &img, err, sizeof(err)), 0);
	assert_int_equal(img.setup_size, 5 * 512);
}

static void neither(void **state)
{
	(void)state;
	struct linux_image img;
	u8 junk[4096];
	for (unsigned i = 0; i < sizeof(junk); i++)
		junk[i] = (u8)(i * 7 + 3);
	assert_int_equal(linux_probe(junk, sizeof(junk), &img, err, sizeof(err)), -1);
	assert_err_has("neither a bzImage");
	assert_err_has("0x202");
	assert_int_equal(linux_probe(junk, 0, &img, err, sizeof(err)), -1);
	assert_err_has("neither");
	/* A PE/COFF-only or multiboot file is just as foreign: "MZ" but no HdrS. */
	memcpy(junk, "MZ", 2);
	assert_int_equal(linux_probe(junk, sizeof(junk), &img, err, sizeof(err)), -1);
	assert_err_has("neither");
}

static void bzimage_no_kernel64(void **state)
{
	(void)state;
	struct linux_image img;
	make_bzimage();
	put16(bz, 0x236, 0x7e);                  /* everything but XLF_KERNEL_64 */
	assert_int_equal(linux_probe(bz, sizeof(bz), &img, err, sizeof(err)), -1);
	assert_err_has("XLF_KERNEL_64");
	assert_err_has("0x236");
}

static void bzimage_old_protocol(void **state)
{
	(void)state;
	struct linux_image img;
	make_bzimage();
	put16(bz, 0x206, 0x020a);
	assert_int_equal(linux_probe(bz, sizeof(bz), &img, err, sizeof(err)), -1);
	assert_err_has("2.10");
	make_bzimage();
	bz[0x211] = 0;                           /* zImage: not loaded high */
	assert_int_equal(linux_probe(bz, sizeof(bz), &img, err, sizeof(err)), -1);
	assert_err_has("LOADED_HIGH");
	make_bzimage();
	put16(bz, 0x1fe, 0x1234);
	assert_int_equal(linux_probe(bz, sizeof(bz), &img, err, sizeof(err)), -1);
	assert_err_has("boot_flag");
}

static void bzimage_truncated(void **state)
{
	(void)state;
	struct linux_image img;
	make_bzimage();
	/* cut inside the payload */
	assert_int_equal(linux_probe(bz, 5 * 512 + 0x800, &img, err, sizeof(err)), -1);
	assert_err_has("truncated");
	assert_err_has("payload");
	/* cut inside the setup code */
	assert_int_equal(linux_probe(bz, 0x300, &img, err, sizeof(err)), -1);
	assert_err_has("truncated");
	assert_err_has("setup_sects");
	/* cut inside the header */
	assert_int_equal(linux_probe(bz, 0x240, &img, err, sizeof(err)), -1);
	assert_err_has("truncated");
}

/* ---- a synthetic ELF vmlinux with a PVH note ----------------------------------------- */

#define ELF_SIZE 0x3000
#define ELF_LOAD_PADDR 0x1000000
#define ELF_ENTRY 0x1000040

static u8 elf[ELF_SIZE];

/* ELF64 header, 3 program headers (PT_LOAD text, PT_LOAD bss-only, PT_NOTE). */
static void make_elf(u32 note_type, u32 descsz)
{
	memset(elf, 0, sizeof(elf));
	memcpy(elf, "\177ELF", 4);
	elf[4] = 2;                              /* ELFCLASS64 */
	elf[5] = 1;                              /* little endian */
	elf[6] = 1;
	put16(elf, 0x10, 2);                     /* ET_EXEC */
	put16(elf, 0x12, 62);                    /* EM_X86_64 */
	put64(elf, 0x18, 0xffffffff81000000ull); /* e_entry: virtual, unused by PVH */
	put64(elf, 0x20, 0x40);                  /* e_phoff */
	put16(elf, 0x34, 64);
	put16(elf, 0x36, 56);
	put16(elf, 0x38, 3);
	u8 *ph = elf + 0x40;
	put32(ph, 0, 1);                         /* PT_LOAD */
	put64(ph, 8, 0x1000);
	put64(ph, 16, 0xffffffff81000000ull);
	put64(ph, 24, ELF_LOAD_PADDR);
	put64(ph, 32, 0x1000);
	put64(ph, 40, 0x1000);
	ph += 56;
	put32(ph, 0, 1);                         /* PT_LOAD: bss only */
	put64(ph, 8, 0x2000);
	put64(ph, 24, ELF_LOAD_PADDR + 0x200000);
	put64(ph, 32, 0);
	put64(ph, 40, 0x300000);
	ph += 56;
	put32(ph, 0, 4);                         /* PT_NOTE */
	put64(ph, 8, 0x200);
	/* two notes: an unrelated one first, then Xen/type with a pointer-sized desc */
	u8 *n = elf + 0x200;
	put32(n, 0, 4); put32(n, 4, 4); put32(n, 8, 3);
	memcpy(n + 12, "GNU", 4);
	put32(n, 16, 0xdeadbeef);
	n += 20;
	put32(n, 0, 4); put32(n, 4, descsz); put32(n, 8, note_type);
	memcpy(n + 12, "Xen", 4);
	if (descsz == 8)
		put64(n, 16, ELF_ENTRY);
	else
		put32(n, 16, ELF_ENTRY);
	put64(ph, 32, 20 + 16 + ALIGN_UP(descsz, 4));
	memset(elf + 0x1000, 0x90, 0x1000);      /* "code" */
}

static void elf_pvh_probe(void **state)
{
	(void)state;
	struct linux_image img;
	make_elf(18, 8);
	assert_int_equal(linux_probe(elf, sizeof(elf), &img, err, sizeof(err)), 0);
	assert_int_equal(img.format, LINUX_FMT_PVH);
	assert_int_equal(img.pvh_entry, ELF_ENTRY);
	assert_int_equal(img.nsegments, 2);
	assert_int_equal(img.seg[0].paddr, ELF_LOAD_PADDR);
	assert_int_equal(img.seg[0].offset, 0x1000);
	assert_int_equal(img.seg[1].memsz, 0x300000);
	assert_int_equal(img.load_start, ELF_LOAD_PADDR);
	assert_int_equal(img.load_end, ELF_LOAD_PADDR + 0x500000);
	make_elf(18, 4);                         /* a 4-byte desc works too */
	assert_int_equal(linux_probe(elf, sizeof(elf), &img, err, sizeof(err)), 0);
	assert_int_equal(img.pvh_entry, ELF_ENTRY);
}

static void elf_without_pvh_note(void **state)
{
	(void)state;
	struct linux_image img;
	make_elf(1, 8);                          /* a Xen note, but XEN_ELFNOTE_ENTRY (PV), not 18 */
	assert_int_equal(linux_probe(elf, sizeof(elf), &img, err, sizeof(err)), -1);
	assert_err_has("no PVH entry");
	assert_err_has("18");
	make_elf(18, 8);
	put32(elf, 0x40 + 112, 6);               /* the PT_NOTE becomes PT_PHDR: no notes at all */
	assert_int_equal(linux_probe(elf, sizeof(elf), &img, err, sizeof(err)), -1);
	assert_err_has("no PVH entry");
}

static void elf_malformed(void **state)
{
	(void)state;
	struct linux_image img;
	make_elf(18, 8);
	elf[4] = 1;                              /* ELFCLASS32 */
	assert_int_equal(linux_probe(elf, sizeof(elf), &img, err, sizeof(err)), -1);
	assert_err_has("64-bit");
	make_elf(18, 8);
	assert_int_equal(linux_probe(elf, 0x1800, &img, err, sizeof(err)), -1);  /* cut in the PT_LOAD */
	assert_err_has("truncated");
	make_elf(18, 8);
	put32(elf, 0x200 + 20 + 4, 0x10000);     /* note desc runs off the segment */
	assert_int_equal(linux_probe(elf, sizeof(elf), &img, err, sizeof(err)), -1);
	assert_err_has("malformed note");
	make_elf(18, 8);
	put64(elf, 0x200 + 20 + 16, 0x100000);   /* entry outside every segment */
	assert_int_equal(linux_probe(elf, sizeof(elf), &img, err, sizeof(err)), -1);
	assert_err_has("outside");
	make_elf(18, 8);
	put64(elf, 0x40 + 56 + 24, ELF_LOAD_PADDR + 0x800);  /* second PT_LOAD overlaps the first */
	assert_int_equal(linux_probe(elf, sizeof(elf), &img, err, sizeof(err)), -1);
	assert_err_has("overlap");
}

/* ---- the plan ------------------------------------------------------------------------ */

static bool ranges_overlap(u64 a, u64 as, u64 b, u64 bs) { return a < b + bs && b < a + as; }

static void check_e820(const struct linux_layout *lay, u64 ram)
{
	/* sorted, disjoint, RAM totals ram minus the legacy hole, MMIO pages reserved */
	u64 ram_total = 0;
	bool ioapic = false, lapic = false;
	for (unsigned i = 0; i < lay->ne820; i++) {
		const struct e820_entry *e = &lay->e820[i];
		assert_true(e->size > 0);
		if (i)
			assert_true(lay->e820[i - 1].addr + lay->e820[i - 1].size <= e->addr);
		if (e->type == E820_RAM)
			ram_total += e->size;
		ioapic |= e->type == E820_RESERVED && e->addr == 0xfec00000;
		lapic |= e->type == E820_RESERVED && e->addr == 0xfee00000;
		/* the ACPI area is never RAM */
		if (e->type == E820_RAM)
			assert_false(ranges_overlap(e->addr, e->size, LINUX_ACPI, LINUX_ACPI_ROOM));
	}
	assert_int_equal(ram_total, ram - (MiB(1) - LINUX_LOW_RAM_END));
	assert_true(ioapic && lapic);
}

static struct linux_params params(u64 ram, const char *cmdline, u64 initrd)
{
	return (struct linux_params){ .ram_size = ram, .cmdline = cmdline, .initrd_size = initrd, .acpi_size = 0x400 };
}

static void plan_bzimage(void **state)
{
	(void)state;
	struct linux_image img;
	struct linux_layout lay;
	make_bzimage();
	assert_int_equal(linux_probe(bz, sizeof(bz), &img, err, sizeof(err)), 0);
	struct linux_params p = params(MiB(128), "console=ttyS0 hv.workload=hello", 2000000);
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.kernel_addr, 0x1000000);
	assert_int_equal(lay.kernel_end, 0x5000000);
	assert_int_equal(lay.entry, 0x1000200);
	assert_int_equal(lay.boot_info, LINUX_ZERO_PAGE);
	assert_int_equal(lay.rsdp, LINUX_ACPI);
	assert_int_equal(lay.cmdline_len, strlen(p.cmdline));
	/* initrd: page aligned, as high as possible, inside RAM, above the kernel */
	assert_int_equal(lay.initrd_addr % 4096, 0);
	assert_true(lay.initrd_addr + lay.initrd_size <= MiB(128));
	assert_true(MiB(128) - (lay.initrd_addr + lay.initrd_size) < 4096);
	assert_true(lay.initrd_addr >= lay.kernel_end);
	check_e820(&lay, MiB(128));
	/* no boot structure overlaps another or the kernel */
	u64 r[][2] = { { LINUX_GDT, 4096 }, { LINUX_PML4, LINUX_PT_PAGES * 4096 }, { LINUX_ZERO_PAGE, 4096 },
		       { LINUX_CMDLINE, lay.cmdline_len + 1 }, { LINUX_ACPI, 0x400 },
		       { lay.kernel_addr, lay.kernel_end - lay.kernel_addr }, { lay.initrd_addr, lay.initrd_size } };
	for (unsigned i = 0; i < ARRAY_SIZE(r); i++)
		for (unsigned j = i + 1; j < ARRAY_SIZE(r); j++)
			if (ranges_overlap(r[i][0], r[i][1], r[j][0], r[j][1]))
				fail_msg("ranges %u and %u overlap", i, j);

	/* initrd_addr_max (boot.rst: the highest address the initrd may occupy) is obeyed */
	put32(bz, 0x22c, 0x6000000 - 1);
	assert_int_equal(linux_probe(bz, sizeof(bz), &img, err, sizeof(err)), 0);
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), 0);
	assert_true(lay.initrd_addr + lay.initrd_size <= 0x6000000);
	/* and so is the caller's limit */
	p.initrd_limit = 0x5800000;
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), 0);
	assert_true(lay.initrd_addr + lay.initrd_size <= 0x5800000);
	/* no initrd, no ACPI */
	p = params(MiB(128), "", 0);
	p.acpi_size = 0;
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.initrd_size, 0);
	assert_int_equal(lay.rsdp, 0);
}

static void plan_initrd_does_not_fit(void **state)
{
	(void)state;
	struct linux_image img;
	struct linux_layout lay;
	make_bzimage();
	assert_int_equal(linux_probe(bz, sizeof(bz), &img, err, sizeof(err)), 0);
	/* 128 MiB RAM, kernel to 80 MiB: 48 MiB left */
	struct linux_params p = params(MiB(128), "", MiB(48) + 1);
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), -1);
	assert_err_has("initrd of 50331649 bytes does not fit");
	p.initrd_size = MiB(48);
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.initrd_addr, 0x5000000);
	/* larger than all of RAM: no wrap-around */
	p.initrd_size = GiB(2);
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), -1);
	assert_err_has("does not fit");
}

static void plan_cmdline_too_long(void **state)
{
	(void)state;
	struct linux_image img;
	struct linux_layout lay;
	static char line[5000];
	make_bzimage();
	assert_int_equal(linux_probe(bz, sizeof(bz), &img, err, sizeof(err)), 0);
	memset(line, 'x', 2047);
	line[2047] = 0;
	struct linux_params p = params(MiB(128), line, 0);
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), 0);
	line[2047] = 'x';
	line[2048] = 0;
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), -1);
	assert_err_has("2048 bytes is too long");
	assert_err_has("cmdline_size");
	/* a kernel that takes less: the header decides */
	put32(bz, 0x238, 255);
	assert_int_equal(linux_probe(bz, sizeof(bz), &img, err, sizeof(err)), 0);
	line[256] = 0;
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), -1);
	assert_err_has("at most 255");
	/* PVH: COMMAND_LINE_SIZE - 1 */
	make_elf(18, 8);
	assert_int_equal(linux_probe(elf, sizeof(elf), &img, err, sizeof(err)), 0);
	memset(line, 'y', 4000);
	line[2048] = 0;
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), -1);
	assert_err_has("COMMAND_LINE_SIZE");
}

static void plan_ram_too_small(void **state)
{
	(void)state;
	struct linux_image img;
	struct linux_layout lay;
	make_bzimage();
	assert_int_equal(linux_probe(bz, sizeof(bz), &img, err, sizeof(err)), 0);
	struct linux_params p = params(MiB(64), "", 0);
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), -1);
	assert_err_has("RAM too small");
	assert_err_has("init_size");
	assert_err_has("0x5000000");
	p.ram_size = MiB(80);                    /* exactly pref_address + init_size */
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), 0);
	p.ram_size = GiB(3) + MiB(2);            /* into the MMIO hole */
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), -1);
	assert_err_has("3 GiB");
	make_elf(18, 8);
	assert_int_equal(linux_probe(elf, sizeof(elf), &img, err, sizeof(err)), 0);
	p.ram_size = MiB(20);                    /* segments end at 21 MiB */
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), -1);
	assert_err_has("RAM too small");
}

/* ---- what the kernel reads ------------------------------------------------------------ */

static u8 page[4096];

static void boot_params_fill(void **state)
{
	(void)state;
	struct linux_image img;
	struct linux_layout lay;
	make_bzimage();
	assert_int_equal(linux_probe(bz, sizeof(bz), &img, err, sizeof(err)), 0);
	struct linux_params p = params(MiB(256), "console=ttyS0", 123456);
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), 0);
	memset(page, 0xcc, sizeof(page));
	linux_fill_boot_info(&img, bz, &lay, page);
	/* the header came across (zero-page.rst: hdr at 0x1f1) */
	assert_memory_equal(page + 0x202, "HdrS", 4);
	assert_int_equal(get16(page, 0x206), 0x020f);
	assert_int_equal(page[0x268], 0x5a);
	assert_int_equal(get64(page, 0x258), 0x1000000);
	/* and nothing beyond it, nor before it */
	for (unsigned i = BZ_HEADER_END; i < 0x290; i++)
		assert_int_equal(page[i], 0);
	for (unsigned i = 0; i < 0x1f1; i++) {
		if ((i >= 0x70 && i < 0x78) || i == 0x1e8)   /* acpi_rsdp_addr, e820_entries */
			continue;
		if (page[i])
			fail_msg("byte 0x%x is 0x%x", i, page[i]);
	}
	assert_int_equal(page[0x1ef], 0);        /* sentinel */
	assert_int_equal(page[0x210], 0xff);     /* type_of_loader */
	assert_int_equal(get32(page, 0x228), LINUX_CMDLINE);
	assert_int_equal(get32(page, 0x218), lay.initrd_addr);
	assert_int_equal(get32(page, 0x21c), 123456);
	assert_int_equal(get32(page, 0x0c0), 0);
	assert_int_equal(get64(page, 0x070), LINUX_ACPI);
	assert_int_equal(page[0x1e8], lay.ne820);
	for (unsigned i = 0; i < lay.ne820; i++) {
		assert_int_equal(get64(page, 0x2d0 + i * 20), lay.e820[i].addr);
		assert_int_equal(get64(page, 0x2d0 + i * 20 + 8), lay.e820[i].size);
		assert_int_equal(get32(page, 0x2d0 + i * 20 + 16), lay.e820[i].type);
	}
	assert_int_equal(get64(page, 0x2d0 + lay.ne820 * 20), 0);
	assert_int_equal(get64(page, 0x2d0 + 2 * 20), MiB(1));
	assert_int_equal(get64(page, 0x2d0 + 2 * 20 + 8), MiB(255));
}

static void start_info_fill(void **state)
{
	(void)state;
	struct linux_image img;
	struct linux_layout lay;
	make_elf(18, 8);
	assert_int_equal(linux_probe(elf, sizeof(elf), &img, err, sizeof(err)), 0);
	struct linux_params p = params(MiB(128), "console=ttyS0", 1 << 20);
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.entry, ELF_ENTRY);
	linux_fill_boot_info(&img, elf, &lay, page);
	assert_int_equal(get32(page, 0), 0x336ec578);
	assert_int_equal(get32(page, 4), 1);
	assert_int_equal(get32(page, 12), 1);                    /* nr_modules */
	u64 modlist = get64(page, 16), memmap = get64(page, 40);
	assert_int_equal(get64(page, 24), LINUX_CMDLINE);
	assert_int_equal(get64(page, 32), LINUX_ACPI);
	assert_int_equal(get32(page, 48), lay.ne820);
	assert_true(modlist >= LINUX_ZERO_PAGE + 56 && modlist + 32 <= memmap);
	const u8 *m = page + (modlist - LINUX_ZERO_PAGE);
	assert_int_equal(get64(m, 0), lay.initrd_addr);
	assert_int_equal(get64(m, 8), 1 << 20);
	const u8 *mm = page + (memmap - LINUX_ZERO_PAGE);
	for (unsigned i = 0; i < lay.ne820; i++) {
		assert_int_equal(get64(mm, i * 24), lay.e820[i].addr);
		assert_int_equal(get64(mm, i * 24 + 8), lay.e820[i].size);
		assert_int_equal(get32(mm, i * 24 + 16), lay.e820[i].type);
		assert_int_equal(get32(mm, i * 24 + 20), 0);
	}
	/* no initrd: no module list */
	p.initrd_size = 0;
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), 0);
	linux_fill_boot_info(&img, elf, &lay, page);
	assert_int_equal(get32(page, 12), 0);
	assert_int_equal(get64(page, 16), 0);
}

/* Walk the identity map like the MMU (4-level, 2 MiB leaves; SDM Vol. 3A 4.5). */
static bool walk(const u8 *t, u64 va, u64 *pa)
{
	u64 e = get64(t, ((va >> 39) & 511) * 8);
	if (!(e & 1) || (e & ~0xfffull) != LINUX_PDPT)
		return false;
	e = get64(t, 4096 + ((va >> 30) & 511) * 8);
	if (!(e & 1))
		return false;
	u64 pd = (e & ~0xfffull) - LINUX_PML4;
	e = get64(t, pd + ((va >> 21) & 511) * 8);
	if ((e & 0x83) != 0x83)
		return false;
	*pa = (e & ~0x1fffffull) + (va & 0x1fffff);
	return true;
}

static void entry_64bit(void **state)
{
	(void)state;
	struct linux_image img;
	struct linux_layout lay;
	struct linux_cpu_state s;
	static u8 tables[LINUX_PT_PAGES * 4096];
	make_bzimage();
	assert_int_equal(linux_probe(bz, sizeof(bz), &img, err, sizeof(err)), 0);
	struct linux_params p = params(MiB(128), "x", 4096);
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), 0);
	linux_cpu_state(&lay, &s);
	assert_int_equal(s.rip, 0x1000200);
	assert_int_equal(s.rsi, LINUX_ZERO_PAGE);
	assert_int_equal(s.cs.sel, 0x10);
	assert_int_equal(s.ds.sel, 0x18);
	assert_int_equal(s.ss.sel, 0x18);
	assert_true(s.cs.attr & BIT(13));        /* L */
	assert_false(s.cs.attr & BIT(14));       /* D/B must be 0 with L */
	assert_int_equal(s.cr3, LINUX_PML4);
	assert_true((s.cr0 & 0x80000001) == 0x80000001);
	assert_true(s.cr4 & BIT(5));
	assert_int_equal(s.efer & 0x500, 0x500);
	assert_false(s.rflags & BIT(9));         /* interrupts off */
	/* the GDT holds what the selectors promise */
	linux_fill_gdt(page);
	assert_true(s.gdt_limit >= 0x1f);
	assert_int_equal((get64(page, 0x10) >> 40) & 0xff, s.cs.attr & 0xff);
	assert_int_equal((get64(page, 0x10) >> 52) & 0xf, s.cs.attr >> 12);
	assert_int_equal((get64(page, 0x18) >> 40) & 0xff, s.ds.attr & 0xff);
	assert_int_equal((get64(page, 0x18) >> 52) & 0xf, s.ds.attr >> 12);
	/* the identity map covers the kernel through init_size, boot data, initrd, MMIO */
	linux_fill_page_tables(tables);
	u64 probes[] = { 0, LINUX_ZERO_PAGE, LINUX_CMDLINE, lay.kernel_addr, lay.entry, lay.kernel_end - 1,
			 lay.initrd_addr, MiB(128) - 1, 0xfee00000, GiB(4) - 1 };
	for (unsigned i = 0; i < ARRAY_SIZE(probes); i++) {
		u64 pa;
		if (!walk(tables, probes[i], &pa) || pa != probes[i])
			fail_msg("0x%llx is not identity-mapped", (unsigned long long)probes[i]);
	}
	u64 pa;
	assert_false(walk(tables, GiB(4), &pa));
}

static void entry_pvh(void **state)
{
	(void)state;
	struct linux_image img;
	struct linux_layout lay;
	struct linux_cpu_state s;
	make_elf(18, 8);
	assert_int_equal(linux_probe(elf, sizeof(elf), &img, err, sizeof(err)), 0);
	struct linux_params p = params(MiB(128), "x", 0);
	assert_int_equal(linux_plan(&img, &p, &lay, err, sizeof(err)), 0);
	linux_cpu_state(&lay, &s);
	assert_int_equal(s.rip, ELF_ENTRY);
	assert_int_equal(s.rbx, LINUX_ZERO_PAGE);
	assert_int_equal(s.cr0 & 0x80000001, 1); /* PE on, PG off */
	assert_int_equal(s.cr4, 0);
	assert_int_equal(s.efer, 0);
	assert_true(s.cs.attr & BIT(14));        /* 32-bit code */
	assert_false(s.cs.attr & BIT(13));
	assert_int_equal(s.cs.limit, 0xffffffff);
	assert_int_equal(s.ds.base, 0);
	assert_int_equal(s.tr.limit, 0x67);      /* pvh.pandoc: TSS base 0, limit 0x67 */
	assert_int_equal(s.tr.attr & 0xf, 11);
	linux_fill_gdt(page);
	assert_int_equal((get64(page, s.cs.sel) >> 40) & 0xff, s.cs.attr & 0xff);
	assert_int_equal((get64(page, s.cs.sel) >> 52) & 0xf, s.cs.attr >> 12);
}

/* ---- the real thing, when built ------------------------------------------------------------ */

static u8 *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	u8 *b = malloc((size_t)n);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*size = (size_t)n;
	return b;
}

static void debian_kernel(void **state)
{
	(void)state;
	size_t bzn, elfn;
	u8 *bzf = slurp(LINUX_BUILD_DIR "/bzImage", &bzn);
	u8 *elff = slurp(LINUX_BUILD_DIR "/vmlinux", &elfn);
	if (!bzf || !elff) {
		free(bzf);
		free(elff);
		print_message("no " LINUX_BUILD_DIR "/bzImage or vmlinux (python3 tests/linux/initramfs.py build): skipped\n");
		skip();
	}
	struct linux_image img;
	struct linux_layout lay;
	struct linux_params p = params(MiB(128), "console=ttyS0", MiB(2));
	if (linux_probe(bzf, bzn, &img, err, sizeof(err)))
		fail_msg("bzImage: %s", err);
	assert_true(img.version >= 0x020c);
	assert_true(img.relocatable);
	assert_int_equal(img.pref_address, 0x1000000);
	assert_true(img.init_size >= MiB(16));
	assert_true(img.cmdline_size >= 255);
	if (linux_plan(&img, &p, &lay, err, sizeof(err)))
		fail_msg("bzImage plan: %s", err);
	/* the payload is XZ: "\xfd7zXZ\0" where the header says */
	assert_memory_equal(bzf + img.setup_size + img.payload_offset, "\3757zXZ", 6);
	/* truncating the real file is caught */
	assert_int_equal(linux_probe(bzf, bzn / 2, &img, err, sizeof(err)), -1);
	assert_err_has("truncated");
	if (linux_probe(elff, elfn, &img, err, sizeof(err)))
		fail_msg("vmlinux: %s", err);
	assert_int_equal(img.format, LINUX_FMT_PVH);
	assert_true(img.pvh_entry >= img.load_start && img.pvh_entry < img.load_end);
	assert_int_equal(img.load_start, 0x1000000);
	if (linux_plan(&img, &p, &lay, err, sizeof(err)))
		fail_msg("vmlinux plan: %s", err);
	print_message("Debian kernel: PVH entry 0x%x, vmlinux loads [0x%llx, 0x%llx) in %u segments\n",
		      img.pvh_entry, (unsigned long long)img.load_start, (unsigned long long)img.load_end,
		      img.nsegments);
	free(bzf);
	free(elff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bzimage_probe),
		cmocka_unit_test(neither),
		cmocka_unit_test(bzimage_no_kernel64),
		cmocka_unit_test(bzimage_old_protocol),
		cmocka_unit_test(bzimage_truncated),
		cmocka_unit_test(elf_pvh_probe),
		cmocka_unit_test(elf_without_pvh_note),
		cmocka_unit_test(elf_malformed),
		cmocka_unit_test(plan_bzimage),
		cmocka_unit_test(plan_initrd_does_not_fit),
		cmocka_unit_test(plan_cmdline_too_long),
		cmocka_unit_test(plan_ram_too_small),
		cmocka_unit_test(boot_params_fill),
		cmocka_unit_test(start_info_fill),
		cmocka_unit_test(entry_64bit),
		cmocka_unit_test(entry_pvh),
		cmocka_unit_test(debian_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
