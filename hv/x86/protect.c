/*
 * hv/x86/protect.c - hv's protection of itself (docs/security.md, "hv's own
 * memory"):
 *
 * - CR0.WP and EFER.NXE on every pCPU, so that the W^X rights hv/mm.c puts
 *   in hv's page tables bind hv itself (SDM Vol. 3 4.6.1: with CR0.WP = 0,
 *   supervisor writes ignore read-only pages; 4.1.1 / APM Vol. 2 5.6: the
 *   NX bit needs EFER.NXE);
 * - the stack protector's guard (hv is built -fstack-protector-strong
 *   -mstack-protector-guard=global: every function with a local array or
 *   an address-taken local keeps a copy of __stack_chk_guard below its
 *   return address and calls __stack_chk_fail if it changed);
 * - a self-test at the end of boot that proves all of it on the running
 *   machine and prints the facts as `kv hv.wx.*` / `kv hv.stack_*` lines.
 */
#include "../config.h"
#include "../hv.h"
#include "cpu.h"
#include "protect.h"

extern const u8 __hv_text_start[];

/* A fixed value until stack_guard_init() replaces it, first thing at boot. */
u64 __stack_chk_guard = 0x2f8e6b5d41c7a900ull;
static const char *guard_source = "not seeded";

/* RDRAND: CPUID.01H:ECX[30]; CF = 1 when a value was returned (SDM Vol. 1
 * 7.3.17, Vol. 2B RDRAND). The emitted code has no canary of its own. */
static inline __attribute__((always_inline)) bool rdrand64(u64 *v)
{
	bool ok;
	__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
	return ok;
}

void stack_guard_init(void)
{
	u64 g = rdtsc();
	guard_source = "rdtsc";
	struct cpuid_regs l1 = cpuid(1, 0);
	if (l1.ecx & BIT(30)) {
		u64 r;
		for (int i = 0; i < 10; i++)      /* SDM Vol. 1 7.3.17.1: retry a few times */
			if (rdrand64(&r)) {
				g ^= r;
				guard_source = "rdrand";
				break;
			}
	}
	g = (g * 0x9e3779b97f4a7c15ull) ^ (g >> 29);
	/* A zero low byte stops string functions from reading or writing past
	 * the guard (what glibc does too); the rest must not be all zero. */
	g &= ~0xffull;
	if (!(g >> 8))
		g = 0x5bd1e99500000000ull;
	__stack_chk_guard = g;
}

static u64 canary_jmp[8];
static volatile int canary_armed;
int hv_setjmp(u64 buf[8]) __attribute__((returns_twice));
void hv_longjmp(u64 buf[8], int val) __attribute__((noreturn));

void __stack_chk_fail(void) __attribute__((noreturn));
void __stack_chk_fail(void)
{
	if (canary_armed) {              /* the self-test below, on purpose */
		canary_armed = 0;
		hv_longjmp(canary_jmp, 1);
	}
	/* Called from the failing function's epilogue: the return address lies
	 * inside that function. */
	PANIC("stack protector: the stack canary of the function at %p was overwritten "
	      "(a stack buffer overflow in hv)", __builtin_return_address(0));
}

/* ---- CR0.WP and EFER.NXE on every pCPU ---- */

static u8 cpu_wp[CFG_MAX_PCPUS], cpu_nxe[CFG_MAX_PCPUS];

void protect_cpu_init(unsigned cpu)
{
	write_cr0(read_cr0() | CR0_WP);
	if (mm_nx_supported())
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);   /* APs: ap_boot.S did it already */
	if (cpu < CFG_MAX_PCPUS) {
		cpu_wp[cpu] = !!(read_cr0() & CR0_WP);
		cpu_nxe[cpu] = !!(rdmsr(MSR_EFER) & EFER_NXE);
	}
}

/* ---- provoked faults ---- */

u64 protect_try_write(u8 *p);
u64 protect_try_exec(void *ret_byte);
extern const u8 protect_write_insn[], protect_write_fixup[], protect_exec_fixup[];

static volatile u64 probe_rip, probe_fixup, probe_error, probe_cr2;
static volatile int probe_faults;
/* One RET instruction (0xC3) in .data: the execute probe's target. */
static u8 data_ret[16] __attribute__((aligned(16))) = { 0xc3 };

bool protect_fault_fixup(struct trap_frame *f)
{
	if (f->vector != 14 || !probe_rip || f->rip != probe_rip)
		return false;
	probe_error = f->error;
	probe_cr2 = read_cr2();
	probe_faults++;
	f->rip = probe_fixup;
	probe_rip = 0;
	return true;
}

/* #PF error code bits (SDM Vol. 3 4.7): P = protection violation, W/R =
 * write, I/D = instruction fetch. */
#define PF_P BIT(0)
#define PF_W BIT(1)
#define PF_ID BIT(4)

/* Returns "fault" for the expected #PF, else what happened. */
static const char *probe_write(u8 *p)
{
	probe_fixup = (u64)(uintptr_t)protect_write_fixup;
	probe_rip = (u64)(uintptr_t)protect_write_insn;
	u64 faulted = protect_try_write(p);
	probe_rip = 0;
	if (!faulted)
		return "WRITTEN";
	if ((probe_error & (PF_P | PF_W)) != (PF_P | PF_W) || probe_cr2 != (u64)(uintptr_t)p)
		return "wrong-fault";
	return "fault";
}

static const char *probe_exec(void *target)
{
	probe_fixup = (u64)(uintptr_t)protect_exec_fixup;
	probe_rip = (u64)(uintptr_t)target;
	u64 faulted = protect_try_exec(target);
	probe_rip = 0;
	if (!faulted)
		return "EXECUTED";
	if ((probe_error & (PF_P | PF_ID)) != (PF_P | PF_ID) || probe_cr2 != (u64)(uintptr_t)target)
		return "wrong-fault";
	return "fault";
}

/* ---- the canary ---- */

/*
 * A function with a local array gets a canary: find the guard's copy just
 * above the array (between it and the return address) and flip one bit, as
 * an overflowing write would. Its epilogue must then call __stack_chk_fail
 * instead of returning. *found says whether the copy was there at all.
 */
static __attribute__((noinline)) void canary_victim(volatile int *found)
{
	char buf[24];
	__asm__ volatile("" : : "r"(buf) : "memory");
	uintptr_t a = ALIGN_UP((uintptr_t)buf + sizeof(buf), 8);
	__asm__ volatile("" : "+r"(a));           /* no bounds reasoning past buf */
	u64 *p = (u64 *)a;
	for (int i = 0; i < 8; i++)
		if (p[i] == __stack_chk_guard) {
			p[i] ^= BIT(8);
			*found = 1;
			break;
		}
}

/* "fires" if the overwritten canary reached __stack_chk_fail. */
static const char *canary_selftest(void)
{
	volatile int found = 0;
	if (hv_setjmp(canary_jmp) == 0) {
		canary_armed = 1;
		canary_victim(&found);
		canary_armed = 0;
		return found ? "MISSED" : "NO-CANARY";
	}
	return found ? "fires" : "wrong";
}

/* ---- the self-test ---- */

extern const u8 __hv_rx_start[], __hv_rx_end[], __hv_ro_start[], __hv_ro_end[];
extern const u8 __hv_relro_start[], __hv_relro_end[];

/* Pages of [lo, hi) whose rights differ from (w, x). */
static u64 wrong_pages(u64 lo, u64 hi, bool w, bool x)
{
	u64 bad = 0;
	for (u64 va = ALIGN_DOWN(lo, 4096); va < hi; va += 4096) {
		bool pw, px;
		if (!mm_rights(va, &pw, &px) || pw != w || px != x)
			bad++;
	}
	return bad;
}

static const char *verdict(u64 bad, const char *good, char *buf, size_t n)
{
	if (!bad)
		return good;
	ksnprintf(buf, n, "WRONG(%llu pages)", (unsigned long long)bad);
	return buf;
}

bool protect_selftest(u64 image_start, u64 image_end, unsigned n)
{
	u64 rx_lo = va_to_pa(__hv_rx_start), rx_hi = va_to_pa(__hv_rx_end);
	u64 ro_lo = va_to_pa(__hv_ro_start), ro_hi = va_to_pa(__hv_ro_end);
	u64 rr_lo = va_to_pa(__hv_relro_start), rr_hi = va_to_pa(__hv_relro_end);
	bool nx = mm_nx_supported();
	char b1[32], b2[32], b3[32], b4[32];

	u64 bad_text = wrong_pages(rx_lo, rx_hi, false, true);
	u64 bad_ro = wrong_pages(ro_lo, ro_hi, false, !nx);
	u64 bad_relro = wrong_pages(rr_lo, rr_hi, false, !nx);
	/* The rest of the image: before the code, between code and constants
	 * (UEFI: .reloc), constants to pointer tables, after them. */
	u64 bad_data = wrong_pages(image_start, rx_lo, true, !nx) +
		       wrong_pages(ro_hi, rr_lo, true, !nx) +
		       wrong_pages(rr_hi, image_end, true, !nx);
	if (ro_lo > rx_hi)
		bad_data += wrong_pages(rx_hi, ro_lo, true, !nx);
	u64 wx = mm_count_wx();
	const char *text_write = probe_write((u8 *)__hv_text_start);
	const char *data_exec = nx ? probe_exec(data_ret) : "no-NX-on-this-CPU";
	const char *canary = canary_selftest();
	unsigned wp = 0, nxe = 0;
	for (unsigned i = 0; i < n && i < CFG_MAX_PCPUS; i++) {
		wp += cpu_wp[i];
		nxe += cpu_nxe[i];
	}
	bool ok = !bad_text && !bad_ro && !bad_relro && !bad_data && !wx && !strcmp(text_write, "fault") &&
		  !strcmp(data_exec, "fault") && wp == n && nxe == n && !strcmp(canary, "fires");

	printk("hv: memory protection: %s; code %llu KiB read-only, constants %llu KiB and "
	       "pointer tables %llu KiB read-only non-executable, all else non-executable; CR0.WP "
	       "on %u and EFER.NXE on %u of %u pCPU(s); writing code: %s, executing data: %s; "
	       "stack protector: canary %s, guard from %s\n",
	       ok ? "W^X holds" : "CHECK FAILED", (unsigned long long)((rx_hi - rx_lo) >> 10),
	       (unsigned long long)((ro_hi - ro_lo) >> 10), (unsigned long long)((rr_hi - rr_lo) >> 10),
	       wp, nxe, n, text_write, data_exec, canary, guard_source);
	printk("kv hv.wx=%s\n", ok ? "ok" : "FAIL");
	printk("kv hv.wx.text=%s\n", verdict(bad_text, "r-x", b1, sizeof(b1)));
	printk("kv hv.wx.rodata=%s\n", verdict(bad_ro, nx ? "r--" : "r-x(no-NX)", b2, sizeof(b2)));
	printk("kv hv.wx.relro=%s\n", verdict(bad_relro, nx ? "r--" : "r-x(no-NX)", b4, sizeof(b4)));
	printk("kv hv.wx.data=%s\n", verdict(bad_data, nx ? "rw-" : "rwx(no-NX)", b3, sizeof(b3)));
	printk("kv hv.wx.wx_pages=%llu\n", (unsigned long long)wx);
	printk("kv hv.wx.text_write=%s\n", text_write);
	printk("kv hv.wx.data_exec=%s\n", data_exec);
	printk("kv hv.wx.cr0_wp=%u/%u\n", wp, n);
	printk("kv hv.wx.efer_nxe=%u/%u\n", nxe, n);
	printk("kv hv.stack_protector=%s\n", canary);
	printk("kv hv.stack_guard=%s\n", guard_source);
	return ok;
}
