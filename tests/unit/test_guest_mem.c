/*
 * tests/unit/test_guest_mem.c - host unit tests for guest page-table walks
 * (hv/guest_mem.c) and the re-check that keeps hv's cached decode of an
 * exiting instruction honest (guest_walk_unchanged, used by hv/svm/svm.c).
 *
 * The "guest RAM" is a host buffer: vm.mem_pa is its address, so
 * guest_phys_ptr() points into it exactly as it points into the VM's RAM in
 * hv. Each test builds guest page tables in that buffer for one paging mode
 * (32-bit, PAE, 4-level), walks a linear address, then changes entries and
 * checks which changes the re-check notices: every entry the walk read, in
 * every bit, and none it did not read (not even the other half of the
 * 8-byte word a 4-byte entry shares). And the decode cache built on it
 * (struct code_cache): a remap must cost the remembered instruction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guest_mem.h"

#define RAM_SIZE (64 * 4096)
#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull
#define CR0_PG_BIT (1ull << 31)
#define CR0_PE_BIT 1ull
#define CR4_PSE_BIT (1ull << 4)
#define CR4_PAE_BIT (1ull << 5)
#define EFER_LMA_BIT (1ull << 10)

struct fixture {
	struct vm vm;
	u8 *ram;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->ram = aligned_alloc(4096, RAM_SIZE);
	assert_non_null(f->ram);
	memset(f->ram, 0, RAM_SIZE);
	f->vm.mem_pa = (u64)(uintptr_t)f->ram;
	f->vm.mem_size = RAM_SIZE;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	free(f->ram);
	free(f);
	return 0;
}

static u32 *pte32(struct fixture *f, u64 gpa) { return (u32 *)(f->ram + gpa); }
static u64 *pte64(struct fixture *f, u64 gpa) { return (u64 *)(f->ram + gpa); }

/* Flip every bit of the entry at gpa (size 4 or 8) in turn: each flip must
 * be noticed, and undoing it must make the walk valid again. */
static void every_bit_noticed(struct fixture *f, const struct guest_walk *w, u64 gpa, unsigned size)
{
	for (unsigned bit = 0; bit < size * 8; bit++) {
		if (size == 4)
			*pte32(f, gpa) ^= 1u << bit;
		else
			*pte64(f, gpa) ^= 1ull << bit;
		if (guest_walk_unchanged(w))
			fail_msg("bit %u of the %u-byte entry at gpa 0x%llx changed unnoticed", bit, size,
				 (unsigned long long)gpa);
		if (size == 4)
			*pte32(f, gpa) ^= 1u << bit;
		else
			*pte64(f, gpa) ^= 1ull << bit;
		assert_true(guest_walk_unchanged(w));
	}
}

/* 32-bit paging (CR4.PAE = 0): PDE at an odd 4-byte index, so the entry is
 * the upper half of its 8-byte word, then a PTE at an even index. */
static void test_32bit_paging(void **state)
{
	struct fixture *f = *state;
	u64 pd = 0x1000, pt = 0x2000, page = 0x5000;
	u64 la = (1ull << 22) * 3 + 0x6000 + 0x123;            /* PDE 3, PTE 6 */
	*pte32(f, pd + 3 * 4) = (u32)(pt | PTE_P | PTE_RW);
	*pte32(f, pt + 6 * 4) = (u32)(page | PTE_P);
	*pte32(f, pd + 2 * 4) = 0xdeadb000u | PTE_P;            /* neighbours in the same words */
	*pte32(f, pt + 7 * 4) = 0xcafe0000u | PTE_P;
	struct guest_paging g = { CR0_PG_BIT | CR0_PE_BIT, pd, 0, 0 };
	struct guest_walk w;
	u64 gpa = 0;
	assert_true(guest_walk(&f->vm, &g, la, &gpa, &w));
	assert_int_equal(gpa, page + 0x123);
	assert_true(guest_walk_unchanged(&w));

	every_bit_noticed(f, &w, pd + 3 * 4, 4);
	every_bit_noticed(f, &w, pt + 6 * 4, 4);

	/* the other halves of those 8-byte words were not read: not checked */
	*pte32(f, pd + 2 * 4) ^= 0xffffffffu;
	*pte32(f, pt + 7 * 4) ^= 0xffffffffu;
	assert_true(guest_walk_unchanged(&w));
}

/* 32-bit paging with a 4 MiB page (CR4.PSE): one entry read. */
static void test_32bit_4mib_page(void **state)
{
	struct fixture *f = *state;
	u64 pd = 0x1000;
	*pte32(f, pd + 1 * 4) = 0x00400000u | PTE_PS | PTE_P;
	struct guest_paging g = { CR0_PG_BIT | CR0_PE_BIT, pd, CR4_PSE_BIT, 0 };
	struct guest_walk w;
	u64 gpa = 0;
	assert_true(guest_walk(&f->vm, &g, 0x00400000u + 0x1234, &gpa, &w));
	assert_int_equal(gpa, 0x00400000u + 0x1234);
	every_bit_noticed(f, &w, pd + 4, 4);
	*pte32(f, pd + 2 * 4) = 0x12345678;                       /* an entry it never read */
	assert_true(guest_walk_unchanged(&w));
}

/* PAE paging: PDPTE, PDE, PTE, all 8 bytes. */
static void test_pae_paging(void **state)
{
	struct fixture *f = *state;
	u64 pdpt = 0x1000, pd = 0x2000, pt = 0x3000, page = 0x7000;
	u64 la = (1ull << 30) * 2 + (1ull << 21) * 5 + 0x9000 + 0x42;
	*pte64(f, pdpt + 2 * 8) = pd | PTE_P;
	*pte64(f, pd + 5 * 8) = pt | PTE_P | PTE_RW;
	*pte64(f, pt + 9 * 8) = page | PTE_P;
	struct guest_paging g = { CR0_PG_BIT | CR0_PE_BIT, pdpt, CR4_PAE_BIT, 0 };
	struct guest_walk w;
	u64 gpa = 0;
	assert_true(guest_walk(&f->vm, &g, la, &gpa, &w));
	assert_int_equal(gpa, page + 0x42);
	every_bit_noticed(f, &w, pdpt + 2 * 8, 8);
	every_bit_noticed(f, &w, pd + 5 * 8, 8);
	every_bit_noticed(f, &w, pt + 9 * 8, 8);
	*pte64(f, pt + 10 * 8) = 0x1234000 | PTE_P;
	assert_true(guest_walk_unchanged(&w));
}

/* 4-level paging: four entries; and a 2 MiB page (three entries). */
static void test_4level_paging(void **state)
{
	struct fixture *f = *state;
	u64 pml4 = 0x1000, pdpt = 0x2000, pd = 0x3000, pt = 0x4000, page = 0x8000;
	u64 la = 0x00007f8080201000ull + 0xabc;                  /* indices 255, 2, 1, 1 */
	*pte64(f, pml4 + 255 * 8) = pdpt | PTE_P;
	*pte64(f, pdpt + 2 * 8) = pd | PTE_P;
	*pte64(f, pd + 1 * 8) = pt | PTE_P;
	*pte64(f, pt + 1 * 8) = page | PTE_P;
	struct guest_paging g = { CR0_PG_BIT | CR0_PE_BIT, pml4, CR4_PAE_BIT, EFER_LMA_BIT };
	struct guest_walk w;
	u64 gpa = 0;
	assert_true(guest_walk(&f->vm, &g, la, &gpa, &w));
	assert_int_equal(gpa, page + 0xabc);
	every_bit_noticed(f, &w, pml4 + 255 * 8, 8);
	every_bit_noticed(f, &w, pdpt + 2 * 8, 8);
	every_bit_noticed(f, &w, pd + 1 * 8, 8);
	every_bit_noticed(f, &w, pt + 1 * 8, 8);

	/* the same address through a 2 MiB page: the walk is re-recorded */
	*pte64(f, pd + 1 * 8) = 0x200000 | PTE_PS | PTE_P;
	assert_false(guest_walk_unchanged(&w));
	assert_true(guest_walk(&f->vm, &g, la, &gpa, &w));
	assert_int_equal(gpa, 0x200000 + (la & 0x1fffff));
	every_bit_noticed(f, &w, pd + 1 * 8, 8);
	*pte64(f, pt + 1 * 8) = 0;                                /* no longer part of the walk */
	assert_true(guest_walk_unchanged(&w));
}

/* Paging off: nothing read, nothing to re-check; a walk that fails (entry
 * not present, table outside RAM) reports failure. */
static void test_no_paging_and_failures(void **state)
{
	struct fixture *f = *state;
	struct guest_paging flat = { CR0_PE_BIT, 0, 0, 0 };
	struct guest_walk w;
	u64 gpa = 0;
	assert_true(guest_walk(&f->vm, &flat, 0x12345, &gpa, &w));
	assert_int_equal(gpa, 0x12345);
	memset(f->ram, 0xff, RAM_SIZE);                          /* nothing was read */
	assert_true(guest_walk_unchanged(&w));
	memset(f->ram, 0, RAM_SIZE);

	struct guest_paging lm = { CR0_PG_BIT | CR0_PE_BIT, 0x1000, CR4_PAE_BIT, EFER_LMA_BIT };
	assert_false(guest_walk(&f->vm, &lm, 0x1000, &gpa, &w));      /* PML4E not present */
	*pte64(f, 0x1000) = (RAM_SIZE + 0x1000) | PTE_P;               /* PDPT outside RAM */
	assert_false(guest_walk(&f->vm, &lm, 0x1000, &gpa, &w));
}

/* guest_translate: permissions of every level, WP, SMAP, error codes. */
static void test_translate_rights(void **state)
{
	struct fixture *f = *state;
	const u64 US = 0x4, WP = 1ull << 16, SMAP = 1ull << 21;
	u64 pml4 = 0x1000, pdpt = 0x2000, pd = 0x3000, pt = 0x4000, page = 0x8000;
	u64 la = 0x00007f8080201000ull + 0x10;
	*pte64(f, pml4 + 255 * 8) = pdpt | PTE_P | PTE_RW | US;
	*pte64(f, pdpt + 2 * 8) = pd | PTE_P | PTE_RW | US;
	*pte64(f, pd + 1 * 8) = pt | PTE_P | PTE_RW | US;
	*pte64(f, pt + 1 * 8) = page | PTE_P | PTE_RW | US;
	struct guest_paging g = { CR0_PG_BIT | CR0_PE_BIT | WP, pml4, CR4_PAE_BIT, EFER_LMA_BIT };
	u64 gpa = 0;
	u32 err = 0xdead;
	assert_int_equal(guest_translate(&f->vm, &g, la, true, 3, false, &gpa, &err), GT_OK);
	assert_int_equal(gpa, page + 0x10);
	/* A read-only level (the PD entry) denies writes: P|W|U for a user. */
	*pte64(f, pd + 1 * 8) &= ~PTE_RW;
	assert_int_equal(guest_translate(&f->vm, &g, la, true, 3, false, &gpa, &err), GT_FAULT);
	assert_int_equal(err, PF_ERR_P | PF_ERR_W | PF_ERR_U);
	assert_int_equal(guest_translate(&f->vm, &g, la, false, 3, false, &gpa, &err), GT_OK);
	/* Supervisor write: faults with CR0.WP, allowed without. */
	assert_int_equal(guest_translate(&f->vm, &g, la, true, 0, false, &gpa, &err), GT_FAULT);
	assert_int_equal(err, PF_ERR_P | PF_ERR_W);
	g.cr0 &= ~WP;
	assert_int_equal(guest_translate(&f->vm, &g, la, true, 0, false, &gpa, &err), GT_OK);
	/* SMAP: supervisor access to a user page faults unless AC. */
	g.cr4 |= SMAP;
	assert_int_equal(guest_translate(&f->vm, &g, la, false, 0, false, &gpa, &err), GT_FAULT);
	assert_int_equal(err, PF_ERR_P);
	assert_int_equal(guest_translate(&f->vm, &g, la, false, 0, true, &gpa, &err), GT_OK);
	g.cr4 &= ~SMAP;
	/* A supervisor-only PT entry denies the user. */
	*pte64(f, pt + 1 * 8) &= ~US;
	assert_int_equal(guest_translate(&f->vm, &g, la, false, 3, false, &gpa, &err), GT_FAULT);
	assert_int_equal(err, PF_ERR_P | PF_ERR_U);
	/* Not present: P clear in the error code. */
	*pte64(f, pt + 1 * 8) = 0;
	assert_int_equal(guest_translate(&f->vm, &g, la, true, 0, false, &gpa, &err), GT_FAULT);
	assert_int_equal(err, PF_ERR_W);
	/* 32-bit paging, 4 MiB page, and paging off. */
	*pte32(f, 0x5000 + (0x00800000u >> 22) * 4) = 0x00c00000u | PTE_P | PTE_PS;
	struct guest_paging g32 = { CR0_PG_BIT | CR0_PE_BIT, 0x5000, CR4_PSE_BIT, 0 };
	assert_int_equal(guest_translate(&f->vm, &g32, 0x00812345, false, 0, false, &gpa, &err), GT_OK);
	assert_int_equal(gpa, 0x00c12345);
	assert_int_equal(guest_translate(&f->vm, &g32, 0x00812345, false, 3, false, &gpa, &err), GT_FAULT);
	assert_int_equal(err, PF_ERR_P | PF_ERR_U);
	/* A table outside RAM: GT_BAD_WALK with its address. */
	struct guest_paging gbad = { CR0_PG_BIT | CR0_PE_BIT, 0x5000, 0, 0 };
	*pte32(f, 0x5000 + (0x00400000u >> 22) * 4) = 0x40000000u | PTE_P | PTE_RW;
	assert_int_equal(guest_translate(&f->vm, &gbad, 0x00401000, false, 0, false, &gpa, &err), GT_BAD_WALK);
	assert_int_equal(gpa, 0x40000000u + 1 * 4);
	struct guest_paging off = { CR0_PE_BIT, 0, 0, 0 };
	assert_int_equal(guest_translate(&f->vm, &off, 0x100001234ull, true, 3, false, &gpa, &err), GT_OK);
	assert_int_equal(gpa, 0x1234);
}

/*
 * The decode cache (hv/svm/svm.c without NRIPS, docs/security.md I8): an
 * instruction remembered through one translation of its code page must not
 * be trusted after the page was remapped, even when a later decode (a CR
 * write elsewhere in the page) re-walked the tables and the old frame's bytes
 * are still what they were.
 */
static void test_code_cache_remap(void **state)
{
	struct fixture *f = *state;
	u64 pml4 = 0x1000, pdpt = 0x2000, pd = 0x3000, pt = 0x4000, f1 = 0x8000, f2 = 0x9000;
	u64 la_page = 0x40000000, rip = la_page + 0x100;
	*pte64(f, pml4) = pdpt | PTE_P;
	*pte64(f, pdpt + 1 * 8) = pd | PTE_P;
	*pte64(f, pd) = pt | PTE_P;
	*pte64(f, pt) = f1 | PTE_P;
	memcpy(f->ram + f1 + 0x100, "\x0f\xa2\xc3", 3);            /* CPUID; RET */
	memcpy(f->ram + f2 + 0x100, "\x3e\x0f\xa2\xc3", 4);        /* DS CPUID (3 bytes); RET */
	struct guest_paging g = { CR0_PG_BIT | CR0_PE_BIT, pml4, CR4_PAE_BIT, EFER_LMA_BIT };
	struct code_cache c;
	struct guest_walk w;
	u64 gpa = 0;
	code_cache_init(&c);
	assert_false(code_cache_insn_hit(&c, rip, 0, 0xa9b, &g));              /* nothing yet */

	/* the CPUID in frame 1, decoded and remembered */
	assert_true(guest_walk(&f->vm, &g, la_page, &gpa, &w));
	assert_int_equal(gpa, f1);
	code_cache_set_page(&c, &g, la_page, gpa, &w);
	code_cache_remember(&c, rip, 0, 0xa9b, f->ram + f1 + 0x100, 2);
	assert_int_equal(code_cache_insn_hit(&c, rip, 0, 0xa9b, &g), 2);
	assert_false(code_cache_insn_hit(&c, rip + 1, 0, 0xa9b, &g));          /* another RIP */
	assert_false(code_cache_insn_hit(&c, rip, 0x10, 0xa9b, &g));           /* another CS base */

	/* the page remapped to frame 2: the walk notices */
	*pte64(f, pt) = f2 | PTE_P;
	assert_false(code_cache_insn_hit(&c, rip, 0, 0xa9b, &g));

	/* a CR-write decode elsewhere in the page re-walks and replaces the
	 * translation: the instruction of frame 1 must be gone, although frame
	 * 1 still holds its bytes and the new walk is current */
	assert_true(guest_walk(&f->vm, &g, la_page, &gpa, &w));
	assert_int_equal(gpa, f2);
	code_cache_set_page(&c, &g, la_page, gpa, &w);
	assert_true(guest_walk_unchanged(&c.walk));
	for (unsigned i = 0; i < CODE_INSNS; i++)
		assert_int_equal(c.insn[i].rip, CODE_NO_INSN);
	assert_false(code_cache_insn_hit(&c, rip, 0, 0xa9b, &g));

	/* decoded again, from frame 2: 3 bytes */
	code_cache_remember(&c, rip, 0, 0xa9b, f->ram + f2 + 0x100, 3);
	assert_int_equal(code_cache_insn_hit(&c, rip, 0, 0xa9b, &g), 3);
	f->ram[f2 + 0x101] = 0x90;                                            /* its bytes change */
	assert_false(code_cache_insn_hit(&c, rip, 0, 0xa9b, &g));
	f->ram[f2 + 0x101] = 0x0f;
	f->ram[f2 + 0x103] = 0x90;                                            /* past its 3 bytes */
	assert_true(code_cache_insn_hit(&c, rip, 0, 0xa9b, &g));
	struct guest_paging g2 = g;
	g2.cr4 |= 1ull << 7;                                                  /* CR4 changed */
	assert_false(code_cache_insn_hit(&c, rip, 0, 0xa9b, &g2));
	code_cache_forget_insn(&c);
	assert_false(code_cache_insn_hit(&c, rip, 0, 0xa9b, &g));
}

/*
 * Several instructions of one page remembered at once (CODE_INSNS slots,
 * direct-mapped by code_slot): each hits with its own length; one taking
 * another's slot evicts only that one; a remap forgets every one of them.
 */
static void test_code_cache_several(void **state)
{
	struct fixture *f = *state;
	u64 pml4 = 0x1000, pdpt = 0x2000, pd = 0x3000, pt = 0x4000, f1 = 0x8000, f2 = 0x9000;
	u64 la_page = 0x40000000;
	*pte64(f, pml4) = pdpt | PTE_P;
	*pte64(f, pdpt + 1 * 8) = pd | PTE_P;
	*pte64(f, pd) = pt | PTE_P;
	*pte64(f, pt) = f1 | PTE_P;
	memset(f->ram + f1, 0x90, 4096);
	memset(f->ram + f2, 0x90, 4096);          /* the same bytes in frame 2 */
	struct guest_paging g = { CR0_PG_BIT | CR0_PE_BIT, pml4, CR4_PAE_BIT, EFER_LMA_BIT };
	struct code_cache c;
	struct guest_walk w;
	u64 gpa = 0;
	/* one RIP per slot, the first found from 0x100 up */
	u64 rips[CODE_INSNS] = { 0 };
	unsigned found = 0;
	for (u64 off = 0x100; found < CODE_INSNS && off < 0x400; off++) {
		u64 rip = la_page + off;
		if (!rips[code_slot(rip)]) {
			rips[code_slot(rip)] = rip;
			found++;
		}
	}
	assert_int_equal(found, CODE_INSNS);
	code_cache_init(&c);
	assert_true(guest_walk(&f->vm, &g, la_page, &gpa, &w));
	code_cache_set_page(&c, &g, la_page, gpa, &w);
	for (unsigned i = 0; i < CODE_INSNS; i++)
		code_cache_remember(&c, rips[i], 0, 0xa9b, f->ram + f1 + (rips[i] - la_page), i % 8 + 1);
	for (unsigned i = 0; i < CODE_INSNS; i++)
		assert_int_equal(code_cache_insn_hit(&c, rips[i], 0, 0xa9b, &g), i % 8 + 1);
	/* another RIP of slot 0 takes it; the others stay */
	u64 other = rips[0] + 1;
	while (code_slot(other) != 0)
		other++;
	code_cache_remember(&c, other, 0, 0xa9b, f->ram + f1 + (other - la_page), 5);
	assert_int_equal(code_cache_insn_hit(&c, other, 0, 0xa9b, &g), 5);
	assert_int_equal(code_cache_insn_hit(&c, rips[0], 0, 0xa9b, &g), 0);
	for (unsigned i = 1; i < CODE_INSNS; i++)
		assert_int_equal(code_cache_insn_hit(&c, rips[i], 0, 0xa9b, &g), i % 8 + 1);
	/* the bytes of one change: that one misses, no other */
	f->ram[f1 + (rips[1] - la_page)] = 0xcc;
	assert_int_equal(code_cache_insn_hit(&c, rips[1], 0, 0xa9b, &g), 0);
	assert_int_equal(code_cache_insn_hit(&c, rips[2], 0, 0xa9b, &g), 3);
	/* the page remapped (same bytes in the new frame): none hits; the next
	 * decode's set_page forgets them all */
	*pte64(f, pt) = f2 | PTE_P;
	for (unsigned i = 2; i < CODE_INSNS; i++)
		assert_int_equal(code_cache_insn_hit(&c, rips[i], 0, 0xa9b, &g), 0);
	assert_true(guest_walk(&f->vm, &g, la_page, &gpa, &w));
	code_cache_set_page(&c, &g, la_page, gpa, &w);
	for (unsigned i = 0; i < CODE_INSNS; i++) {
		assert_int_equal(c.insn[i].rip, CODE_NO_INSN);
		assert_int_equal(code_cache_insn_hit(&c, rips[i], 0, 0xa9b, &g), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_32bit_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32bit_4mib_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pae_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_4level_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_paging_and_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_translate_rights, setup, teardown),
		cmocka_unit_test_setup_teardown(test_code_cache_remap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_code_cache_several, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
