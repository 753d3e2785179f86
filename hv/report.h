/*
 * hv/report.h - the end-of-run report: a table for people and `kv` lines for
 * machines (docs/output.md). Pure logic: the core fills these snapshots and
 * the formatter turns them into lines; the host unit tests do the same.
 */
#ifndef HV_REPORT_H
#define HV_REPORT_H

#include "config.h"
#include "exits.h"

struct report_vm {
	const char *name;
	enum vm_result result, expect;
	int status, expect_status;
	const char *reason;
	unsigned vcpus;
	u64 memory;
	u64 exits[EXIT_COUNT];
	u64 counters[16];
	u32 counters_set;
	struct bar_stats bar;
	u64 pred_cmd_writes;
	u64 hypercalls_refused;   /* from CPL > 0 */
	u64 guest_tlb_flushes;    /* TLB flushes hv requested for the guest's CR writes */
	u64 run_ms;
	u64 guest_tsc, hv_tsc;    /* TSC in the vendor run call / in hv's C code (vm.h) */
	u64 first_entry_tsc;      /* TSC at the VM's first entry */
	bool opted_in;
	unsigned end_order;       /* 1 = ended first */
};

struct report_pcpu {
	unsigned id;
	struct bar_stats bar;
	u64 pred_cmd_writes;
	unsigned busy_permille;   /* share of wall time spent running guests */
	u64 steals;               /* vCPUs this pCPU took from other queues */
	u64 migrations_in;        /* vCPUs that moved here by HC_MIGRATE */
};

struct report_run {
	const char *policy, *track, *barrier_mode;
	bool barriers_executed;
	unsigned nvms, npcpus;
	const struct report_vm *vms;
	const struct report_pcpu *pcpus;
	u64 hv_memory, guest_memory;
	u64 bytes_per_vcpu;
	/* hv's speculation measures (spec.h), human lines and kv lines; may be NULL */
	void (*mitigations)(void (*emit)(void *ctx, const char *line), void *ctx);
	void (*mitigations_kv)(void (*emit)(void *ctx, const char *line), void *ctx);
	u64 image_checksum;       /* FNV-1a of hv's code and constants at the end */
	bool image_intact;        /* ... equal to the value at boot */
	u64 host_nmis;            /* NMIs hv took (counted, not fatal) */
	u64 start_tsc;            /* TSC when hv's core started (after its loader) */
};

typedef void (*report_emit_fn)(void *ctx, const char *line);

/* Did this VM end the way its config expected? */
bool report_vm_ok(const struct report_vm *vm);
/* "exit 0", "shutdown", ... into buf. */
void report_result_str(enum vm_result r, int status, char *buf, size_t n);
/* Emit the whole report, one line per call, without newlines. */
void report_format(const struct report_run *run, report_emit_fn emit, void *ctx);

#endif
