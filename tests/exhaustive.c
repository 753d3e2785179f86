/*
 * tests/exhaustive.c - drive hv's real barrier policy (hv/policy.c) through
 * every event sequence up to a bound and compare it with the independent
 * oracle (tests/oracle/). Output is TAP. docs/oracle.md explains it all.
 *
 *   build/unit/test_exhaustive [--depth N] [--only PREFIX] [--brute N]
 *                              [--no-symmetry] [-j N] [-v]
 *
 * The world: 2 pCPUs, VM 0 with vCPUs v0 v1, VM 1 with vCPUs v2 v3. Events:
 *   E(v,p)  v enters p: hv asks barrier_on_entry(), the oracle is told the
 *           entry with that decision. Whoever was current on p, and v
 *           wherever it was, are descheduled. E(v,p) with v already current
 *           on p is a yield and resume with nobody in between.
 *   I(p)    the vCPU current on p writes PRED_CMD = 1 (IBPB),
 *   S(p)    ... writes PRED_CMD = 0x80 (SBPB).
 *           The oracle always sees the write; hv's policy sees it only if
 *           it exits: track=trap always, track=passthrough only while the
 *           vCPU's intercept is still on.
 *
 * First some hand-written sequences (sanity/...), then every policy x track
 * x (knob of VM 0) x (knob of VM 1), explored breadth-first up to --depth
 * events (default 8). States with the same canonical key are merged: hv's
 * policy state and the oracle's state with times replaced by their rank and
 * decision-free counters dropped, minimised over the renamings of pCPUs,
 * vCPUs and (equal-knob) VMs. Three TAP lines per configuration: NAME (the
 * decisions), NAME/report (hv's required=), NAME/brute (the merged counts
 * equal a plain enumeration without merging up to --brute events).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "oracle.h"
#include "policy.h"

/*
 * The world. The defaults are the specified one; a bigger world can be tried
 * at a smaller depth with e.g. -DEX_PCPUS=3 or -DEX_VCPUS_PER_VM=3 (the
 * hand-written sanity cases are then left out: they name the default world).
 */
#ifndef EX_PCPUS
#define EX_PCPUS 2
#endif
#ifndef EX_VCPUS_PER_VM
#define EX_VCPUS_PER_VM 2
#endif
#define NP EX_PCPUS
#define NVM 2
#define VPV EX_VCPUS_PER_VM
#define NV (NVM * VPV)
#define VM_OF(v) ((v) / VPV)
#define DEFAULT_WORLD (NP == 2 && VPV == 2)

enum { EV_ENTER0 = 0, EV_IBPB0 = NV * NP, EV_SBPB0 = EV_IBPB0 + NP, NEV = EV_SBPB0 + NP };

static inline bool ev_is_enter(int e) { return e < EV_IBPB0; }
static inline int ev_v(int e) { return e / NP; }
static inline int ev_p(int e) { return ev_is_enter(e) ? e % NP : (e - EV_IBPB0) % NP; }
static inline bool ev_is_ibpb(int e) { return e >= EV_IBPB0 && e < EV_SBPB0; }

struct cfg {
	enum barrier_policy policy;
	enum barrier_track track;
	enum vm_ibpb knob[NVM];
};

struct world {
	struct barrier_ctx ctx;
	struct pcpu_barrier pc[NP];
	struct vcpu_barrier vc[NV];
	struct vm_barrier vm[NVM];
	int cur[NP];            /* vCPU current on p, -1 = none */
	bool exits_off[NV];     /* barrier_on_guest_pred_cmd() told us to stop intercepting */
	struct oracle o;
};

/* What one event did. */
struct outcome {
	bool entry;
	bool barrier;           /* hv's decision */
	bool hv_required;       /* hv's own view of the contract */
	enum bar_reason reason;
	struct oracle_verdict ov;
	bool pred_seen;         /* PRED_CMD write: did the policy see it */
};

static int verbose;
static int max_depth = 8;
static const char *only;
static int brute_depth = 5;   /* default: validate the merging on every run */
static int jobs = -1;          /* workers; -1 = one per online CPU */

/* ---- names ------------------------------------------------------------------- */

static const char *pol_name(enum barrier_policy p)
{
	static const char *const n[] = { "never", "switch", "switch-migrate", "guest" };
	return (unsigned)p < 4 ? n[p] : "?";
}

static const char *trk_name(enum barrier_track t)
{
	return t == TRACK_TRAP ? "trap" : "passthrough";
}

static const char *knb_name(enum vm_ibpb k)
{
	static const char *const n[] = { "auto", "always", "never" };
	return (unsigned)k < 3 ? n[k] : "?";
}

static enum oracle_knob to_oracle_knob(enum vm_ibpb k)
{
	switch (k) {
	case VM_IBPB_ALWAYS:
		return ORACLE_KNOB_ALWAYS;
	case VM_IBPB_NEVER:
		return ORACLE_KNOB_NEVER;
	case VM_IBPB_AUTO:
		break;
	}
	return ORACLE_KNOB_AUTO;
}

static void cfg_name(const struct cfg *c, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s/%s,%s", pol_name(c->policy), trk_name(c->track),
		 knb_name(c->knob[0]), knb_name(c->knob[1]));
}

static int ev_str(int e, char *buf, size_t n)
{
	if (ev_is_enter(e))
		return snprintf(buf, n, "E(v%d,p%d)", ev_v(e), ev_p(e));
	return snprintf(buf, n, "%c(p%d)", ev_is_ibpb(e) ? 'I' : 'S', ev_p(e));
}

/* ---- the world --------------------------------------------------------------- */

static void world_init(struct world *w, const struct cfg *c)
{
	memset(w, 0, sizeof(*w));
	barrier_ctx_init(&w->ctx, c->policy, c->track);
	for (unsigned p = 0; p < NP; p++) {
		barrier_pcpu_init(&w->pc[p], p);
		w->cur[p] = -1;
	}
	for (unsigned V = 0; V < NVM; V++)
		barrier_vm_init(&w->vm[V], V, c->knob[V]);
	for (unsigned v = 0; v < NV; v++)
		barrier_vcpu_init(&w->vc[v], v, VM_OF(v));
	if (oracle_init(&w->o, NP, NVM, NV) != 0) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	for (unsigned V = 0; V < NVM; V++)
		oracle_define_vm(&w->o, V, to_oracle_knob(c->knob[V]));
	for (unsigned v = 0; v < NV; v++)
		oracle_define_vcpu(&w->o, v, VM_OF(v));
}

/* dst initialised (world_init) before; copies the state, keeps dst's oracle memory. */
static void world_copy(struct world *dst, const struct world *src)
{
	struct oracle o = dst->o;
	memcpy(dst, src, offsetof(struct world, o));
	dst->o = o;
	oracle_copy(&dst->o, &src->o);
}

static bool ev_enabled(const struct world *w, int e)
{
	return ev_is_enter(e) || w->cur[ev_p(e)] >= 0;
}

/* A pool of initialised worlds, so the frontier costs no malloc per state. */
static struct world **pool;
static size_t pool_n, pool_cap;

static struct world *world_get(const struct cfg *c)
{
	struct world *w;
	if (pool_n) {
		w = pool[--pool_n];
		return w; /* the caller overwrites it all with world_copy() */
	}
	w = malloc(sizeof(*w));
	if (!w)
		abort();
	world_init(w, c);
	return w;
}

static void world_put(struct world *w)
{
	if (pool_n == pool_cap) {
		pool_cap = pool_cap ? 2 * pool_cap : 1024;
		pool = realloc(pool, pool_cap * sizeof(*pool));
		if (!pool)
			abort();
	}
	pool[pool_n++] = w;
}

static void pool_drain(void)
{
	while (pool_n) {
		struct world *w = pool[--pool_n];
		oracle_free(&w->o);
		free(w);
	}
}

/* Apply event e, feeding hv's policy exactly as hv does. */
static struct outcome apply(struct world *w, const struct cfg *c, int e)
{
	struct outcome r;
	memset(&r, 0, sizeof(r));
	int p = ev_p(e);

	if (ev_is_enter(e)) {
		int v = ev_v(e);
		struct bar_decision d = barrier_on_entry(&w->ctx, &w->pc[p], &w->vc[v],
							 &w->vm[VM_OF(v)]);
		r.entry = true;
		r.barrier = d.barrier;
		r.hv_required = d.required;
		r.reason = d.reason;
		r.ov = oracle_entry(&w->o, p, v, d.barrier);
		for (int q = 0; q < NP; q++)
			if (w->cur[q] == v)
				w->cur[q] = -1;
		w->cur[p] = v;
		return r;
	}

	int v = w->cur[p];
	u64 value = ev_is_ibpb(e) ? PRED_CMD_BIT_IBPB : PRED_CMD_BIT_SBPB;
	bool exits = c->track == TRACK_TRAP || !(w->vc[v].passthrough || w->exits_off[v]);
	oracle_guest_pred_cmd(&w->o, p, v, value);
	if (exits) {
		r.pred_seen = true;
		if (barrier_on_guest_pred_cmd(&w->ctx, &w->pc[p], &w->vc[v], &w->vm[VM_OF(v)],
					      value))
			w->exits_off[v] = true;
	}
	return r;
}

/* ---- canonical keys ------------------------------------------------------------ */

/*
 * The key of a state: hv's policy state, who is current where, which
 * intercepts are off, and the oracle's own canonical key (oracle_key()).
 *
 * hv's state is encoded field by field from policy.h, one byte each:
 *   ctx:   now, as a rank (below); policy and track are fixed per run;
 *   pcpu:  last_vcpu, only, only_since (rank), vm_mask, only_stale; id is fixed;
 *   vcpu:  last_pcpu, last_ibpb (rank), passthrough; gid and vm are fixed,
 *          ibpb_writes_seen is a counter no decision reads: dropped;
 *   vm:    guest_opted; id and knob are fixed.
 * Times (now, only_since, last_ibpb) only matter by their order, so each is
 * replaced by its rank among them (0 stays 0 = "none"). hv's clock and the
 * oracle's are independent and each side only compares its own times, so
 * each side is ranked on its own (the oracle reduces its times itself).
 *
 * Symmetry: renaming pCPUs, renaming vCPUs inside a VM, and swapping the
 * two VMs when their knobs are equal maps the world onto itself (the event
 * set too), so states that are renamings of each other have the same
 * futures, up to the renaming. The key is the smallest key over all these
 * renamings. (This assumes hv's policy treats ids only as names; --brute
 * checks the reduced counts against plain enumeration, and --no-symmetry
 * turns the reduction off.)
 *
 * If policy.h's structures grow, the size asserts stop the build; a field
 * that fits into existing padding is caught at run time by known_fields_only()
 * (every byte outside the fields key_one() knows must stay zero). Either way:
 * update key_one() so that every field that can affect a decision is in it
 * (and renamed, if it holds an id).
 */
_Static_assert(sizeof(struct barrier_ctx) == 16, "policy.h changed: update key_one()");
_Static_assert(sizeof(struct pcpu_barrier) == 32, "policy.h changed: update key_one()");
_Static_assert(sizeof(struct vcpu_barrier) == 40, "policy.h changed: update key_one()");
_Static_assert(sizeof(struct vm_barrier) == 12, "policy.h changed: update key_one()");

#define ORACLE_WORDS (NVM + NV + NP * (1 + NV))
#define K_P 6                   /* bytes per pCPU */
#define K_V 4                   /* bytes per vCPU */
#define K_OFF_P 1
#define K_OFF_V (K_OFF_P + NP * K_P)
#define K_OFF_VM (K_OFF_V + NV * K_V)
#define K_OFF_O (K_OFF_VM + NVM)
/* rounded up to whole u64 words for hashing */
#define KEY_BYTES (((size_t)K_OFF_O + ORACLE_WORDS + 7) & ~(size_t)7)

struct sym {
	unsigned p[NP], v[NV], vm[NVM];
};

#define MAX_SYMS 2048
static struct sym syms[MAX_SYMS];
static int nsyms;
static bool no_symmetry;

static void sort_u64(u64 *t, int n)
{
	for (int i = 1; i < n; i++) {
		u64 x = t[i];
		int j = i;
		for (; j > 0 && t[j - 1] > x; j--)
			t[j] = t[j - 1];
		t[j] = x;
	}
}

static u64 rank(const u64 *t, int n, u64 x)
{
	if (x == 0)
		return 0;
	for (int i = 0; i < n; i++)
		if (t[i] == x)
			return (u64)i + 1;
	abort();
}

/* All permutations of 0..n-1 (n <= 4), lexicographic; returns how many. */
static int permutations(int n, unsigned out[][4])
{
	unsigned a[4];
	int count = 0;
	for (int i = 0; i < n; i++)
		a[i] = (unsigned)i;
	for (;;) {
		memcpy(out[count++], a, sizeof(a));
		int i = n - 2;
		while (i >= 0 && a[i] > a[i + 1])
			i--;
		if (i < 0)
			return count;
		int j = n - 1;
		while (a[j] < a[i])
			j--;
		unsigned t = a[i]; a[i] = a[j]; a[j] = t;
		for (int l = i + 1, r = n - 1; l < r; l++, r--) {
			t = a[l]; a[l] = a[r]; a[r] = t;
		}
	}
}

/* The renamings that map this configuration onto itself. */
static void build_symmetries(const struct cfg *c)
{
	static unsigned pp[24][4], vp[24][4];
	int np = permutations(NP, pp), nv = permutations(VPV, vp);
	bool vm_swap = NVM == 2 && c->knob[0] == c->knob[1];

	nsyms = 0;
	for (int a = 0; a < (no_symmetry ? 1 : np); a++)
		for (int b0 = 0; b0 < (no_symmetry ? 1 : nv); b0++)
			for (int b1 = 0; b1 < (no_symmetry ? 1 : nv); b1++)
				for (int sw = 0; sw < (vm_swap && !no_symmetry ? 2 : 1); sw++) {
					struct sym *s = &syms[nsyms++];
					if (nsyms > MAX_SYMS)
						abort();
					for (int p = 0; p < NP; p++)
						s->p[p] = pp[a][p];
					for (int V = 0; V < NVM; V++)
						s->vm[V] = sw ? (unsigned)(NVM - 1 - V) : (unsigned)V;
					for (int i = 0; i < VPV; i++) {
						s->v[i] = s->vm[0] * VPV + vp[b0][i];
						s->v[VPV + i] = s->vm[1] * VPV + vp[b1][i];
					}
				}
}

/*
 * Abort if hv's state holds anything outside the fields key_one() encodes:
 * a copy with those fields zeroed must be all zero bytes. (hv initialises
 * its structures whole, with compound literals; padding stays zero.)
 */
static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void known_fields_only(const struct world *w)
{
	bool ok = true;
	struct barrier_ctx c;
	memcpy(&c, &w->ctx, sizeof(c));
	c.policy = 0;
	c.track = 0;
	c.now = 0;
	ok = ok && all_zero(&c, sizeof(c));
	for (int p = 0; p < NP; p++) {
		struct pcpu_barrier x;
		memcpy(&x, &w->pc[p], sizeof(x));
		x.id = 0;
		x.last_vcpu = 0;
		x.only = 0;
		x.only_since = 0;
		x.vm_mask = 0;
		x.only_stale = false;
		ok = ok && all_zero(&x, sizeof(x));
	}
	for (int v = 0; v < NV; v++) {
		struct vcpu_barrier x;
		memcpy(&x, &w->vc[v], sizeof(x));
		x.gid = 0;
		x.vm = 0;
		x.last_pcpu = 0;
		x.last_ibpb = 0;
		x.passthrough = false;
		x.ibpb_writes_seen = 0;
		ok = ok && all_zero(&x, sizeof(x));
	}
	for (int V = 0; V < NVM; V++) {
		struct vm_barrier x;
		memcpy(&x, &w->vm[V], sizeof(x));
		x.id = 0;
		x.knob = 0;
		x.guest_opted = false;
		ok = ok && all_zero(&x, sizeof(x));
	}
	if (!ok) {
		fprintf(stderr, "test_exhaustive: hv's policy state has a field the state key does"
			" not know (policy.h changed?): update key_one() and known_fields_only()"
			" in tests/exhaustive.c\n");
		abort();
	}
}

static int map_v(const struct sym *s, int v)
{
	return v >= 0 ? (int)s->v[v] : v;   /* BAR_NONE, BAR_MANY, -1 stay */
}

/* The key of w renamed by s; r_* are the ranked times. */
static void key_one(const struct world *w, const struct sym *s, u64 r_now, const u64 *r_since,
		    const u64 *r_ibpb, unsigned char *k)
{
	static struct oracle renamed;
	static bool have_renamed;
	if (!have_renamed) {
		if (oracle_init(&renamed, NP, NVM, NV) != 0)
			abort();
		have_renamed = true;
	}

	memset(k, 0, KEY_BYTES);
	k[0] = (unsigned char)r_now;
	for (int p = 0; p < NP; p++) {
		const struct pcpu_barrier *pc = &w->pc[p];
		unsigned char *o = k + K_OFF_P + s->p[p] * K_P;
		u32 mask = 0;
		if (pc->vm_mask >> NVM)
			abort(); /* a VM this world does not have */
		for (int V = 0; V < NVM; V++)
			if (pc->vm_mask & BIT(V))
				mask |= (u32)BIT(s->vm[V]);
		o[0] = (unsigned char)(map_v(s, pc->last_vcpu) + 2);
		o[1] = (unsigned char)(map_v(s, pc->only) + 2);
		o[2] = (unsigned char)r_since[p];
		o[3] = (unsigned char)mask;
		o[4] = (unsigned char)(map_v(s, w->cur[p]) + 2);
		o[5] = pc->only_stale;
	}
	for (int v = 0; v < NV; v++) {
		const struct vcpu_barrier *vc = &w->vc[v];
		unsigned char *o = k + K_OFF_V + s->v[v] * K_V;
		o[0] = (unsigned char)(vc->last_pcpu >= 0 ? (int)s->p[vc->last_pcpu] + 2
							 : vc->last_pcpu + 2);
		o[1] = (unsigned char)r_ibpb[v];
		o[2] = vc->passthrough;
		o[3] = w->exits_off[v];
	}
	for (int V = 0; V < NVM; V++)
		k[K_OFF_VM + s->vm[V]] = w->vm[V].guest_opted;

	uint32_t ow[ORACLE_WORDS];
	oracle_rename(&renamed, &w->o, s->p, s->v, s->vm);
	if (oracle_key(&renamed, ow) != ORACLE_WORDS)
		abort();
	for (int i = 0; i < ORACLE_WORDS; i++) {
		if (ow[i] > 255)
			abort();
		k[K_OFF_O + i] = (unsigned char)ow[i];
	}
}

static void make_key(const struct world *w, unsigned char *key)
{
	u64 t[1 + NP + NV], r_since[NP], r_ibpb[NV], r_now;
	int n = 0, d = 0;

	known_fields_only(w);

	t[n++] = w->ctx.now;
	for (int p = 0; p < NP; p++)
		t[n++] = w->pc[p].only_since;
	for (int v = 0; v < NV; v++)
		t[n++] = w->vc[v].last_ibpb;
	sort_u64(t, n);
	for (int i = 0; i < n; i++)
		if (t[i] != 0 && (d == 0 || t[d - 1] != t[i]))
			t[d++] = t[i];
	r_now = rank(t, d, w->ctx.now);
	for (int p = 0; p < NP; p++)
		r_since[p] = rank(t, d, w->pc[p].only_since);
	for (int v = 0; v < NV; v++)
		r_ibpb[v] = rank(t, d, w->vc[v].last_ibpb);

	unsigned char k[KEY_BYTES];
	key_one(w, &syms[0], r_now, r_since, r_ibpb, key);
	for (int i = 1; i < nsyms; i++) {
		key_one(w, &syms[i], r_now, r_since, r_ibpb, k);
		if (memcmp(k, key, KEY_BYTES) < 0)
			memcpy(key, k, KEY_BYTES);
	}
}

/* Four independent lanes, so the multiplies overlap; n is a multiple of 8. */
static u64 hash_bytes(const unsigned char *k, size_t n)
{
	u64 h[4] = { 0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full, 0x165667b19e3779f9ull,
		     0x27d4eb2f165667c5ull };
	size_t i = 0;
	for (; i + 32 <= n; i += 32)
		for (int l = 0; l < 4; l++) {
			u64 x;
			memcpy(&x, k + i + 8 * l, 8);
			h[l] = (h[l] ^ x) * 0xff51afd7ed558ccdull;
			h[l] ^= h[l] >> 31;
		}
	for (int l = 0; i < n; i += 8, l++) {
		u64 x;
		memcpy(&x, k + i, 8);
		h[l] = (h[l] ^ x) * 0xff51afd7ed558ccdull;
		h[l] ^= h[l] >> 31;
	}
	u64 r = h[0] ^ (h[1] * 0x9e3779b97f4a7c15ull) ^ (h[2] * 0xc2b2ae3d27d4eb4full) ^
		(h[3] * 0x165667b19e3779f9ull);
	r ^= r >> 33;
	r *= 0xff51afd7ed558ccdull;
	return r ^ (r >> 29);
}

/* ---- the explored graph ----------------------------------------------------- */

enum {
	F_ENTRY = 1, F_BARRIER = 2, F_REQUIRED = 4, F_VIOLATION = 8,
	F_HV_REQ = 16,  /* hv's required= */
};

struct edge {
	int32_t to;             /* successor state, -1 = event not enabled */
	uint8_t flags;
	uint8_t kind;           /* oracle kind */
};

struct state {
	int32_t parent;
	int8_t ev;              /* event from parent */
	uint8_t level;          /* BFS level = shortest distance from the start */
	size_t key;             /* offset into keys */
	struct world *w;        /* only while in the frontier */
	bool expanded;          /* its NEV edges in graph.edges are valid */
};

struct slot {
	u64 hash;               /* of the key, so most probes never touch the keys */
	int32_t id;
};

struct graph {
	struct state *s;
	struct edge *edges;     /* NEV per state */
	size_t n, cap;
	unsigned char *keys;
	size_t keys_len, keys_cap;
	struct slot *table;     /* open addressing, id -1 = empty */
	size_t tcap;
	u64 transitions;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static void graph_free(struct graph *g)
{
	for (size_t i = 0; i < g->n; i++) {
		if (g->s[i].w)
			world_put(g->s[i].w);
	}
	free(g->s);
	free(g->edges);
	free(g->keys);
	free(g->table);
	memset(g, 0, sizeof(*g));
}

static void table_grow(struct graph *g)
{
	size_t ncap = g->tcap ? 2 * g->tcap : 1 << 12;
	struct slot *nt = xrealloc(NULL, ncap * sizeof(*nt));
	for (size_t i = 0; i < ncap; i++)
		nt[i].id = -1;
	for (size_t i = 0; i < g->tcap; i++) {
		if (g->table[i].id < 0)
			continue;
		size_t j = g->table[i].hash & (ncap - 1);
		while (nt[j].id >= 0)
			j = (j + 1) & (ncap - 1);
		nt[j] = g->table[i];
	}
	free(g->table);
	g->table = nt;
	g->tcap = ncap;
}

/* Find the state with this key, or add it (with a copy of w). *added tells. */
static int32_t graph_intern(struct graph *g, const unsigned char *key, const struct world *w,
			    const struct cfg *c, int32_t parent, int ev, int level, bool *added)
{
	if ((g->n + 1) * 2 > g->tcap)
		table_grow(g);
	u64 h = hash_bytes(key, KEY_BYTES);
	size_t j = h & (g->tcap - 1);
	while (g->table[j].id >= 0) {
		int32_t i = g->table[j].id;
		if (g->table[j].hash == h && memcmp(g->keys + g->s[i].key, key, KEY_BYTES) == 0) {
			*added = false;
			return i;
		}
		j = (j + 1) & (g->tcap - 1);
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 1024;
		g->s = xrealloc(g->s, g->cap * sizeof(*g->s));
		g->edges = xrealloc(g->edges, g->cap * NEV * sizeof(*g->edges));
	}
	if (g->keys_len + KEY_BYTES > g->keys_cap) {
		g->keys_cap = g->keys_cap ? 2 * g->keys_cap : 1 << 20;
		g->keys = xrealloc(g->keys, g->keys_cap);
	}
	struct state *s = &g->s[g->n];
	s->parent = parent;
	s->ev = (int8_t)ev;
	s->level = (uint8_t)level;
	s->key = g->keys_len;
	memcpy(g->keys + g->keys_len, key, KEY_BYTES);
	g->keys_len += KEY_BYTES;
	s->w = world_get(c);
	world_copy(s->w, w);
	s->expanded = false;
	g->table[j].hash = h;
	g->table[j].id = (int32_t)g->n;
	*added = true;
	return (int32_t)g->n++;
}

/* Breadth-first exploration up to depth; every state below depth gets its edges. */
static void explore(struct graph *g, const struct cfg *c, int depth)
{
	struct world w0, w;
	unsigned char key[KEY_BYTES];
	bool added;

	memset(g, 0, sizeof(*g));
	build_symmetries(c);
	world_init(&w0, c);
	world_init(&w, c);
	make_key(&w0, key);
	graph_intern(g, key, &w0, c, -1, -1, 0, &added);

	size_t begin = 0;
	for (int level = 0; level < depth; level++) {
		size_t end = g->n;
		for (size_t i = begin; i < end; i++) {
			struct edge ed[NEV];
			for (int e = 0; e < NEV; e++) {
				ed[e].to = -1;
				ed[e].flags = 0;
				ed[e].kind = 0;
				if (!ev_enabled(g->s[i].w, e))
					continue;
				world_copy(&w, g->s[i].w);
				struct outcome r = apply(&w, c, e);
				g->transitions++;
				if (r.entry) {
					ed[e].flags = F_ENTRY | (r.barrier ? F_BARRIER : 0) |
						      (r.ov.required ? F_REQUIRED : 0) |
						      (r.ov.violation ? F_VIOLATION : 0) |
						      (r.hv_required ? F_HV_REQ : 0);
					ed[e].kind = (uint8_t)r.ov.kind;
				}
				make_key(&w, key);
				ed[e].to = graph_intern(g, key, &w, c, (int32_t)i, e, level + 1, &added);
			}
			memcpy(&g->edges[i * NEV], ed, sizeof(ed));
			g->s[i].expanded = true;
			world_put(g->s[i].w);
			g->s[i].w = NULL;
		}
		begin = end;
	}
	oracle_free(&w0.o);
	oracle_free(&w.o);
}

/* ---- counting over the DAG of (state, level) --------------------------------- */

enum check {
	C_VIOLATION,            /* oracle violation (by kind in viol_by_kind) */
	C_NOT_EXACT,            /* barrier != required */
	C_EXTRA,                /* barrier and not required */
	C_HV_OVER,              /* hv's required=1, the oracle's 0 */
	C_HV_UNDER,             /* hv's required=0, the oracle's 1 */
	C_CHECKS
};

struct finding {
	u64 transitions;        /* distinct (state, event) edges with it */
	u64 sequences;          /* event sequences (length <= depth) whose last event has it */
	int32_t ex_state;       /* shortest example: state, event (-1 = none) */
	int ex_ev;
};

struct result {
	u64 states, transitions, sequences, entry_transitions, entry_sequences;
	struct finding f[C_CHECKS];
	struct finding viol[ORACLE_KINDS];
	double seconds;
};

static void note(struct finding *f, const struct graph *g, int32_t s, int e, u64 paths,
		 bool first_level_visit)
{
	if (first_level_visit)
		f->transitions++;
	f->sequences += paths;
	/* The first hit in (level, state, event) order is a shortest example. */
	if (f->ex_state < 0 || g->s[s].level < g->s[f->ex_state].level)
		f->ex_state = s, f->ex_ev = e;
}

static void analyse(const struct graph *g, int depth, struct result *res)
{
	u64 *cnt = xrealloc(NULL, g->n * sizeof(u64));
	u64 *next = xrealloc(NULL, g->n * sizeof(u64));
	memset(res, 0, sizeof(*res));
	for (int k = 0; k < C_CHECKS; k++)
		res->f[k].ex_state = -1;
	for (int k = 0; k < ORACLE_KINDS; k++)
		res->viol[k].ex_state = -1;
	res->states = g->n;
	res->transitions = g->transitions;

	memset(cnt, 0, g->n * sizeof(u64));
	cnt[0] = 1;
	for (int level = 0; level < depth; level++) {
		memset(next, 0, g->n * sizeof(u64));
		for (size_t i = 0; i < g->n; i++) {
			if (!cnt[i])
				continue;
			const struct edge *ed = &g->edges[i * NEV];
			if (!g->s[i].expanded)
				abort(); /* reached below depth but not expanded: a bug here */
			bool first = g->s[i].level == level; /* count each edge once */
			for (int e = 0; e < NEV; e++) {
				if (ed[e].to < 0)
					continue;
				next[ed[e].to] += cnt[i];
				res->sequences += cnt[i];
				if (!(ed[e].flags & F_ENTRY))
					continue;
				if (first)
					res->entry_transitions++;
				res->entry_sequences += cnt[i];
				bool b = ed[e].flags & F_BARRIER, rq = ed[e].flags & F_REQUIRED;
				bool hv = ed[e].flags & F_HV_REQ;
				if (ed[e].flags & F_VIOLATION) {
					note(&res->f[C_VIOLATION], g, (int32_t)i, e, cnt[i], first);
					note(&res->viol[ed[e].kind], g, (int32_t)i, e, cnt[i], first);
				}
				if (b != rq)
					note(&res->f[C_NOT_EXACT], g, (int32_t)i, e, cnt[i], first);
				if (b && !rq)
					note(&res->f[C_EXTRA], g, (int32_t)i, e, cnt[i], first);
				if (hv && !rq)
					note(&res->f[C_HV_OVER], g, (int32_t)i, e, cnt[i], first);
				if (!hv && rq)
					note(&res->f[C_HV_UNDER], g, (int32_t)i, e, cnt[i], first);
			}
		}
		u64 *t = cnt;
		cnt = next;
		next = t;
	}
	free(cnt);
	free(next);
}

/* The shortest event sequence to state s, then e, replayed with what happened. */
static void describe(const struct graph *g, const struct cfg *c, int32_t s, int e,
		     char *buf, size_t n)
{
	int path[64], len = 0;
	if (e >= 0)
		path[len++] = e;
	for (int32_t i = s; i > 0; i = g->s[i].parent)
		path[len++] = g->s[i].ev;

	struct world w;
	world_init(&w, c);
	size_t off = 0;
	buf[0] = 0;
	for (int k = len - 1; k >= 0 && off < n; k--) {
		char evs[32];
		ev_str(path[k], evs, sizeof(evs));
		struct outcome r = apply(&w, c, path[k]);
		if (r.entry)
			off += snprintf(buf + off, n - off, "%s%s[b=%d r=%d%s%s%s hv:r=%d %s]",
					off ? " " : "", evs, r.barrier, r.ov.required,
					r.ov.required ? " " : "",
					r.ov.required ? oracle_kind_name(r.ov.kind) : "",
					r.ov.violation ? " VIOLATION" : "", r.hv_required,
					(unsigned)r.reason < BAR_REASONS ? bar_reason_names[r.reason]
									: "?");
		else
			off += snprintf(buf + off, n - off, "%s%s%s", off ? " " : "", evs,
					r.pred_seen ? "" : "[unseen]");
	}
	oracle_free(&w.o);
}

/* Just the events. */
static void describe_short(const struct graph *g, int32_t s, int e, char *buf, size_t n)
{
	int path[64], len = 0;
	if (e >= 0)
		path[len++] = e;
	for (int32_t i = s; i > 0; i = g->s[i].parent)
		path[len++] = g->s[i].ev;
	size_t off = 0;
	buf[0] = 0;
	for (int k = len - 1; k >= 0 && off < n; k--) {
		char evs[32];
		ev_str(path[k], evs, sizeof(evs));
		off += snprintf(buf + off, n - off, "%s%s", off ? " " : "", evs);
	}
}

/* ---- brute force (no merging), to validate the merging ------------------------- */

struct brute {
	u64 sequences;
	u64 viol[ORACLE_KINDS];
	u64 not_exact, extra, hv_over, hv_under;
};

static void brute_rec(struct world *stack, const struct cfg *c, int level, int depth,
		      struct brute *b)
{
	if (level == depth)
		return;
	for (int e = 0; e < NEV; e++) {
		if (!ev_enabled(&stack[level], e))
			continue;
		world_copy(&stack[level + 1], &stack[level]);
		struct outcome r = apply(&stack[level + 1], c, e);
		b->sequences++;
		if (r.entry) {
			if (r.ov.violation)
				b->viol[r.ov.kind]++;
			if (r.barrier != r.ov.required)
				b->not_exact++;
			if (r.barrier && !r.ov.required)
				b->extra++;
			if (r.hv_required && !r.ov.required)
				b->hv_over++;
			if (!r.hv_required && r.ov.required)
				b->hv_under++;
		}
		brute_rec(stack, c, level + 1, depth, b);
	}
}

/* ---- TAP ------------------------------------------------------------------------ */

static int tap_n, tap_failed;

static __attribute__((format(printf, 2, 3))) void tap(bool ok, const char *fmt, ...)
{
	va_list ap;
	printf("%sok %d - ", ok ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok)
		tap_failed++;
	fflush(stdout);
}

/* ---- hand-written sanity cases --------------------------------------------------- */

#define E(v, p) ((v) * NP + (p))
#define I(p) (EV_IBPB0 + (p))
#define S(p) (EV_SBPB0 + (p))

struct sanity {
	const char *id;         /* TAP case name: one word */
	const char *name;
	struct cfg cfg;
	int ev[12];
	int nev;
	/* Expectations for the last event (an entry): */
	int barrier;            /* 0/1, -1 = don't care */
	int required;           /* oracle's */
	enum oracle_kind kind;  /* when required */
	int violations;         /* oracle violations over the whole sequence */
};

#define CFG(pol, trk, k0, k1) { POLICY_##pol, TRACK_##trk, { VM_IBPB_##k0, VM_IBPB_##k1 } }
#define SEQ(...) { __VA_ARGS__ }, (sizeof((int[]){ __VA_ARGS__ }) / sizeof(int))

#if DEFAULT_WORLD
static const struct sanity sanity_cases[] = {
	{ "hole-guest-trap", "migration hole: guest/trap barriers when v0 returns to p0 after an IBPB on p1",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(0, 1), I(1), E(0, 0)),
	  1, 1, ORACLE_KIND_SELF_STALE, 0 },
	{ "hole-switch-trap", "migration hole: switch/trap does not, the oracle reports self-stale",
	  CFG(SWITCH, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(0, 1), I(1), E(0, 0)),
	  0, 1, ORACLE_KIND_SELF_STALE, 1 },
	{ "hole-switch-migrate-trap", "migration hole: switch-migrate/trap barriers",
	  CFG(SWITCH_MIGRATE, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(0, 1), I(1), E(0, 0)),
	  1, 1, ORACLE_KIND_SELF_STALE, 0 },
	{ "hole-guest-passthrough", "migration hole: guest/passthrough barriers (first IBPB exits)",
	  CFG(GUEST, PASSTHROUGH, AUTO, AUTO), SEQ(E(0, 0), E(0, 1), I(1), E(0, 0)),
	  1, 1, ORACLE_KIND_SELF_STALE, 0 },
	{ "hole-guest-passthrough-unseen", "migration hole after the intercept is gone: guest/passthrough still barriers",
	  CFG(GUEST, PASSTHROUGH, AUTO, AUTO),
	  SEQ(E(0, 0), I(0), E(0, 1), I(1), E(0, 0)),
	  1, 1, ORACLE_KIND_SELF_STALE, 0 },
	{ "own-ibpb-same-pcpu", "own IBPB on the same pCPU, then yield and resume: nothing required",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), I(0), E(0, 0)),
	  0, 0, ORACLE_KIND_NONE, 0 },
	{ "cross-vm-guest", "cross-VM: guest/trap barriers between VMs",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(2, 0)),
	  1, 1, ORACLE_KIND_CROSS_VM, 0 },
	{ "cross-vm-never-policy", "cross-VM: never/trap is a cross-vm violation",
	  CFG(NEVER, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(2, 0)),
	  0, 1, ORACLE_KIND_CROSS_VM, 1 },
	{ "cross-vm-waived", "cross-VM: I1 waived for a VM with ibpb=never",
	  CFG(GUEST, TRAP, AUTO, NEVER), SEQ(E(0, 0), E(2, 0)),
	  0, 0, ORACLE_KIND_NONE, 0 },
	{ "cross-vm-waived-other-way", "cross-VM: ... but not for the other VM coming back",
	  CFG(GUEST, TRAP, AUTO, NEVER), SEQ(E(0, 0), E(2, 0), E(0, 0)),
	  1, 1, ORACLE_KIND_CROSS_VM, 0 },
	{ "intra-vm-not-opted", "intra-VM, not opted in: no barrier needed",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(1, 0)),
	  0, 0, ORACLE_KIND_NONE, 0 },
	{ "intra-vm-opted", "intra-VM after a guest IBPB opted the VM in: barrier",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), I(0), E(1, 0)),
	  1, 1, ORACLE_KIND_INTRA_VM, 0 },
	{ "intra-vm-opted-elsewhere", "intra-VM, opted in by an IBPB on the other pCPU: barrier",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(1, 1), I(1), E(1, 0)),
	  1, 1, ORACLE_KIND_INTRA_VM, 0 },
	{ "intra-vm-always", "intra-VM with ibpb=always: barrier without any guest IBPB",
	  CFG(GUEST, TRAP, ALWAYS, AUTO), SEQ(E(0, 0), E(1, 0)),
	  1, 1, ORACLE_KIND_INTRA_VM, 0 },
	{ "never-knob-no-opt-in", "ibpb=never: a guest IBPB does not opt the VM in",
	  CFG(GUEST, TRAP, NEVER, AUTO), SEQ(E(0, 0), I(0), E(1, 0)),
	  0, 0, ORACLE_KIND_NONE, 0 },
	{ "sbpb-no-opt-in", "SBPB is not an IBPB: no opt-in",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), S(0), E(1, 0)),
	  0, 0, ORACLE_KIND_NONE, 0 },
	{ "sbpb-no-cleaning", "SBPB is not an IBPB: no cleaning (cross-VM residue stays)",
	  CFG(GUEST, TRAP, NEVER, AUTO), SEQ(E(2, 0), E(0, 0), S(0), E(2, 0)),
	  1, 1, ORACLE_KIND_CROSS_VM, 0 },
	{ "guest-ibpb-cleans", "a guest IBPB cleans its pCPU of the other VM's residue",
	  CFG(GUEST, TRAP, NEVER, AUTO), SEQ(E(2, 0), E(0, 0), I(0), E(0, 0)),
	  0, 0, ORACLE_KIND_NONE, 0 },
	{ "guest-ibpb-keeps-own", "... but the IBPB's own vCPU keeps training there afterwards",
	  CFG(GUEST, TRAP, NEVER, AUTO), SEQ(E(2, 0), E(0, 0), I(0), E(2, 0)),
	  1, 1, ORACLE_KIND_CROSS_VM, 0 },
	{ "idle-keeps-residue", "idle keeps residue: a vCPU that moved away still counts",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(0, 1), E(2, 0)),
	  1, 1, ORACLE_KIND_CROSS_VM, 0 },
	{ "switch-intra-vm", "switch: a different vCPU of the same opted-in VM gets a barrier",
	  CFG(SWITCH, TRAP, AUTO, AUTO), SEQ(E(0, 0), I(0), E(1, 0)),
	  1, 1, ORACLE_KIND_INTRA_VM, 0 },
	{ "hole-persists", "the migration hole stays open until a barrier: the next resume is exposed too",
	  CFG(SWITCH, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(0, 1), I(1), E(0, 0), E(0, 0)),
	  0, 1, ORACLE_KIND_SELF_STALE, 2 },
};
static const int nsanity_cases = (int)(sizeof(sanity_cases) / sizeof(sanity_cases[0]));
#else
static const struct sanity sanity_cases[1];
static const int nsanity_cases = 0;
#endif

static void run_sanity(void)
{
	for (int i = 0; i < nsanity_cases; i++) {
		const struct sanity *t = &sanity_cases[i];
		struct world w;
		struct outcome r;
		char cn[64], why[256] = "";
		world_init(&w, &t->cfg);
		memset(&r, 0, sizeof(r));
		for (int k = 0; k < t->nev; k++) {
			if (!ev_enabled(&w, t->ev[k])) {
				snprintf(why, sizeof(why), "event %d not enabled", k);
				break;
			}
			r = apply(&w, &t->cfg, t->ev[k]);
		}
		if (!why[0]) {
			if (!r.entry)
				snprintf(why, sizeof(why), "last event is not an entry");
			else if (t->barrier >= 0 && r.barrier != t->barrier)
				snprintf(why, sizeof(why), "barrier=%d, expected %d", r.barrier,
					 t->barrier);
			else if (r.ov.required != t->required)
				snprintf(why, sizeof(why), "oracle required=%d, expected %d",
					 r.ov.required, t->required);
			else if (t->required && r.ov.kind != t->kind)
				snprintf(why, sizeof(why), "oracle kind=%s, expected %s",
					 oracle_kind_name(r.ov.kind), oracle_kind_name(t->kind));
			else if (w.o.count.violations != (u64)t->violations)
				snprintf(why, sizeof(why), "%" PRIu64 " violations, expected %d",
					 w.o.count.violations, t->violations);
		}
		cfg_name(&t->cfg, cn, sizeof(cn));
		tap(!why[0], "sanity/%s %s (%s)", t->id, t->name, cn);
		if (why[0]) {
			struct world w2;
			char seq[512] = "";
			size_t off = 0;
			world_init(&w2, &t->cfg);
			for (int k = 0; k < t->nev && ev_enabled(&w2, t->ev[k]); k++) {
				char evs[32];
				ev_str(t->ev[k], evs, sizeof(evs));
				struct outcome q = apply(&w2, &t->cfg, t->ev[k]);
				off += snprintf(seq + off, sizeof(seq) - off, " %s", evs);
				if (q.entry)
					off += snprintf(seq + off, sizeof(seq) - off, "[b=%d r=%d %s]",
							q.barrier, q.ov.required,
							oracle_kind_name(q.ov.kind));
			}
			printf("#   %s;%s\n", why, seq);
			oracle_free(&w2.o);
		}
		oracle_free(&w.o);
	}
}

/* ---- the exhaustive part -------------------------------------------------------- */

/*
 * A disagreement between hv/policy.c and the contract that is known and
 * reported to the lead: its check is then `not ok ... # TODO` (which TAP
 * runners count as passed) until policy.c changes, so the suite stays green
 * and the finding stays visible. A fixed one turns into a plain `ok`.
 */
static const char *known_issue(const struct cfg *c, int check)
{
	/*
	 * None at present. (The first one, hv under-reporting required= after a
	 * skipped self-stale barrier with passthrough under switch/never, was
	 * fixed by pcpu_barrier.only_stale.) Add one as, e.g.:
	 *   if (check == C_HV_UNDER && c->policy == POLICY_SWITCH) return "why";
	 */
	(void)c;
	(void)check;
	return NULL;
}

/*
 * Judge one configuration: two TAP lines.
 *
 * NAME (the policy's decisions), fails on:
 *  - policies guest and switch-migrate: any violation;
 *  - guest with trap: an entry where barrier != required;
 *  - policy switch: a violation that is not self-stale;
 *  - policy never: no violation at all though some VM is not ibpb=never (then
 *    this checker would be blind).
 * Violations of never and switch are expected findings: reported, not failed.
 *
 * NAME/report (hv's required=, what its trace and reports claim), fails on:
 *  - any policy: hv says required=0 where the contract needs a barrier
 *    (its report would hide a hole);
 *  - track=trap: hv says required=1 where the contract needs none (with trap
 *    hv sees every guest IBPB, so its view must be exact; with passthrough
 *    it must assume IBPBs it cannot see, so it may say 1: counted, not failed).
 */
static void report_config(const struct cfg *c, const struct graph *g, const struct result *r)
{
	char cn[64], stats[160], ex[2048], kinds[256];
	cfg_name(c, cn, sizeof(cn));
	snprintf(stats, sizeof(stats),
		 "%" PRIu64 " states, %" PRIu64 " transitions, %" PRIu64 " sequences, depth %d",
		 r->states, r->transitions, r->sequences, max_depth);
	snprintf(kinds, sizeof(kinds), "cross-vm=%" PRIu64 " intra-vm=%" PRIu64 " self-stale=%" PRIu64,
		 r->viol[ORACLE_KIND_CROSS_VM].sequences, r->viol[ORACLE_KIND_INTRA_VM].sequences,
		 r->viol[ORACLE_KIND_SELF_STALE].sequences);
	const struct finding *viol = &r->f[C_VIOLATION];
	const struct finding *extra = &r->f[C_EXTRA];
	const struct finding *over = &r->f[C_HV_OVER];
	const struct finding *under = &r->f[C_HV_UNDER];
	bool trap = c->track == TRACK_TRAP;
	bool safe_policy = c->policy == POLICY_GUEST || c->policy == POLICY_SWITCH_MIGRATE;
	bool exact = c->policy == POLICY_GUEST && trap;
	bool any_opt = false;
	for (int V = 0; V < NVM; V++)
		any_opt = any_opt || c->knob[V] != VM_IBPB_NEVER;

	/* ---- NAME: the decisions ---- */
	const struct finding *bad = NULL;
	char what[320] = "";
	if (safe_policy && viol->sequences) {
		bad = viol;
		snprintf(what, sizeof(what), "violations (%s)", kinds);
	} else if (exact && r->f[C_NOT_EXACT].sequences) {
		bad = &r->f[C_NOT_EXACT];
		snprintf(what, sizeof(what), "entries where barrier != required");
	} else if (c->policy == POLICY_SWITCH && (r->viol[ORACLE_KIND_CROSS_VM].sequences ||
						 r->viol[ORACLE_KIND_INTRA_VM].sequences)) {
		bad = r->viol[ORACLE_KIND_CROSS_VM].sequences ? &r->viol[ORACLE_KIND_CROSS_VM]
							     : &r->viol[ORACLE_KIND_INTRA_VM];
		snprintf(what, sizeof(what), "violations that are not self-stale (%s)", kinds);
	}
	if (bad) {
		tap(false, "%s %" PRIu64 " %s, in %" PRIu64 " transitions (%s)", cn, bad->sequences,
		    what, bad->transitions, stats);
		describe(g, c, bad->ex_state, bad->ex_ev, ex, sizeof(ex));
		printf("#   shortest: %s\n", ex);
	} else if (exact) {
		tap(true, "%s 0 violations, barriers==required at every entry (%s)", cn, stats);
	} else if (safe_policy) {
		tap(true, "%s 0 violations, barrier>=required at every entry; extra barriers"
		    " at %" PRIu64 " of %" PRIu64 " entry transitions (%" PRIu64 " of %" PRIu64
		    " entries over all sequences) (%s)", cn, extra->transitions,
		    r->entry_transitions, extra->sequences, r->entry_sequences, stats);
		if (extra->ex_state >= 0 && verbose) {
			describe(g, c, extra->ex_state, extra->ex_ev, ex, sizeof(ex));
			printf("#   e.g. extra: %s\n", ex);
		}
	} else if (!viol->sequences) {
		bool missing = c->policy == POLICY_NEVER && any_opt;
		tap(!missing, "%s %s (%s)", cn,
		    missing ? "no violations found, expected some (is the checker blind?)"
			    : "no violations (no VM can require a barrier it skips)", stats);
	} else if (c->policy == POLICY_SWITCH) {
		describe_short(g, viol->ex_state, viol->ex_ev, ex, sizeof(ex));
		tap(true, "%s expected finding: %" PRIu64 " self-stale violations (migration"
		    " hole) in %" PRIu64 " transitions, e.g. %s (%s)", cn,
		    viol->sequences, viol->transitions, ex, stats);
	} else {
		tap(true, "%s expected finding: %" PRIu64 " violations (%s) in %" PRIu64
		    " transitions (%s)", cn, viol->sequences, kinds, viol->transitions, stats);
	}
	if (!safe_policy && !bad) {
		for (int k = ORACLE_KIND_CROSS_VM; k < ORACLE_KINDS; k++) {
			if (r->viol[k].ex_state < 0)
				continue;
			describe(g, c, r->viol[k].ex_state, r->viol[k].ex_ev, ex, sizeof(ex));
			printf("#   shortest %s: %s\n", oracle_kind_name((enum oracle_kind)k), ex);
		}
	}

	/* ---- NAME/report: hv's required= ---- */
	const struct finding *rbad = under->sequences ? under : trap && over->sequences ? over : NULL;
	if (rbad) {
		const char *todo = known_issue(c, rbad == under ? C_HV_UNDER : C_HV_OVER);
		printf("not ok %d - %s/report %" PRIu64 " entries where hv says required=%d but the"
		       " contract needs %s, in %" PRIu64 " transitions",
		       ++tap_n, cn, rbad->sequences, rbad == under ? 0 : 1,
		       rbad == under ? "a barrier" : "none", rbad->transitions);
		if (todo)
			printf(" # TODO %s\n", todo);
		else {
			printf("\n");
			tap_failed++;
		}
		describe(g, c, rbad->ex_state, rbad->ex_ev, ex, sizeof(ex));
		printf("#   shortest: %s\n", ex);
	} else if (trap) {
		tap(true, "%s/report hv required= equals the oracle's at every entry (%" PRIu64
		    " entry transitions)", cn, r->entry_transitions);
	} else {
		tap(true, "%s/report hv required= never below the oracle's; above it at %" PRIu64
		    " of %" PRIu64 " entry transitions (passthrough: hv must assume IBPBs it cannot"
		    " see)", cn, over->transitions, r->entry_transitions);
		if (over->ex_state >= 0 && verbose) {
			describe(g, c, over->ex_state, over->ex_ev, ex, sizeof(ex));
			printf("#   e.g.: %s\n", ex);
		}
	}
	if (verbose)
		printf("#   %.3f s\n", r->seconds);
}

static void brute_compare(const struct cfg *c)
{
	char cn[64];
	cfg_name(c, cn, sizeof(cn));
	struct world stack[65];
	for (int i = 0; i <= brute_depth; i++)
		world_init(&stack[i], c);
	struct brute b;
	memset(&b, 0, sizeof(b));
	brute_rec(stack, c, 0, brute_depth, &b);
	for (int i = 0; i <= brute_depth; i++)
		oracle_free(&stack[i].o);

	struct graph g;
	struct result r;
	explore(&g, c, brute_depth);
	analyse(&g, brute_depth, &r);
	graph_free(&g);
	bool ok = b.sequences == r.sequences && b.not_exact == r.f[C_NOT_EXACT].sequences &&
		  b.extra == r.f[C_EXTRA].sequences && b.hv_over == r.f[C_HV_OVER].sequences &&
		  b.hv_under == r.f[C_HV_UNDER].sequences;
	for (int k = 0; k < ORACLE_KINDS; k++)
		ok = ok && b.viol[k] == r.viol[k].sequences;
	tap(ok, "%s/brute merged counts equal brute force at depth %d (%" PRIu64 " sequences,"
	    " violations %" PRIu64 "/%" PRIu64 "/%" PRIu64 ", extra %" PRIu64 ", hv required="
	    " over/under %" PRIu64 "/%" PRIu64 "; merged: %" PRIu64 " states)", cn, brute_depth,
	    b.sequences, b.viol[1], b.viol[2], b.viol[3], b.extra, b.hv_over, b.hv_under,
	    r.states);
	if (!ok)
		printf("#   merged: %" PRIu64 " sequences, violations %" PRIu64 "/%" PRIu64 "/%" PRIu64
		       ", extra %" PRIu64 ", not-exact %" PRIu64 "/%" PRIu64 ", hv required= over/under"
		       " %" PRIu64 "/%" PRIu64 "\n",
		       r.sequences, r.viol[1].sequences, r.viol[2].sequences, r.viol[3].sequences,
		       r.f[C_EXTRA].sequences, r.f[C_NOT_EXACT].sequences, b.not_exact,
		       r.f[C_HV_OVER].sequences, r.f[C_HV_UNDER].sequences);
}

static double now_s(void);

/* Explore, judge and report one configuration (and its brute-force check). */
static void run_config(const struct cfg *c, u64 *states, u64 *transitions)
{
	struct graph g;
	struct result r;
	double t1 = now_s();
	explore(&g, c, max_depth);
	analyse(&g, max_depth, &r);
	r.seconds = now_s() - t1;
	*states = r.states;
	*transitions = r.transitions;
	report_config(c, &g, &r);
	graph_free(&g);
	if (brute_depth)
		brute_compare(c);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: test_exhaustive [--depth N] [--only PREFIX] [--brute N] [--no-symmetry]\n"
		   "                       [-j N] [-v]\n"
		   "  --depth N     explore every sequence of up to N events (default 8)\n"
		   "  --only P      only configurations whose name starts with P (e.g. guest/trap)\n"
		   "  --brute N     also enumerate every sequence up to N events without any\n"
		   "                merging and check the counts agree (validates the state key\n"
		   "                and the symmetry reduction); default 5, 0 = off\n"
		   "  --no-symmetry do not merge states that are renamings of each other\n"
		   "  -j N          run configurations in N worker processes (default: one\n"
		   "                per online CPU; -j 1 runs everything in this process)\n"
		   "  -v            timings, extra-barrier examples, hv required= notes\n");
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--depth") == 0 && i + 1 < argc) {
			max_depth = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--brute") == 0 && i + 1 < argc) {
			brute_depth = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
			only = argv[++i];
		} else if (strcmp(argv[i], "-j") == 0 && i + 1 < argc) {
			jobs = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--no-symmetry") == 0) {
			no_symmetry = true;
		} else if (strcmp(argv[i], "-v") == 0) {
			verbose = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (jobs < 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = n < 1 ? 1 : n > 16 ? 16 : (int)n;
	}
	if (max_depth < 1 || max_depth > 60 || brute_depth < 0 || brute_depth > 60) {
		usage(stderr);
		return 2;
	}

	struct cfg cfgs[4 * 2 * 3 * 3];
	int ncfg = 0;
	static const enum barrier_policy pols[] = { POLICY_GUEST, POLICY_SWITCH_MIGRATE,
						    POLICY_SWITCH, POLICY_NEVER };
	static const enum barrier_track trks[] = { TRACK_TRAP, TRACK_PASSTHROUGH };
	static const enum vm_ibpb knobs[] = { VM_IBPB_AUTO, VM_IBPB_ALWAYS, VM_IBPB_NEVER };
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 2; b++)
			for (int k0 = 0; k0 < 3; k0++)
				for (int k1 = 0; k1 < 3; k1++) {
					struct cfg c = { pols[a], trks[b], { knobs[k0], knobs[k1] } };
					char cn[64];
					cfg_name(&c, cn, sizeof(cn));
					if (only && strncmp(cn, only, strlen(only)) != 0)
						continue;
					cfgs[ncfg++] = c;
				}

	int nsanity = nsanity_cases;
	printf("1..%d\n", nsanity + ncfg * (brute_depth ? 3 : 2));
	printf("# world: %d pCPUs p0..p%d; VM 0 = v0..v%d, VM 1 = v%d..v%d; E(v,p) entry, I(p) IBPB"
	       " and S(p) SBPB by the vCPU current on p\n", NP, NP - 1, VPV - 1, VPV, NV - 1);
	printf("# in examples: b = hv's barrier, r = oracle's required, hv:r = hv's required=,"
	       " then hv's reason; [unseen] = a PRED_CMD write hv did not see (passthrough)\n");
	run_sanity();

	double t0 = now_s();
	u64 total_states = 0, total_transitions = 0;
	int per = brute_depth ? 3 : 2;
	if (jobs > ncfg)
		jobs = ncfg;
	if (jobs <= 1) {
		for (int i = 0; i < ncfg; i++) {
			u64 st, tr;
			run_config(&cfgs[i], &st, &tr);
			total_states += st;
			total_transitions += tr;
		}
	} else {
		/*
		 * Workers: worker k runs configurations k, k + jobs, ...; each one's
		 * output goes to its own temporary file, which the parent copies out
		 * in order (TAP numbers are fixed by position, so workers number
		 * their own lines). A line "@stats S T" carries the counts back.
		 */
		FILE **out = calloc((size_t)ncfg, sizeof(*out));
		pid_t *pid = calloc((size_t)jobs, sizeof(*pid));
		if (!out || !pid)
			abort();
		for (int i = 0; i < ncfg; i++)
			if (!(out[i] = tmpfile())) {
				perror("tmpfile");
				return 2;
			}
		fflush(stdout);
		for (int k = 0; k < jobs; k++) {
			pid[k] = fork();
			if (pid[k] < 0) {
				perror("fork");
				return 2;
			}
			if (pid[k] == 0) {
				for (int i = k; i < ncfg; i += jobs) {
					u64 st, tr;
					fflush(stdout);
					dup2(fileno(out[i]), 1);
					tap_n = nsanity + i * per;
					run_config(&cfgs[i], &st, &tr);
					printf("@stats %" PRIu64 " %" PRIu64 "\n", st, tr);
					fflush(stdout);
				}
				_exit(0);
			}
		}
		for (int k = 0; k < jobs; k++) {
			int status;
			waitpid(pid[k], &status, 0);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				printf("# worker %d ended abnormally (status 0x%x)\n", k, status);
		}
		for (int i = 0; i < ncfg; i++) {
			char line[4096], cn[64];
			bool got = false;
			rewind(out[i]);
			while (fgets(line, sizeof(line), out[i])) {
				u64 st, tr;
				if (sscanf(line, "@stats %" SCNu64 " %" SCNu64, &st, &tr) == 2) {
					total_states += st;
					total_transitions += tr;
					got = true;
					continue;
				}
				if (strncmp(line, "not ok", 6) == 0 && !strstr(line, "# TODO"))
					tap_failed++;
				fputs(line, stdout);
			}
			fclose(out[i]);
			if (!got) { /* the worker died on this one */
				cfg_name(&cfgs[i], cn, sizeof(cn));
				tap_n = nsanity + i * per;
				for (int k = 0; k < per; k++)
					tap(false, "%s%s no result (worker crashed)", cn,
					    k == 0 ? "" : k == 1 ? "/report" : "/brute");
			}
		}
		tap_n = nsanity + ncfg * per;
		free(out);
		free(pid);
	}
	pool_drain();
	printf("# exhaustive: %d configurations, depth %d, %" PRIu64 " states, %" PRIu64
	       " transitions, %.2f s (%d worker%s)\n", ncfg, max_depth, total_states,
	       total_transitions, now_s() - t0, jobs > 1 ? jobs : 1, jobs > 1 ? "s" : "");
	return tap_failed ? 1 : 0;
}
