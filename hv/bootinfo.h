/*
 * hv/bootinfo.h - the one record a boot path hands to the core.
 *
 * Whichever loader ran (UEFI today, Multiboot2 later), it parses the config,
 * loads the guest images, reserves one physically contiguous pool of memory
 * for hv and its guests, and then calls hv_main() with this record. After
 * that the core never calls the firmware again.
 */
#ifndef HV_BOOTINFO_H
#define HV_BOOTINFO_H

#include "config.h"

#define BOOTINFO_MAGIC 0x68764254u /* "TBvh" */

struct boot_image {
	u64 pa;      /* where the loader put the file */
	u64 size;    /* its size in bytes */
};

/*
 * A screen the loader found: UEFI GOP (recorded before ExitBootServices) or
 * the Multiboot2 framebuffer tag. kind 0 = none.
 */
enum boot_fb_kind { FB_NONE, FB_PIXELS32, FB_EGA_TEXT };

struct boot_fb {
	enum boot_fb_kind kind;
	u64 base, size;          /* physical */
	u32 width, height;       /* pixels (FB_EGA_TEXT: character cells) */
	u32 stride;              /* bytes per line */
};

struct boot_info {
	u32 magic;
	const char *loader;              /* "uefi", "multiboot2" */
	const char *config_name;         /* file name, for messages */
	struct hv_config *config;        /* parsed and validated */
	struct boot_image images[CFG_MAX_VMS]; /* image (or Linux kernel) of config->vms[i] */
	struct boot_image initrds[CFG_MAX_VMS]; /* a Linux VM's initrd; size 0: none */
	u64 pool_pa, pool_size;          /* 2 MiB-aligned memory for hv and guests */
	u64 phys_top;                    /* highest RAM address + 1 */
	u64 image_start, image_end;      /* hv's own loaded image */
	u64 acpi_rsdp;                   /* 0 if unknown */
	u64 ap_trampoline_pa;            /* 8 pages below 1 MiB for AP start-up; 0: boot CPU only */
	struct boot_fb fb;               /* the screen, for hv's screen console */
};

/* The core's entry point; does not return. */
void hv_main(struct boot_info *bi) __attribute__((noreturn));

/* Why this CPU cannot run hv (no or disabled SVM/VT-x, no nested paging), or NULL. */
const char *hv_cpu_refusal(void);

/* How much pool memory the core needs for a config (loaders reserve this). */
u64 hv_pool_size(const struct hv_config *cfg);

/* FNV-1a over hv's code and read-only data (integrity check at the end). */
u64 hv_image_checksum(void);

#endif
