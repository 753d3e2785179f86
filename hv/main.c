/*
 * hv/main.c - the core's entry: from the boot-info record to running VMs.
 */
#include "barrier.h"
#include "bootinfo.h"
#include "end_report.h"
#include "hv.h"
#include "sched.h"
#include "spec.h"
#include "trace.h"
#include "vendor.h"
#include "vm.h"
#include "x86/apic.h"
#include "x86/cpu.h"
#include "x86/protect.h"
#include "x86/smp.h"
#include "x86/trap.h"

void paging_init(u64 phys_top, u64 image_start, u64 image_end, u64 ap_trampoline);

u64 hv_pool_size(const struct hv_config *cfg)
{
	u64 n = MiB(8);                                  /* hv's tables, stacks, slack */
	n += MiB(2) * (cfg->max_pcpus ? cfg->max_pcpus : 1);   /* trace buffers */
	n += KiB(64) * (cfg->max_pcpus ? cfg->max_pcpus : 1);  /* stacks, IST stacks */
	for (unsigned i = 0; i < cfg->nvms; i++)   /* RAM is 2 MiB aligned: allow the gap */
		n += ALIGN_UP(cfg->vms[i].memory, MiB(2)) + MiB(2) + KiB(64) + (u64)cfg->vms[i].vcpus * KiB(32);
	return ALIGN_UP(n, MiB(2));
}

static const struct vendor_ops *pick_vendor(void)
{
	static const struct vendor_ops *const all[] = { &svm_ops, &vmx_ops };
	const char *why[ARRAY_SIZE(all)];
	for (unsigned i = 0; i < ARRAY_SIZE(all); i++) {
		why[i] = all[i]->probe();
		if (!why[i])
			return all[i];
	}
	/* Say why only when no backend takes this CPU. */
	for (unsigned i = 0; i < ARRAY_SIZE(all); i++)
		printk("hv: error: %s: %s\n", all[i]->name, why[i]);
	return NULL;
}

/*
 * For the UEFI loader, before ExitBootServices: can this CPU run hv at all
 * (SVM + nested paging or VT-x + EPT, and enabled by the firmware)? NULL if
 * so, else every backend's reason on one line, so the loader can print it
 * and return to the firmware instead of halting later.
 */
const char *hv_cpu_refusal(void)
{
	static const struct vendor_ops *const all[] = { &svm_ops, &vmx_ops };
	static char why[400];
	size_t n = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(all); i++) {
		const char *w = all[i]->probe();
		if (!w)
			return NULL;
		n += (size_t)ksnprintf(why + n, n < sizeof(why) ? sizeof(why) - n : 0, "%s%s: %s",
				       i ? "; " : "", all[i]->name, w);
	}
	return why;
}

static void pcpu_init(unsigned id)
{
	struct pcpu *p = kzalloc(sizeof(*p));
	p->id = id;
	protect_cpu_init(id);
	desc_init_cpu(id);
	apic_init_cpu();
	p->apic_id = apic_id();
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	/* Guests may only ever use x87/SSE state: XCR0 = x87|SSE, so AVX and
	 * wider registers (which hv does not switch) raise #UD in every guest. */
	struct cpuid_regs l1 = cpuid(1, 0);
	if (l1.ecx & BIT(26)) {
		write_cr4(read_cr4() | CR4_OSXSAVE);
		xsetbv(0, 3);
	}
	/* Protection keys: PKRU is switched per vCPU (sched.c); RDPKRU needs CR4.PKE. */
	if (cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ecx & BIT(3))) {
		write_cr4(read_cr4() | CR4_PKE);
		cpu_has_pku = true;
	}
	/* AMD CPUs without "FP error pointers restored" (8000_0008h EBX[2],
	 * XSaveErPtr) keep FIP/FDP/FOP across FXRSTOR unless the image has an
	 * exception pending (AMD APM Vol. 5 FXSAVE/FXRSTOR): sched.c clears them. */
	if ((cpu_vendor_is("AuthenticAMD") || cpu_vendor_is("HygonGenuine")) &&
	    !(cpuid(0x80000000, 0).eax >= 0x80000008 && (cpuid(0x80000008, 0).ebx & BIT(2))))
		cpu_fxsave_leak = true;
	barrier_pcpu_init(&p->bar, id);
	spec_pcpu_init();
	vendor->cpu_init(p);
	pcpus[id] = p;
	if (p->apic_id < ARRAY_SIZE(pcpu_by_apic))
		pcpu_by_apic[p->apic_id] = p;   /* larger x2APIC ids: this_pcpu() searches */
}

static volatile u32 sched_go;

/* An application processor, fresh from the trampoline (x86/ap_boot.S). */
static void ap_entry(unsigned cpu) __attribute__((noreturn));
static void ap_entry(unsigned cpu)
{
	pcpu_init(cpu);
	barrier_execute();               /* start clean, as the boot CPU did */
	smp_ap_started(cpu);
	while (!__atomic_load_n(&sched_go, __ATOMIC_ACQUIRE))
		pause();
	write_cr3(read_cr3());           /* drop TLB entries from before mm_seal() */
	sched_run(pcpus[cpu]);
}

/* Start up to pcpus - 1 more processors from the ACPI MADT. */
static void start_aps(const struct boot_info *bi)
{
	u32 ids[CFG_MAX_PCPUS];
	unsigned want = hv_cfg->max_pcpus, found;
	if (want <= 1)
		return;
	if (!bi->ap_trampoline_pa) {
		printk("hv: note: pcpus = %u asked, but the loader reserved no start-up page; boot CPU only\n", want);
		return;
	}
	found = acpi_madt_cpus(bi->acpi_rsdp, ids, want);
	for (unsigned i = 1; i < found; i++) {
		u64 stack = va_to_pa(page_alloc(8)) + 8 * 4096;
		if (smp_start_ap(bi->ap_trampoline_pa, ids[i], npcpus, stack, ap_entry))
			npcpus++;
		else
			printk("hv: pCPU with APIC id %u did not start; going on without it\n", ids[i]);
	}
	printk("hv: %u pCPU(s) running hv (pcpus = %u asked, %u in the ACPI MADT)\n", npcpus, want, found);
}

/* Checks that need the running machine (the parser cannot know them). */
static bool config_fits_machine(const struct hv_config *cfg, const char *file)
{
	for (unsigned i = 0; i < cfg->nvms; i++)
		for (unsigned j = 0; j < cfg->vms[i].vcpus; j++)
			if (cfg->vms[i].pin[j] >= (int)npcpus) {
				printk("hv: config error: %s:%u: vm '%s' pins vCPU %u to pCPU %d, but only %u pCPU(s) run hv\n",
				       file, cfg->vms[i].line, cfg->vms[i].name, j, cfg->vms[i].pin[j], npcpus);
				return false;
			}
	return true;
}

/* The mitigation lines in the boot log. */
static void boot_line(void *ctx, const char *line)
{
	(void)ctx;
	printk("hv: %s\n", line);
}

void hv_main(struct boot_info *bi)
{
	hv_start_tsc = rdtsc();
	serial_init();
	if (bi->magic != BOOTINFO_MAGIC)
		PANIC("bad boot-info magic 0x%x", bi->magic);
	console_setup(&bi->fb, bi->config->console);
	platform_set_end(bi->config->on_end, bi->acpi_rsdp);
	printk("\nhv: core started by the %s loader\n", bi->loader);
	hv_bootinfo = bi;
	hv_cfg = bi->config;
	tsc_split = hv_cfg->trace;
	page_alloc_init(bi->pool_pa, bi->pool_size);

	vendor = pick_vendor();
	if (!vendor)
		platform_exit(HV_EXIT_CONFIG_ERROR);

	spec_init(hv_cfg);              /* patches hv's text: before the checksum and the APs */
	image_checksum_start = hv_image_checksum();
	paging_init(bi->phys_top, bi->image_start, bi->image_end, bi->ap_trampoline_pa);
	pcpu_init(0);
	npcpus = 1;
	apic_report_mode();
	apic_calibrate(hv_cfg->clock, bi->acpi_rsdp);
	barrier_init(hv_cfg);
	spec_report(boot_line, NULL);
	start_aps(bi);
	mm_seal();                       /* code read-only from here on (hv/mm.c) */
	protect_selftest(bi->image_start, bi->image_end, npcpus);
	if (!config_fits_machine(hv_cfg, bi->config_name))
		platform_exit(HV_EXIT_CONFIG_ERROR);
	trace_init();
	vms_create();
	for (unsigned i = 0; i < nvms; i++)
		for (unsigned j = 0; j < vms[i]->nvcpus; j++)
			vcpu_bytes_total += vms[i]->vcpus[j]->hv_bytes;
	printk("hv: %u VM(s) ready, %llu KiB of hv memory in use; running\n", nvms,
	       (unsigned long long)((page_alloc_used()) >> 10));
	__atomic_store_n(&sched_go, 1, __ATOMIC_RELEASE);
	sched_run(pcpus[0]);
}
