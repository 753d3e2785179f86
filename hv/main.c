/*
 * hv/main.c - the core's entry: from the boot-info record to running VMs.
 */
#include "barrier.h"
#include "bootinfo.h"
#include "hv.h"
#include "report.h"
#include "spec.h"
#include "trace.h"
#include "vendor.h"
#include "x86/apic.h"
#include "x86/cpu.h"
#include "x86/protect.h"
#include "x86/smp.h"
#include "x86/trap.h"

struct pcpu *pcpus[CFG_MAX_PCPUS];
unsigned npcpus;
const struct hv_config *hv_cfg;
extern struct boot_info *hv_bootinfo;
static u64 vcpu_bytes_total;
extern bool cpu_has_pku, cpu_fxsave_leak;

/*
 * hv's code and constants must be the same at the end of a run as at the
 * start, whatever the guests did: checksum them (FNV-1a) at both ends.
 */
extern const u8 __hv_text_start[], __hv_text_end[], __hv_rodata_start[], __hv_rodata_end[];
static u64 image_checksum_start;

static u64 fnv1a(u64 h, const u8 *p, const u8 *end)
{
	for (; p < end; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return h;
}

u64 hv_image_checksum(void)
{
	u64 h = fnv1a(0xcbf29ce484222325ull, __hv_text_start, __hv_text_end);
	return fnv1a(h, __hv_rodata_start, __hv_rodata_end);
}

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
	serial_init();
	if (bi->magic != BOOTINFO_MAGIC)
		PANIC("bad boot-info magic 0x%x", bi->magic);
	console_setup(&bi->fb, bi->config->console);
	platform_set_end(bi->config->on_end, bi->acpi_rsdp);
	printk("\nhv: core started by the %s loader\n", bi->loader);
	hv_bootinfo = bi;
	hv_cfg = bi->config;
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

/* ---- report glue: snapshot the live objects for the pure formatter ---- */

static void emit_line(void *ctx, const char *line)
{
	(void)ctx;
	printk("%s\n", line);
}

static struct report_vm rvms[CFG_MAX_VMS];
static struct report_pcpu rpcpus[CFG_MAX_PCPUS];

static void snapshot(struct report_run *run)
{
	unsigned total_vcpus = 0;
	u64 guest_mem = 0, now = rdtsc();
	for (unsigned i = 0; i < nvms; i++) {
		struct vm *vm = vms[i];
		struct report_vm *r = &rvms[i];
		*r = (struct report_vm){
			.name = vm->name, .result = vm->result, .expect = vm->cfg->expect,
			.status = vm->status, .expect_status = vm->cfg->expect_status,
			.reason = vm->reason, .vcpus = vm->nvcpus, .memory = vm->mem_size,
			.counters_set = vm->counters_set, .bar = vm->stats,
			.pred_cmd_writes = vm->pred_cmd_writes,
			.hypercalls_refused = vm->hypercalls_refused,
			.guest_tlb_flushes = vm->guest_tlb_flushes,
			.run_ms = tsc_per_ms ? vm->run_tsc / tsc_per_ms : 0,
			.opted_in = barrier_vm_opted(&vm->bar),
			.end_order = vm->end_order,
		};
		memcpy(r->counters, vm->counters, sizeof(r->counters));
		for (unsigned j = 0; j < vm->nvcpus; j++)
			for (int k = 0; k < EXIT_COUNT; k++)
				r->exits[k] += vm->vcpus[j]->exits[k];
		total_vcpus += vm->nvcpus;
		guest_mem += vm->mem_size;
	}
	for (unsigned i = 0; i < npcpus; i++) {
		struct pcpu *p = pcpus[i];
		u64 wall = now - p->start_tsc;
		rpcpus[i] = (struct report_pcpu){
			.id = p->id, .bar = p->stats, .pred_cmd_writes = p->pred_cmd_writes,
			.steals = p->steals, .migrations_in = p->migrations_in,
			.busy_permille = wall ? (unsigned)(p->busy_tsc * 1000 / wall) : 0,
		};
	}
	*run = (struct report_run){
		.policy = policy_name(hv_cfg->policy), .track = track_name(barrier_caps.track),
		.barrier_mode = barrier_mode_names[barrier_caps.mode],
		.barriers_executed = barrier_caps.mode == BARRIER_HARDWARE || barrier_caps.mode == BARRIER_FORCED,
		.nvms = nvms, .npcpus = npcpus, .vms = rvms, .pcpus = rpcpus,
		.hv_memory = page_alloc_used() - guest_mem, .guest_memory = guest_mem,
		.bytes_per_vcpu = total_vcpus ? vcpu_bytes_total / total_vcpus : 0,
		.mitigations = spec_report, .mitigations_kv = spec_report_kv,
		.image_checksum = hv_image_checksum(),
		.image_intact = hv_image_checksum() == image_checksum_start,
		.host_nmis = __atomic_load_n(&host_nmis, __ATOMIC_RELAXED),
	};
}

void report_print(void)
{
	struct report_run run;
	snapshot(&run);
	report_format(&run, emit_line, NULL);
}

bool report_all_ok(void)
{
	if (hv_image_checksum() != image_checksum_start)
		return false;
	for (unsigned i = 0; i < nvms; i++)
		if (!report_vm_ok(&rvms[i]))
			return false;
	return true;
}
