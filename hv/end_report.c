/*
 * hv/end_report.c - the end of a run: snapshot the live objects (VMs, pCPUs,
 * mitigations) for the pure formatter (report.c), and the checksum of hv's
 * image that must be the same at the end as at the start.
 */
#include "barrier.h"
#include "bootinfo.h"
#include "end_report.h"
#include "hv.h"
#include "report.h"
#include "spec.h"
#include "x86/apic.h"
#include "x86/cpu.h"
#include "x86/trap.h"

u64 vcpu_bytes_total;
u64 hv_start_tsc;
/*
 * hv's code and constants must be the same at the end of a run as at the
 * start, whatever the guests did: checksum them (FNV-1a) at both ends.
 */
extern const u8 __hv_text_start[], __hv_text_end[], __hv_rodata_start[], __hv_rodata_end[];
u64 image_checksum_start;

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
			.guest_tsc = vm->guest_tsc, .hv_tsc = vm->hv_tsc,
			.first_entry_tsc = vm->first_entry_tsc,
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
		.start_tsc = hv_start_tsc,
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
