/*
 * tests/exhaustive.c - drive hv's real barrier policy (hv/policy.c) through
 * every event sequence up to a bound and compare it with the independent
 * oracle (tests/oracle/). Output is TAP. docs/oracle.md explains it all.
 *
 *   build/unit/test_exhaustive [--depth N] [--only PREFIX] [--brute N] [-v]
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
 * Every policy x track x (knob of VM 0) x (knob of VM 1) is explored
 * breadth-first up to --depth events (default 8), merging states whose
 * canonical key (policy state + oracle state, times replaced by their rank,
 * counters dropped) is equal. --brute N re-explores every configuration
 * without merging, up to depth N, and checks the merged counts against it.
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

#define NP 2
#define NVM 2
#define NV 4
#define VM_OF(v) ((v) / 2)

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
static int brute_depth;
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
	snprintf(buf, n, "%s/%s knobs=%s,%s", pol_name(c->policy), trk_name(c->track),
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

struct policy_part {
	struct barrier_ctx ctx;
	struct pcpu_barrier pc[NP];
	struct vcpu_barrier vc[NV];
	struct vm_barrier vm[NVM];
	int cur[NP];
	bool exits_off[NV];
};

#define ORACLE_WORDS (NVM + NV + NP * (1 + NV))
/* rounded up to whole u64 words for hashing */
#define KEY_BYTES ((sizeof(struct policy_part) + ORACLE_WORDS * sizeof(uint32_t) + 7) & ~(size_t)7)

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

/*
 * The key: hv's policy state with every time (ctx.now, pcpu.only_since,
 * vcpu.last_ibpb) replaced by its rank among those times (0 stays 0 =
 * "none"), and the decision-free counter ibpb_writes_seen zeroed; then who
 * is current where and which intercepts are off; then the oracle's own
 * canonical key (its times ranked among its own times: the two clocks are
 * independent and each component only ever compares its own times).
 */
static void make_key(const struct world *w, unsigned char *key)
{
	struct policy_part pp;
	u64 t[1 + NP + NV];
	int n = 0;

	memset(&pp, 0, sizeof(pp));
	memcpy(&pp.ctx, &w->ctx, sizeof(pp.ctx));
	memcpy(pp.pc, w->pc, sizeof(pp.pc));
	memcpy(pp.vc, w->vc, sizeof(pp.vc));
	memcpy(pp.vm, w->vm, sizeof(pp.vm));
	memcpy(pp.cur, w->cur, sizeof(pp.cur));
	memcpy(pp.exits_off, w->exits_off, sizeof(pp.exits_off));

	t[n++] = pp.ctx.now;
	for (int p = 0; p < NP; p++)
		t[n++] = pp.pc[p].only_since;
	for (int v = 0; v < NV; v++)
		t[n++] = pp.vc[v].last_ibpb;
	sort_u64(t, n);
	int d = 0;
	for (int i = 0; i < n; i++)
		if (t[i] != 0 && (d == 0 || t[d - 1] != t[i]))
			t[d++] = t[i];
	pp.ctx.now = rank(t, d, pp.ctx.now);
	for (int p = 0; p < NP; p++)
		pp.pc[p].only_since = rank(t, d, pp.pc[p].only_since);
	for (int v = 0; v < NV; v++) {
		pp.vc[v].last_ibpb = rank(t, d, pp.vc[v].last_ibpb);
		pp.vc[v].ibpb_writes_seen = 0;
	}
	memcpy(key, &pp, sizeof(pp));

	uint32_t ow[ORACLE_WORDS];
	if (oracle_key_words(&w->o) != ORACLE_WORDS || oracle_key(&w->o, ow) != ORACLE_WORDS)
		abort();
	memcpy(key + sizeof(pp), ow, sizeof(ow));
	memset(key + sizeof(pp) + sizeof(ow), 0, KEY_BYTES - sizeof(pp) - sizeof(ow));
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
	C_HV_REQ,               /* hv's required != oracle's */
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
				if (hv != rq)
					note(&res->f[C_HV_REQ], g, (int32_t)i, e, cnt[i], first);
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
	u64 not_exact, extra, hv_req;
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
			if (r.hv_required != r.ov.required)
				b->hv_req++;
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

static const struct sanity sanity_cases[] = {
	{ "migration hole: guest/trap barriers when v0 returns to p0 after an IBPB on p1",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(0, 1), I(1), E(0, 0)),
	  1, 1, ORACLE_KIND_SELF_STALE, 0 },
	{ "migration hole: switch/trap does not, the oracle reports self-stale",
	  CFG(SWITCH, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(0, 1), I(1), E(0, 0)),
	  0, 1, ORACLE_KIND_SELF_STALE, 1 },
	{ "migration hole: switch-migrate/trap barriers",
	  CFG(SWITCH_MIGRATE, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(0, 1), I(1), E(0, 0)),
	  1, 1, ORACLE_KIND_SELF_STALE, 0 },
	{ "migration hole: guest/passthrough barriers (first IBPB exits)",
	  CFG(GUEST, PASSTHROUGH, AUTO, AUTO), SEQ(E(0, 0), E(0, 1), I(1), E(0, 0)),
	  1, 1, ORACLE_KIND_SELF_STALE, 0 },
	{ "migration hole after the intercept is gone: guest/passthrough still barriers",
	  CFG(GUEST, PASSTHROUGH, AUTO, AUTO),
	  SEQ(E(0, 0), I(0), E(0, 1), I(1), E(0, 0)),
	  1, 1, ORACLE_KIND_SELF_STALE, 0 },
	{ "own IBPB on the same pCPU, then yield and resume: nothing required",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), I(0), E(0, 0)),
	  0, 0, ORACLE_KIND_NONE, 0 },
	{ "cross-VM: guest/trap barriers between VMs",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(2, 0)),
	  1, 1, ORACLE_KIND_CROSS_VM, 0 },
	{ "cross-VM: never/trap is a cross-vm violation",
	  CFG(NEVER, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(2, 0)),
	  0, 1, ORACLE_KIND_CROSS_VM, 1 },
	{ "cross-VM: I1 waived for a VM with ibpb=never",
	  CFG(GUEST, TRAP, AUTO, NEVER), SEQ(E(0, 0), E(2, 0)),
	  0, 0, ORACLE_KIND_NONE, 0 },
	{ "cross-VM: ... but not for the other VM coming back",
	  CFG(GUEST, TRAP, AUTO, NEVER), SEQ(E(0, 0), E(2, 0), E(0, 0)),
	  1, 1, ORACLE_KIND_CROSS_VM, 0 },
	{ "intra-VM, not opted in: no barrier needed",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(1, 0)),
	  0, 0, ORACLE_KIND_NONE, 0 },
	{ "intra-VM after a guest IBPB opted the VM in: barrier",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), I(0), E(1, 0)),
	  1, 1, ORACLE_KIND_INTRA_VM, 0 },
	{ "intra-VM, opted in by an IBPB on the other pCPU: barrier",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(1, 1), I(1), E(1, 0)),
	  1, 1, ORACLE_KIND_INTRA_VM, 0 },
	{ "intra-VM with ibpb=always: barrier without any guest IBPB",
	  CFG(GUEST, TRAP, ALWAYS, AUTO), SEQ(E(0, 0), E(1, 0)),
	  1, 1, ORACLE_KIND_INTRA_VM, 0 },
	{ "ibpb=never: a guest IBPB does not opt the VM in",
	  CFG(GUEST, TRAP, NEVER, AUTO), SEQ(E(0, 0), I(0), E(1, 0)),
	  0, 0, ORACLE_KIND_NONE, 0 },
	{ "SBPB is not an IBPB: no opt-in",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), S(0), E(1, 0)),
	  0, 0, ORACLE_KIND_NONE, 0 },
	{ "SBPB is not an IBPB: no cleaning (cross-VM residue stays)",
	  CFG(GUEST, TRAP, NEVER, AUTO), SEQ(E(2, 0), E(0, 0), S(0), E(2, 0)),
	  1, 1, ORACLE_KIND_CROSS_VM, 0 },
	{ "a guest IBPB cleans its pCPU of the other VM's residue",
	  CFG(GUEST, TRAP, NEVER, AUTO), SEQ(E(2, 0), E(0, 0), I(0), E(0, 0)),
	  0, 0, ORACLE_KIND_NONE, 0 },
	{ "... but the IBPB's own vCPU keeps training there afterwards",
	  CFG(GUEST, TRAP, NEVER, AUTO), SEQ(E(2, 0), E(0, 0), I(0), E(2, 0)),
	  1, 1, ORACLE_KIND_CROSS_VM, 0 },
	{ "idle keeps residue: a vCPU that moved away still counts",
	  CFG(GUEST, TRAP, AUTO, AUTO), SEQ(E(0, 0), E(0, 1), E(2, 0)),
	  1, 1, ORACLE_KIND_CROSS_VM, 0 },
	{ "switch: a different vCPU of the same opted-in VM gets a barrier",
	  CFG(SWITCH, TRAP, AUTO, AUTO), SEQ(E(0, 0), I(0), E(1, 0)),
	  1, 1, ORACLE_KIND_INTRA_VM, 0 },
};

static void run_sanity(void)
{
	for (size_t i = 0; i < sizeof(sanity_cases) / sizeof(sanity_cases[0]); i++) {
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
		tap(!why[0], "sanity: %s (%s)", t->name, cn);
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

static void report_config(const struct cfg *c, const struct graph *g, const struct result *r)
{
	char cn[64], stats[160], ex[2048];
	cfg_name(c, cn, sizeof(cn));
	snprintf(stats, sizeof(stats),
		 "%" PRIu64 " states, %" PRIu64 " transitions, %" PRIu64 " sequences, depth %d",
		 r->states, r->transitions, r->sequences, max_depth);
	const struct finding *viol = &r->f[C_VIOLATION];
	const struct finding *hvr = &r->f[C_HV_REQ];
	const struct finding *extra = &r->f[C_EXTRA];
	bool trap = c->track == TRACK_TRAP;

	switch (c->policy) {
	case POLICY_GUEST:
	case POLICY_SWITCH_MIGRATE: {
		bool exact = c->policy == POLICY_GUEST && trap;
		const struct finding *bad = viol->sequences ? viol
					  : exact && r->f[C_NOT_EXACT].sequences ? &r->f[C_NOT_EXACT]
					  : exact && hvr->sequences ? hvr : NULL;
		if (bad) {
			const char *what = bad == viol ? "violations" :
					   bad == hvr ? "entries where hv's required= differs from the oracle"
						      : "entries where barrier != required";
			tap(false, "%s: %" PRIu64 " %s (%" PRIu64 " transitions) (%s)", cn,
			    bad->sequences, what, bad->transitions, stats);
			describe(g, c, bad->ex_state, bad->ex_ev, ex, sizeof(ex));
			printf("#   shortest: %s\n", ex);
		} else if (exact) {
			tap(true, "%s: 0 violations, barriers==required at every entry, hv required= agrees (%s)",
			    cn, stats);
		} else {
			tap(true, "%s: 0 violations, barrier>=required at every entry; extra barriers"
			    " at %" PRIu64 " of %" PRIu64 " entry transitions (%" PRIu64 " of %" PRIu64
			    " entry events over all sequences) (%s)", cn, extra->transitions,
			    r->entry_transitions, extra->sequences, r->entry_sequences, stats);
			if (extra->ex_state >= 0 && verbose) {
				describe(g, c, extra->ex_state, extra->ex_ev, ex, sizeof(ex));
				printf("#   e.g. extra: %s\n", ex);
			}
		}
		break;
	}
	case POLICY_SWITCH:
	case POLICY_NEVER: {
		bool any_opt = c->knob[0] != VM_IBPB_NEVER || c->knob[1] != VM_IBPB_NEVER;
		bool bad_kind = c->policy == POLICY_SWITCH &&
				(r->viol[ORACLE_KIND_CROSS_VM].sequences ||
				 r->viol[ORACLE_KIND_INTRA_VM].sequences);
		/* never with a VM that is not ibpb=never must show its holes, or we test nothing */
		bool missing = c->policy == POLICY_NEVER && any_opt && !viol->sequences;
		if (!viol->sequences) {
			tap(!missing, "%s: %s (%s)", cn,
			    missing ? "no violations found, expected some"
				    : "no violations (no VM can require a barrier it skips)", stats);
			break;
		}
		char kinds[256];
		snprintf(kinds, sizeof(kinds),
			 "cross-vm=%" PRIu64 " intra-vm=%" PRIu64 " self-stale=%" PRIu64,
			 r->viol[ORACLE_KIND_CROSS_VM].sequences,
			 r->viol[ORACLE_KIND_INTRA_VM].sequences,
			 r->viol[ORACLE_KIND_SELF_STALE].sequences);
		if (bad_kind) {
			tap(false, "%s: switch must only have self-stale violations, found %s (%s)",
			    cn, kinds, stats);
		} else if (c->policy == POLICY_SWITCH) {
			describe_short(g, viol->ex_state, viol->ex_ev, ex, sizeof(ex));
			tap(true, "%s: expected finding: %" PRIu64 " self-stale violations (migration"
			    " hole) in %" PRIu64 " transitions, e.g. %s (%s)", cn,
			    viol->sequences, viol->transitions, ex, stats);
		} else {
			tap(true, "%s: expected finding: %" PRIu64 " violations (%s) in %" PRIu64
			    " transitions (%s)", cn, viol->sequences, kinds, viol->transitions, stats);
		}
		for (int k = ORACLE_KIND_CROSS_VM; k < ORACLE_KINDS; k++) {
			if (r->viol[k].ex_state < 0)
				continue;
			describe(g, c, r->viol[k].ex_state, r->viol[k].ex_ev, ex, sizeof(ex));
			printf("#   shortest %s: %s\n", oracle_kind_name((enum oracle_kind)k), ex);
		}
		break;
	}
	}
	/* hv's required= is a report of the contract; say when it differs (not a failure
	 * outside guest/trap, where hv cannot know every guest IBPB or does not try). */
	if (!(c->policy == POLICY_GUEST && trap) && hvr->sequences && verbose) {
		describe(g, c, hvr->ex_state, hvr->ex_ev, ex, sizeof(ex));
		printf("#   note: hv's required= differs from the oracle at %" PRIu64
		       " entry transitions, e.g. %s\n", hvr->transitions, ex);
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
		  b.extra == r.f[C_EXTRA].sequences && b.hv_req == r.f[C_HV_REQ].sequences;
	for (int k = 0; k < ORACLE_KINDS; k++)
		ok = ok && b.viol[k] == r.viol[k].sequences;
	tap(ok, "%s: merged counts equal brute force at depth %d (%" PRIu64 " sequences,"
	    " violations %" PRIu64 "/%" PRIu64 "/%" PRIu64 ", extra %" PRIu64 ", hv-required"
	    " mismatches %" PRIu64 "; merged: %" PRIu64 " states)", cn, brute_depth,
	    b.sequences, b.viol[1], b.viol[2], b.viol[3], b.extra, b.hv_req, r.states);
	if (!ok)
		printf("#   merged: %" PRIu64 " sequences, violations %" PRIu64 "/%" PRIu64 "/%" PRIu64
		       ", extra %" PRIu64 ", not-exact %" PRIu64 "/%" PRIu64 ", hv-required %" PRIu64 "\n",
		       r.sequences, r.viol[1].sequences, r.viol[2].sequences, r.viol[3].sequences,
		       r.f[C_EXTRA].sequences, r.f[C_NOT_EXACT].sequences, b.not_exact,
		       r.f[C_HV_REQ].sequences);
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
	fprintf(f, "usage: test_exhaustive [--depth N] [--only PREFIX] [--brute N] [-j N] [-v]\n"
		   "  --depth N     explore every sequence of up to N events (default 8)\n"
		   "  --only P      only configurations whose name starts with P (e.g. guest/trap)\n"
		   "  --brute N     also re-explore without state merging up to N events and\n"
		   "                check the counts agree (validates the canonicalisation)\n"
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

	int nsanity = (int)(sizeof(sanity_cases) / sizeof(sanity_cases[0]));
	printf("1..%d\n", nsanity + ncfg * (brute_depth ? 2 : 1));
	printf("# world: pCPUs p0 p1; VM 0 = v0 v1, VM 1 = v2 v3; E(v,p) entry, I(p) IBPB and"
	       " S(p) SBPB by the vCPU current on p\n");
	printf("# in examples: b = hv's barrier, r = oracle's required, hv:r = hv's required=,"
	       " then hv's reason; [unseen] = a PRED_CMD write hv did not see (passthrough)\n");
	run_sanity();

	double t0 = now_s();
	u64 total_states = 0, total_transitions = 0;
	int per = brute_depth ? 2 : 1;
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
				if (strncmp(line, "not ok", 6) == 0)
					tap_failed++;
				fputs(line, stdout);
			}
			fclose(out[i]);
			if (!got) { /* the worker died on this one */
				cfg_name(&cfgs[i], cn, sizeof(cn));
				tap_n = nsanity + i * per;
				for (int k = 0; k < per; k++)
					tap(false, "%s: no result (worker crashed)", cn);
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
