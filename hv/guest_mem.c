/*
 * hv/guest_mem.c - guest page-table walks (SDM Vol. 3 ch. 4: 32-bit, PAE and
 * 4-level paging), reading only memory inside the VM's RAM.
 */
#include "guest_mem.h"
#include "x86/cpu.h"

#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_US BIT(2)
#define PTE_PS BIT(7)
#define CR4_SMAP BIT(21)   /* SDM Vol. 3A 2.5 */

bool guest_phys_ok(const struct vm *vm, u64 gpa, u64 len)
{
	return gpa < vm->mem_size && len <= vm->mem_size - gpa;
}

static bool read_pte_w(const struct vm *vm, u64 gpa, unsigned size, u64 *out, struct guest_walk *walk_rec)
{
	if (!guest_phys_ok(vm, gpa, size))
		return false;
	gpa = array_index_nospec(gpa, vm->mem_size);   /* from the guest's page tables */
	*out = size == 8 ? *(const u64 *)guest_phys_ptr(vm, gpa) : *(const u32 *)guest_phys_ptr(vm, gpa);
	if (walk_rec) {
		unsigned i = 0;
		while (i < 3 && walk_rec->mask[i])
			i++;                          /* the first free slot (a walk reads <= 4) */
		unsigned shift = (unsigned)(gpa & 7) * 8;   /* 0, or 32 for an odd 4-byte entry */
		walk_rec->word[i] = guest_phys_ptr(vm, gpa & ~7ull);
		walk_rec->mask[i] = (size == 8 ? ~0ull : 0xffffffffull) << shift;
		walk_rec->val[i] = *out << shift;
	}
	return true;
}

static bool walk(const struct vm *vm, const struct guest_paging *g, u64 la, u64 *gpa, struct guest_walk *w);

bool guest_walk(const struct vm *vm, const struct guest_paging *g, u64 la, u64 *gpa, struct guest_walk *w)
{
	static const u64 zero;
	if (w)
		*w = (struct guest_walk){ { &zero, &zero, &zero, &zero }, { 0 }, { 0 } };
	return walk(vm, g, la, gpa, w);
}

bool guest_linear_to_phys(const struct vm *vm, const struct guest_paging *g, u64 la, u64 *gpa)
{
	return walk(vm, g, la, gpa, NULL);
}

static bool walk(const struct vm *vm, const struct guest_paging *g, u64 la, u64 *gpa, struct guest_walk *w)
{
	u64 e;
	if (!(g->cr0 & CR0_PG)) {
		*gpa = la & 0xffffffffull;
		return true;
	}
	if (!(g->cr4 & CR4_PAE)) {
		/* 32-bit paging: 10/10/12, 4 MiB pages with PSE (CR4 bit 4). */
		u32 l = (u32)la;
		if (!read_pte_w(vm, (g->cr3 & 0xfffff000u) + ((l >> 22) << 2), 4, &e, w) || !(e & PTE_P))
			return false;
		if ((e & PTE_PS) && (g->cr4 & BIT(4))) {
			*gpa = (e & 0xffc00000u) + (l & 0x3fffff);
			return true;
		}
		if (!read_pte_w(vm, (e & 0xfffff000u) + (((l >> 12) & 0x3ff) << 2), 4, &e, w) || !(e & PTE_P))
			return false;
		*gpa = (e & 0xfffff000u) + (l & 0xfff);
		return true;
	}
	int levels = (g->efer & EFER_LMA) ? 4 : 3;
	u64 table = levels == 4 ? (g->cr3 & 0x000ffffffffff000ull) : (g->cr3 & 0xffffffe0u);
	for (int l = levels - 1; l >= 0; l--) {
		unsigned idx = levels == 3 && l == 2 ? (la >> 30) & 3 : (la >> (12 + 9 * l)) & 511;
		if (!read_pte_w(vm, table + idx * 8, 8, &e, w) || !(e & PTE_P))
			return false;
		if (l > 0 && l < 3 && (e & PTE_PS) && !(levels == 3 && l == 2)) {
			u64 size = BIT(12 + 9 * l);
			*gpa = (e & 0x000ffffffffff000ull & ~(size - 1)) + (la & (size - 1));
			return true;
		}
		table = e & 0x000ffffffffff000ull;
	}
	*gpa = table + (la & 0xfff);
	return true;
}

void code_cache_forget_insn(struct code_cache *c)
{
	for (unsigned i = 0; i < CODE_INSNS; i++)
		c->insn[i] = (struct code_insn){ .rip = CODE_NO_INSN };
}

void code_cache_init(struct code_cache *c)
{
	*c = (struct code_cache){ .valid = false };
	code_cache_forget_insn(c);
}

void code_cache_set_page(struct code_cache *c, const struct guest_paging *pg, u64 la_page, u64 gpa_page,
			 const struct guest_walk *w)
{
	c->pg = *pg;
	c->la_page = la_page;
	c->gpa_page = gpa_page;
	c->walk = *w;
	c->valid = true;
	code_cache_forget_insn(c);      /* they were read through the old translation */
}

void code_cache_remember(struct code_cache *c, u64 rip, u64 cs_base, u16 cs_attrib, const u8 *host, u32 len)
{
	struct code_insn *n = &c->insn[code_slot(rip)];
	n->rip = rip;
	n->cs_base = cs_base;
	n->cs_attrib = cs_attrib;
	n->len = len;
	n->host = (const u64 *)host;
	n->mask = len >= 8 ? ~0ull : (1ull << (8 * len)) - 1;
	n->bytes = *n->host & n->mask;
}

size_t guest_read_linear(const struct vm *vm, const struct guest_paging *g, u64 la, void *buf, size_t n)
{
	u8 *out = buf;
	size_t done = 0;
	while (done < n) {
		u64 gpa;
		if (!guest_linear_to_phys(vm, g, la + done, &gpa))
			break;
		size_t chunk = 4096 - ((la + done) & 0xfff);
		if (chunk > n - done)
			chunk = n - done;
		if (!guest_phys_ok(vm, gpa, chunk))
			break;
		gpa = array_index_nospec(gpa, vm->mem_size);
		memcpy(out + done, guest_phys_ptr(vm, gpa), chunk);
		done += chunk;
	}
	return done;
}

/*
 * One walk that also gathers the rights of every level (SDM Vol. 3A 4.6.1:
 * an access is allowed only if every paging-structure entry allows it).
 */
enum guest_xlate guest_translate(const struct vm *vm, const struct guest_paging *g, u64 la, bool write,
				 unsigned cpl, bool ac, u64 *gpa, u32 *pf_error)
{
	bool user = cpl == 3;
	u32 err = (write ? (u32)PF_ERR_W : 0) | (user ? (u32)PF_ERR_U : 0);
	u64 e, rights = PTE_RW | PTE_US;      /* AND of R/W and U/S over the levels */
	u64 phys = 0;

	u64 at;
#define READ(addr, size)                                              \
	do {                                                          \
		at = (addr);                                          \
		if (!read_pte_w(vm, at, (size), &e, NULL))            \
			goto bad_walk;                                \
	} while (0)

	if (!(g->cr0 & CR0_PG)) {
		*gpa = la & 0xffffffffull;
		return GT_OK;
	}
	if (!(g->cr4 & CR4_PAE)) {
		u32 l = (u32)la;
		READ((g->cr3 & 0xfffff000u) + ((l >> 22) << 2), 4);
		if (!(e & PTE_P))
			goto not_present;
		rights &= e;
		if ((e & PTE_PS) && (g->cr4 & BIT(4))) {
			phys = (e & 0xffc00000u) + (l & 0x3fffff);
		} else {
			READ((e & 0xfffff000u) + (((l >> 12) & 0x3ff) << 2), 4);
			if (!(e & PTE_P))
				goto not_present;
			rights &= e;
			phys = (e & 0xfffff000u) + (l & 0xfff);
		}
	} else {
		int levels = (g->efer & EFER_LMA) ? 4 : 3;
		u64 table = levels == 4 ? (g->cr3 & 0x000ffffffffff000ull) : (g->cr3 & 0xffffffe0u);
		int l;
		for (l = levels - 1; l >= 0; l--) {
			unsigned idx = levels == 3 && l == 2 ? (la >> 30) & 3 : (la >> (12 + 9 * l)) & 511;
			READ(table + idx * 8, 8);
			if (!(e & PTE_P))
				goto not_present;
			if (!(levels == 3 && l == 2))
				rights &= e;          /* PAE PDPTEs carry no R/W, U/S (4.4.1) */
			if (l > 0 && l < 3 && (e & PTE_PS) && !(levels == 3 && l == 2)) {
				u64 size = BIT(12 + 9 * l);
				phys = (e & 0x000ffffffffff000ull & ~(size - 1)) + (la & (size - 1));
				break;
			}
			table = e & 0x000ffffffffff000ull;
		}
		if (l < 0)
			phys = table + (la & 0xfff);
	}
	/* Present everywhere: now the rights (4.6.1). */
	if (user && !(rights & PTE_US))
		goto denied;
	if (write && !(rights & PTE_RW) && (user || (g->cr0 & CR0_WP)))
		goto denied;
	if (!user && (rights & PTE_US) && (g->cr4 & CR4_SMAP) && !ac)
		goto denied;
	*gpa = phys;
	return GT_OK;
denied:
	*pf_error = err | PF_ERR_P;
	return GT_FAULT;
not_present:
	*pf_error = err;
	return GT_FAULT;
bad_walk:
	*gpa = at;
	return GT_BAD_WALK;
#undef READ
}
