/*
 * hv/mm.c - hv's memory: a bump allocator over the boot pool, and hv's own
 * page tables (an identity map of all physical memory with 2 MiB pages).
 *
 * hv never frees: everything it needs is created at boot from the config.
 * The identity map means a physical address is usable as a pointer.
 */
#include "hv.h"
#include "x86/cpu.h"
#include "x86/protect.h"

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
#define PTE_NX BIT(63)            /* execute-disable; reserved unless EFER.NXE (SDM Vol. 3 4.5) */
#define PTE_ADDR 0x000ffffffffff000ull

/*
 * W^X for hv's own memory (docs/security.md, "hv's own memory"): the
 * linker scripts (linker.ld, boot/mb2/mb2.ld) give .text, .rodata and the
 * rest of the image page-aligned ranges of their own:
 *
 *   __hv_rx_start .. __hv_rx_end   code: read-only, executable
 *   __hv_ro_start .. __hv_ro_end   constants: read-only, not executable
 *   __hv_relro_start .. _end       pointer tables and the GOT (.data.rel.ro):
 *                                  read-only, not executable after mm_seal()
 *                                  (the UEFI loader's crt0 relocates them)
 *   the rest of the image          data, GOT, bss: writable, not executable
 *   every other page               writable, not executable (pool: heap,
 *                                  stacks, page tables, guest RAM; MMIO)
 *
 * Two things stay writable and executable during boot, and lose it in
 * mm_seal() once every pCPU runs and before any guest does: the code pages
 * (so that boot-time code patching, e.g. by the mitigation setup, can still
 * write them) and the AP start-up page below 1 MiB, which the boot CPU
 * writes and each AP executes right after it loads these tables
 * (x86/ap_boot.S). The 2 MiB pages that hold any of these are split into
 * 4 KiB pages; access rights combine over the levels (W only if every level
 * has it, NX if any level has it: SDM Vol. 3 4.6.1), so the upper levels
 * are P|W and the leaves decide.
 *
 * With CR0.WP (set on every pCPU, x86/protect.c) supervisor writes honour
 * the read-only pages (SDM Vol. 3 4.6.1); EFER.NXE must be set on a CPU
 * before it loads tables with NX bits, else bit 63 is reserved and every
 * access faults: paging_init() sets it on the boot CPU, x86/ap_boot.S on
 * each AP before its CR3 switch.
 */
extern const u8 __hv_rx_start[], __hv_rx_end[], __hv_ro_start[], __hv_ro_end[];
extern const u8 __hv_relro_start[], __hv_relro_end[];
static u64 *hv_pml4;
static u64 nx;                    /* PTE_NX if the CPU has NX, else 0 */
static u64 ap_page;               /* the AP start-up code page, 0 if none */

bool mm_nx_supported(void)
{
	/* CPUID 8000_0001h EDX[20]: NX (SDM Vol. 2A CPUID; APM Vol. 3 E.4.6) */
	return cpuid(0x80000000, 0).eax >= 0x80000001 && (cpuid(0x80000001, 0).edx & BIT(20));
}

/* The 4 KiB entry that maps va, splitting its 2 MiB page if need be. */
static u64 *pte_of(u64 va)
{
	u64 *pdpt = pa_to_va(hv_pml4[(va >> 39) & 511] & PTE_ADDR);
	u64 *pd = pa_to_va(pdpt[(va >> 30) & 511] & PTE_ADDR);
	u64 *pde = &pd[(va >> 21) & 511];
	if (*pde & PTE_PS) {
		u64 *pt = page_alloc(1);
		u64 base = *pde & PTE_ADDR & ~(MiB(2) - 1);
		u64 flags = *pde & (PTE_P | PTE_W | PTE_PCD | PTE_NX);
		for (u64 i = 0; i < 512; i++)
			pt[i] = (base + i * 4096) | flags;
		*pde = va_to_pa(pt) | PTE_P | PTE_W;
	}
	u64 *pt = pa_to_va(*pde & PTE_ADDR);
	return &pt[(va >> 12) & 511];
}

static void map_range(u64 lo, u64 hi, u64 flags)
{
	for (u64 va = ALIGN_DOWN(lo, 4096); va < hi; va += 4096)
		*pte_of(va) = va | flags;
}

/*
 * Build and load hv's page tables: identity map [0, top) with 2 MiB pages,
 * the 4 GiB below which the firmware puts MMIO (LAPIC, flash) included.
 * Caching of MMIO is left to the MTRRs the firmware set up.
 */
void paging_init(u64 phys_top, u64 image_start, u64 image_end, u64 ap_trampoline);
void paging_init(u64 phys_top, u64 image_start, u64 image_end, u64 ap_trampoline)
{
	u64 top = ALIGN_UP(phys_top < GiB(4) ? GiB(4) : phys_top, GiB(1));
	if (top > GiB(512))
		top = GiB(512);
	if (mm_nx_supported()) {
		nx = PTE_NX;
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	}
	u64 *pml4 = page_alloc(1);
	u64 *pdpt = page_alloc(1);
	hv_pml4 = pml4;
	pml4[0] = va_to_pa(pdpt) | PTE_P | PTE_W;
	for (u64 g = 0; g < top / GiB(1); g++) {
		u64 *pd = page_alloc(1);
		pdpt[g] = va_to_pa(pd) | PTE_P | PTE_W;
		for (u64 i = 0; i < 512; i++)
			pd[i] = (g * GiB(1) + i * MiB(2)) | PTE_P | PTE_W | PTE_PS | nx;
	}
	/* hv's image: data first, then code and constants over it. */
	map_range(image_start, image_end, PTE_P | PTE_W | nx);
	map_range(va_to_pa(__hv_rx_start), va_to_pa(__hv_rx_end), PTE_P | PTE_W);   /* until mm_seal() */
	map_range(va_to_pa(__hv_ro_start), va_to_pa(__hv_ro_end), PTE_P | nx);
	if (ap_trampoline) {
		ap_page = ap_trampoline;
		map_range(ap_page, ap_page + 4096, PTE_P | PTE_W);                  /* until mm_seal() */
	}
	write_cr3(va_to_pa(pml4));
}

/* End of boot on the boot CPU: code and pointer tables read-only, the AP
 * start-up page no longer executable. The APs flush their TLBs when they leave their boot
 * wait (main.c, ap_entry), the boot CPU here. */
void mm_seal(void)
{
	map_range(va_to_pa(__hv_rx_start), va_to_pa(__hv_rx_end), PTE_P);
	map_range(va_to_pa(__hv_relro_start), va_to_pa(__hv_relro_end), PTE_P | nx);
	if (ap_page)
		map_range(ap_page, ap_page + 4096, PTE_P | PTE_W | nx);
	write_cr3(read_cr3());
}

/*
 * The access rights the live tables (CR3) give va: returns false if va is
 * not mapped, else sets *writable / *executable as the CPU would combine
 * them over the levels. For the boot-time self-check (x86/protect.c).
 */
bool mm_rights(u64 va, bool *writable, bool *executable)
{
	u64 *t = pa_to_va(read_cr3() & PTE_ADDR);
	bool w = true, x = true;
	for (int shift = 39; shift >= 12; shift -= 9) {
		u64 e = t[(va >> shift) & 511];
		if (!(e & PTE_P))
			return false;
		w = w && (e & PTE_W);
		x = x && !(e & PTE_NX);
		if (shift == 12 || (shift <= 30 && (e & PTE_PS)))
			break;
		t = pa_to_va(e & PTE_ADDR);
	}
	*writable = w;
	*executable = x;
	return true;
}

/* How many 4 KiB pages of hv's whole map are both writable and executable
 * (a 2 MiB leaf counts 512). */
u64 mm_count_wx(void)
{
	u64 n = 0, *pml4 = pa_to_va(read_cr3() & PTE_ADDR);
	for (int a = 0; a < 512; a++) {
		if (!(pml4[a] & PTE_P))
			continue;
		u64 *pdpt = pa_to_va(pml4[a] & PTE_ADDR);
		bool wa = pml4[a] & PTE_W, xa = !(pml4[a] & PTE_NX);
		for (int b = 0; b < 512; b++) {
			u64 e = pdpt[b];
			if (!(e & PTE_P))
				continue;
			bool wb = wa && (e & PTE_W), xb = xa && !(e & PTE_NX);
			if (e & PTE_PS) {
				n += wb && xb ? 512 * 512 : 0;
				continue;
			}
			u64 *pd = pa_to_va(e & PTE_ADDR);
			for (int c = 0; c < 512; c++) {
				u64 f = pd[c];
				if (!(f & PTE_P))
					continue;
				bool wc = wb && (f & PTE_W), xc = xb && !(f & PTE_NX);
				if (f & PTE_PS) {
					n += wc && xc ? 512 : 0;
					continue;
				}
				u64 *pt = pa_to_va(f & PTE_ADDR);
				for (int d = 0; d < 512; d++)
					n += (pt[d] & PTE_P) && wc && (pt[d] & PTE_W) && xc && !(pt[d] & PTE_NX);
			}
		}
	}
	return n;
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
