/*
 * hv/linux.c - the Linux boot protocols as pure logic (see hv/linux.h).
 *
 * References: Linux Documentation/arch/x86/boot.rst (setup header, 64-bit
 * boot protocol, loader rules), zero-page.rst (boot_params offsets), Xen's
 * docs/misc/pvh.pandoc and public/arch-x86/hvm/start_info.h (the PVH entry),
 * the System V ELF gABI (program headers and notes).
 */
#include "linux.h"

#define MSG(...) ((void)ksnprintf(err, errlen, __VA_ARGS__), -1)

static u16 rd16(const u8 *p, size_t off) { return (u16)(p[off] | p[off + 1] << 8); }
static u32 rd32(const u8 *p, size_t off) { return rd16(p, off) | (u32)rd16(p, off + 2) << 16; }
static u64 rd64(const u8 *p, size_t off) { return rd32(p, off) | (u64)rd32(p, off + 4) << 32; }
static void wr8(u8 *p, size_t off, u8 v) { p[off] = v; }
static void wr16(u8 *p, size_t off, u16 v) { p[off] = (u8)v; p[off + 1] = (u8)(v >> 8); }
static void wr32(u8 *p, size_t off, u32 v) { wr16(p, off, (u16)v); wr16(p, off + 2, (u16)(v >> 16)); }
static void wr64(u8 *p, size_t off, u64 v) { wr32(p, off, (u32)v); wr32(p, off + 4, (u32)(v >> 32)); }

/* ---- bzImage -------------------------------------------------------------------- */

/* The end of the setup header area in boot_params (edd_mbr_sig_buffer follows). */
#define BP_HDR_END 0x290

static int probe_bzimage(const u8 *f, size_t size, struct linux_image *img, char *err, size_t errlen)
{
	img->format = LINUX_FMT_BZIMAGE;
	if (size < HDR_MIN_END)
		return MSG("bzImage: truncated: %zu bytes, the setup header needs 0x%x", size, HDR_MIN_END);
	img->version = rd16(f, HDR_VERSION);
	if (img->version < LINUX_MIN_VERSION)
		return MSG("bzImage: boot protocol %u.%02u (field version at 0x206) is older than 2.12: no xloadflags, no 64-bit entry",
			   img->version >> 8, img->version & 0xff);
	if (rd16(f, HDR_BOOT_FLAG) != LINUX_BOOT_FLAG)
		return MSG("bzImage: boot_flag at 0x1fe is 0x%x, not 0xaa55", rd16(f, HDR_BOOT_FLAG));
	img->header_end = 0x202 + f[HDR_JUMP + 1];
	if (img->header_end < HDR_MIN_END)
		return MSG("bzImage: setup header ends at 0x%x (byte at 0x201), before init_size at 0x260", img->header_end);
	if (img->header_end > size)
		return MSG("bzImage: truncated: the setup header ends at 0x%x, the file has %zu bytes", img->header_end, size);
	unsigned sects = f[HDR_SETUP_SECTS] ? f[HDR_SETUP_SECTS] : 4;  /* boot.rst: 0 means 4 */
	img->setup_size = (sects + 1) * 512;
	if (img->setup_size >= size)
		return MSG("bzImage: truncated: setup_sects (0x1f1) = %u puts the kernel at 0x%x, the file has %zu bytes",
			   sects, img->setup_size, size);
	img->loadflags = f[HDR_LOADFLAGS];
	img->xloadflags = rd16(f, HDR_XLOADFLAGS);
	img->relocatable = f[HDR_RELOCATABLE] != 0;
	img->kernel_alignment = rd32(f, HDR_KERNEL_ALIGNMENT);
	img->pref_address = rd64(f, HDR_PREF_ADDRESS);
	img->init_size = rd32(f, HDR_INIT_SIZE);
	img->cmdline_size = rd32(f, HDR_CMDLINE_SIZE);
	img->initrd_addr_max = rd32(f, HDR_INITRD_ADDR_MAX);
	img->payload_offset = rd32(f, HDR_PAYLOAD_OFFSET);
	img->payload_length = rd32(f, HDR_PAYLOAD_LENGTH);

	if (!(img->xloadflags & LINUX_XLF_KERNEL_64))
		return MSG("bzImage: no 64-bit entry (xloadflags at 0x236 = 0x%x lacks XLF_KERNEL_64): a 32-bit kernel",
			   img->xloadflags);
	if (!(img->loadflags & LINUX_LOADED_HIGH))
		return MSG("bzImage: loadflags at 0x211 = 0x%x lacks LOADED_HIGH: a zImage, not a bzImage", img->loadflags);
	u64 pm_size = size - img->setup_size;
	if ((u64)img->payload_offset + img->payload_length > pm_size)
		return MSG("bzImage: truncated: the payload (0x248/0x24c: offset 0x%x, length 0x%x) ends past the kernel's %llu bytes",
			   img->payload_offset, img->payload_length, (unsigned long long)pm_size);
	if (img->init_size == 0)
		return MSG("bzImage: init_size at 0x260 is 0");
	if (img->pref_address < MiB(1))
		return MSG("bzImage: pref_address at 0x258 is 0x%llx, below 1 MiB", (unsigned long long)img->pref_address);
	if (img->relocatable && img->kernel_alignment &&
	    (img->kernel_alignment & (img->kernel_alignment - 1)))
		return MSG("bzImage: kernel_alignment at 0x230 is 0x%x, not a power of two", img->kernel_alignment);
	img->load_start = img->pref_address;
	img->load_end = img->pref_address + (pm_size > img->init_size ? pm_size : img->init_size);
	return 0;
}

/* ---- ELF vmlinux with a PVH note -------------------------------------------------- */

#define PT_LOAD 1
#define PT_NOTE 4
#define EM_X86_64 62
#define ELF64_PHDR_SIZE 56

/* Walk the notes in f[off, off+len); 0 and *entry when the PVH note is there. */
static int find_pvh_note(const u8 *f, u64 off, u64 len, u32 *entry, char *err, size_t errlen)
{
	u64 p = off, end = off + len;
	while (p + 12 <= end) {
		u32 namesz = rd32(f, p), descsz = rd32(f, p + 4), type = rd32(f, p + 8);
		u64 name = p + 12, desc = name + ALIGN_UP((u64)namesz, 4);
		u64 next = desc + ALIGN_UP((u64)descsz, 4);
		if (next > end || next <= p)
			return MSG("vmlinux: malformed note at file offset 0x%llx (name %u, desc %u bytes)",
				   (unsigned long long)p, namesz, descsz);
		if (namesz == 4 && memcmp(f + name, "Xen", 4) == 0 && type == PVH_ELFNOTE_PHYS32_ENTRY) {
			/* Linux emits a pointer-sized value; only 32 bits can be an entry with paging off. */
			u64 v = descsz == 8 ? rd64(f, desc) : descsz == 4 ? rd32(f, desc) : ~0ull;
			if (v >= GiB(4))
				return MSG("vmlinux: PVH entry note at file offset 0x%llx holds %u bytes / 0x%llx: not a 32-bit address",
					   (unsigned long long)p, descsz, (unsigned long long)v);
			*entry = (u32)v;
			return 1;
		}
		p = next;
	}
	return 0;
}

static int probe_elf(const u8 *f, size_t size, struct linux_image *img, char *err, size_t errlen)
{
	img->format = LINUX_FMT_PVH;
	if (size < 64)
		return MSG("vmlinux: truncated: %zu bytes, shorter than an ELF64 header", size);
	if (f[4] != 2 || f[5] != 1)
		return MSG("vmlinux: ELF class %u data %u at offset 4: not a 64-bit little-endian ELF", f[4], f[5]);
	if (rd16(f, 0x12) != EM_X86_64)
		return MSG("vmlinux: e_machine at 0x12 is %u, not x86-64 (62)", rd16(f, 0x12));
	u64 phoff = rd64(f, 0x20);
	u16 phentsize = rd16(f, 0x36), phnum = rd16(f, 0x38);
	if (phentsize != ELF64_PHDR_SIZE)
		return MSG("vmlinux: e_phentsize at 0x36 is %u, not 56", phentsize);
	if (phnum == 0 || phoff > size || (u64)phnum * ELF64_PHDR_SIZE > size - phoff)
		return MSG("vmlinux: truncated: %u program headers at 0x%llx do not fit in %zu bytes",
			   phnum, (unsigned long long)phoff, size);

	bool have_note = false;
	img->load_start = ~0ull;
	img->load_end = 0;
	for (unsigned i = 0; i < phnum; i++) {
		const u8 *ph = f + phoff + (u64)i * ELF64_PHDR_SIZE;
		u32 type = rd32(ph, 0);
		u64 off = rd64(ph, 8), paddr = rd64(ph, 24), filesz = rd64(ph, 32), memsz = rd64(ph, 40);
		if (type != PT_LOAD && type != PT_NOTE)
			continue;
		if (off > size || filesz > size - off)
			return MSG("vmlinux: truncated: program header %u (file offset 0x%llx, 0x%llx bytes) ends past the file's %zu bytes",
				   i, (unsigned long long)off, (unsigned long long)filesz, size);
		if (type == PT_NOTE) {
			int r = find_pvh_note(f, off, filesz, &img->pvh_entry, err, errlen);
			if (r < 0)
				return r;
			have_note |= r == 1;
			continue;
		}
		if (img->nsegments == LINUX_MAX_SEGMENTS)
			return MSG("vmlinux: more than %u PT_LOAD segments", LINUX_MAX_SEGMENTS);
		if (filesz > memsz || paddr >= GiB(4) || memsz > GiB(4) - paddr)
			return MSG("vmlinux: PT_LOAD %u: paddr 0x%llx, file 0x%llx, memory 0x%llx bytes: not a range below 4 GiB",
				   i, (unsigned long long)paddr, (unsigned long long)filesz, (unsigned long long)memsz);
		img->seg[img->nsegments++] = (struct linux_segment){ off, paddr, filesz, memsz };
		if (paddr < img->load_start)
			img->load_start = paddr;
		if (paddr + memsz > img->load_end)
			img->load_end = paddr + memsz;
	}
	if (!have_note)
		return MSG("vmlinux: no PVH entry: no \"Xen\" note of type 18 (XEN_ELFNOTE_PHYS32_ENTRY) in any PT_NOTE; "
			   "build with CONFIG_PVH or use the bzImage");
	if (img->nsegments == 0)
		return MSG("vmlinux: no PT_LOAD segment");
	for (unsigned i = 0; i < img->nsegments; i++)
		for (unsigned j = i + 1; j < img->nsegments; j++)
			if (img->seg[i].paddr < img->seg[j].paddr + img->seg[j].memsz &&
			    img->seg[j].paddr < img->seg[i].paddr + img->seg[i].memsz)
				return MSG("vmlinux: PT_LOAD segments at paddr 0x%llx and 0x%llx overlap",
					   (unsigned long long)img->seg[i].paddr, (unsigned long long)img->seg[j].paddr);
	if (img->pvh_entry < img->load_start || img->pvh_entry >= img->load_end)
		return MSG("vmlinux: PVH entry 0x%x lies outside the loaded range [0x%llx, 0x%llx)", img->pvh_entry,
			   (unsigned long long)img->load_start, (unsigned long long)img->load_end);
	return 0;
}

int linux_probe(const void *file, size_t size, struct linux_image *img, char *err, size_t errlen)
{
	const u8 *f = file;
	memset(img, 0, sizeof(*img));
	if (size >= 4 && memcmp(f, "\177ELF", 4) == 0)
		return probe_elf(f, size, img, err, errlen);
	if (size >= HDR_HEADER + 4 && rd32(f, HDR_HEADER) == LINUX_HDRS_MAGIC)
		return probe_bzimage(f, size, img, err, errlen);
	return MSG("kernel: neither a bzImage (no \"HdrS\" at offset 0x202) nor an ELF vmlinux (no \"\\177ELF\" at 0); %zu bytes",
		   size);
}

/* ---- the plan ------------------------------------------------------------------- */

static void add_e820(struct linux_layout *lay, u64 addr, u64 size, u32 type)
{
	lay->e820[lay->ne820++] = (struct e820_entry){ addr, size, type };
}

int linux_plan(const struct linux_image *img, const struct linux_params *p,
	       struct linux_layout *lay, char *err, size_t errlen)
{
	memset(lay, 0, sizeof(*lay));
	lay->format = img->format;
	if (img->format != LINUX_FMT_BZIMAGE && img->format != LINUX_FMT_PVH)
		return MSG("linux: no kernel image probed");
	if (p->ram_size < MiB(2) || p->ram_size > LINUX_RAM_MAX || p->ram_size % KiB(4))
		return MSG("linux: RAM of 0x%llx bytes: need a multiple of 4 KiB from 2 MiB to 3 GiB",
			   (unsigned long long)p->ram_size);

	/* The command line: the header's limit (bzImage) or Linux's COMMAND_LINE_SIZE (PVH). */
	lay->cmdline = LINUX_CMDLINE;
	lay->cmdline_len = strlen(p->cmdline);
	u64 max = img->format == LINUX_FMT_BZIMAGE ? img->cmdline_size : LINUX_PVH_CMDLINE_MAX;
	if (max > LINUX_CMDLINE_ROOM - 1)
		max = LINUX_CMDLINE_ROOM - 1;
	if (lay->cmdline_len > max)
		return MSG(img->format == LINUX_FMT_BZIMAGE
			   ? "linux: command line of %llu bytes is too long: the kernel takes at most %llu (cmdline_size, setup header 0x238)"
			   : "linux: command line of %llu bytes is too long: the kernel takes at most %llu (COMMAND_LINE_SIZE - 1)",
			   (unsigned long long)lay->cmdline_len, (unsigned long long)max);

	if (p->acpi_size > LINUX_ACPI_ROOM)
		return MSG("linux: ACPI tables of %llu bytes exceed their %llu-byte area at 0x%x",
			   (unsigned long long)p->acpi_size, (unsigned long long)LINUX_ACPI_ROOM, LINUX_ACPI);
	lay->rsdp = p->acpi_size ? LINUX_ACPI : 0;

	/* The kernel: at pref_address (which every relocatable kernel also accepts), or where the ELF says. */
	lay->kernel_addr = img->load_start;
	lay->kernel_end = img->load_end;
	if (lay->kernel_addr < MiB(1))
		return MSG("linux: the kernel wants 0x%llx, inside the low 1 MiB hv keeps for boot data",
			   (unsigned long long)lay->kernel_addr);
	if (lay->kernel_end > p->ram_size)
		return MSG(img->format == LINUX_FMT_BZIMAGE
			   ? "linux: RAM too small: the kernel needs [0x%llx, 0x%llx) (pref_address + init_size), RAM ends at 0x%llx"
			   : "linux: RAM too small: the kernel's segments span [0x%llx, 0x%llx), RAM ends at 0x%llx",
			   (unsigned long long)lay->kernel_addr, (unsigned long long)lay->kernel_end,
			   (unsigned long long)p->ram_size);
	lay->entry = img->format == LINUX_FMT_BZIMAGE ? img->load_start + LINUX_ENTRY64_OFFSET : img->pvh_entry;
	lay->boot_info = LINUX_ZERO_PAGE;

	/* The initrd: page aligned, as high as allowed (boot.rst: "as high as possible"). */
	if (p->initrd_size) {
		u64 limit = p->ram_size;
		if (img->format == LINUX_FMT_BZIMAGE && (u64)img->initrd_addr_max + 1 < limit)
			limit = (u64)img->initrd_addr_max + 1;
		if (p->initrd_limit && p->initrd_limit < limit)
			limit = p->initrd_limit;
		u64 addr = p->initrd_size <= limit ? ALIGN_DOWN(limit - p->initrd_size, KiB(4)) : 0;
		if (p->initrd_size > limit || addr < lay->kernel_end)
			return MSG("linux: initrd of %llu bytes does not fit between the kernel's end 0x%llx and 0x%llx "
				   "(RAM end, initrd_addr_max, hv's limit)",
				   (unsigned long long)p->initrd_size, (unsigned long long)lay->kernel_end,
				   (unsigned long long)limit);
		lay->initrd_addr = addr;
		lay->initrd_size = p->initrd_size;
	}

	/*
	 * The memory map: low RAM, the legacy hole (EBDA, VGA, BIOS; the ACPI
	 * tables live in it, where an old kernel's RSDP scan also looks), RAM
	 * from 1 MiB, and the IOAPIC and LAPIC pages (MMIO) reserved.
	 */
	add_e820(lay, 0, LINUX_LOW_RAM_END, E820_RAM);
	add_e820(lay, LINUX_LOW_RAM_END, MiB(1) - LINUX_LOW_RAM_END, E820_RESERVED);
	add_e820(lay, MiB(1), p->ram_size - MiB(1), E820_RAM);
	add_e820(lay, LINUX_IOAPIC_BASE, KiB(4), E820_RESERVED);
	add_e820(lay, LINUX_LAPIC_BASE, KiB(4), E820_RESERVED);
	return 0;
}

/* ---- boot_params / hvm_start_info ------------------------------------------------- */

void linux_fill_boot_info(const struct linux_image *img, const void *file,
			  const struct linux_layout *lay, u8 *bp)
{
	memset(bp, 0, LINUX_ZERO_PAGE_SIZE);
	if (lay->format == LINUX_FMT_BZIMAGE) {
		/* boot.rst, 64-bit protocol: the setup header as in the file, then the loader's fields. */
		u32 end = img->header_end < BP_HDR_END ? img->header_end : BP_HDR_END;
		memcpy(bp + LINUX_SETUP_HDR, (const u8 *)file + LINUX_SETUP_HDR, end - LINUX_SETUP_HDR);
		wr8(bp, HDR_TYPE_OF_LOADER, LINUX_LOADER_UNDEFINED);
		wr32(bp, HDR_CMD_LINE_PTR, (u32)lay->cmdline);
		wr32(bp, BP_EXT_CMD_LINE_PTR, (u32)(lay->cmdline >> 32));
		wr32(bp, HDR_RAMDISK_IMAGE, (u32)lay->initrd_addr);
		wr32(bp, HDR_RAMDISK_SIZE, (u32)lay->initrd_size);
		wr32(bp, BP_EXT_RAMDISK_IMAGE, (u32)(lay->initrd_addr >> 32));
		wr32(bp, BP_EXT_RAMDISK_SIZE, (u32)(lay->initrd_size >> 32));
		wr64(bp, BP_ACPI_RSDP_ADDR, lay->rsdp);
		wr8(bp, BP_E820_ENTRIES, (u8)lay->ne820);
		for (unsigned i = 0; i < lay->ne820; i++) {
			size_t e = BP_E820_TABLE + i * 20;
			wr64(bp, e, lay->e820[i].addr);
			wr64(bp, e + 8, lay->e820[i].size);
			wr32(bp, e + 16, lay->e820[i].type);
		}
		return;
	}
	/* hvm_start_info at the page's start, one module (the initrd), the memory map. */
	wr32(bp, 0, PVH_START_MAGIC);
	wr32(bp, 4, PVH_START_VERSION);
	wr32(bp, 8, 0);                                   /* flags */
	wr32(bp, 12, lay->initrd_size ? 1 : 0);           /* nr_modules */
	wr64(bp, 16, lay->initrd_size ? LINUX_PVH_MODLIST : 0);
	wr64(bp, 24, lay->cmdline);
	wr64(bp, 32, lay->rsdp);
	wr64(bp, 40, LINUX_PVH_MEMMAP);
	wr32(bp, 48, lay->ne820);
	if (lay->initrd_size) {
		u8 *m = bp + (LINUX_PVH_MODLIST - LINUX_ZERO_PAGE);
		wr64(m, 0, lay->initrd_addr);
		wr64(m, 8, lay->initrd_size);             /* cmdline_paddr 0: none */
	}
	u8 *mm = bp + (LINUX_PVH_MEMMAP - LINUX_ZERO_PAGE);
	for (unsigned i = 0; i < lay->ne820; i++) {
		wr64(mm, i * PVH_MEMMAP_ENTRY_SIZE, lay->e820[i].addr);
		wr64(mm, i * PVH_MEMMAP_ENTRY_SIZE + 8, lay->e820[i].size);
		wr32(mm, i * PVH_MEMMAP_ENTRY_SIZE + 16, lay->e820[i].type);  /* XEN_HVM_MEMMAP_TYPE_* = e820 types */
	}
}

_Static_assert(LINUX_PVH_MODLIST - LINUX_ZERO_PAGE >= PVH_START_INFO_SIZE, "modlist after start_info");
_Static_assert(LINUX_PVH_MEMMAP - LINUX_PVH_MODLIST >= PVH_MODLIST_ENTRY_SIZE, "memmap after modlist");
_Static_assert(LINUX_PVH_MEMMAP - LINUX_ZERO_PAGE + LINUX_MAX_E820 * PVH_MEMMAP_ENTRY_SIZE <= LINUX_ZERO_PAGE_SIZE,
	       "memmap fits the page");
_Static_assert(BP_E820_TABLE + LINUX_MAX_E820 * 20 <= LINUX_ZERO_PAGE_SIZE && LINUX_MAX_E820 <= LINUX_E820_MAX,
	       "e820 fits boot_params");
_Static_assert(LINUX_ZERO_PAGE + LINUX_ZERO_PAGE_SIZE <= LINUX_CMDLINE, "cmdline after the zero page");
_Static_assert(LINUX_CMDLINE + LINUX_CMDLINE_ROOM <= LINUX_LOW_RAM_END, "cmdline in low RAM");
_Static_assert(LINUX_PD + 4 * 4096 <= LINUX_ZERO_PAGE, "page tables below the zero page");
_Static_assert(LINUX_ACPI + LINUX_ACPI_ROOM == MiB(1), "ACPI area ends at 1 MiB");

/* ---- descriptors and page tables --------------------------------------------------- */

/*
 * GDT descriptors (Intel SDM Vol. 3A 3.4.5): base 0, limit 0xfffff pages.
 * 0x10 __BOOT_CS: 64-bit code (L=1), 0x18 __BOOT_DS: data, read/write,
 * 0x20: 32-bit code for the PVH entry. Access byte 0x9b = present, DPL 0,
 * code, execute/read, accessed; 0x93 = present, data, read/write, accessed.
 */
#define GDT_CODE64 0x00af9b000000ffffull
#define GDT_DATA 0x00cf93000000ffffull
#define GDT_CODE32 0x00cf9b000000ffffull
#define SEL_CODE64 0x10
#define SEL_DATA 0x18
#define SEL_CODE32 0x20

void linux_fill_gdt(u8 *page)
{
	memset(page, 0, 4096);
	wr64(page, SEL_CODE64, GDT_CODE64);
	wr64(page, SEL_DATA, GDT_DATA);
	wr64(page, SEL_CODE32, GDT_CODE32);
}

void linux_fill_page_tables(u8 *t)
{
	/* Entry bits: P (0), R/W (1); PS (7) makes a PD entry a 2 MiB page. */
	memset(t, 0, LINUX_PT_PAGES * 4096);
	wr64(t, 0, LINUX_PDPT | 0x3);
	for (unsigned i = 0; i < 4; i++) {
		wr64(t, 4096 + i * 8, (LINUX_PD + i * 4096) | 0x3);
		for (unsigned j = 0; j < 512; j++)
			wr64(t, (2 + i) * 4096 + j * 8, (GiB(i) + MiB(2) * j) | 0x83);
	}
}
_Static_assert(LINUX_PDPT == LINUX_PML4 + 4096 && LINUX_PD == LINUX_PDPT + 4096, "tables contiguous");

/* ---- the vCPU at entry -------------------------------------------------------------- */

#define CR0_PE BIT(0)
#define CR0_ET BIT(4)
#define CR0_NE BIT(5)
#define CR0_PG BIT(31)
#define CR4_PAE BIT(5)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)

void linux_cpu_state(const struct linux_layout *lay, struct linux_cpu_state *s)
{
	memset(s, 0, sizeof(*s));
	s->rip = lay->entry;
	s->rflags = 0x2;                         /* reserved bit 1; IF, TF, VM clear */
	s->gdt_base = LINUX_GDT;
	s->gdt_limit = SEL_CODE32 + 7;
	/* Data: P S DPL0 type 3 (read/write, accessed), D/B=1, G=1 (SDM table 24-2). */
	struct linux_seg data = { SEL_DATA, 0xc093, 0xffffffff, 0 };
	s->ds = s->es = s->ss = s->fs = s->gs = data;
	if (lay->format == LINUX_FMT_BZIMAGE) {
		/* boot.rst 64-bit protocol: long mode, paging on, flat __BOOT_CS/__BOOT_DS, %rsi = boot_params. */
		s->rsi = lay->boot_info;
		s->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
		s->cr3 = LINUX_PML4;
		s->cr4 = CR4_PAE;
		s->efer = EFER_LME | EFER_LMA;
		s->cs = (struct linux_seg){ SEL_CODE64, 0xa09b, 0xffffffff, 0 };   /* L=1, D/B=0, G=1 */
		s->tr = (struct linux_seg){ 0, 0x008b, 0x67, 0 };                  /* busy 64-bit TSS (type 11) */
	} else {
		/* pvh.pandoc: protected mode, paging off, CR4 0, flat 32-bit CS/DS/ES/SS, TR a busy 32-bit
		 * TSS with base 0 and limit 0x67, EBX = hvm_start_info. */
		s->rbx = lay->boot_info;
		s->cr0 = CR0_PE | CR0_ET;
		s->cs = (struct linux_seg){ SEL_CODE32, 0xc09b, 0xffffffff, 0 };   /* D/B=1 */
		s->tr = (struct linux_seg){ 0, 0x008b, 0x67, 0 };
	}
}
