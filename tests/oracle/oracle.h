/*
 * tests/oracle/oracle.h - the reference oracle for the IBPB barrier contract
 * (DESIGN.md section 2), written independently of hv/policy.c.
 *
 * It models the contract in the most literal way: for every pCPU a list of
 * "who trained predictions here since this pCPU was last cleaned, and since
 * when". Entries append to the list, host barriers and guest IBPBs empty it.
 * At every entry it asks the contract's two questions directly:
 *
 *  I1  (unless the entering VM's knob is never) is anything in p's list
 *      from a vCPU of another VM?
 *  I2  (if the entering VM is opted in) is anything in p's list from another
 *      vCPU of the same VM, or from the entering vCPU itself with a training
 *      start before that vCPU's latest guest IBPB (the migration hole)?
 *
 * A barrier is required iff one of those answers is yes; a violation is a
 * required barrier that was not issued. Nothing here is shared with hv: own
 * enums, own state, own clock (one tick per event).
 *
 * Host-only code (uses malloc); both build/oracle and the exhaustive checker
 * link it.
 */
#ifndef ORACLE_H
#define ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum oracle_knob { ORACLE_KNOB_AUTO, ORACLE_KNOB_ALWAYS, ORACLE_KNOB_NEVER };

/* Why a barrier was required (for a violation: which rule broke). */
enum oracle_kind {
	ORACLE_KIND_NONE,       /* not required */
	ORACLE_KIND_CROSS_VM,   /* I1: another VM trained on p */
	ORACLE_KIND_INTRA_VM,   /* I2: another vCPU of this opted-in VM */
	ORACLE_KIND_SELF_STALE, /* I2: v itself, before its latest guest IBPB */
	ORACLE_KINDS
};

#define ORACLE_NONE (-1)

/* PRED_CMD bits, restated here on purpose (no hv headers). */
#define ORACLE_PRED_CMD_IBPB 0x1ull
#define ORACLE_PRED_CMD_SBPB 0x80ull

struct oracle_verdict {
	bool required;          /* without a barrier now, I1 or I2 breaks */
	bool violation;         /* required and no barrier was issued */
	enum oracle_kind kind;  /* first rule that needs it: cross-vm, intra-vm, self-stale */
	int culprit;            /* a vCPU whose residue made it required, or ORACLE_NONE */
};

/* One line of a pCPU's list: vCPU `vcpu` has trained on p since `since`. */
struct oracle_training {
	unsigned vcpu;
	uint64_t since;         /* the oracle time it (re)started training after the cleaning */
};

struct oracle_pcpu {
	unsigned n;                     /* lines in `trained` */
	struct oracle_training *trained;/* at most one line per vCPU (its earliest) */
	int running;                    /* vCPU running on p now, or ORACLE_NONE */
};

struct oracle_vcpu {
	bool defined;
	unsigned vm;
	uint64_t last_ibpb;     /* oracle time of its latest guest IBPB, 0 = none */
	int running_on;         /* pCPU, or ORACLE_NONE */
};

struct oracle_vm {
	bool defined;
	enum oracle_knob knob;
	bool ibpb_seen;         /* one of its vCPUs issued a guest IBPB */
};

struct oracle_counts {
	uint64_t entries;
	uint64_t barriers;              /* entries with a host barrier issued */
	uint64_t required;              /* entries where the contract needed one */
	uint64_t required_by_kind[ORACLE_KINDS];
	uint64_t violations;
	uint64_t violations_by_kind[ORACLE_KINDS];
	uint64_t extra;                 /* barriers issued though not required */
	uint64_t ibpb;                  /* guest PRED_CMD writes with bit 0 */
	uint64_t sbpb;                  /* bit 7 without bit 0 */
	uint64_t other_writes;          /* neither bit (e.g. 0) */
};

struct oracle {
	unsigned npcpus, nvms, nvcpus;
	uint64_t clock;                 /* ticks once per event; 0 = before any */
	struct oracle_vm *vm;
	struct oracle_vcpu *vcpu;
	struct oracle_pcpu *pcpu;
	struct oracle_training *lines;  /* npcpus * nvcpus, backing store of the lists */
	struct oracle_counts count;
};

/* Allocate for the given sizes; every VM and vCPU starts undefined. 0 or -1. */
int oracle_init(struct oracle *o, unsigned npcpus, unsigned nvms, unsigned nvcpus);
void oracle_free(struct oracle *o);
/* dst must have been initialised with the same sizes. */
void oracle_copy(struct oracle *dst, const struct oracle *src);

void oracle_define_vm(struct oracle *o, unsigned vm, enum oracle_knob knob);
void oracle_define_vcpu(struct oracle *o, unsigned vcpu, unsigned vm);

bool oracle_opted_in(const struct oracle *o, unsigned vm);

/*
 * What the contract says if v entered p now, without changing anything.
 * (violation is always false here.)
 */
struct oracle_verdict oracle_judge(const struct oracle *o, unsigned p, unsigned v);

/*
 * v enters p; `barrier` says whether a host barrier was issued on p
 * immediately before. Judges the entry, counts it, then updates the lists:
 * the barrier (if any) empties p's list, whoever ran on p and wherever v ran
 * stop running there, and v starts training on p.
 */
struct oracle_verdict oracle_entry(struct oracle *o, unsigned p, unsigned v, bool barrier);

/*
 * v, running on p, wrote `value` to PRED_CMD. Bit 0 (IBPB) empties p's list
 * (v goes on training there from now), records v's latest IBPB and opts an
 * auto VM in. Anything else (SBPB, 0) is only counted.
 * Returns 0, or -1 if v is not running on p (the event is applied anyway).
 */
int oracle_guest_pred_cmd(struct oracle *o, unsigned p, unsigned v, uint64_t value);

/*
 * v stops running on p (yield, halt, stop); its residue stays. hv's idle
 * loop is trusted and trains nothing. Returns 0, or -1 if v was not running
 * on p (then nothing changes).
 */
int oracle_leave(struct oracle *o, unsigned p, unsigned v);

/*
 * A canonical key of the state that decides all future verdicts: opt-in
 * flags, who runs where, and for every pCPU and vCPU whether the vCPU has
 * trained there since the cleaning and, if so, whether that started before
 * the vCPU's latest guest IBPB. Times themselves (only their order matters,
 * and only that comparison is ever made), counters and the clock are left
 * out. oracle_key_words() words; returns the number written.
 */
size_t oracle_key_words(const struct oracle *o);

size_t oracle_key(const struct oracle *o, uint32_t *out);

/*
 * dst = src with every id renamed: pCPU p becomes pmap[p], vCPU v becomes
 * vmap[v], VM V becomes vmmap[V] (bijections; vmap must keep each vCPU in
 * its renamed VM). dst initialised with the same sizes. For checkers that
 * reduce by symmetry.
 */
void oracle_rename(struct oracle *dst, const struct oracle *src, const unsigned *pmap,
		   const unsigned *vmap, const unsigned *vmmap);

const char *oracle_kind_name(enum oracle_kind k);
const char *oracle_knob_name(enum oracle_knob k);
/* "auto" / "always" / "never" -> knob; -1 if none of them. */
int oracle_knob_parse(const char *s);

#endif
