/*
 * hv/pagetable.h - builder for x86-64 4-level page tables, used for nested
 * page tables (AMD NPT uses the ordinary long-mode format, APM Vol. 2 15.25)
 * and, with other bit values, Intel EPT. Pure logic: the caller supplies a
 * page allocator and the bits, and addresses are identity-mapped (a table's
 * physical address is its pointer), as in hv and in the host tests.
 */
#ifndef HV_PAGETABLE_H
#define HV_PAGETABLE_H

#include "lib.h"

struct pt_format {
	u64 table_bits;        /* bits of a non-leaf entry (present, write, ...) */
	u64 leaf_bits;         /* bits of a 4 KiB leaf */
	u64 large_bits;        /* bits of a 2 MiB leaf (includes the PS bit) */
	u64 present_mask;      /* an entry is present if any of these is set */
	void *(*alloc_page)(void *ctx);   /* zeroed, 4 KiB aligned; NULL when out */
	void *ctx;
};

#define PT_ADDR_MASK 0x000ffffffffff000ull
#define PT_PS BIT(7)

/*
 * Map [gpa, gpa+size) to [hpa, hpa+size) in the table rooted at root (a
 * zeroed 4 KiB page). gpa, hpa and size must be 4 KiB aligned; 2 MiB pages
 * are used wherever both addresses are 2 MiB aligned and 2 MiB remain.
 * Returns 0, or -1 on a misaligned request, an overlap with an existing
 * mapping, or when alloc_page fails.
 */
int pt_map(u64 *root, const struct pt_format *f, u64 gpa, u64 hpa, u64 size);

/* Translate gpa; returns true and *hpa when mapped. */
bool pt_lookup(const u64 *root, const struct pt_format *f, u64 gpa, u64 *hpa);

/* Number of table pages (root included) under root. */
unsigned pt_count_tables(const u64 *root, const struct pt_format *f);

#endif
