/*
 * tests/unit/test_report.c - host unit tests for the end-of-run report
 * (hv/report.c): report_vm_ok, report_result_str and the lines report_format
 * emits, checked against docs/output.md.
 *
 * report_format's lines are captured through its emit callback; the table is
 * checked field by field (split at blanks, so column widths do not matter),
 * the `kv KEY=VALUE` lines key by key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

/* ---- capturing the lines ----------------------------------------------------- */

#define MAX_LINES 1024
#define MAX_TOKENS 32

struct capture {
	unsigned n;
	char *line[MAX_LINES];
};

static struct capture cap;

static void emit(void *ctx, const char *line)
{
	struct capture *c = ctx;
	assert_ptr_equal(c, &cap);
	assert_non_null(line);
	assert_true(c->n < MAX_LINES);
	c->line[c->n] = strdup(line);
	assert_non_null(c->line[c->n]);
	c->n++;
}

static void capture_reset(void)
{
	for (unsigned i = 0; i < cap.n; i++)
		free(cap.line[i]);
	cap.n = 0;
}

static int teardown(void **state)
{
	(void)state;
	capture_reset();
	return 0;
}

static void format(const struct report_run *run)
{
	capture_reset();
	report_format(run, emit, &cap);
	assert_true(cap.n > 0);
}

static void dump_lines(void)
{
	for (unsigned i = 0; i < cap.n; i++)
		print_error("  %3u: %s\n", i, cap.line[i]);
}

/* Index of the only line starting with prefix; fails if none or several. */
static unsigned line_starting(const char *prefix)
{
	unsigned found = 0, at = 0;
	for (unsigned i = 0; i < cap.n; i++)
		if (strncmp(cap.line[i], prefix, strlen(prefix)) == 0) {
			found++;
			at = i;
		}
	if (found != 1) {
		print_error("%u lines start with '%s', expected 1\n", found, prefix);
		dump_lines();
	}
	assert_int_equal(found, 1);
	return at;
}

/* Number of lines containing s. */
static unsigned lines_containing(const char *s)
{
	unsigned n = 0;
	for (unsigned i = 0; i < cap.n; i++)
		if (strstr(cap.line[i], s))
			n++;
	return n;
}

/* Split a copy of line at blanks into tok; returns the count. */
static unsigned split(const char *line, char *copy, size_t copylen, char **tok)
{
	unsigned n = 0;
	assert_true(strlen(line) < copylen);
	strcpy(copy, line);
	for (char *s = strtok(copy, " "); s; s = strtok(NULL, " ")) {
		assert_true(n < MAX_TOKENS);
		tok[n++] = s;
	}
	return n;
}

/* The line at i, split at blanks, must be exactly the words in want (NULL-terminated). */
static void expect_words(unsigned i, const char *const *want)
{
	char copy[512];
	char *tok[MAX_TOKENS];
	unsigned n = split(cap.line[i], copy, sizeof(copy), tok);
	unsigned k = 0;
	for (; want[k]; k++) {
		if (k >= n || strcmp(tok[k], want[k]) != 0) {
			print_error("line '%s': word %u is '%s', expected '%s'\n", cap.line[i], k,
				    k < n ? tok[k] : "(none)", want[k]);
			fail();
		}
	}
	if (n != k)
		print_error("line '%s': %u words, expected %u\n", cap.line[i], n, k);
	assert_int_equal(n, k);
}

/* ---- the kv lines ---------------------------------------------------------------- */

/* Value of kv key, or NULL if it is not there. Fails if it is there twice. */
static const char *kv(const char *key)
{
	const char *val = NULL;
	size_t kl = strlen(key);
	for (unsigned i = 0; i < cap.n; i++) {
		const char *l = cap.line[i];
		if (strncmp(l, "kv ", 3) || strncmp(l + 3, key, kl) || l[3 + kl] != '=')
			continue;
		if (val) {
			print_error("kv %s printed twice\n", key);
			fail();
		}
		val = l + 4 + kl;
	}
	return val;
}

static void expect_kv_at(const char *key, const char *want, int line)
{
	const char *got = kv(key);
	if (!got || strcmp(got, want) != 0) {
		print_error("line %d: kv %s: expected '%s', got %s%s%s\n", line, key, want,
			    got ? "'" : "", got ? got : "(missing)", got ? "'" : "");
		dump_lines();
	}
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void expect_kv_u64_at(const char *key, u64 want, int line)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)want);
	expect_kv_at(key, buf, line);
}

#define EXPECT_KV(key, want) expect_kv_at((key), (want), __LINE__)
#define EXPECT_KV_U64(key, want) expect_kv_u64_at((key), (want), __LINE__)

/* kv key for prefix.suffix */
static const char *key2(const char *prefix, const char *suffix)
{
	static char buf[128];
	snprintf(buf, sizeof(buf), "%s.%s", prefix, suffix);
	return buf;
}

/* Number of kv keys starting with prefix. */
static unsigned kv_count(const char *prefix)
{
	unsigned n = 0;
	for (unsigned i = 0; i < cap.n; i++)
		if (strncmp(cap.line[i], "kv ", 3) == 0 &&
		    strncmp(cap.line[i] + 3, prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

/*
 * Every line: at most 255 characters, no control characters. Every `kv ` line
 * is exactly `kv KEY=VALUE` with a KEY of [A-Za-z0-9._-], and no KEY twice.
 */
static void check_all_lines(void)
{
	unsigned nkv = 0;
	for (unsigned i = 0; i < cap.n; i++) {
		const char *l = cap.line[i];
		if (strlen(l) > 255) {
			print_error("line %u is %zu characters long: %s\n", i, strlen(l), l);
			fail();
		}
		for (const char *p = l; *p; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
		if (strncmp(l, "kv", 2) != 0)
			continue;
		nkv++;
		assert_int_equal(l[2], ' ');
		const char *key = l + 3, *eq = strchr(key, '=');
		if (!eq || eq == key) {
			print_error("kv line without KEY=: %s\n", l);
			fail();
		}
		for (const char *p = key; p < eq; p++) {
			bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				  (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-';
			if (!ok) {
				print_error("kv key with '%c': %s\n", *p, l);
				fail();
			}
		}
		assert_true(key[0] != '.' && eq[-1] != '.');
		for (unsigned j = 0; j < i; j++) {
			const char *o = cap.line[j];
			if (strncmp(o, "kv ", 3) == 0 && strncmp(o + 3, key, (size_t)(eq - key + 1)) == 0) {
				print_error("kv key printed twice: '%s' and '%s'\n", o, l);
				fail();
			}
		}
	}
	assert_true(nkv > 0);
}

/* ---- a run to format ------------------------------------------------------------- */

/* The exit reason names docs/output.md lists (reasons added later may be
 * missing here; they are checked for being present and distinct only). */
static const char *const exit_names_doc[EXIT_COUNT] = {
	[EXIT_IO] = "io", [EXIT_MSR_READ] = "rdmsr", [EXIT_MSR_WRITE] = "wrmsr",
	[EXIT_CPUID] = "cpuid", [EXIT_HLT] = "hlt", [EXIT_HYPERCALL] = "hypercall",
	[EXIT_INTR] = "intr", [EXIT_SHUTDOWN] = "shutdown", [EXIT_NPF] = "npf",
	[EXIT_VIRT_INSN] = "virt-insn", [EXIT_CACHE] = "cache", [EXIT_XSETBV] = "xsetbv",
	[EXIT_EXCEPTION] = "exception", [EXIT_INVALID] = "invalid", [EXIT_OTHER] = "other",
};

static const char *const issued_doc[] = { "cross-vm", "intra-vm", "migration", "config", "policy" };
static const char *const skipped_doc[] = { "clean", "not-opted-in", "config", "hole" };

static struct report_vm vms[2];
static struct report_pcpu pcpus[1];
static struct report_run run;

/* Two VMs (a ends as expected, b does not), one pCPU. */
static void make_run(void)
{
	memset(vms, 0, sizeof(vms));
	memset(pcpus, 0, sizeof(pcpus));

	struct report_vm *a = &vms[0];
	a->name = "a";
	a->result = a->expect = RESULT_EXIT;
	a->status = a->expect_status = 0;
	a->reason = "every vCPU called exit";
	a->vcpus = 2;
	a->memory = MiB(4);
	a->exits[EXIT_CPUID] = 7;
	a->exits[EXIT_IO] = 100;
	a->exits[EXIT_HYPERCALL] = 3;
	a->exits[EXIT_OTHER] = 1;
	a->counters[3] = 3735928559u;
	a->counters[5] = 99;          /* not set: must not be printed */
	a->counters[15] = 0;
	a->counters_set = BIT(3) | BIT(15);
	a->bar.by_reason[BAR_ISSUED_CROSS_VM] = 2;
	a->bar.by_reason[BAR_ISSUED_INTRA_VM] = 1;
	a->bar.by_reason[BAR_ISSUED_POLICY] = 1;
	a->bar.by_reason[BAR_SKIP_CLEAN] = 3;
	a->bar.by_reason[BAR_SKIP_NOT_OPTED] = 2;
	a->bar.by_reason[BAR_SKIP_HOLE] = 1;
	a->bar.entries = 10;
	a->bar.switches = 4;
	a->pred_cmd_writes = 5;
	a->run_ms = 12345678901ull;
	a->guest_tsc = 900000000001ull;
	a->hv_tsc = 42;
	a->first_entry_tsc = 7;
	a->opted_in = true;

	struct report_vm *b = &vms[1];
	b->name = "b_2-x";
	b->result = RESULT_SHUTDOWN;
	b->expect = RESULT_EXIT;
	b->status = 7;                /* ignored: not an exit */
	b->expect_status = 42;
	b->reason = "triple fault";
	b->vcpus = 1;
	b->memory = MiB(2);
	b->exits[EXIT_SHUTDOWN] = 1;
	b->exits[EXIT_NPF] = 2;
	b->bar.by_reason[BAR_ISSUED_MIGRATION] = 4;
	b->bar.by_reason[BAR_ISSUED_CONFIG] = 5;
	b->bar.by_reason[BAR_SKIP_CONFIG] = 6;
	b->bar.entries = 15;
	b->bar.switches = 9;
	b->opted_in = false;

	struct report_pcpu *p = &pcpus[0];
	p->id = 0;
	p->busy_permille = 862;
	p->pred_cmd_writes = 5;
	for (int r = 0; r < BAR_REASONS; r++)
		p->bar.by_reason[r] = a->bar.by_reason[r] + b->bar.by_reason[r];
	p->bar.entries = 25;
	p->bar.switches = 13;

	run = (struct report_run){
		.policy = "guest",
		.track = "trap",
		.barrier_mode = "virtual",
		.barriers_executed = false,
		.nvms = 2,
		.npcpus = 1,
		.vms = vms,
		.pcpus = pcpus,
		.hv_memory = 8413184,
		.guest_memory = MiB(6),
		.bytes_per_vcpu = 13336,
		.image_intact = true,
	};
}

/* ---- report_vm_ok, report_result_str --------------------------------------------- */

static void test_vm_ok(void **state)
{
	(void)state;
	static const struct {
		enum vm_result result, expect;
		int status, expect_status;
		bool ok;
	} cases[] = {
		{ RESULT_EXIT, RESULT_EXIT, 0, 0, true },
		{ RESULT_EXIT, RESULT_EXIT, 42, 42, true },
		{ RESULT_EXIT, RESULT_EXIT, 1, 0, false },
		{ RESULT_EXIT, RESULT_EXIT, 0, 255, false },
		{ RESULT_EXIT, RESULT_EXIT, -1, 255, false },
		{ RESULT_SHUTDOWN, RESULT_SHUTDOWN, 0, 0, true },
		{ RESULT_SHUTDOWN, RESULT_SHUTDOWN, 3, 0, true },   /* status only for exit */
		{ RESULT_LIMIT, RESULT_LIMIT, 0, 9, true },
		{ RESULT_HALT, RESULT_HALT, 5, 6, true },
		{ RESULT_FAULT, RESULT_FAULT, 0, 0, true },
		{ RESULT_SHUTDOWN, RESULT_EXIT, 0, 0, false },
		{ RESULT_EXIT, RESULT_SHUTDOWN, 0, 0, false },
		{ RESULT_LIMIT, RESULT_HALT, 0, 0, false },
		{ RESULT_FAULT, RESULT_EXIT, 0, 0, false },
		{ RESULT_NONE, RESULT_EXIT, 0, 0, false },          /* never ended */
		{ RESULT_HALT, RESULT_LIMIT, 0, 0, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct report_vm vm = { .name = "x" };
		vm.result = cases[i].result;
		vm.expect = cases[i].expect;
		vm.status = cases[i].status;
		vm.expect_status = cases[i].expect_status;
		if (report_vm_ok(&vm) != cases[i].ok)
			print_error("case %zu: expected ok=%d\n", i, cases[i].ok);
		assert_int_equal(report_vm_ok(&vm), cases[i].ok);
	}
}

static void test_result_str(void **state)
{
	(void)state;
	static const struct {
		enum vm_result r;
		int status;
		const char *want;
	} cases[] = {
		{ RESULT_EXIT, 0, "exit 0" },
		{ RESULT_EXIT, 42, "exit 42" },
		{ RESULT_EXIT, 255, "exit 255" },
		{ RESULT_EXIT, -1, "exit -1" },
		{ RESULT_EXIT, 2147483647, "exit 2147483647" },
		{ RESULT_SHUTDOWN, 0, "shutdown" },
		{ RESULT_SHUTDOWN, 3, "shutdown" },   /* status only for exit */
		{ RESULT_LIMIT, 0, "limit" },
		{ RESULT_HALT, 1, "halt" },
		{ RESULT_FAULT, 0, "fault" },
		{ RESULT_NONE, 0, "none" },
	};
	char buf[64];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 'X', sizeof(buf));
		report_result_str(cases[i].r, cases[i].status, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
	/* bounded, NUL-terminated */
	memset(buf, 'X', sizeof(buf));
	report_result_str(RESULT_EXIT, 12345, buf, 6);
	assert_string_equal(buf, "exit ");
	assert_int_equal(buf[6], 'X');
	memset(buf, 'X', sizeof(buf));
	report_result_str(RESULT_SHUTDOWN, 0, buf, 4);
	assert_string_equal(buf, "shu");
	assert_int_equal(buf[4], 'X');
	memset(buf, 'X', sizeof(buf));
	report_result_str(RESULT_HALT, 0, buf, 1);
	assert_string_equal(buf, "");
	assert_int_equal(buf[1], 'X');
}

/* ---- report_format ---------------------------------------------------------------- */

static void test_format_table(void **state)
{
	(void)state;
	make_run();
	format(&run);
	check_all_lines();

	assert_string_equal(cap.line[0], "==================== hv report ====================");
	unsigned head = line_starting("policy ");
	assert_string_equal(cap.line[head],
			    "policy guest, track trap, barriers virtual "
			    "(RECORDED ONLY: this CPU cannot execute IBPB)");

	/* the table header, then one row per VM, in order */
	unsigned th = line_starting("VM ");
	static const char *const header[] = { "VM", "vCPUs", "result", "expected", "ok", "exits",
					      "switches", "barriers", "skipped", "IBPBs", NULL };
	expect_words(th, header);
	assert_true(th > head);

	unsigned ra = line_starting("a ");
	static const char *const row_a[] = { "a", "2", "exit", "0", "exit", "0", "yes",
					     "111", "4", "4", "6", "5", NULL };
	expect_words(ra, row_a);
	unsigned rb = line_starting("b_2-x ");
	static const char *const row_b[] = { "b_2-x", "1", "shutdown", "exit", "42", "NO",
					     "3", "9", "9", "6", "0", NULL };
	expect_words(rb, row_b);
	assert_int_equal(ra, th + 1);
	assert_int_equal(rb, th + 2);

	/* why each VM ended */
	unsigned why = line_starting("why each VM ended");
	assert_true(why > rb);
	static const char *const why_a[] = { "a", "every", "vCPU", "called", "exit", NULL };
	static const char *const why_b[] = { "b_2-x", "triple", "fault", NULL };
	expect_words(why + 1, why_a);
	expect_words(why + 2, why_b);

	/* barriers by reason: only the reasons that occurred */
	unsigned br = line_starting("barriers by reason");
	assert_true(br > why);
	static const char *const by_a[] = { "vm", "a", "cross-vm", "2,", "intra-vm", "1,",
					    "policy", "1", "|", "clean", "3,", "not-opted-in",
					    "2,", "hole", "1", "[opted", "in]", NULL };
	static const char *const by_b[] = { "vm", "b_2-x", "migration", "4,", "config", "5",
					    "|", "config", "6", NULL };
	expect_words(br + 1, by_a);
	expect_words(br + 2, by_b);
	char *pl = cap.line[br + 3];
	assert_memory_equal(pl, "  pcpu 0 ", 9);
	assert_non_null(strstr(pl, "cross-vm 2, intra-vm 1, migration 4, config 5, policy 1 | "
				   "clean 3, not-opted-in 2, config 6, hole 1"));

	assert_string_equal(cap.line[line_starting("memory: ")],
			    "memory: hv 8216 KiB (13336 bytes per vCPU), guests 6 MiB");
	assert_string_equal(cap.line[line_starting("1 of 2 VMs")], "1 of 2 VMs ended as expected");
	assert_int_equal(lines_containing("RECORDED ONLY"), 1);
	assert_int_equal(lines_containing("executed on the CPU"), 0);

	/* the table, closed by a rule, comes before every kv line */
	unsigned first_kv = line_starting("kv run.policy=");
	unsigned rule = line_starting("===================================================");
	assert_true(rule < first_kv);
	for (unsigned i = 0; i < first_kv; i++)
		assert_true(strncmp(cap.line[i], "kv ", 3) != 0);
}

static void test_format_executed(void **state)
{
	(void)state;
	make_run();
	run.barriers_executed = true;
	run.barrier_mode = "hardware";
	format(&run);
	check_all_lines();
	assert_int_equal(lines_containing("RECORDED ONLY"), 0);
	assert_string_equal(cap.line[line_starting("policy ")],
			    "policy guest, track trap, barriers hardware (executed on the CPU)");
	EXPECT_KV("run.barriers", "hardware");
	EXPECT_KV("run.barriers_executed", "1");
}

static void test_format_kv_run(void **state)
{
	(void)state;
	make_run();
	format(&run);
	EXPECT_KV("run.policy", "guest");
	EXPECT_KV("run.track", "trap");
	EXPECT_KV("run.barriers", "virtual");
	EXPECT_KV("run.barriers_executed", "0");
	EXPECT_KV("run.vms", "2");
	EXPECT_KV("run.pcpus", "1");
	EXPECT_KV("total.exits", "114");
	EXPECT_KV("hv.memory_bytes", "8413184");
	EXPECT_KV("hv.bytes_per_vcpu", "13336");
	EXPECT_KV("run.ok", "1");
	EXPECT_KV("run.result", "fail");
	/* run.result is the last line */
	assert_string_equal(cap.line[cap.n - 1], "kv run.result=fail");

	/* b ends as expected too: pass */
	vms[1].expect = RESULT_SHUTDOWN;
	format(&run);
	check_all_lines();
	EXPECT_KV("run.ok", "2");
	EXPECT_KV("run.result", "pass");
	EXPECT_KV("vm.b_2-x.ok", "1");
	assert_string_equal(cap.line[line_starting("2 of 2 VMs")], "2 of 2 VMs ended as expected");

	/* a exits with the wrong status: fail */
	vms[0].status = 1;
	format(&run);
	EXPECT_KV("vm.a.ok", "0");
	EXPECT_KV("vm.a.status", "1");
	EXPECT_KV("run.ok", "1");
	EXPECT_KV("run.result", "fail");

	/* hv's own image changed during the run: fail, though the VMs are fine */
	vms[0].status = 0;
	format(&run);
	EXPECT_KV("run.ok", "2");
	EXPECT_KV("run.result", "pass");
	run.image_intact = false;
	format(&run);
	EXPECT_KV("run.ok", "2");
	EXPECT_KV("run.result", "fail");
	run.image_intact = true;
	vms[0].status = 1;

	/* nothing ends as expected */
	vms[1].expect = RESULT_LIMIT;
	format(&run);
	EXPECT_KV("run.ok", "0");
	EXPECT_KV("run.result", "fail");
	assert_string_equal(cap.line[line_starting("0 of 2 VMs")], "0 of 2 VMs ended as expected");
}

static void test_format_kv_vm(void **state)
{
	(void)state;
	make_run();
	format(&run);
	check_all_lines();

	EXPECT_KV("vm.a.result", "exit");
	EXPECT_KV("vm.a.status", "0");
	EXPECT_KV("vm.a.expected", "exit 0");
	EXPECT_KV("vm.a.ok", "1");
	EXPECT_KV("vm.a.reason", "every vCPU called exit");
	EXPECT_KV("vm.a.vcpus", "2");
	EXPECT_KV("vm.a.run_ms", "12345678901");
	EXPECT_KV("vm.a.tsc.guest", "900000000001");
	EXPECT_KV("vm.a.tsc.hv", "42");
	EXPECT_KV("vm.a.tsc.first_entry", "7");
	EXPECT_KV("vm.b_2-x.tsc.hv", "0");
	EXPECT_KV("vm.a.pred_cmd_writes", "5");
	EXPECT_KV("vm.a.opted_in", "1");

	EXPECT_KV("vm.b_2-x.result", "shutdown");
	EXPECT_KV("vm.b_2-x.status", "-1");   /* not an exit (docs/output.md) */
	EXPECT_KV("vm.b_2-x.expected", "exit 42");
	EXPECT_KV("vm.b_2-x.ok", "0");
	EXPECT_KV("vm.b_2-x.reason", "triple fault");
	EXPECT_KV("vm.b_2-x.vcpus", "1");
	EXPECT_KV("vm.b_2-x.pred_cmd_writes", "0");
	EXPECT_KV("vm.b_2-x.opted_in", "0");

	/* exits, per reason, by the documented names; every reason distinct */
	for (int r = 0; r < EXIT_COUNT; r++) {
		assert_non_null(exit_reason_names[r]);
		if (exit_names_doc[r])
			assert_string_equal(exit_reason_names[r], exit_names_doc[r]);
		for (int o = 0; o < r; o++)
			assert_string_not_equal(exit_reason_names[r], exit_reason_names[o]);
		EXPECT_KV_U64(key2("vm.a.exits", exit_reason_names[r]), vms[0].exits[r]);
		EXPECT_KV_U64(key2("vm.b_2-x.exits", exit_reason_names[r]), vms[1].exits[r]);
	}
	EXPECT_KV("vm.a.exits.cpuid", "7");
	EXPECT_KV("vm.a.exits.io", "100");
	EXPECT_KV("vm.a.exits.total", "111");
	EXPECT_KV("vm.b_2-x.exits.shutdown", "1");
	EXPECT_KV("vm.b_2-x.exits.total", "3");
	assert_int_equal(kv_count("vm.a.exits."), EXIT_COUNT + 1);

	/* counters: exactly the ones set */
	EXPECT_KV("vm.a.counter.3", "3735928559");
	EXPECT_KV("vm.a.counter.15", "0");
	assert_null(kv("vm.a.counter.5"));
	assert_int_equal(kv_count("vm.a.counter."), 2);
	assert_int_equal(kv_count("vm.b_2-x.counter."), 0);
}

/* The barrier statistics of one prefix (vm.NAME or pcpu.N) match s. */
static void expect_bar_kv(const char *prefix, const struct bar_stats *s)
{
	char key[128];
	u64 issued = 0;
	for (int r = 0; r < BAR_REASONS; r++)
		if (r <= BAR_ISSUED_POLICY)
			issued += s->by_reason[r];
	EXPECT_KV_U64(key2(prefix, "entries"), s->entries);
	EXPECT_KV_U64(key2(prefix, "switches"), s->switches);
	EXPECT_KV_U64(key2(prefix, "barriers.issued"), issued);
	EXPECT_KV_U64(key2(prefix, "barriers.skipped"), s->entries - issued);
	for (size_t i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "%s.barriers.issued.%s", prefix, issued_doc[i]);
		EXPECT_KV_U64(key, s->by_reason[BAR_ISSUED_CROSS_VM + i]);
	}
	for (size_t i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "%s.barriers.skipped.%s", prefix, skipped_doc[i]);
		EXPECT_KV_U64(key, s->by_reason[BAR_SKIP_CLEAN + i]);
	}
	snprintf(key, sizeof(key), "%s.barriers.", prefix);
	assert_int_equal(kv_count(key), 2 + BAR_REASONS);
}

static void test_format_kv_barriers(void **state)
{
	(void)state;
	make_run();
	format(&run);
	check_all_lines();

	EXPECT_KV("vm.a.barriers.issued.cross-vm", "2");
	EXPECT_KV("vm.a.barriers.issued.intra-vm", "1");
	EXPECT_KV("vm.a.barriers.issued.migration", "0");
	EXPECT_KV("vm.a.barriers.issued.config", "0");
	EXPECT_KV("vm.a.barriers.issued.policy", "1");
	EXPECT_KV("vm.a.barriers.skipped.clean", "3");
	EXPECT_KV("vm.a.barriers.skipped.not-opted-in", "2");
	EXPECT_KV("vm.a.barriers.skipped.config", "0");
	EXPECT_KV("vm.a.barriers.skipped.hole", "1");
	EXPECT_KV("vm.a.barriers.issued", "4");
	EXPECT_KV("vm.a.barriers.skipped", "6");
	EXPECT_KV("vm.a.entries", "10");
	EXPECT_KV("vm.a.switches", "4");
	EXPECT_KV("vm.b_2-x.barriers.issued.config", "5");
	EXPECT_KV("vm.b_2-x.barriers.skipped.config", "6");
	EXPECT_KV("vm.b_2-x.barriers.issued", "9");
	expect_bar_kv("vm.a", &vms[0].bar);
	expect_bar_kv("vm.b_2-x", &vms[1].bar);

	EXPECT_KV("pcpu.0.busy_permille", "862");
	EXPECT_KV("pcpu.0.pred_cmd_writes", "5");
	EXPECT_KV("pcpu.0.entries", "25");
	EXPECT_KV("pcpu.0.barriers.issued", "13");
	expect_bar_kv("pcpu.0", &pcpus[0].bar);

	/* other numbers, to be sure the values follow the struct */
	for (int r = 0; r < BAR_REASONS; r++)
		vms[0].bar.by_reason[r] = 1000 + (u64)r * 7;
	vms[0].bar.entries = 9 * 1000 + 7 * 36;
	format(&run);
	EXPECT_KV("vm.a.barriers.issued.cross-vm", "1000");
	EXPECT_KV("vm.a.barriers.skipped.hole", "1056");
	expect_bar_kv("vm.a", &vms[0].bar);
}

/* A pCPU id other than 0, several pCPUs, no VMs. */
static void test_format_pcpus(void **state)
{
	(void)state;
	make_run();
	struct report_pcpu ps[3];
	memset(ps, 0, sizeof(ps));
	for (unsigned i = 0; i < 3; i++) {
		ps[i].id = i * 5;
		ps[i].busy_permille = 1000 - i;
		ps[i].bar.entries = i + 1;
		ps[i].bar.by_reason[BAR_SKIP_CLEAN] = i + 1;
	}
	run.pcpus = ps;
	run.npcpus = 3;
	format(&run);
	check_all_lines();
	EXPECT_KV("run.pcpus", "3");
	EXPECT_KV("pcpu.0.busy_permille", "1000");
	EXPECT_KV("pcpu.5.busy_permille", "999");
	EXPECT_KV("pcpu.10.busy_permille", "998");
	EXPECT_KV("pcpu.10.barriers.skipped.clean", "3");
	assert_null(kv("pcpu.1.entries"));
	for (unsigned i = 0; i < 3; i++) {
		char p[16];
		snprintf(p, sizeof(p), "pcpu.%u", i * 5);
		expect_bar_kv(p, &ps[i].bar);
	}

	run.nvms = 0;
	format(&run);
	check_all_lines();
	EXPECT_KV("run.vms", "0");
	EXPECT_KV("run.ok", "0");
	EXPECT_KV("total.exits", "0");
	assert_int_equal(kv_count("vm."), 0);
	assert_string_equal(cap.line[line_starting("0 of 0 VMs")], "0 of 0 VMs ended as expected");
}

/* Long names, long reasons and the largest numbers: no line over 255
 * characters, and the kv lines are complete. */
static void test_format_extremes(void **state)
{
	(void)state;
	make_run();
	const u64 max = UINT64_MAX;
	static const char long_name[] = "abcdefghijklmnopqrstuvw";   /* CFG_NAME_MAX - 1 */
	static const char long_reason[] =
		"vCPU 0 accessed guest-physical 0x201000, outside its 2 MiB of memory "
		"(and a few more words to make this long)";
	assert_int_equal(strlen(long_name), CFG_NAME_MAX - 1);
	vms[0].name = long_name;
	vms[0].reason = long_reason;
	vms[0].vcpus = 64;
	vms[0].run_ms = max;
	vms[0].pred_cmd_writes = max;
	vms[0].counters_set = 0xffff;
	for (int c = 0; c < 16; c++)
		vms[0].counters[c] = max - (u64)c;
	for (int r = 0; r < EXIT_COUNT; r++)
		vms[0].exits[r] = max / EXIT_COUNT;
	for (int r = 0; r < BAR_REASONS; r++) {
		vms[0].bar.by_reason[r] = max / 16;
		pcpus[0].bar.by_reason[r] = max / 16;
	}
	vms[0].bar.entries = max / 16 * BAR_REASONS;
	vms[0].bar.switches = max;
	pcpus[0].bar.entries = max / 16 * BAR_REASONS;
	pcpus[0].bar.switches = max;
	pcpus[0].id = 63;
	pcpus[0].busy_permille = 1000;
	vms[1].reason = NULL;
	run.hv_memory = max;
	run.bytes_per_vcpu = max;
	format(&run);
	check_all_lines();

	char prefix[64];
	snprintf(prefix, sizeof(prefix), "vm.%s", long_name);
	EXPECT_KV(key2(prefix, "reason"), long_reason);
	EXPECT_KV(key2(prefix, "run_ms"), "18446744073709551615");
	EXPECT_KV(key2(prefix, "pred_cmd_writes"), "18446744073709551615");
	EXPECT_KV(key2(prefix, "counter.0"), "18446744073709551615");
	EXPECT_KV(key2(prefix, "counter.15"), "18446744073709551600");
	EXPECT_KV(key2(prefix, "vcpus"), "64");
	snprintf(prefix, sizeof(prefix), "vm.%s.counter.", long_name);
	assert_int_equal(kv_count(prefix), 16);
	snprintf(prefix, sizeof(prefix), "vm.%s", long_name);
	expect_bar_kv(prefix, &vms[0].bar);
	expect_bar_kv("pcpu.63", &pcpus[0].bar);
	EXPECT_KV("hv.memory_bytes", "18446744073709551615");
	EXPECT_KV("vm.b_2-x.reason", "");
	/* the row still starts with the whole name and says yes */
	char row[64];
	snprintf(row, sizeof(row), "%s ", long_name);
	unsigned r = line_starting(row);
	assert_non_null(strstr(cap.line[r], " yes "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vm_ok),
		cmocka_unit_test(test_result_str),
		cmocka_unit_test_teardown(test_format_table, teardown),
		cmocka_unit_test_teardown(test_format_executed, teardown),
		cmocka_unit_test_teardown(test_format_kv_run, teardown),
		cmocka_unit_test_teardown(test_format_kv_vm, teardown),
		cmocka_unit_test_teardown(test_format_kv_barriers, teardown),
		cmocka_unit_test_teardown(test_format_pcpus, teardown),
		cmocka_unit_test_teardown(test_format_extremes, teardown),
	};
	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
