/*
 * boot/mb2/multiboot2.h - the parts of the Multiboot2 specification (version
 * 2.0, "Multiboot2 Specification", GNU GRUB) that hv's second boot path uses.
 * Section numbers below refer to that document.
 *
 * Shared by the assembly entry (header.S, with __ASSEMBLY__ defined) and the
 * C part (mb2_main.c).
 */
#ifndef HV_BOOT_MB2_MULTIBOOT2_H
#define HV_BOOT_MB2_MULTIBOOT2_H

/* 3.1.2 "The magic fields of Multiboot2 header". */
#define MB2_HEADER_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0                 /* 32-bit (protected) mode of i386 */
#define MB2_HEADER_TAG_END 0
#define MB2_HEADER_TAG_FRAMEBUFFER 5    /* 3.1.10: preferred graphics mode */
#define MB2_HEADER_TAG_OPTIONAL 1

/* 3.3 "Machine state": EAX holds this when the loader jumps to the entry. */
#define MB2_BOOTLOADER_MAGIC 0x36d76289

/* 3.6 "Boot information format": tag types. */
#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_LOADER_NAME 2
#define MB2_TAG_MODULE 3
#define MB2_TAG_BASIC_MEMINFO 4
#define MB2_TAG_MMAP 6
#define MB2_TAG_FRAMEBUFFER 8
#define MB2_TAG_ACPI_OLD 14             /* a copy of the ACPI 1.0 RSDP */
#define MB2_TAG_ACPI_NEW 15             /* a copy of the ACPI 2.0+ RSDP */

/* 3.6.8 "Memory map": entry types. */
#define MB2_MEM_AVAILABLE 1
#define MB2_MEM_RESERVED 2
#define MB2_MEM_ACPI_RECLAIMABLE 3
#define MB2_MEM_NVS 4
#define MB2_MEM_BADRAM 5

#ifndef __ASSEMBLY__
#include "../../hv/lib.h"

/* 3.6.1: the information starts with total_size and a reserved word. */
struct mb2_info {
	u32 total_size;
	u32 reserved;
	/* tags follow, each 8-byte aligned, the last one of type MB2_TAG_END */
};

struct mb2_tag {
	u32 type;
	u32 size;      /* of this tag including the header, without the padding */
};

struct mb2_tag_string {                 /* 3.6.3, 3.6.4 */
	struct mb2_tag tag;
	char string[];                  /* NUL-terminated */
};

struct mb2_tag_module {                 /* 3.6.6 */
	struct mb2_tag tag;
	u32 mod_start, mod_end;         /* physical, end exclusive (as GRUB fills it) */
	char cmdline[];                 /* NUL-terminated */
};

struct mb2_tag_basic_meminfo {          /* 3.6.7 */
	struct mb2_tag tag;
	u32 mem_lower, mem_upper;       /* KiB below 640K / KiB from 1 MiB */
};

struct mb2_mmap_entry {
	u64 base_addr;
	u64 length;
	u32 type;
	u32 reserved;
};

struct mb2_tag_mmap {                   /* 3.6.8 */
	struct mb2_tag tag;
	u32 entry_size;                 /* may grow in later versions: step by it */
	u32 entry_version;
	/* entries follow */
};

struct mb2_tag_framebuffer {           /* 3.6.12 */
	struct mb2_tag tag;
	u64 addr;
	u32 pitch, width, height;       /* bytes per line; pixels (type 2: characters) */
	u8 bpp, type;                   /* type 0 indexed, 1 direct RGB, 2 EGA text */
	u16 reserved;
	u8 red_pos, red_size, green_pos, green_size, blue_pos, blue_size;   /* type 1 */
};

struct mb2_tag_acpi {                   /* 3.6.13, 3.6.14 */
	struct mb2_tag tag;
	u8 rsdp[];                      /* the RSDP itself, not its address */
};
#endif

#endif
