/*
 * hv/linux.h - the Linux boot protocols, as pure logic: recognise a kernel
 * image, plan where everything goes in a VM's physical memory, fill the
 * structure the kernel reads at entry, and say what the vCPU registers must
 * hold. No hardware, no guest memory access beyond the buffers passed in:
 * the caller (the loader, later) copies bytes to the planned addresses and
 * the backends load the planned register state. Host-tested in
 * tests/unit/test_linux.c.
 *
 * Two entries are supported (docs/platform.md):
 *  - bzImage, 64-bit boot protocol (Linux Documentation/arch/x86/boot.rst,
 *    "64-bit Boot Protocol"): the setup header at 0x1f1, a boot_params "zero
 *    page" (zero-page.rst), entry at load address + 0x200 in long mode.
 *  - ELF vmlinux with a Xen PVH note (XEN_ELFNOTE_PHYS32_ENTRY): 32-bit
 *    protected mode, paging off, EBX = struct hvm_start_info (Xen's
 *    public/arch-x86/hvm/start_info.h; Linux include/xen/interface/hvm/).
 */
#ifndef HV_LINUX_H
#define HV_LINUX_H

#include "lib.h"

/* ---- boot_params and the setup header (zero-page.rst, boot.rst) ----------------- */

#define LINUX_SETUP_HDR 0x1f1          /* offset of the setup header in file and zero page */
#define LINUX_HDRS_MAGIC 0x53726448u   /* "HdrS" at 0x202 */
#define LINUX_BOOT_FLAG 0xaa55         /* at 0x1fe */
#define LINUX_MIN_VERSION 0x020c       /* 2.12: xloadflags (XLF_KERNEL_64) exists */
#define LINUX_XLF_KERNEL_64 BIT(0)     /* xloadflags: has the 64-bit entry at +0x200 */
#define LINUX_LOADED_HIGH BIT(0)       /* loadflags: protected-mode code at 0x100000+ */
#define LINUX_CAN_USE_HEAP BIT(7)      /* loadflags: heap_end_ptr is valid */
#define LINUX_LOADER_UNDEFINED 0xff    /* type_of_loader: "no assigned id" */
#define LINUX_ENTRY64_OFFSET 0x200     /* 64-bit entry = load address + 0x200 */
#define LINUX_E820_MAX 128             /* entries in boot_params.e820_table */
#define LINUX_ZERO_PAGE_SIZE 4096
#define LINUX_PVH_CMDLINE_MAX 2047     /* x86 COMMAND_LINE_SIZE 2048, NUL included */

/* Offsets in boot_params (zero-page.rst). */
#define BP_ACPI_RSDP_ADDR 0x070        /* u64 */
#define BP_EXT_RAMDISK_IMAGE 0x0c0     /* u32: bits 32..63 */
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8          /* u8 */
#define BP_SENTINEL 0x1ef              /* u8: must stay 0 (the kernel checks it) */
#define BP_E820_TABLE 0x2d0            /* 128 x struct { u64 addr, size; u32 type } packed */

/* Offsets of setup header fields, in the file and in boot_params (boot.rst). */
#define HDR_SETUP_SECTS 0x1f1          /* u8; 0 means 4 */
#define HDR_BOOT_FLAG 0x1fe            /* u16 */
#define HDR_JUMP 0x200                 /* u16; byte 0x201 = header end - 0x202 */
#define HDR_HEADER 0x202               /* u32 "HdrS" */
#define HDR_VERSION 0x206              /* u16 */
#define HDR_TYPE_OF_LOADER 0x210       /* u8 */
#define HDR_LOADFLAGS 0x211            /* u8 */
#define HDR_RAMDISK_IMAGE 0x218        /* u32 */
#define HDR_RAMDISK_SIZE 0x21c         /* u32 */
#define HDR_HEAP_END_PTR 0x224         /* u16 */
#define HDR_CMD_LINE_PTR 0x228         /* u32 */
#define HDR_INITRD_ADDR_MAX 0x22c      /* u32: highest address the initrd may touch */
#define HDR_KERNEL_ALIGNMENT 0x230     /* u32 */
#define HDR_RELOCATABLE 0x234          /* u8 */
#define HDR_XLOADFLAGS 0x236           /* u16 */
#define HDR_CMDLINE_SIZE 0x238         /* u32: longest command line, NUL excluded */
#define HDR_PAYLOAD_OFFSET 0x248       /* u32, from the protected-mode code */
#define HDR_PAYLOAD_LENGTH 0x24c       /* u32 */
#define HDR_PREF_ADDRESS 0x258         /* u64 */
#define HDR_INIT_SIZE 0x260            /* u32: bytes needed from the load address */
#define HDR_MIN_END 0x264              /* the header must reach this far (2.12: init_size) */

/* e820 types (ACPI 6.4 table 15.4, "Address Range Types"). */
enum e820_type { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3, E820_NVS = 4 };

/* ---- hvm_start_info (Xen public/arch-x86/hvm/start_info.h) ----------------------- */

#define PVH_START_MAGIC 0x336ec578u    /* "xEn3" with the top bit of 'E' set */
#define PVH_START_VERSION 1            /* version 1 adds the memory map */
#define PVH_ELFNOTE_PHYS32_ENTRY 18    /* XEN_ELFNOTE_PHYS32_ENTRY in a "Xen" note */
#define PVH_START_INFO_SIZE 56
#define PVH_MODLIST_ENTRY_SIZE 32      /* u64 paddr, size, cmdline_paddr, reserved */
#define PVH_MEMMAP_ENTRY_SIZE 24       /* u64 addr, size; u32 type, reserved */

/* ---- the image ---------------------------------------------------------------- */

enum linux_format { LINUX_FMT_NONE, LINUX_FMT_BZIMAGE, LINUX_FMT_PVH };

#define LINUX_MAX_SEGMENTS 8

struct linux_segment {                 /* one PT_LOAD of a vmlinux */
	u64 offset, paddr, filesz, memsz;
};

struct linux_image {
	enum linux_format format;
	/* bzImage */
	u16 version;                   /* boot protocol, e.g. 0x020f */
	u32 setup_size;                /* (setup_sects + 1) * 512: real-mode part in the file */
	u32 header_end;                /* first byte after the setup header (0x202 + file[0x201]) */
	u8 loadflags;
	u16 xloadflags;
	bool relocatable;
	u32 kernel_alignment;
	u64 pref_address;
	u32 init_size;
	u32 cmdline_size;              /* longest command line, NUL excluded */
	u32 initrd_addr_max;
	u32 payload_offset, payload_length;
	/* PVH */
	u32 pvh_entry;                 /* physical address of the 32-bit entry */
	unsigned nsegments;
	struct linux_segment seg[LINUX_MAX_SEGMENTS];
	/* both: the physical range the kernel occupies once loaded */
	u64 load_start, load_end;
};

/*
 * Recognise file[0, size): a bzImage with the 64-bit entry, or an ELF64
 * vmlinux with a PVH note. Returns 0 and fills *img, or -1 with a message
 * in err naming what is wrong and where (file offset or field).
 */
int linux_probe(const void *file, size_t size, struct linux_image *img, char *err, size_t errlen);

/* ---- the plan ----------------------------------------------------------------- */

/*
 * Guest-physical layout of a Linux VM (docs/platform.md has the picture).
 * Fixed low-memory places, all below 1 MiB, which Linux keeps reserved until
 * it has copied what it needs:
 */
#define LINUX_GDT 0x1000              /* null, null, __BOOT_CS 0x10, __BOOT_DS 0x18 */
#define LINUX_PML4 0x2000             /* 64-bit entry: identity map of the first 4 GiB */
#define LINUX_PDPT 0x3000
#define LINUX_PD 0x4000               /* 4 page directories, 2 MiB pages, to 0x7fff */
#define LINUX_ZERO_PAGE 0x8000        /* boot_params, or hvm_start_info + modlist + memmap */
#define LINUX_CMDLINE 0x9000          /* up to LINUX_CMDLINE_ROOM bytes with the NUL */
#define LINUX_CMDLINE_ROOM 0x8000
#define LINUX_LOW_RAM_END 0x9f000     /* RAM below; EBDA/VGA/BIOS hole above */
#define LINUX_ACPI 0xe0000            /* ACPI tables: RSDP first, in the legacy scan area */
#define LINUX_ACPI_ROOM 0x20000       /* to 1 MiB */
#define LINUX_RESET_VECTOR 0xffff0    /* F000:FFF0: hv/linux_load.c's reset stub (16 bytes) */
#define LINUX_PT_COVER GiB(4)         /* what the 64-bit entry's identity map covers */
#define LINUX_RAM_MAX 0xc0000000ull   /* RAM is one range from 0; MMIO sits above 3 GiB */
#define LINUX_IOAPIC_BASE 0xfec00000ull
#define LINUX_LAPIC_BASE 0xfee00000ull

/* What offsets the PVH structures take inside the zero-page area. */
#define LINUX_PVH_MODLIST (LINUX_ZERO_PAGE + 0x40)
#define LINUX_PVH_MEMMAP (LINUX_ZERO_PAGE + 0x80)

#define LINUX_MAX_E820 8

struct e820_entry {
	u64 addr, size;
	u32 type;
};

struct linux_params {
	u64 ram_size;                  /* bytes of RAM from guest-physical 0 */
	const char *cmdline;           /* NUL-terminated; may be empty, not NULL */
	u64 initrd_size;               /* 0: none */
	u64 initrd_limit;              /* initrd ends at or below this; 0: no own limit */
	u64 acpi_size;                 /* bytes of ACPI tables at LINUX_ACPI (acpi.h); 0: none */
};

struct linux_layout {
	enum linux_format format;
	u64 kernel_addr;               /* bzImage: where the protected-mode code goes */
	u64 kernel_end;                /* end of the range the kernel may use (init_size) */
	u64 boot_info;                 /* zero page or hvm_start_info */
	u64 cmdline;
	u64 cmdline_len;               /* NUL excluded */
	u64 initrd_addr, initrd_size;
	u64 rsdp;                      /* 0: no ACPI */
	u64 entry;                     /* RIP (bzImage) or EIP (PVH) */
	unsigned ne820;
	struct e820_entry e820[LINUX_MAX_E820];
};

/* Plan the layout for img with params p. 0, or -1 with a message in err. */
int linux_plan(const struct linux_image *img, const struct linux_params *p,
	       struct linux_layout *lay, char *err, size_t errlen);

/*
 * Fill boot_info[0, LINUX_ZERO_PAGE_SIZE) - the page at lay->boot_info - for
 * the planned layout: a boot_params (the file's setup header copied, loader
 * fields set, e820, RSDP) for a bzImage, or hvm_start_info with its module
 * list and memory map for PVH. file is the kernel image (the setup header
 * comes from it).
 */
void linux_fill_boot_info(const struct linux_image *img, const void *file,
			  const struct linux_layout *lay, u8 *boot_info);

/* Fill the 4 KiB GDT page at LINUX_GDT (both entries use it). */
void linux_fill_gdt(u8 *page);

/*
 * Fill the 64-bit entry's identity map: tables[0, 6 * 4096) is the memory
 * from LINUX_PML4 to LINUX_PD + 4 pages (PML4, PDPT, 4 PDs), mapping
 * [0, LINUX_PT_COVER) with 2 MiB pages (Intel SDM Vol. 3A 4.5, AMD APM
 * Vol. 2 5.3: entries present + writable, PS in the PD entries).
 */
#define LINUX_PT_PAGES 6
void linux_fill_page_tables(u8 *tables);

/* ---- the initial vCPU state --------------------------------------------------- */

/*
 * A segment as the backends load it: attr in the VMX access-rights layout
 * (Intel SDM Vol. 3C 24.4.1, table 24-2: type 0-3, S 4, DPL 5-6, P 7,
 * AVL 12, L 13, D/B 14, G 15). SVM keeps the same bits compressed
 * (APM Vol. 2 15.5.1): svm_attr = (attr & 0xff) | ((attr >> 4) & 0xf00).
 */
struct linux_seg {
	u16 sel;
	u16 attr;
	u32 limit;
	u64 base;
};

struct linux_cpu_state {
	u64 rip, rsi, rbx, rflags;
	u64 cr0, cr3, cr4, efer;
	struct linux_seg cs, ds, es, ss, fs, gs, tr;
	u64 gdt_base;
	u16 gdt_limit;
};

/* The boot vCPU's state at entry for the planned layout. */
void linux_cpu_state(const struct linux_layout *lay, struct linux_cpu_state *s);

#endif
