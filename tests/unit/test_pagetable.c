/*
 * tests/unit/test_pagetable.c - host unit tests for the 4-level page-table
 * builder (hv/pagetable.c), in the format hv uses for AMD nested page tables
 * (table and 4 KiB leaf bits 0x7, 2 MiB leaf 0x87, present = bit 0).
 *
 * Tables are identity-mapped: a table's "physical" address is its pointer.
 * That works on the host because user-space pointers fit in bits 12..47,
 * which is what PT_ADDR_MASK keeps. Host addresses (hpa) of the leaves are
 * just numbers: nothing is ever read through them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pagetable.h"

/* ---- allocator ---------------------------------------------------------------- */

#define MAX_PAGES 1024

struct pool {
	unsigned used;
	unsigned limit;          /* alloc_page fails once `used` reaches this */
	unsigned failed;         /* calls that returned NULL */
	void *pages[MAX_PAGES];
};

static void *pool_alloc(void *ctx)
{
	struct pool *p = ctx;
	if (p->used >= p->limit || p->used >= MAX_PAGES) {
		p->failed++;
		return NULL;
	}
	void *page = aligned_alloc(4096, 4096);
	assert_non_null(page);
	memset(page, 0, 4096);
	/* the identity "physical" address must survive PT_ADDR_MASK */
	assert_int_equal((u64)(uintptr_t)page & ~PT_ADDR_MASK, 0);
	p->pages[p->used++] = page;
	return page;
}

/* One test's world: a root table, its allocator and the NPT format. */
struct world {
	struct pool pool;
	u64 *root;
	struct pt_format f;
};

static struct world *world_new(unsigned limit)
{
	struct world *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	w->pool.limit = limit;
	w->root = aligned_alloc(4096, 4096);
	assert_non_null(w->root);
	memset(w->root, 0, 4096);
	w->f = (struct pt_format){
		.table_bits = 0x7,
		.leaf_bits = 0x7,
		.large_bits = 0x87,
		.present_mask = 0x1,
		.alloc_page = pool_alloc,
		.ctx = &w->pool,
	};
	return w;
}

static void world_free(struct world *w)
{
	for (unsigned i = 0; i < w->pool.used; i++)
		free(w->pool.pages[i]);
	free(w->root);
	free(w);
}

static int setup(void **state)
{
	*state = world_new(MAX_PAGES);
	return 0;
}

static int teardown(void **state)
{
	world_free(*state);
	return 0;
}

static int map(struct world *w, u64 gpa, u64 hpa, u64 size)
{
	return pt_map(w->root, &w->f, gpa, hpa, size);
}

static unsigned tables(const struct world *w)
{
	return pt_count_tables(w->root, &w->f);
}

/* gpa must translate to exactly `want`. */
static void expect_at(const struct world *w, u64 gpa, u64 want, int line)
{
	u64 got = 0xdeadbeefdeadbeefull;
	bool ok = pt_lookup(w->root, &w->f, gpa, &got);
	if (!ok || got != want)
		print_error("line %d: gpa %#llx: expected hpa %#llx, got %s %#llx\n", line,
			    (unsigned long long)gpa, (unsigned long long)want,
			    ok ? "mapped" : "unmapped", (unsigned long long)got);
	assert_true(ok);
	assert_int_equal(got, want);
}

/* gpa must not be mapped. */
static void expect_none_at(const struct world *w, u64 gpa, int line)
{
	u64 got = 0;
	bool ok = pt_lookup(w->root, &w->f, gpa, &got);
	if (ok)
		print_error("line %d: gpa %#llx: expected unmapped, got hpa %#llx\n", line,
			    (unsigned long long)gpa, (unsigned long long)got);
	assert_false(ok);
}

#define EXPECT(w, gpa, hpa) expect_at((w), (gpa), (hpa), __LINE__)
#define EXPECT_NONE(w, gpa) expect_none_at((w), (gpa), __LINE__)

/*
 * [gpa, gpa+size) -> [hpa, hpa+size): every 4 KiB page boundary, the byte
 * before each boundary, the first and last byte; and exactly that memory:
 * the page before gpa (if any) and the bytes at and just past gpa+size are
 * unmapped.
 */
static void expect_exactly(const struct world *w, u64 gpa, u64 hpa, u64 size, int line)
{
	for (u64 off = 0; off < size; off += KiB(4)) {
		expect_at(w, gpa + off, hpa + off, line);
		expect_at(w, gpa + off + 0x7ff, hpa + off + 0x7ff, line);
		expect_at(w, gpa + off + 0xfff, hpa + off + 0xfff, line);
	}
	expect_at(w, gpa, hpa, line);
	expect_at(w, gpa + size - 1, hpa + size - 1, line);
	expect_none_at(w, gpa + size, line);
	expect_none_at(w, gpa + size + 1, line);
	expect_none_at(w, gpa + size + KiB(4) - 1, line);
	expect_none_at(w, gpa + size + KiB(4), line);
	if (gpa) {
		expect_none_at(w, gpa - 1, line);
		expect_none_at(w, gpa - KiB(4), line);
	}
}

#define EXPECT_EXACTLY(w, gpa, hpa, size) expect_exactly((w), (gpa), (hpa), (size), __LINE__)

/* ---- raw table access (tables are identity-mapped) ----------------------------- */

static u64 *next_table(u64 e)
{
	assert_true(e & 1);
	assert_false(e & PT_PS);
	return (u64 *)(uintptr_t)(e & PT_ADDR_MASK);
}

/* The entry for gpa at `level` (3 = PML4 ... 0 = PT), walking through tables. */
static u64 entry_at(const struct world *w, u64 gpa, int level)
{
	const u64 *t = w->root;
	for (int l = 3; l > level; l--)
		t = next_table(t[(gpa >> (12 + 9 * l)) & 511]);
	return t[(gpa >> (12 + 9 * level)) & 511];
}

/* ---- tests --------------------------------------------------------------------- */

/* 2 MiB at gpa 0 to a 2 MiB-aligned hpa: one large page, PML4 + PDPT + PD. */
static void test_one_large_page(void **state)
{
	struct world *w = *state;
	const u64 hpa = MiB(6);
	assert_int_equal(tables(w), 1);   /* the empty root alone */
	assert_int_equal(map(w, 0, hpa, MiB(2)), 0);
	assert_int_equal(tables(w), 3);
	assert_int_equal(w->pool.used, 2);

	/* the entries are exactly the format's bits */
	assert_int_equal(entry_at(w, 0, 3) & ~PT_ADDR_MASK, 0x7);
	assert_int_equal(entry_at(w, 0, 2) & ~PT_ADDR_MASK, 0x7);
	assert_int_equal(entry_at(w, 0, 1), hpa | 0x87);
	/* nothing else in any of the three tables */
	for (int l = 3; l >= 1; l--)
		for (unsigned i = 1; i < 512; i++)
			assert_int_equal(entry_at(w, (u64)i << (12 + 9 * l), l), 0);

	EXPECT_EXACTLY(w, 0, hpa, MiB(2));
	EXPECT(w, 0x12345, hpa + 0x12345);
	EXPECT(w, MiB(1), hpa + MiB(1));
	EXPECT_NONE(w, MiB(2));
	EXPECT_NONE(w, MiB(4));
	EXPECT_NONE(w, GiB(1));
	EXPECT_NONE(w, GiB(512));
	EXPECT_NONE(w, BIT(47));
	EXPECT_NONE(w, BIT(48) - 1);
}

/* hpa 4 KiB- but not 2 MiB-aligned: 512 4 KiB leaves in one PT. */
static void test_small_pages(void **state)
{
	struct world *w = *state;
	const u64 hpa = MiB(6) + KiB(4);
	assert_int_equal(map(w, 0, hpa, MiB(2)), 0);
	assert_int_equal(tables(w), 4);
	assert_int_equal(w->pool.used, 3);

	u64 pd_entry = entry_at(w, 0, 1);
	assert_int_equal(pd_entry & ~PT_ADDR_MASK, 0x7);   /* a table, not a large page */
	const u64 *pt = next_table(pd_entry);
	unsigned leaves = 0;
	for (unsigned i = 0; i < 512; i++) {
		assert_int_equal(pt[i], (hpa + KiB(4) * i) | 0x7);
		leaves++;
	}
	assert_int_equal(leaves, 512);

	EXPECT_EXACTLY(w, 0, hpa, MiB(2));
	EXPECT_NONE(w, MiB(2));
	EXPECT_NONE(w, MiB(2) + MiB(1));
}

/* gpa not 2 MiB-aligned (hpa is): 4 KiB pages too. */
static void test_small_pages_gpa_unaligned(void **state)
{
	struct world *w = *state;
	assert_int_equal(map(w, KiB(4), MiB(8), MiB(2)), 0);
	/* [4K, 2M) in the first PT, [2M, 2M+4K) in the second */
	assert_int_equal(tables(w), 5);
	EXPECT_EXACTLY(w, KiB(4), MiB(8), MiB(2));
	EXPECT_NONE(w, 0);
	EXPECT_NONE(w, 0xfff);
}

/* Sizes that are not a multiple of 2 MiB: large pages where they fit, then 4 KiB. */
static void test_tail_pages(void **state)
{
	struct world *w = *state;
	const u64 size = MiB(4) + KiB(12);
	assert_int_equal(map(w, 0, GiB(2), size), 0);
	/* PML4, PDPT, PD, one PT for the 3 tail pages */
	assert_int_equal(tables(w), 4);
	assert_int_equal(entry_at(w, 0, 1), GiB(2) | 0x87);
	assert_int_equal(entry_at(w, MiB(2), 1), (GiB(2) + MiB(2)) | 0x87);
	assert_int_equal(entry_at(w, MiB(4), 0), (GiB(2) + MiB(4)) | 0x7);
	assert_int_equal(entry_at(w, MiB(4) + KiB(8), 0), (GiB(2) + MiB(4) + KiB(8)) | 0x7);
	assert_int_equal(entry_at(w, MiB(4) + KiB(12), 0), 0);
	EXPECT_EXACTLY(w, 0, GiB(2), size);

	/* less than 2 MiB, though both addresses are aligned: 4 KiB pages only */
	struct world *v = world_new(MAX_PAGES);
	assert_int_equal(map(v, MiB(2), MiB(2), MiB(2) - KiB(4)), 0);
	assert_int_equal(tables(v), 4);
	assert_int_equal(entry_at(v, MiB(2), 0), MiB(2) | 0x7);
	EXPECT_EXACTLY(v, MiB(2), MiB(2), MiB(2) - KiB(4));
	world_free(v);

	/* a single page */
	v = world_new(MAX_PAGES);
	assert_int_equal(map(v, GiB(3) + KiB(20), 0x1000, KiB(4)), 0);
	assert_int_equal(tables(v), 4);
	EXPECT_EXACTLY(v, GiB(3) + KiB(20), 0x1000, KiB(4));
	world_free(v);
}

/*
 * Mixed: gpa and hpa congruent modulo 2 MiB but starting 8 KiB before a
 * 2 MiB boundary: 2 small pages, 2 large pages, 3 small pages.
 */
static void test_mixed(void **state)
{
	struct world *w = *state;
	const u64 gpa = MiB(2) - KiB(8), hpa = MiB(10) - KiB(8);
	const u64 size = KiB(8) + MiB(4) + KiB(12);
	assert_int_equal(map(w, gpa, hpa, size), 0);
	/* PML4, PDPT, PD, PT for [0, 2M), PT for [6M, 8M) */
	assert_int_equal(tables(w), 5);
	assert_int_equal(entry_at(w, gpa, 0), hpa | 0x7);
	assert_int_equal(entry_at(w, gpa + KiB(4), 0), (hpa + KiB(4)) | 0x7);
	assert_int_equal(entry_at(w, MiB(2), 1), MiB(10) | 0x87);
	assert_int_equal(entry_at(w, MiB(4), 1), MiB(12) | 0x87);
	assert_int_equal(entry_at(w, MiB(6), 0), MiB(14) | 0x7);
	assert_int_equal(entry_at(w, MiB(6) + KiB(8), 0), (MiB(14) + KiB(8)) | 0x7);
	assert_int_equal(entry_at(w, MiB(6) + KiB(12), 0), 0);
	EXPECT_EXACTLY(w, gpa, hpa, size);
	EXPECT_NONE(w, 0);
	EXPECT_NONE(w, MiB(2) - KiB(12));

	/* not congruent: hpa 2 MiB aligned, gpa 4 KiB past a boundary -> all small */
	struct world *v = world_new(MAX_PAGES);
	assert_int_equal(map(v, MiB(2) + KiB(4), MiB(4), MiB(4)), 0);
	/* PTs for [2M,4M), [4M,6M), [6M,8M) */
	assert_int_equal(tables(v), 6);
	EXPECT_EXACTLY(v, MiB(2) + KiB(4), MiB(4), MiB(4));
	world_free(v);
}

/* 1 GiB at gpa 0: 512 large pages in one PD. */
static void test_one_gib(void **state)
{
	struct world *w = *state;
	assert_int_equal(map(w, 0, GiB(4), GiB(1)), 0);
	assert_int_equal(tables(w), 3);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(entry_at(w, MiB(2) * i, 1), (GiB(4) + MiB(2) * i) | 0x87);
	for (u64 off = 0; off < GiB(1); off += MiB(2)) {
		EXPECT(w, off, GiB(4) + off);
		EXPECT(w, off + MiB(2) - 1, GiB(4) + off + MiB(2) - 1);
	}
	EXPECT(w, GiB(1) - 1, GiB(5) - 1);
	EXPECT_NONE(w, GiB(1));
	EXPECT_NONE(w, GiB(1) + MiB(2));
	EXPECT_NONE(w, GiB(2) - 1);

	/* the same with a 4 KiB-aligned hpa: 512 PTs of 512 leaves */
	struct world *v = world_new(MAX_PAGES);
	assert_int_equal(map(v, 0, GiB(4) + KiB(4), GiB(1)), 0);
	assert_int_equal(tables(v), 3 + 512);
	for (u64 off = 0; off < GiB(1); off += KiB(4))
		EXPECT(v, off + 0xabc, GiB(4) + KiB(4) + off + 0xabc);
	EXPECT(v, GiB(1) - 1, GiB(5) + KiB(4) - 1);
	EXPECT_NONE(v, GiB(1));
	world_free(v);
}

/* Across a 1 GiB boundary (two PDs) and a 512 GiB boundary (two PDPTs). */
static void test_cross_boundaries(void **state)
{
	struct world *w = *state;
	assert_int_equal(map(w, GiB(1) - MiB(2), MiB(2), MiB(4)), 0);
	assert_int_equal(tables(w), 4);   /* PML4, PDPT, 2 PDs */
	assert_int_equal(entry_at(w, GiB(1) - MiB(2), 1), MiB(2) | 0x87);
	assert_int_equal(entry_at(w, GiB(1), 1), MiB(4) | 0x87);
	EXPECT_EXACTLY(w, GiB(1) - MiB(2), MiB(2), MiB(4));
	EXPECT(w, GiB(1) - 1, MiB(4) - 1);
	EXPECT(w, GiB(1), MiB(4));
	EXPECT_NONE(w, GiB(1) - MiB(2) - 1);

	/* small pages across 1 GiB: PT in each PD */
	struct world *v = world_new(MAX_PAGES);
	assert_int_equal(map(v, GiB(1) - KiB(8), 0x5000, KiB(16)), 0);
	assert_int_equal(tables(v), 6);
	EXPECT_EXACTLY(v, GiB(1) - KiB(8), 0x5000, KiB(16));
	world_free(v);

	/* across 512 GiB: two PML4 entries */
	v = world_new(MAX_PAGES);
	assert_int_equal(map(v, GiB(512) - MiB(2), GiB(8), MiB(4)), 0);
	assert_int_equal(tables(v), 5);   /* PML4, 2 PDPTs, 2 PDs */
	assert_int_equal(entry_at(v, GiB(512) - MiB(2), 1), GiB(8) | 0x87);
	assert_int_equal(entry_at(v, GiB(512), 1), (GiB(8) + MiB(2)) | 0x87);
	EXPECT_EXACTLY(v, GiB(512) - MiB(2), GiB(8), MiB(4));
	EXPECT_NONE(v, MiB(2) - 1);   /* nothing aliased into the low half */
	EXPECT_NONE(v, 0);
	world_free(v);

	/* the very top of the 48-bit space and the top of the 52-bit hpa space */
	v = world_new(MAX_PAGES);
	assert_int_equal(map(v, BIT(48) - MiB(2), BIT(52) - MiB(2), MiB(2)), 0);
	assert_int_equal(tables(v), 3);
	EXPECT(v, BIT(48) - MiB(2), BIT(52) - MiB(2));
	EXPECT(v, BIT(48) - 1, BIT(52) - 1);
	EXPECT_NONE(v, BIT(48) - MiB(2) - 1);
	world_free(v);
}

/* Several separate mappings in one table share tables and stay apart. */
static void test_several_mappings(void **state)
{
	struct world *w = *state;
	assert_int_equal(map(w, 0, MiB(16), MiB(2)), 0);
	assert_int_equal(map(w, MiB(2) + KiB(8), MiB(32) + KiB(4), KiB(8)), 0);
	assert_int_equal(map(w, MiB(2) + KiB(32), MiB(48), KiB(4)), 0);
	assert_int_equal(map(w, GiB(2), MiB(64), MiB(2)), 0);
	/* PML4, PDPT, PD for GiB 0 (with one PT), PD for GiB 2 */
	assert_int_equal(tables(w), 5);
	EXPECT(w, 0, MiB(16));
	EXPECT(w, MiB(2) - 1, MiB(18) - 1);
	EXPECT_NONE(w, MiB(2));
	EXPECT_NONE(w, MiB(2) + KiB(4));
	EXPECT_EXACTLY(w, MiB(2) + KiB(8), MiB(32) + KiB(4), KiB(8));
	EXPECT_NONE(w, MiB(2) + KiB(28));
	EXPECT_EXACTLY(w, MiB(2) + KiB(32), MiB(48), KiB(4));
	EXPECT_EXACTLY(w, GiB(2), MiB(64), MiB(2));
}

/* Misaligned or out-of-range requests: -1, and nothing changes. */
static void test_misaligned(void **state)
{
	struct world *w = *state;
	static const struct {
		u64 gpa, hpa, size;
	} bad[] = {
		{ 1, 0, KiB(4) },
		{ 0x800, 0, KiB(4) },
		{ 0xfff, MiB(2), MiB(2) },
		{ 0, 1, KiB(4) },
		{ 0, MiB(2) + 0x10, MiB(2) },
		{ 0, 0, 1 },
		{ 0, 0, KiB(4) + 1 },
		{ 0, 0, MiB(2) - 1 },
		{ MiB(2), MiB(2), MiB(2) + 0x800 },
		{ 0x1001, 0x2003, 0x3005 },
		/* beyond 4-level tables: the gpa range must end at or below 2^48 */
		{ BIT(48), 0, KiB(4) },
		{ BIT(48) - KiB(4), 0, KiB(8) },
		{ 0xfffffffffffff000ull, 0, KiB(4) },   /* gpa + size wraps to 0 */
		{ 0xfffffffffffff000ull, 0, KiB(8) },   /* ... and past 0 */
		{ 0, 0, 0xfffffffffffff000ull },
		/* hpa beyond 52 bits */
		{ 0, BIT(52), KiB(4) },
		{ 0, BIT(52) - KiB(4), KiB(8) },
		{ 0, BIT(63), MiB(2) },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = map(w, bad[i].gpa, bad[i].hpa, bad[i].size);
		if (r != -1)
			print_error("case %zu: gpa %#llx hpa %#llx size %#llx accepted\n", i,
				    (unsigned long long)bad[i].gpa, (unsigned long long)bad[i].hpa,
				    (unsigned long long)bad[i].size);
		assert_int_equal(r, -1);
		assert_int_equal(tables(w), 1);
		assert_int_equal(w->pool.used, 0);
	}
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(w->root[i], 0);
	EXPECT_NONE(w, 0);

	/* still usable afterwards */
	assert_int_equal(map(w, 0, MiB(2), MiB(2)), 0);
	EXPECT_EXACTLY(w, 0, MiB(2), MiB(2));
}

/* The two mappings the overlap tests start from: a large page at [2M, 4M)
 * and small pages at [8M, 8M+16K). */
static struct world *overlap_world(void)
{
	struct world *w = world_new(MAX_PAGES);
	assert_int_equal(map(w, MiB(2), MiB(20), MiB(2)), 0);
	assert_int_equal(map(w, MiB(8), MiB(30) + KiB(4), KiB(16)), 0);
	assert_int_equal(tables(w), 4);
	return w;
}

/* Both original mappings still map where they did. */
static void expect_overlap_world(const struct world *w)
{
	EXPECT(w, MiB(2), MiB(20));
	EXPECT(w, MiB(3), MiB(21));
	EXPECT(w, MiB(4) - 1, MiB(22) - 1);
	assert_int_equal(entry_at(w, MiB(2), 1), MiB(20) | 0x87);
	for (u64 off = 0; off < KiB(16); off += KiB(4)) {
		EXPECT(w, MiB(8) + off, MiB(30) + KiB(4) + off);
		EXPECT(w, MiB(8) + off + 0xfff, MiB(30) + KiB(4) + off + 0xfff);
	}
}

/*
 * A mapping touching any mapped page is rejected, and what was mapped stays
 * as it was. (Whether the pages before the clash were mapped is not part of
 * the contract, so each case starts from a fresh table.)
 */
static void test_overlap(void **state)
{
	(void)state;
	static const struct {
		u64 gpa, hpa, size;
	} clash[] = {
		{ MiB(2), MiB(40), MiB(2) },                 /* the same large page */
		{ MiB(2), MiB(20), MiB(2) },                 /* ... even identical */
		{ MiB(2), MiB(40) + KiB(4), KiB(4) },        /* small page inside a large one */
		{ MiB(4) - KiB(4), MiB(40), KiB(4) },        /* its last page */
		{ MiB(3), MiB(40), KiB(8) },
		{ 0, MiB(40), MiB(4) },                      /* large, then clash */
		{ MiB(2) - KiB(4), MiB(40), KiB(8) },        /* small, then clash */
		{ MiB(8), MiB(40), KiB(4) },                 /* a small page */
		{ MiB(8) + KiB(12), MiB(40), KiB(4) },       /* the last small page */
		{ MiB(8), MiB(40), MiB(2) },                 /* large over a PT */
		{ MiB(8) - KiB(4), MiB(40), KiB(8) },
		{ MiB(8) + KiB(8), MiB(40) + KiB(8), KiB(16) },
		{ 0, 0, GiB(1) },                            /* everything */
	};
	for (size_t i = 0; i < sizeof(clash) / sizeof(clash[0]); i++) {
		struct world *w = overlap_world();
		int r = map(w, clash[i].gpa, clash[i].hpa, clash[i].size);
		if (r != -1)
			print_error("clash %zu accepted\n", i);
		assert_int_equal(r, -1);
		expect_overlap_world(w);
		world_free(w);
	}

	/* neighbours that do not overlap are fine */
	struct world *w = overlap_world();
	assert_int_equal(map(w, MiB(8) + KiB(16), MiB(50), KiB(4)), 0);
	assert_int_equal(map(w, MiB(8) - KiB(4), MiB(51), KiB(4)), 0);
	assert_int_equal(map(w, MiB(4), MiB(52), MiB(2)), 0);
	assert_int_equal(map(w, 0, MiB(54), MiB(2)), 0);
	expect_overlap_world(w);
	EXPECT(w, MiB(8) + KiB(16), MiB(50));
	EXPECT(w, MiB(8) - KiB(4), MiB(51));
	EXPECT(w, MiB(4), MiB(52));
	EXPECT(w, 0, MiB(54));
	EXPECT_NONE(w, MiB(8) + KiB(20));
	EXPECT_NONE(w, MiB(8) - KiB(8));
	assert_int_equal(tables(w), 5);   /* a new PT for [6M, 8M) */
	world_free(w);
}

/* alloc_page returning NULL makes pt_map fail, at every point. */
static void test_alloc_failure(void **state)
{
	(void)state;
	static const struct {
		u64 gpa, hpa, size;
		unsigned pages;   /* what the mapping needs */
	} cases[] = {
		{ 0, MiB(2), MiB(2), 2 },                         /* PDPT, PD */
		{ 0, MiB(2) + KiB(4), MiB(2), 3 },                /* PDPT, PD, PT */
		{ 0, MiB(2) + KiB(4), MiB(4), 4 },                /* PDPT, PD, 2 PTs */
		{ GiB(1) - MiB(2), MiB(2), MiB(4), 3 },           /* PDPT, 2 PDs */
		{ GiB(512) - MiB(2), MiB(2), MiB(4), 4 },         /* 2 PDPTs, 2 PDs */
		{ MiB(2) - KiB(8), MiB(10) - KiB(8), MiB(4) + KiB(20), 4 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (unsigned limit = 0; limit < cases[i].pages; limit++) {
			struct world *w = world_new(limit);
			int r = map(w, cases[i].gpa, cases[i].hpa, cases[i].size);
			if (r != -1)
				print_error("case %zu with %u pages: accepted\n", i, limit);
			assert_int_equal(r, -1);
			assert_int_equal(w->pool.used, limit);
			assert_true(w->pool.failed >= 1);
			world_free(w);
		}
		struct world *w = world_new(cases[i].pages);
		assert_int_equal(map(w, cases[i].gpa, cases[i].hpa, cases[i].size), 0);
		assert_int_equal(w->pool.used, cases[i].pages);
		assert_int_equal(w->pool.failed, 0);
		assert_int_equal(tables(w), cases[i].pages + 1);
		EXPECT_EXACTLY(w, cases[i].gpa, cases[i].hpa, cases[i].size);
		world_free(w);
	}

	/* out of pages for a second mapping: the first one is unharmed */
	struct world *w = world_new(2);
	assert_int_equal(map(w, 0, MiB(2), MiB(2)), 0);
	assert_int_equal(map(w, MiB(2), MiB(4) + KiB(4), KiB(4)), -1);   /* needs a PT */
	assert_int_equal(map(w, GiB(1), MiB(4), MiB(2)), -1);            /* needs a PD */
	EXPECT_EXACTLY(w, 0, MiB(2), MiB(2));
	world_free(w);
}

/* The builder uses the format's bits, not its own: an EPT-like format. */
static void test_other_format(void **state)
{
	(void)state;
	struct world *w = world_new(MAX_PAGES);
	w->f.table_bits = 0x7;            /* R W X */
	w->f.leaf_bits = 0x37;            /* R W X, memory type WB */
	w->f.large_bits = 0xb7;           /* ... and PS */
	w->f.present_mask = 0x7;
	assert_int_equal(map(w, 0, GiB(1), MiB(2) + KiB(4)), 0);
	assert_int_equal(entry_at(w, 0, 3) & ~PT_ADDR_MASK, 0x7);
	assert_int_equal(entry_at(w, 0, 1), GiB(1) | 0xb7);
	assert_int_equal(entry_at(w, MiB(2), 0), (GiB(1) + MiB(2)) | 0x37);
	assert_int_equal(tables(w), 4);
	EXPECT_EXACTLY(w, 0, GiB(1), MiB(2) + KiB(4));
	world_free(w);
}

/*
 * pt_map returns 0 only for a mapping it really made: if it accepts hpa,
 * lookup must give back exactly hpa (an hpa whose end wraps past 2^64 cannot
 * be put in an entry).
 */
static void test_hpa_wrap(void **state)
{
	struct world *w = *state;
	static const struct {
		u64 hpa, size;
	} cases[] = {
		{ 0xfffffffffffff000ull, KiB(4) },
		{ 0xffffffffffe00000ull, MiB(2) },
		{ 0xfffffffffffff000ull - KiB(4), KiB(8) },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		u64 gpa = GiB(1) * i;
		int r = map(w, gpa, cases[i].hpa, cases[i].size);
		if (r == 0) {
			u64 got = 0;
			bool ok = pt_lookup(w->root, &w->f, gpa, &got);
			if (!ok || got != cases[i].hpa)
				print_error("hpa %#llx size %#llx: pt_map returned 0, gpa %#llx "
					    "translates to %#llx\n",
					    (unsigned long long)cases[i].hpa,
					    (unsigned long long)cases[i].size,
					    (unsigned long long)gpa, (unsigned long long)got);
			assert_true(ok);
			assert_int_equal(got, cases[i].hpa);
		} else {
			assert_int_equal(r, -1);
		}
	}
}

/*
 * Nothing at or above 2^48 is ever mapped (pt_map refuses it), so lookup
 * must not report it mapped, even where the low 48 bits are.
 */
static void test_lookup_beyond_48_bits(void **state)
{
	struct world *w = *state;
	assert_int_equal(map(w, 0, MiB(2), MiB(2)), 0);
	EXPECT(w, 0, MiB(2));
	EXPECT_NONE(w, BIT(48));
	EXPECT_NONE(w, BIT(48) + 0x123);
	EXPECT_NONE(w, 0xffff000000000000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_large_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_pages_gpa_unaligned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mixed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_gib, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cross_boundaries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_several_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misaligned, setup, teardown),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_other_format),
		cmocka_unit_test_setup_teardown(test_hpa_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_beyond_48_bits, setup, teardown),
	};
	return cmocka_run_group_tests_name("pagetable", tests, NULL, NULL);
}
