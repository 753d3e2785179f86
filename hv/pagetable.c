/* hv/pagetable.c - see pagetable.h. */
#include "pagetable.h"

static inline unsigned pt_index(u64 addr, int level)
{
	return (addr >> (12 + 9 * level)) & 511;   /* level 3 = PML4 ... 0 = PT */
}

static inline u64 *entry_table(u64 e)
{
	return (u64 *)(uintptr_t)(e & PT_ADDR_MASK);
}

/* Walk down to the table at `level`, creating tables on the way. */
static u64 *table_for(u64 *root, const struct pt_format *f, u64 gpa, int level)
{
	u64 *t = root;
	for (int l = 3; l > level; l--) {
		u64 *e = &t[pt_index(gpa, l)];
		if (!(*e & f->present_mask)) {
			u64 *n = f->alloc_page(f->ctx);
			if (!n)
				return NULL;
			*e = ((u64)(uintptr_t)n & PT_ADDR_MASK) | f->table_bits;
		} else if (*e & PT_PS) {
			return NULL;   /* a large page is already mapped here */
		}
		t = entry_table(*e);
	}
	return t;
}

int pt_map(u64 *root, const struct pt_format *f, u64 gpa, u64 hpa, u64 size)
{
	if ((gpa | hpa | size) & 0xfff)
		return -1;
	if (gpa + size < gpa || gpa + size > BIT(48) || hpa + size < hpa || hpa + size > BIT(52))
		return -1;
	while (size) {
		bool large = !((gpa | hpa) & (MiB(2) - 1)) && size >= MiB(2);
		int level = large ? 1 : 0;
		u64 *t = table_for(root, f, gpa, level);
		if (!t)
			return -1;
		u64 *e = &t[pt_index(gpa, level)];
		if (*e & f->present_mask)
			return -1;
		*e = hpa | (large ? f->large_bits : f->leaf_bits);
		u64 step = large ? MiB(2) : KiB(4);
		gpa += step;
		hpa += step;
		size -= step;
	}
	return 0;
}

bool pt_lookup(const u64 *root, const struct pt_format *f, u64 gpa, u64 *hpa)
{
	const u64 *t = root;
	if (gpa >> 48)
		return false;      /* beyond 4-level paging: never mapped */
	for (int l = 3; l >= 0; l--) {
		u64 e = t[pt_index(gpa, l)];
		if (!(e & f->present_mask))
			return false;
		if (l == 0 || (l <= 2 && (e & PT_PS))) {
			u64 page = l == 0 ? KiB(4) : BIT(12 + 9 * l);
			*hpa = (e & PT_ADDR_MASK & ~(page - 1)) + (gpa & (page - 1));
			return true;
		}
		t = entry_table(e);
	}
	return false;
}

static unsigned count(const u64 *t, const struct pt_format *f, int level)
{
	unsigned n = 1;
	if (level == 0)
		return n;
	for (int i = 0; i < 512; i++)
		if ((t[i] & f->present_mask) && !(t[i] & PT_PS))
			n += count(entry_table(t[i]), f, level - 1);
	return n;
}

unsigned pt_count_tables(const u64 *root, const struct pt_format *f)
{
	return count(root, f, 3);
}
