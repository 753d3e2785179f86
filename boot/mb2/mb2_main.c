/*
 * boot/mb2/mb2_main.c - the Multiboot2 boot path (GRUB's `multiboot2` +
 * `module2`), built as build/hv-mb2.elf.
 *
 * entry.S has put the CPU in long mode on identity page tables for the low
 * 4 GiB. Here we read the Multiboot2 boot information (spec 3.6): the memory
 * map, the modules and the ACPI RSDP. The config is the module whose command
 * line is `hv.cfg`; each VM's image is the module whose command line equals
 * the config's `image` value (a Linux VM: `kernel`, and `initrd` if given). GRUB has already put every module in memory,
 * so nothing is copied: the core copies each image into its VM's memory.
 * Then we pick one 2 MiB-aligned pool from free RAM that overlaps neither hv
 * nor a module nor the boot information, and call hv_main().
 *
 * Every error is a line on COM1 (`hv: config error: hv.cfg:LINE: ...`, the
 * same wording as the UEFI loader where the problem is the same) followed by
 * platform_exit(HV_EXIT_CONFIG_ERROR): under QEMU or Bochs the emulator ends,
 * on a real machine hv halts with the message on the console.
 */
#include "../../hv/bootinfo.h"
#include "../../hv/guest_layout.h"
#include "../../hv/hv.h"
#include "../../hv/x86/cpu.h"
#include "../../hv/x86/protect.h"
#include "multiboot2.h"

#define CONFIG_MODULE "hv.cfg"
#define MAX_MODULES 64
#define MAX_REGIONS 256
#define MAX_EXCLUDED (MAX_MODULES + 2)
#define POOL_LIMIT GiB(4)          /* entry.S maps only the low 4 GiB */
#define AP_TRAMPOLINE_PAGES 8

/* From mb2.ld: hv's whole image, .bss included. */
extern const u8 __mb2_image_start[], __mb2_image_end[];

struct module {
	u64 start, end;
	const char *cmdline;       /* blanks around it removed when compared */
};

struct range {
	u64 start, end;
};

static struct boot_info bootinfo;
static struct hv_config config;
static struct module modules[MAX_MODULES];
static unsigned nmodules;
static struct range ram[MAX_REGIONS];          /* type 1 (available) regions */
static unsigned nram;
static struct range excluded[MAX_EXCLUDED];    /* hv, the modules, the boot information */
static unsigned nexcluded;
static u8 rsdp_copy[64] __attribute__((aligned(16)));

void mb2_main(u32 magic, u64 info_pa) __attribute__((noreturn, no_stack_protector));

/*
 * Wait until COM1 has sent everything (LSR bit 6, TEMT; PC16550D data
 * sheet): hv_main programs the UART again, and a byte still being shifted
 * out then is lost or garbled (Bochs turns it into a NUL). Bounded, for a
 * machine without a UART (reads 0xff).
 */
static void serial_drain(void)
{
	for (int i = 0; i < 100000 && !(inb(0x3f8 + 5) & 0x40); i++)
		pause();
}

/*
 * host_x2apic = enable (a test aid): play the firmware that hands over the
 * LAPIC in x2APIC mode, as current servers do. IA32_APIC_BASE: EN (bit 11)
 * and EXTD (bit 10) together take xAPIC to x2APIC (SDM Vol. 3 11.12.5).
 * Where IA32_XAPIC_DISABLE_STATUS is missing (every emulator here) the mode
 * cannot be locked; the core reports what it finds.
 */
static void enable_x2apic(void)
{
	if (!(cpuid(1, 0).ecx & BIT(21))) {
		printk("hv: host_x2apic = enable: this CPU has no x2APIC (CPUID.1:ECX[21]); left in xAPIC mode\n");
		return;
	}
	u64 base = rdmsr(0x1b);
	wrmsr(0x1b, base | BIT(11) | BIT(10));
	printk("hv: host_x2apic = enable: the loader switched the boot CPU's LAPIC to x2APIC mode\n");
}

static void __attribute__((noreturn)) fail(void)
{
	printk("hv: boot stopped; nothing was started\n");
	platform_exit(HV_EXIT_CONFIG_ERROR);
}

/* Does the module's command line, blanks around it removed, equal name? */
static bool cmdline_is(const char *cmdline, const char *name)
{
	while (*cmdline == ' ' || *cmdline == '\t')
		cmdline++;
	size_t n = strlen(name);
	if (strncmp(cmdline, name, n) != 0)
		return false;
	for (cmdline += n; *cmdline; cmdline++)
		if (*cmdline != ' ' && *cmdline != '\t')
			return false;
	return true;
}

static const struct module *find_module(const char *name)
{
	for (unsigned i = 0; i < nmodules; i++)
		if (cmdline_is(modules[i].cmdline, name))
			return &modules[i];
	return NULL;
}

static void exclude(u64 start, u64 end)
{
	if (nexcluded < MAX_EXCLUDED && end > start)
		excluded[nexcluded++] = (struct range){ start, end };
}

/* The first excluded range that overlaps [start, end), or NULL. */
static const struct range *overlap(u64 start, u64 end)
{
	for (unsigned i = 0; i < nexcluded; i++)
		if (start < excluded[i].end && excluded[i].start < end)
			return &excluded[i];
	return NULL;
}

/*
 * Sort the available ranges and join those that touch or overlap: a map
 * from UEFI firmware can list one stretch of free RAM as several entries of
 * different EFI types, all "available" here, and the pool may span them.
 */
static void merge_ram(void)
{
	for (unsigned i = 1; i < nram; i++)
		for (unsigned j = i; j > 0 && ram[j].start < ram[j - 1].start; j--) {
			struct range t = ram[j];
			ram[j] = ram[j - 1];
			ram[j - 1] = t;
		}
	unsigned n = 0;
	for (unsigned i = 0; i < nram; i++) {
		if (ram[i].end <= ram[i].start)
			continue;
		if (n && ram[i].start <= ram[n - 1].end) {
			if (ram[i].end > ram[n - 1].end)
				ram[n - 1].end = ram[i].end;
		} else {
			ram[n++] = ram[i];
		}
	}
	nram = n;
}

/*
 * Walk the boot information (spec 3.6.1: tags 8-byte aligned, ending with a
 * type-0 tag). Fills modules, ram, phys_top and the RSDP copy.
 */
static void parse_info(const struct mb2_info *info)
{
	const u8 *p = (const u8 *)(info + 1), *end = (const u8 *)info + info->total_size;
	bool have_mmap = false, have_new_rsdp = false;
	u64 upper_kib = 0;

	while (p + sizeof(struct mb2_tag) <= end) {
		const struct mb2_tag *tag = (const void *)p;
		if (tag->type == MB2_TAG_END || tag->size < sizeof(*tag))
			break;
		switch (tag->type) {
		case MB2_TAG_MODULE: {
			const struct mb2_tag_module *m = (const void *)tag;
			if (nmodules == MAX_MODULES) {
				printk("hv: warning: more than %u modules; the rest are ignored\n", MAX_MODULES);
				break;
			}
			modules[nmodules++] = (struct module){ m->mod_start, m->mod_end, m->cmdline };
			break;
		}
		case MB2_TAG_BASIC_MEMINFO:
			upper_kib = ((const struct mb2_tag_basic_meminfo *)(const void *)tag)->mem_upper;
			break;
		case MB2_TAG_MMAP: {
			const struct mb2_tag_mmap *mm = (const void *)tag;
			const u8 *e = (const u8 *)(mm + 1), *mend = (const u8 *)tag + tag->size;
			if (mm->entry_size < sizeof(struct mb2_mmap_entry))
				break;
			have_mmap = true;
			for (; e + mm->entry_size <= mend; e += mm->entry_size) {
				const struct mb2_mmap_entry *me = (const void *)e;
				u64 top = me->base_addr + me->length;
				/* RAM of any kind counts for phys_top (as in the UEFI loader);
				 * only available RAM may hold the pool. */
				if (me->type == MB2_MEM_AVAILABLE || me->type == MB2_MEM_ACPI_RECLAIMABLE ||
				    me->type == MB2_MEM_NVS || me->type == MB2_MEM_BADRAM)
					if (top > bootinfo.phys_top)
						bootinfo.phys_top = top;
				if (me->type == MB2_MEM_AVAILABLE && nram < MAX_REGIONS)
					ram[nram++] = (struct range){ me->base_addr, top };
			}
			break;
		}
		case MB2_TAG_FRAMEBUFFER: {
			const struct mb2_tag_framebuffer *f = (const void *)tag;
			bool rgb32 = f->type == 1 && f->bpp == 32 && tag->size >= sizeof(*f) &&
				     f->red_size == 8 && f->green_size == 8 && f->blue_size == 8 &&
				     f->red_pos <= 16 && f->green_pos <= 16 && f->blue_pos <= 16;
			if (rgb32 || f->type == 2)
				bootinfo.fb = (struct boot_fb){
					.kind = rgb32 ? FB_PIXELS32 : FB_EGA_TEXT, .base = f->addr,
					.size = (u64)f->pitch * f->height, .width = f->width,
					.height = f->height, .stride = f->pitch,
				};
			else
				printk("hv: note: GRUB's framebuffer (type %u, %u bpp) is not one hv draws on\n",
				       f->type, f->bpp);
			break;
		}
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW: {
			/* The tag holds a copy of the RSDP, not its address: keep our own
			 * copy inside hv's image, which nothing reuses. ACPI 2.0+ wins. */
			size_t n = tag->size - sizeof(*tag);
			if (n > sizeof(rsdp_copy))
				n = sizeof(rsdp_copy);
			if (tag->type == MB2_TAG_ACPI_NEW || !have_new_rsdp) {
				memcpy(rsdp_copy, ((const struct mb2_tag_acpi *)(const void *)tag)->rsdp, n);
				bootinfo.acpi_rsdp = va_to_pa(rsdp_copy);
				have_new_rsdp |= tag->type == MB2_TAG_ACPI_NEW;
			}
			break;
		}
		default:
			break;
		}
		p += ALIGN_UP((u64)tag->size, 8);
	}

	if (!have_mmap && upper_kib) {
		/* Only the basic tag: RAM from 1 MiB up (spec 3.6.7). */
		ram[nram++] = (struct range){ MiB(1), MiB(1) + upper_kib * 1024 };
		bootinfo.phys_top = MiB(1) + upper_kib * 1024;
	}
	merge_ram();
}

/*
 * The lowest 2 MiB-aligned address where size bytes of available RAM below
 * 4 GiB (entry.S's page tables; the core allocates from the pool before it
 * loads its own) overlap nothing excluded. 0 if there is none.
 */
static u64 find_pool(u64 size)
{
	u64 best = 0;
	for (unsigned i = 0; i < nram; i++) {
		u64 end = ram[i].end < POOL_LIMIT ? ram[i].end : POOL_LIMIT;
		u64 at = ALIGN_UP(ram[i].start < MiB(1) ? MiB(1) : ram[i].start, MiB(2));
		while (at + size <= end && at + size > at) {
			const struct range *r = overlap(at, at + size);
			if (!r) {
				if (!best || at < best)
					best = at;
				break;
			}
			at = ALIGN_UP(r->end, MiB(2));
		}
	}
	return best;
}

/*
 * 8 pages below 1 MiB (and above the real-mode IVT and BIOS data area) for
 * the other CPUs' start-up code: a SIPI vector names a page below 1 MiB (SDM
 * Vol. 3 8.4.4.1). The highest such block in available RAM, as the UEFI
 * loader asks for; 0 when there is none.
 */
static u64 find_ap_trampoline(void)
{
	const u64 size = AP_TRAMPOLINE_PAGES * 4096;
	u64 best = 0;
	for (unsigned i = 0; i < nram; i++) {
		u64 start = ALIGN_UP(ram[i].start < 0x1000 ? 0x1000 : ram[i].start, 4096);
		u64 end = ALIGN_DOWN(ram[i].end < 0xa0000 ? ram[i].end : 0xa0000, 4096);
		for (u64 at = end; at >= start + size && at - size > best; at -= 4096)
			if (!overlap(at - size, at)) {
				best = at - size;
				break;
			}
	}
	return best;
}

void mb2_main(u32 magic, u64 info_pa)
{
	static char err[160];
	const struct mb2_info *info = pa_to_va(info_pa);

	stack_guard_init();      /* first: see x86/protect.h */

	bootinfo.image_start = va_to_pa(__mb2_image_start);
	bootinfo.image_end = va_to_pa(__mb2_image_end);
	/* gdb: symbol-file build/hv-mb2.elf (linked where it runs; docs/booting.md) */
	printk("\nhv: Multiboot2 loader starting, image at 0x%llx\n",
	       (unsigned long long)bootinfo.image_start);
	if (magic != MB2_BOOTLOADER_MAGIC) {
		printk("hv: error: started with EAX=0x%x, not the Multiboot2 magic 0x%x; "
		       "boot hv-mb2.elf with GRUB's `multiboot2` command\n", magic, MB2_BOOTLOADER_MAGIC);
		fail();
	}
	parse_info(info);
	/* The screen too, from here on: a config error must be visible on a
	 * machine without a serial port (hv_main sets the consoles again as
	 * the config's `console` key says). */
	console_setup(&bootinfo.fb, 0);
	exclude(bootinfo.image_start, bootinfo.image_end);
	exclude(info_pa, info_pa + info->total_size);
	for (unsigned i = 0; i < nmodules; i++)
		exclude(modules[i].start, modules[i].end);

	const struct module *cfgmod = find_module(CONFIG_MODULE);
	if (!cfgmod) {
		printk("hv: config error: %s: no boot module with the command line '%s' "
		       "(%u module(s) given); expected a line `module2 /boot/%s %s` in grub.cfg\n",
		       CONFIG_MODULE, CONFIG_MODULE, nmodules, CONFIG_MODULE, CONFIG_MODULE);
		fail();
	}
	u64 size = cfgmod->end - cfgmod->start;
	if (cfgmod->end < cfgmod->start || size > MiB(1)) {
		printk("hv: config error: %s: file is %llu bytes, larger than 1 MiB\n",
		       CONFIG_MODULE, (unsigned long long)size);
		fail();
	}
	if (config_parse(pa_to_va(cfgmod->start), size, CONFIG_MODULE, &config, err, sizeof(err))) {
		printk("hv: config error: %s\n", err);
		fail();
	}
	printk("hv: %s: %u VM(s), policy %s, track %s\n", CONFIG_MODULE, config.nvms,
	       policy_name(config.policy), track_name(config.track));

	for (unsigned i = 0; i < config.nvms; i++) {
		const struct vm_config *vm = &config.vms[i];
		u64 max = guest_image_max(vm);
		/* A Linux VM: its kernel in place of the image, then the initrd (hv/linux_load.c). */
		bool is_linux = vm_is_linux(vm);
		const char *what = is_linux ? "kernel" : "image";
		const char *name = is_linux ? vm->kernel : vm->image;
		unsigned line = is_linux ? vm->kernel_line : vm->line;
		for (int f = 0; f < 2; f++) {
			const struct module *m = find_module(name);
			if (!m) {
				printk("hv: config error: %s:%u: %s '%s' of vm '%s': not among the boot "
				       "modules; expected a line `module2 /boot/%s %s` in grub.cfg\n",
				       CONFIG_MODULE, line, what, name, vm->name, name, name);
				fail();
			}
			size = m->end > m->start ? m->end - m->start : 0;
			if (size > max) {
				printk("hv: config error: %s:%u: %s '%s' of vm '%s' is %llu bytes; "
				       "at most %llu fit in its memory\n", CONFIG_MODULE, line, what, name,
				       vm->name, (unsigned long long)size, (unsigned long long)max);
				fail();
			}
			struct boot_image *bi = f == 0 ? &bootinfo.images[i] : &bootinfo.initrds[i];
			bi->pa = m->start;
			bi->size = size;
			if (!is_linux || !vm->initrd[0])
				break;
			what = "initrd";
			name = vm->initrd;
			line = vm->initrd_line;
		}
	}

	/* One pool, 2 MiB aligned, for hv's structures and all guest memory. */
	u64 pool = hv_pool_size(&config);
	bootinfo.pool_pa = find_pool(pool);
	if (!bootinfo.pool_pa) {
		printk("hv: config error: %s: the VMs need %llu MiB and no free RAM below 4 GiB "
		       "has that much in one piece\n", CONFIG_MODULE, (unsigned long long)(pool >> 20));
		fail();
	}
	bootinfo.pool_size = pool;
	exclude(bootinfo.pool_pa, bootinfo.pool_pa + pool);
	if (config.max_pcpus > 1)
		bootinfo.ap_trampoline_pa = find_ap_trampoline();

	bootinfo.magic = BOOTINFO_MAGIC;
	bootinfo.loader = "multiboot2";
	bootinfo.config_name = CONFIG_MODULE;
	bootinfo.config = &config;
	if (bootinfo.phys_top < bootinfo.image_end)
		bootinfo.phys_top = bootinfo.image_end;
	if (config.host_x2apic_enable)
		enable_x2apic();
	printk("hv: %u module(s), RAM top 0x%llx, pool %llu MiB at 0x%llx\n", nmodules,
	       (unsigned long long)bootinfo.phys_top, (unsigned long long)(pool >> 20),
	       (unsigned long long)bootinfo.pool_pa);
	serial_drain();
	hv_main(&bootinfo);
}
