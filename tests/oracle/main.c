/*
 * tests/oracle/main.c - build/oracle: judge one hv trace with the oracle.
 *
 *   build/oracle [--expect-violations N] [--scenario NAME] [-v] < trace
 *
 * Reads hv's `trace ...` lines (every other line is ignored), replays the
 * numbered events in sequence order through the oracle (oracle.h) and
 * prints one summary line:
 *
 *   oracle: entries=40 barriers=12 required=12 violations=0 (expected 0) OK
 *   oracle: entries=40 ... FAIL: violation at seq 17 (p=0 v=2 kind=self-stale)
 *
 * Exit 0 if the trace is acceptable, 1 otherwise. Acceptable means:
 *  - the trace is complete (`trace begin` ... `trace end` with dropped=0,
 *    and as many numbered events as `trace end events=` says);
 *  - the number of violations (entries where the contract needed a barrier
 *    and hv issued none) equals --expect-violations (default 0);
 *  - with policy=guest and track=trap: hv issued exactly the required
 *    barriers, and hv's own required= agrees with the oracle at every entry.
 * docs/oracle.md describes the trace format and the limits (passthrough).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"

#define MAX_TOKENS 32
#define MAX_PCPUS 4096
#define MAX_VMS 4096
#define MAX_VCPUS 65536

enum ev_kind { EV_ENTRY, EV_IBPB, EV_LEAVE, EV_IGNORED };

struct event {
	uint64_t seq;
	unsigned line;          /* input line, for messages */
	enum ev_kind kind;
	char name[16];          /* event word as written */
	unsigned p, v;
	int barrier;            /* entry: 0/1 */
	int required;           /* entry: hv's required=, -1 if absent */
	char reason[32];        /* entry: hv's reason=, "" if absent */
	uint64_t value;         /* ibpb: the PRED_CMD value */
};

struct vm_decl {
	bool defined;
	int knob;
	long vcpus;             /* vcpus= of the vm line, -1 if absent */
	char name[32];
};

struct vcpu_decl {
	bool defined;
	unsigned vm;
};

static struct {
	bool begun, ended;
	char policy[32], track[32];
	unsigned pcpus, vms;
	uint64_t end_events;
	bool end_has_events;
	uint64_t dropped;

	struct vm_decl *vm;
	struct vcpu_decl *vcpu;
	unsigned nvcpus;        /* highest gid + 1 */

	struct event *ev;
	size_t nev, cap;
	uint64_t ignored;       /* numbered events of kinds the oracle does not use */
} tr;

static struct oracle orc;
static uint64_t expect_violations;
static const char *scenario;
static int verbose;

/* The summary so far (counts), printed before OK / FAIL. */
static void print_counts(void)
{
	printf("oracle: entries=%" PRIu64 " barriers=%" PRIu64 " required=%" PRIu64
	       " violations=%" PRIu64 " (expected %" PRIu64 ")",
	       orc.count.entries, orc.count.barriers, orc.count.required,
	       orc.count.violations, expect_violations);
}

static __attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...)
{
	va_list ap;
	print_counts();
	printf(" FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: oracle [--expect-violations N] [--scenario NAME] [-v] < trace\n");
}

/* ---- parsing ----------------------------------------------------------------- */

struct line {
	unsigned no;
	int ntok;
	char *tok[MAX_TOKENS];
};

static const char *get(const struct line *l, int first, const char *key)
{
	size_t kl = strlen(key);
	for (int i = first; i < l->ntok; i++)
		if (strncmp(l->tok[i], key, kl) == 0 && l->tok[i][kl] == '=')
			return l->tok[i] + kl + 1;
	return NULL;
}

static uint64_t parse_u64(const struct line *l, const char *key, const char *s, int base)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+')
		fail("trace line %u: %s=%s is not a number", l->no, key, s ? s : "");
	errno = 0;
	unsigned long long x = strtoull(s, &end, base);
	if (errno || *end)
		fail("trace line %u: %s=%s is not a number", l->no, key, s);
	return x;
}

/* key=NUMBER, mandatory, decimal unless base says otherwise (0: C rules). */
static uint64_t need_u64(const struct line *l, int first, const char *key, int base)
{
	const char *s = get(l, first, key);
	if (!s)
		fail("trace line %u: no %s= field", l->no, key);
	return parse_u64(l, key, s, base);
}

static unsigned need_uint(const struct line *l, int first, const char *key, uint64_t limit)
{
	uint64_t x = need_u64(l, first, key, 10);
	if (x >= limit)
		fail("trace line %u: %s=%" PRIu64 " is out of range (< %" PRIu64 ")",
		     l->no, key, x, limit);
	return (unsigned)x;
}

static int need_bool(const struct line *l, int first, const char *key)
{
	uint64_t x = need_u64(l, first, key, 10);
	if (x > 1)
		fail("trace line %u: %s=%" PRIu64 ", expected 0 or 1", l->no, key, x);
	return (int)x;
}

static void copy_str(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "");
}

static void on_begin(const struct line *l)
{
	if (tr.begun)
		fail("trace line %u: a second `trace begin` (one run per trace)", l->no);
	tr.begun = true;
	const char *s = get(l, 2, "policy");
	if (!s)
		fail("trace line %u: no policy= field", l->no);
	copy_str(tr.policy, sizeof(tr.policy), s);
	s = get(l, 2, "track");
	if (!s)
		fail("trace line %u: no track= field", l->no);
	copy_str(tr.track, sizeof(tr.track), s);
	tr.pcpus = need_uint(l, 2, "pcpus", MAX_PCPUS + 1);
	tr.vms = need_uint(l, 2, "vms", MAX_VMS + 1);
	if (tr.pcpus == 0)
		fail("trace line %u: pcpus=0", l->no);
	tr.vm = calloc(tr.vms ? tr.vms : 1, sizeof(*tr.vm));
	tr.vcpu = calloc(MAX_VCPUS, sizeof(*tr.vcpu));
	if (!tr.vm || !tr.vcpu)
		fail("out of memory");
}

static void need_begun(const struct line *l)
{
	if (!tr.begun)
		fail("trace line %u: `trace %s` before `trace begin`", l->no, l->tok[1]);
	if (tr.ended)
		fail("trace line %u: `trace %s` after `trace end`", l->no, l->tok[1]);
}

static void on_vm(const struct line *l)
{
	need_begun(l);
	unsigned id = need_uint(l, 2, "id", tr.vms);
	struct vm_decl *d = &tr.vm[id];
	if (d->defined)
		fail("trace line %u: vm id=%u declared twice", l->no, id);
	const char *s = get(l, 2, "ibpb");
	if (!s)
		fail("trace line %u: no ibpb= field", l->no);
	d->knob = oracle_knob_parse(s);
	if (d->knob < 0)
		fail("trace line %u: ibpb=%s, expected auto, always or never", l->no, s);
	s = get(l, 2, "vcpus");
	d->vcpus = s ? (long)parse_u64(l, "vcpus", s, 10) : -1;
	copy_str(d->name, sizeof(d->name), get(l, 2, "name"));
	d->defined = true;
}

static void on_vcpu(const struct line *l)
{
	need_begun(l);
	unsigned gid = need_uint(l, 2, "gid", MAX_VCPUS);
	unsigned vm = need_uint(l, 2, "vm", tr.vms);
	if (tr.vcpu[gid].defined)
		fail("trace line %u: vcpu gid=%u declared twice", l->no, gid);
	tr.vcpu[gid].defined = true;
	tr.vcpu[gid].vm = vm;
	if (gid + 1 > tr.nvcpus)
		tr.nvcpus = gid + 1;
}

static void on_end(const struct line *l)
{
	need_begun(l);
	tr.ended = true;
	const char *s = get(l, 2, "events");
	if (s) {
		tr.end_has_events = true;
		tr.end_events = parse_u64(l, "events", s, 10);
	}
	s = get(l, 2, "dropped");
	tr.dropped = s ? parse_u64(l, "dropped", s, 10) : 0;
}

static void on_event(const struct line *l)
{
	need_begun(l);
	if (l->ntok < 3)
		fail("trace line %u: numbered event without a name", l->no);
	if (tr.nev == tr.cap) {
		tr.cap = tr.cap ? 2 * tr.cap : 1024;
		tr.ev = realloc(tr.ev, tr.cap * sizeof(*tr.ev));
		if (!tr.ev)
			fail("out of memory");
	}
	struct event *e = &tr.ev[tr.nev++];
	memset(e, 0, sizeof(*e));
	e->seq = parse_u64(l, "seq", l->tok[1], 10);
	e->line = l->no;
	e->required = -1;
	copy_str(e->name, sizeof(e->name), l->tok[2]);

	const char *w = l->tok[2];
	if (strcmp(w, "entry") == 0)
		e->kind = EV_ENTRY;
	else if (strcmp(w, "ibpb") == 0)
		e->kind = EV_IBPB;
	else if (strcmp(w, "yield") == 0 || strcmp(w, "halt") == 0 || strcmp(w, "stop") == 0 ||
		 strcmp(w, "preempt") == 0 || strcmp(w, "migrate") == 0)
		e->kind = EV_LEAVE; /* v stops running on p; its residue stays */
	else
		e->kind = EV_IGNORED; /* vmend and anything new */
	if (e->kind == EV_IGNORED)
		return;

	e->p = need_uint(l, 3, "p", tr.pcpus);
	e->v = need_uint(l, 3, "v", MAX_VCPUS);
	if (!tr.vcpu[e->v].defined)
		fail("trace line %u: v=%u was never declared by a `trace vcpu` line", l->no, e->v);
	if (e->kind == EV_ENTRY) {
		e->barrier = need_bool(l, 3, "barrier");
		if (get(l, 3, "required"))
			e->required = need_bool(l, 3, "required");
		copy_str(e->reason, sizeof(e->reason), get(l, 3, "reason"));
	} else if (e->kind == EV_IBPB) {
		e->value = need_u64(l, 3, "value", 16);
	}
}

static void read_trace(FILE *in)
{
	char *buf = NULL;
	size_t bufn = 0;
	ssize_t len;
	unsigned no = 0;

	while ((len = getline(&buf, &bufn, in)) >= 0) {
		struct line l = { .no = ++no };
		char *s = buf;
		while (*s == ' ' || *s == '\t')
			s++;
		if (strncmp(s, "trace ", 6) != 0)
			continue;
		for (char *t = strtok(s, " \t\r\n"); t; t = strtok(NULL, " \t\r\n")) {
			if (l.ntok == MAX_TOKENS)
				fail("trace line %u: more than %d fields", no, MAX_TOKENS);
			l.tok[l.ntok++] = t;
		}
		if (l.ntok < 2)
			continue;
		const char *w = l.tok[1];
		if (strcmp(w, "begin") == 0)
			on_begin(&l);
		else if (strcmp(w, "vm") == 0)
			on_vm(&l);
		else if (strcmp(w, "vcpu") == 0)
			on_vcpu(&l);
		else if (strcmp(w, "end") == 0)
			on_end(&l);
		else if (w[0] >= '0' && w[0] <= '9')
			on_event(&l);
		/* other `trace WORD` header lines: not ours, ignored */
	}
	free(buf);
}

static int cmp_event(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* ---- judging ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--expect-violations") == 0 && i + 1 < argc) {
			char *end;
			errno = 0;
			expect_violations = strtoull(argv[++i], &end, 10);
			if (errno || *end || argv[i][0] == '-') {
				usage(stderr);
				return 1;
			}
		} else if (strcmp(argv[i], "--scenario") == 0 && i + 1 < argc) {
			scenario = argv[++i];
		} else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			verbose = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 1;
		}
	}

	read_trace(stdin);
	if (!tr.begun)
		fail("trace incomplete: no `trace begin` line");

	for (unsigned V = 0; V < tr.vms; V++)
		if (!tr.vm[V].defined)
			fail("trace inconsistent: vms=%u but no `trace vm id=%u` line", tr.vms, V);
	for (unsigned V = 0; V < tr.vms; V++) {
		long n = 0;
		for (unsigned v = 0; v < tr.nvcpus; v++)
			n += tr.vcpu[v].defined && tr.vcpu[v].vm == V;
		if (tr.vm[V].vcpus >= 0 && tr.vm[V].vcpus != n)
			fail("trace inconsistent: vm id=%u says vcpus=%ld but %ld `trace vcpu` lines name it",
			     V, tr.vm[V].vcpus, n);
	}

	if (oracle_init(&orc, tr.pcpus, tr.vms ? tr.vms : 1, tr.nvcpus ? tr.nvcpus : 1) != 0)
		fail("out of memory");
	for (unsigned V = 0; V < tr.vms; V++)
		oracle_define_vm(&orc, V, (enum oracle_knob)tr.vm[V].knob);
	for (unsigned v = 0; v < tr.nvcpus; v++)
		if (tr.vcpu[v].defined)
			oracle_define_vcpu(&orc, v, tr.vcpu[v].vm);

	qsort(tr.ev, tr.nev, sizeof(*tr.ev), cmp_event);
	for (size_t i = 1; i < tr.nev; i++)
		if (tr.ev[i].seq == tr.ev[i - 1].seq)
			fail("trace inconsistent: seq %" PRIu64 " appears twice (lines %u and %u)",
			     tr.ev[i].seq, tr.ev[i - 1].line, tr.ev[i].line);

	bool exact = strcmp(tr.policy, "guest") == 0 && strcmp(tr.track, "trap") == 0;
	const struct event *first_violation = NULL, *first_disagreement = NULL;
	const struct event *first_extra = NULL;
	struct oracle_verdict first_violation_v = { 0 }, first_disagreement_v = { 0 };
	uint64_t disagreements = 0;

	if (verbose)
		printf("oracle: %s%spolicy=%s track=%s pcpus=%u vms=%u vcpus=%u events=%zu\n",
		       scenario ? scenario : "", scenario ? ": " : "",
		       tr.policy, tr.track, tr.pcpus, tr.vms, tr.nvcpus, tr.nev);

	for (size_t i = 0; i < tr.nev; i++) {
		const struct event *e = &tr.ev[i];
		switch (e->kind) {
		case EV_ENTRY: {
			struct oracle_verdict r = oracle_entry(&orc, e->p, e->v, e->barrier);
			if (verbose)
				printf("  seq %" PRIu64 " entry p=%u v=%u barrier=%d: required=%d%s%s%s"
				       " (hv: required=%d reason=%s)\n",
				       e->seq, e->p, e->v, e->barrier, r.required,
				       r.required ? " kind=" : "",
				       r.required ? oracle_kind_name(r.kind) : "",
				       r.violation ? " VIOLATION" : "", e->required,
				       e->reason[0] ? e->reason : "-");
			if (r.violation && !first_violation) {
				first_violation = e;
				first_violation_v = r;
			}
			if (e->barrier && !r.required && !first_extra)
				first_extra = e;
			if (exact && e->required != (int)r.required) {
				disagreements++;
				if (!first_disagreement) {
					first_disagreement = e;
					first_disagreement_v = r;
				}
			}
			break;
		}
		case EV_IBPB:
			if (verbose)
				printf("  seq %" PRIu64 " pred_cmd p=%u v=%u value=0x%" PRIx64 "\n",
				       e->seq, e->p, e->v, e->value);
			if (oracle_guest_pred_cmd(&orc, e->p, e->v, e->value) != 0)
				fail("trace inconsistent: seq %" PRIu64 ": v=%u wrote PRED_CMD on p=%u"
				     " but is not running there", e->seq, e->v, e->p);
			break;
		case EV_LEAVE:
			/* A leave for a vCPU not running there changes nothing. */
			oracle_leave(&orc, e->p, e->v);
			break;
		case EV_IGNORED:
			tr.ignored++;
			break;
		}
	}

	if (!tr.ended)
		fail("trace incomplete: no `trace end` line");
	if (tr.dropped)
		fail("trace incomplete: dropped=%" PRIu64 " events", tr.dropped);
	if (tr.end_has_events && tr.end_events != tr.nev)
		fail("trace incomplete: `trace end events=%" PRIu64 "` but %zu numbered events read",
		     tr.end_events, tr.nev);

	if (orc.count.violations != expect_violations) {
		if (!first_violation)
			fail("no violations, expected %" PRIu64, expect_violations);
		if (expect_violations == 0)
			fail("violation at seq %" PRIu64 " (p=%u v=%u kind=%s)", first_violation->seq,
			     first_violation->p, first_violation->v,
			     oracle_kind_name(first_violation_v.kind));
		fail("%" PRIu64 " violations, expected %" PRIu64 "; first at seq %" PRIu64
		     " (p=%u v=%u kind=%s)", orc.count.violations, expect_violations,
		     first_violation->seq, first_violation->p, first_violation->v,
		     oracle_kind_name(first_violation_v.kind));
	}
	if (exact) {
		if (first_disagreement) {
			const struct event *e = first_disagreement;
			if (e->required < 0)
				fail("entry at seq %" PRIu64 " (p=%u v=%u) has no required= field",
				     e->seq, e->p, e->v);
			fail("hv and oracle disagree at seq %" PRIu64 " (p=%u v=%u): hv required=%d"
			     " reason=%s, oracle required=%d%s%s (%" PRIu64 " disagreements)",
			     e->seq, e->p, e->v, e->required, e->reason[0] ? e->reason : "-",
			     first_disagreement_v.required,
			     first_disagreement_v.required ? " kind=" : "",
			     first_disagreement_v.required
				     ? oracle_kind_name(first_disagreement_v.kind) : "",
			     disagreements);
		}
		if (first_extra)
			fail("policy=guest track=trap issued a barrier the contract did not need at seq %"
			     PRIu64 " (p=%u v=%u); barriers=%" PRIu64 " required=%" PRIu64,
			     first_extra->seq, first_extra->p, first_extra->v,
			     orc.count.barriers, orc.count.required);
		/* No extras and no violations: barriers == required exactly. */
	}

	print_counts();
	printf(" OK\n");
	oracle_free(&orc);
	free(tr.ev);
	free(tr.vm);
	free(tr.vcpu);
	return 0;
}
