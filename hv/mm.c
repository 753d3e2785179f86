/*
 * hv/mm.c - hv's memory: a bump allocator over the boot pool, and hv's own
 * page tables (an identity map of all physical memory with 2 MiB pages).
 *
 * hv never frees: everything it needs is created at boot from the config.
 * The identity map means a physical address is usable as a pointer.
 */
#include "hv.h"
#include "x86/cpu.h"

static u64 pool_next, pool_end, pool_start;

void page_alloc_init(u64 base, u64 size)
{
	pool_start = pool_next = base;
	pool_end = base + size;
}

void *page_alloc_aligned(size_t npages, u64 align)
{
	u64 p = ALIGN_UP(pool_next, align);
	u64 bytes = (u64)npages * 4096;
	if (p + bytes > pool_end || p + bytes < p)
		PANIC("out of pool memory: %zu pages wanted, %llu KiB left", npages,
		      (unsigned long long)((pool_end - pool_next) >> 10));
	pool_next = p + bytes;
	memset(pa_to_va(p), 0, bytes);
	return pa_to_va(p);
}

void *page_alloc(size_t npages)
{
	return page_alloc_aligned(npages, 4096);
}

u64 page_alloc_used(void)
{
	return pool_next - pool_start;
}

#define PTE_P BIT(0)
#define PTE_W BIT(1)
#define PTE_PCD BIT(4)
#define PTE_PS BIT(7)

/*
 * Build and load hv's page tables: identity map [0, top) with 2 MiB pages,
 * the 4 GiB below which the firmware puts MMIO (LAPIC, flash) included.
 * Caching of MMIO is left to the MTRRs the firmware set up.
 */
void paging_init(u64 phys_top);
void paging_init(u64 phys_top)
{
	u64 top = ALIGN_UP(phys_top < GiB(4) ? GiB(4) : phys_top, GiB(1));
	if (top > GiB(512))
		top = GiB(512);
	u64 *pml4 = page_alloc(1);
	u64 *pdpt = page_alloc(1);
	pml4[0] = va_to_pa(pdpt) | PTE_P | PTE_W;
	for (u64 g = 0; g < top / GiB(1); g++) {
		u64 *pd = page_alloc(1);
		pdpt[g] = va_to_pa(pd) | PTE_P | PTE_W;
		for (u64 i = 0; i < 512; i++)
			pd[i] = (g * GiB(1) + i * MiB(2)) | PTE_P | PTE_W | PTE_PS;
	}
	write_cr3(va_to_pa(pml4));
}

/* Small objects (vCPU structs, vendor bookkeeping): 64-byte aligned, zeroed. */
void *kzalloc(size_t n)
{
	static u8 *chunk;
	static size_t left;
	n = ALIGN_UP(n, 64);
	if (n > left) {
		size_t pages = ALIGN_UP(n, 4096) / 4096;
		if (pages < 4)
			pages = 4;
		chunk = page_alloc(pages);
		left = pages * 4096;
	}
	void *p = chunk;
	chunk += n;
	left -= n;
	return p;
}
