/* hv/report.c - see report.h; the line formats are documented in docs/output.md. */
#include "report.h"

const char *const exit_reason_names[EXIT_COUNT] = {
	[EXIT_IO] = "io", [EXIT_MSR_READ] = "rdmsr", [EXIT_MSR_WRITE] = "wrmsr",
	[EXIT_CPUID] = "cpuid", [EXIT_HLT] = "hlt", [EXIT_HYPERCALL] = "hypercall",
	[EXIT_INTR] = "intr", [EXIT_SLICE] = "slice", [EXIT_SHUTDOWN] = "shutdown", [EXIT_NPF] = "npf",
	[EXIT_VIRT_INSN] = "virt-insn", [EXIT_CACHE] = "cache", [EXIT_XSETBV] = "xsetbv",
	[EXIT_EXCEPTION] = "exception", [EXIT_INVALID] = "invalid", [EXIT_EMULATED] = "emulated", [EXIT_IRQ_WINDOW] = "irq-window",
	[EXIT_PAUSE] = "pause", [EXIT_OTHER] = "other",
};

bool report_vm_ok(const struct report_vm *vm)
{
	if (vm->result != vm->expect)
		return false;
	return vm->result != RESULT_EXIT || vm->status == vm->expect_status;
}

void report_result_str(enum vm_result r, int status, char *buf, size_t n)
{
	if (r == RESULT_EXIT)
		ksnprintf(buf, n, "exit %d", status);
	else
		ksnprintf(buf, n, "%s", result_name(r));
}

struct emitter {
	report_emit_fn fn;
	void *ctx;
	char line[256];
};

static void emitf(struct emitter *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emitf(struct emitter *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(e->line, sizeof(e->line), fmt, ap);
	va_end(ap);
	e->fn(e->ctx, e->line);
}

static u64 total_exits(const u64 *exits)
{
	u64 n = 0;
	for (int i = 0; i < EXIT_COUNT; i++)
		n += exits[i];
	return n;
}

static void kv_bar(struct emitter *e, const char *prefix, const struct bar_stats *b)
{
	u64 issued = bar_stats_issued(b);
	emitf(e, "kv %s.entries=%llu", prefix, (unsigned long long)b->entries);
	emitf(e, "kv %s.switches=%llu", prefix, (unsigned long long)b->switches);
	emitf(e, "kv %s.barriers.issued=%llu", prefix, (unsigned long long)issued);
	emitf(e, "kv %s.barriers.skipped=%llu", prefix, (unsigned long long)(b->entries - issued));
	for (int r = 0; r < BAR_REASONS; r++)
		emitf(e, "kv %s.barriers.%s.%s=%llu", prefix,
		      bar_reason_issued((enum bar_reason)r) ? "issued" : "skipped",
		      bar_reason_names[r], (unsigned long long)b->by_reason[r]);
}

/* "cross-vm 3, intra-vm 1" for the reasons of one kind that occurred. */
static void reasons_str(const struct bar_stats *b, bool issued, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = 0;
	for (int r = 0; r < BAR_REASONS; r++) {
		if (bar_reason_issued((enum bar_reason)r) != issued || !b->by_reason[r])
			continue;
		len += ksnprintf(buf + len, len < n ? n - len : 0, "%s%s %llu", len ? ", " : "",
				 bar_reason_names[r], (unsigned long long)b->by_reason[r]);
	}
	if (!len)
		ksnprintf(buf, n, "-");
}

void report_format(const struct report_run *run, report_emit_fn emit, void *ctx)
{
	struct emitter e = { .fn = emit, .ctx = ctx };
	char res[32], exp[32], why[160];
	unsigned ok_count = 0;
	u64 exits_all = 0;

	emitf(&e, "==================== hv report ====================");
	emitf(&e, "policy %s, track %s, barriers %s%s", run->policy, run->track, run->barrier_mode,
	      run->barriers_executed ? " (executed on the CPU)" : " (RECORDED ONLY: this CPU cannot execute IBPB)");
	emitf(&e, "%-16s %-5s %-10s %-10s %-4s %8s %8s %8s %8s %6s", "VM", "vCPUs", "result", "expected",
	      "ok", "exits", "switches", "barriers", "skipped", "IBPBs");
	for (unsigned i = 0; i < run->nvms; i++) {
		const struct report_vm *vm = &run->vms[i];
		bool ok = report_vm_ok(vm);
		u64 issued = bar_stats_issued(&vm->bar);
		ok_count += ok;
		report_result_str(vm->result, vm->status, res, sizeof(res));
		report_result_str(vm->expect, vm->expect_status, exp, sizeof(exp));
		emitf(&e, "%-16s %5u %-10s %-10s %-4s %8llu %8llu %8llu %8llu %6llu", vm->name, vm->vcpus, res,
		      exp, ok ? "yes" : "NO", (unsigned long long)total_exits(vm->exits),
		      (unsigned long long)vm->bar.switches, (unsigned long long)issued,
		      (unsigned long long)(vm->bar.entries - issued), (unsigned long long)vm->pred_cmd_writes);
	}
	emitf(&e, "why each VM ended:");
	for (unsigned i = 0; i < run->nvms; i++)
		emitf(&e, "  %-16s %s", run->vms[i].name, run->vms[i].reason ? run->vms[i].reason : "");
	emitf(&e, "barriers by reason (issued | skipped):");
	for (unsigned i = 0; i < run->nvms; i++) {
		const struct report_vm *vm = &run->vms[i];
		char skipped[160];
		reasons_str(&vm->bar, true, why, sizeof(why));
		reasons_str(&vm->bar, false, skipped, sizeof(skipped));
		emitf(&e, "  vm %-13s %s | %s%s", vm->name, why, skipped, vm->opted_in ? "  [opted in]" : "");
	}
	for (unsigned i = 0; i < run->npcpus; i++) {
		const struct report_pcpu *p = &run->pcpus[i];
		char skipped[160];
		reasons_str(&p->bar, true, why, sizeof(why));
		reasons_str(&p->bar, false, skipped, sizeof(skipped));
		emitf(&e, "  pcpu %-11u %s | %s", p->id, why, skipped);
	}
	emitf(&e, "%-6s %7s %8s %8s %8s %7s %7s", "pCPU", "busy", "entries", "switches", "barriers", "steals", "migr-in");
	for (unsigned i = 0; i < run->npcpus; i++) {
		const struct report_pcpu *p = &run->pcpus[i];
		emitf(&e, "%-6u %5u.%u%% %8llu %8llu %8llu %7llu %7llu", p->id, p->busy_permille / 10,
		      p->busy_permille % 10, (unsigned long long)p->bar.entries,
		      (unsigned long long)p->bar.switches, (unsigned long long)bar_stats_issued(&p->bar),
		      (unsigned long long)p->steals, (unsigned long long)p->migrations_in);
	}
	emitf(&e, "memory: hv %llu KiB (%llu bytes per vCPU), guests %llu MiB",
	      (unsigned long long)(run->hv_memory >> 10), (unsigned long long)run->bytes_per_vcpu,
	      (unsigned long long)(run->guest_memory >> 20));
	if (run->mitigations)
		run->mitigations(e.fn, e.ctx);
	emitf(&e, "hv code and constants %s (checksum %016llx)",
	      run->image_intact ? "intact" : "CHANGED DURING THE RUN", (unsigned long long)run->image_checksum);
	emitf(&e, "%u of %u VMs ended as expected", ok_count, run->nvms);
	emitf(&e, "===================================================");

	/* Machine-readable lines, one key=value each. */
	emitf(&e, "kv run.policy=%s", run->policy);
	emitf(&e, "kv run.track=%s", run->track);
	emitf(&e, "kv run.barriers=%s", run->barrier_mode);
	emitf(&e, "kv run.barriers_executed=%d", run->barriers_executed);
	emitf(&e, "kv run.vms=%u", run->nvms);
	emitf(&e, "kv run.pcpus=%u", run->npcpus);
	for (unsigned i = 0; i < run->nvms; i++) {
		const struct report_vm *vm = &run->vms[i];
		char prefix[48];
		ksnprintf(prefix, sizeof(prefix), "vm.%s", vm->name);
		report_result_str(vm->expect, vm->expect_status, exp, sizeof(exp));
		emitf(&e, "kv %s.result=%s", prefix, result_name(vm->result));
		emitf(&e, "kv %s.status=%d", prefix, vm->result == RESULT_EXIT ? vm->status : -1);
		emitf(&e, "kv %s.expected=%s", prefix, exp);
		emitf(&e, "kv %s.ok=%d", prefix, report_vm_ok(vm));
		emitf(&e, "kv %s.reason=%s", prefix, vm->reason ? vm->reason : "");
		emitf(&e, "kv %s.vcpus=%u", prefix, vm->vcpus);
		emitf(&e, "kv %s.end_order=%u", prefix, vm->end_order);
		emitf(&e, "kv %s.run_ms=%llu", prefix, (unsigned long long)vm->run_ms);
		emitf(&e, "kv %s.tsc.guest=%llu", prefix, (unsigned long long)vm->guest_tsc);
		emitf(&e, "kv %s.tsc.hv=%llu", prefix, (unsigned long long)vm->hv_tsc);
		emitf(&e, "kv %s.tsc.first_entry=%llu", prefix, (unsigned long long)vm->first_entry_tsc);
		u64 t = total_exits(vm->exits);
		exits_all += t;
		emitf(&e, "kv %s.exits.total=%llu", prefix, (unsigned long long)t);
		for (int r = 0; r < EXIT_COUNT; r++)
			emitf(&e, "kv %s.exits.%s=%llu", prefix, exit_reason_names[r], (unsigned long long)vm->exits[r]);
		for (int c = 0; c < 16; c++)
			if (vm->counters_set & (1u << c))
				emitf(&e, "kv %s.counter.%d=%llu", prefix, c, (unsigned long long)vm->counters[c]);
		emitf(&e, "kv %s.pred_cmd_writes=%llu", prefix, (unsigned long long)vm->pred_cmd_writes);
		emitf(&e, "kv %s.opted_in=%d", prefix, vm->opted_in);
		emitf(&e, "kv %s.hypercalls_refused=%llu", prefix, (unsigned long long)vm->hypercalls_refused);
		emitf(&e, "kv %s.guest_tlb_flushes=%llu", prefix, (unsigned long long)vm->guest_tlb_flushes);
		kv_bar(&e, prefix, &vm->bar);
	}
	for (unsigned i = 0; i < run->npcpus; i++) {
		const struct report_pcpu *p = &run->pcpus[i];
		char prefix[24];
		ksnprintf(prefix, sizeof(prefix), "pcpu.%u", p->id);
		emitf(&e, "kv %s.busy_permille=%u", prefix, p->busy_permille);
		emitf(&e, "kv %s.steals=%llu", prefix, (unsigned long long)p->steals);
		emitf(&e, "kv %s.migrations_in=%llu", prefix, (unsigned long long)p->migrations_in);
		emitf(&e, "kv %s.pred_cmd_writes=%llu", prefix, (unsigned long long)p->pred_cmd_writes);
		kv_bar(&e, prefix, &p->bar);
	}
	emitf(&e, "kv total.exits=%llu", (unsigned long long)exits_all);
	emitf(&e, "kv hv.memory_bytes=%llu", (unsigned long long)run->hv_memory);
	emitf(&e, "kv hv.bytes_per_vcpu=%llu", (unsigned long long)run->bytes_per_vcpu);
	emitf(&e, "kv hv.image_intact=%d", run->image_intact);
	emitf(&e, "kv hv.host_nmis=%llu", (unsigned long long)run->host_nmis);
	emitf(&e, "kv hv.tsc.start=%llu", (unsigned long long)run->start_tsc);
	if (run->mitigations_kv)
		run->mitigations_kv(e.fn, e.ctx);
	emitf(&e, "kv run.ok=%u", ok_count);
	emitf(&e, "kv run.result=%s", ok_count == run->nvms && run->image_intact ? "pass" : "fail");
}
