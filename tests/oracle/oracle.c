/*
 * tests/oracle/oracle.c - the reference oracle for the barrier contract.
 * See oracle.h. Deliberately simple: linear scans over short lists, no
 * summaries, no cleverness; correctness by inspection is the point.
 */
#include <stdlib.h>
#include <string.h>

#include "oracle.h"

static const char *const kind_names[ORACLE_KINDS] = {
	[ORACLE_KIND_NONE] = "none",
	[ORACLE_KIND_CROSS_VM] = "cross-vm",
	[ORACLE_KIND_INTRA_VM] = "intra-vm",
	[ORACLE_KIND_SELF_STALE] = "self-stale",
};

static const char *const knob_names[] = {
	[ORACLE_KNOB_AUTO] = "auto",
	[ORACLE_KNOB_ALWAYS] = "always",
	[ORACLE_KNOB_NEVER] = "never",
};

const char *oracle_kind_name(enum oracle_kind k)
{
	return (unsigned)k < ORACLE_KINDS ? kind_names[k] : "?";
}

const char *oracle_knob_name(enum oracle_knob k)
{
	return (unsigned)k < 3 ? knob_names[k] : "?";
}

int oracle_knob_parse(const char *s)
{
	for (int k = 0; k < 3; k++)
		if (strcmp(s, knob_names[k]) == 0)
			return k;
	return -1;
}

int oracle_init(struct oracle *o, unsigned npcpus, unsigned nvms, unsigned nvcpus)
{
	memset(o, 0, sizeof(*o));
	o->npcpus = npcpus;
	o->nvms = nvms;
	o->nvcpus = nvcpus;
	o->vm = calloc(nvms ? nvms : 1, sizeof(*o->vm));
	o->vcpu = calloc(nvcpus ? nvcpus : 1, sizeof(*o->vcpu));
	o->pcpu = calloc(npcpus ? npcpus : 1, sizeof(*o->pcpu));
	o->lines = calloc((size_t)(npcpus ? npcpus : 1) * (nvcpus ? nvcpus : 1),
			  sizeof(*o->lines));
	if (!o->vm || !o->vcpu || !o->pcpu || !o->lines) {
		oracle_free(o);
		return -1;
	}
	for (unsigned p = 0; p < npcpus; p++) {
		o->pcpu[p].trained = &o->lines[(size_t)p * nvcpus];
		o->pcpu[p].n = 0;
		o->pcpu[p].running = ORACLE_NONE;
	}
	for (unsigned v = 0; v < nvcpus; v++)
		o->vcpu[v].running_on = ORACLE_NONE;
	return 0;
}

void oracle_free(struct oracle *o)
{
	free(o->vm);
	free(o->vcpu);
	free(o->pcpu);
	free(o->lines);
	memset(o, 0, sizeof(*o));
}

void oracle_copy(struct oracle *dst, const struct oracle *src)
{
	/* Same sizes: copy the arrays, keep dst's own pointers. */
	memcpy(dst->vm, src->vm, src->nvms * sizeof(*src->vm));
	memcpy(dst->vcpu, src->vcpu, src->nvcpus * sizeof(*src->vcpu));
	memcpy(dst->lines, src->lines,
	       (size_t)src->npcpus * src->nvcpus * sizeof(*src->lines));
	for (unsigned p = 0; p < src->npcpus; p++) {
		dst->pcpu[p].n = src->pcpu[p].n;
		dst->pcpu[p].running = src->pcpu[p].running;
	}
	dst->clock = src->clock;
	dst->count = src->count;
}

void oracle_rename(struct oracle *dst, const struct oracle *src, const unsigned *pmap,
		   const unsigned *vmap, const unsigned *vmmap)
{
	for (unsigned V = 0; V < src->nvms; V++)
		dst->vm[vmmap[V]] = src->vm[V];
	for (unsigned v = 0; v < src->nvcpus; v++) {
		struct oracle_vcpu c = src->vcpu[v];
		c.vm = vmmap[c.vm];
		if (c.running_on != ORACLE_NONE)
			c.running_on = (int)pmap[c.running_on];
		dst->vcpu[vmap[v]] = c;
	}
	for (unsigned p = 0; p < src->npcpus; p++) {
		const struct oracle_pcpu *from = &src->pcpu[p];
		struct oracle_pcpu *to = &dst->pcpu[pmap[p]];
		to->running = from->running == ORACLE_NONE ? ORACLE_NONE
							   : (int)vmap[from->running];
		to->n = from->n;
		for (unsigned i = 0; i < from->n; i++) {
			to->trained[i].vcpu = vmap[from->trained[i].vcpu];
			to->trained[i].since = from->trained[i].since;
		}
	}
	dst->clock = src->clock;
	dst->count = src->count;
}

void oracle_define_vm(struct oracle *o, unsigned vm, enum oracle_knob knob)
{
	o->vm[vm].defined = true;
	o->vm[vm].knob = knob;
	o->vm[vm].ibpb_seen = false;
}

void oracle_define_vcpu(struct oracle *o, unsigned vcpu, unsigned vm)
{
	o->vcpu[vcpu].defined = true;
	o->vcpu[vcpu].vm = vm;
	o->vcpu[vcpu].last_ibpb = 0;
	o->vcpu[vcpu].running_on = ORACLE_NONE;
}

bool oracle_opted_in(const struct oracle *o, unsigned vm)
{
	switch (o->vm[vm].knob) {
	case ORACLE_KNOB_ALWAYS:
		return true;
	case ORACLE_KNOB_AUTO:
		return o->vm[vm].ibpb_seen;
	case ORACLE_KNOB_NEVER:
		break;
	}
	return false;
}

/* ---- the lists -------------------------------------------------------------- */

static void clean(struct oracle *o, unsigned p)
{
	o->pcpu[p].n = 0;
}

/* v trains on p from time t on: add a line unless v already has one. */
static void start_training(struct oracle *o, unsigned p, unsigned v, uint64_t t)
{
	struct oracle_pcpu *pc = &o->pcpu[p];
	for (unsigned i = 0; i < pc->n; i++)
		if (pc->trained[i].vcpu == v)
			return; /* trained here already since the cleaning: keep the earliest */
	pc->trained[pc->n].vcpu = v;
	pc->trained[pc->n].since = t;
	pc->n++;
}

/* Nobody runs on p any more; v runs nowhere any more. */
static void stop_running(struct oracle *o, unsigned p, unsigned v)
{
	int was = o->pcpu[p].running;
	if (was != ORACLE_NONE)
		o->vcpu[was].running_on = ORACLE_NONE;
	o->pcpu[p].running = ORACLE_NONE;
	int where = o->vcpu[v].running_on;
	if (where != ORACLE_NONE)
		o->pcpu[where].running = ORACLE_NONE;
	o->vcpu[v].running_on = ORACLE_NONE;
}

/* ---- the contract ---------------------------------------------------------- */

struct oracle_verdict oracle_judge(const struct oracle *o, unsigned p, unsigned v)
{
	struct oracle_verdict r = { false, false, ORACLE_KIND_NONE, ORACLE_NONE };
	unsigned V = o->vcpu[v].vm;
	const struct oracle_pcpu *pc = &o->pcpu[p];

	if (o->vm[V].knob == ORACLE_KNOB_NEVER)
		return r; /* I1 waived, I2 never applies */

	/* I1: anything from another VM? */
	for (unsigned i = 0; i < pc->n; i++) {
		unsigned w = pc->trained[i].vcpu;
		if (o->vcpu[w].vm != V) {
			r.required = true;
			r.kind = ORACLE_KIND_CROSS_VM;
			r.culprit = (int)w;
			return r;
		}
	}
	if (!oracle_opted_in(o, V))
		return r;
	/* I2: another vCPU of V? */
	for (unsigned i = 0; i < pc->n; i++) {
		unsigned w = pc->trained[i].vcpu;
		if (w != v) {
			r.required = true;
			r.kind = ORACLE_KIND_INTRA_VM;
			r.culprit = (int)w;
			return r;
		}
	}
	/* I2: v itself, trained before its latest guest IBPB? */
	for (unsigned i = 0; i < pc->n; i++) {
		if (pc->trained[i].vcpu == v && pc->trained[i].since < o->vcpu[v].last_ibpb) {
			r.required = true;
			r.kind = ORACLE_KIND_SELF_STALE;
			r.culprit = (int)v;
			return r;
		}
	}
	return r;
}

struct oracle_verdict oracle_entry(struct oracle *o, unsigned p, unsigned v, bool barrier)
{
	uint64_t t = ++o->clock;
	struct oracle_verdict r = oracle_judge(o, p, v);

	r.violation = r.required && !barrier;
	o->count.entries++;
	if (barrier)
		o->count.barriers++;
	if (r.required) {
		o->count.required++;
		o->count.required_by_kind[r.kind]++;
	} else if (barrier) {
		o->count.extra++;
	}
	if (r.violation) {
		o->count.violations++;
		o->count.violations_by_kind[r.kind]++;
	}

	if (barrier)
		clean(o, p);
	stop_running(o, p, v);
	o->pcpu[p].running = (int)v;
	o->vcpu[v].running_on = (int)p;
	start_training(o, p, v, t);
	return r;
}

int oracle_guest_pred_cmd(struct oracle *o, unsigned p, unsigned v, uint64_t value)
{
	uint64_t t = ++o->clock;
	int ok = o->pcpu[p].running == (int)v ? 0 : -1;

	if (value & ORACLE_PRED_CMD_IBPB) {
		o->count.ibpb++;
		clean(o, p);
		start_training(o, p, v, t); /* v keeps running, so keeps training */
		o->vcpu[v].last_ibpb = t;
		o->vm[o->vcpu[v].vm].ibpb_seen = true;
	} else if (value & ORACLE_PRED_CMD_SBPB) {
		o->count.sbpb++;
	} else {
		o->count.other_writes++;
	}
	return ok;
}

int oracle_leave(struct oracle *o, unsigned p, unsigned v)
{
	if (o->pcpu[p].running != (int)v)
		return -1;
	o->clock++;
	stop_running(o, p, v);
	return 0;
}

/* ---- canonical key ---------------------------------------------------------- */

/*
 * The only comparison the oracle ever makes between times is "did w's line
 * on p start before w's latest guest IBPB?", and every new time is later
 * than all stored ones. So for each (pCPU, vCPU) it is enough to know:
 * absent, present and trained only after w's latest IBPB ("fresh"), or
 * present from before it ("stale"). That is the rank order of the times,
 * reduced to the comparisons that can ever be made.
 */
enum { KEY_ABSENT = 0, KEY_FRESH = 1, KEY_STALE = 2 };

size_t oracle_key_words(const struct oracle *o)
{
	return o->nvms + (size_t)o->nvcpus + o->npcpus * (1 + (size_t)o->nvcpus);
}

size_t oracle_key(const struct oracle *o, uint32_t *out)
{
	size_t w = 0;

	for (unsigned V = 0; V < o->nvms; V++)
		out[w++] = o->vm[V].ibpb_seen;
	for (unsigned v = 0; v < o->nvcpus; v++)
		out[w++] = (uint32_t)(o->vcpu[v].running_on + 1);
	for (unsigned p = 0; p < o->npcpus; p++) {
		out[w++] = (uint32_t)(o->pcpu[p].running + 1);
		size_t base = w;
		for (unsigned v = 0; v < o->nvcpus; v++)
			out[w++] = KEY_ABSENT;
		for (unsigned i = 0; i < o->pcpu[p].n; i++) {
			const struct oracle_training *t = &o->pcpu[p].trained[i];
			out[base + t->vcpu] = t->since < o->vcpu[t->vcpu].last_ibpb ? KEY_STALE
										   : KEY_FRESH;
		}
	}
	return w;
}
