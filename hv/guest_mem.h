/*
 * hv/guest_mem.h - reading a guest's memory the way its CPU would see it:
 * linear address through the guest's own page tables (if paging is on),
 * then guest-physical through the VM's memory bounds. Used to fetch the
 * bytes of an exiting instruction when the hardware does not say how long
 * it was (SVM without NRIPS).
 */
#ifndef HV_GUEST_MEM_H
#define HV_GUEST_MEM_H

#include "core.h"

struct guest_paging {
	u64 cr0, cr3, cr4, efer;
};

/*
 * The paging-structure entries one translation read, to re-check later.
 * Each is kept as the aligned 8-byte word of guest RAM that holds it (a
 * 4-byte entry is one half), with a mask of its bits and their value;
 * unused slots point at a constant zero with an empty mask. So a re-check
 * is four loads and compares with no branch per entry.
 */
struct guest_walk {
	const u64 *word[4];
	u64 mask[4], val[4];
};

/* Translate a linear address; false if unmapped or outside guest RAM. */
bool guest_linear_to_phys(const struct vm *vm, const struct guest_paging *g, u64 la, u64 *gpa);
/* The same, recording the entries read into *w (w may be NULL). */
bool guest_walk(const struct vm *vm, const struct guest_paging *g, u64 la, u64 *gpa, struct guest_walk *w);
/* Do the entries recorded in *w still hold the same values? (Inline: it is
 * on the exit path of every decoded instruction, hv/svm/svm.c insn_len.) */
static inline __attribute__((always_inline)) bool guest_walk_unchanged(const struct guest_walk *w)
{
	return (((*w->word[0] ^ w->val[0]) & w->mask[0]) | ((*w->word[1] ^ w->val[1]) & w->mask[1]) |
		((*w->word[2] ^ w->val[2]) & w->mask[2]) | ((*w->word[3] ^ w->val[3]) & w->mask[3])) == 0;
}

/*
 * Translate a data access to linear address la the way the guest's CPU
 * would, with its permission checks (SDM Vol. 3A 4.6: U/S and R/W of every
 * level, CR0.WP for supervisor writes, CR4.SMAP for supervisor accesses to
 * user pages with RFLAGS.AC clear). Reserved-bit checks are not made.
 * Returns GT_OK with *gpa, or GT_FAULT with the #PF error code in *pf_error
 * (P W U bits, SDM Vol. 3A 4.7); the caller checks the GPA against RAM. A
 * paging-structure entry outside the VM's RAM (where the CPU's own walk
 * would take a nested page fault) gives GT_BAD_WALK with its address in *gpa.
 */
enum guest_xlate { GT_OK, GT_FAULT, GT_BAD_WALK };
#define PF_ERR_P BIT(0)
#define PF_ERR_W BIT(1)
#define PF_ERR_U BIT(2)
enum guest_xlate guest_translate(const struct vm *vm, const struct guest_paging *g, u64 la, bool write,
				 unsigned cpl, bool ac, u64 *gpa, u32 *pf_error);

/* Copy up to n bytes at linear address la; returns how many were readable. */
size_t guest_read_linear(const struct vm *vm, const struct guest_paging *g, u64 la, void *buf, size_t n);

/*
 * The decode cache of hv/svm/svm.c (SVM without NRIPS): a one-entry code TLB
 * (the translation of the page of the last exiting instruction, with the
 * paging registers it was made under and the entries it read) and the last
 * few decoded exiting instructions in that page (CODE_INSNS of them, at most
 * 8 bytes each: where, their bytes as read through that translation, their
 * length). A few, not one: an interrupt's round trip exits on three
 * instructions in turn (WRMSR ICR, HLT, WRMSR EOI in the handler), and one
 * entry missed on every one of them (docs/benchmarks.md).
 *
 * Invariant: every remembered instruction belongs to the current
 * translation. code_cache_set_page() replaces the translation and so forgets
 * them all; it is the only way to change it (docs/security.md I8: a
 * CR-write decode that found the page remapped used to keep the instruction
 * of the old frame, whose bytes then still matched).
 */
#define CODE_NO_INSN 0x8000000000000000ull   /* no RIP a guest can have: not canonical */
#define CODE_INSNS 16                         /* a power of two */

struct code_insn {
	u64 rip, cs_base;               /* rip = CODE_NO_INSN: an empty slot */
	const u64 *host;                /* its 8 bytes in hv's view of guest RAM */
	u64 bytes, mask;
	u16 cs_attrib;
	u32 len;
} __attribute__((aligned(64)));        /* a slot's address is one shift away */

struct code_cache {
	struct guest_paging pg;
	struct guest_walk walk;
	u64 la_page, gpa_page;
	bool valid;                     /* the translation above */
	struct code_insn insn[CODE_INSNS];   /* by code_slot(rip) */
};

void code_cache_init(struct code_cache *c);
/* A new translation of the code page (and no remembered instruction). */
void code_cache_set_page(struct code_cache *c, const struct guest_paging *pg, u64 la_page, u64 gpa_page,
			 const struct guest_walk *w);
/* Remember the instruction at rip (CS base and attributes), len <= 8 bytes at
 * host, which lie inside the current translation's page, in its slot (the
 * one instruction there before is forgotten); or forget them all. */
void code_cache_remember(struct code_cache *c, u64 rip, u64 cs_base, u16 cs_attrib, const u8 *host, u32 len);
void code_cache_forget_insn(struct code_cache *c);

/* The one slot an instruction can be in: direct-mapped by the low bits of
 * its RIP (the instructions of one loop lie a few bytes apart: those bits
 * are the ones that differ), so a hit costs one compare chain whatever
 * CODE_INSNS is. */
static inline unsigned code_slot(u64 rip)
{
	return (unsigned)rip & (CODE_INSNS - 1);
}

/* Is the instruction at rip a remembered one: same RIP and CS (so the same
 * linear address and code size), same paging registers and entries (so the
 * same guest-physical bytes), bytes unchanged? Then its length, else 0.
 * Inline: every decoded exit asks (hv/svm/svm.c insn_len). */
static inline __attribute__((always_inline)) u32 code_cache_insn_hit(const struct code_cache *c, u64 rip, u64 cs_base,
								     u16 cs_attrib, const struct guest_paging *now)
{
	const struct code_insn *n = &c->insn[code_slot(rip)];
	bool hit = n->rip == rip && c->pg.cr3 == now->cr3 && c->pg.cr0 == now->cr0 && c->pg.cr4 == now->cr4 &&
		   c->pg.efer == now->efer && n->cs_base == cs_base && n->cs_attrib == cs_attrib &&
		   (*n->host & n->mask) == n->bytes && guest_walk_unchanged(&c->walk);
	return hit ? n->len : 0;
}

/* Copy between guest-physical memory and hv; false if outside guest RAM. */
bool guest_phys_ok(const struct vm *vm, u64 gpa, u64 len);

#endif
