/*
 * hv/config.h - the boot configuration: what the text file on the boot medium
 * says, parsed. Pure logic (no hardware access): built into hv and into the
 * host unit tests. docs/config.md is the user-facing reference.
 */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#include "lib.h"

#define CFG_MAX_VMS 16
#define CFG_MAX_VCPUS 64   /* per VM */
#define CFG_MAX_PCPUS 64
#define CFG_NAME_MAX 24    /* VM name, including NUL */
#define CFG_PATH_MAX 64    /* image file name, including NUL */
#define CFG_MIN_MEMORY MiB(2)
#define CFG_MAX_MEMORY GiB(1)
#define CFG_MAX_IMAGE_SIZE MiB(16)

enum barrier_policy { POLICY_NEVER, POLICY_SWITCH, POLICY_SWITCH_MIGRATE, POLICY_GUEST };
enum barrier_track { TRACK_PASSTHROUGH, TRACK_TRAP };
enum vm_ibpb { VM_IBPB_AUTO, VM_IBPB_ALWAYS, VM_IBPB_NEVER };
enum guest_mode { GUEST_MODE_LONG, GUEST_MODE_REAL };

/* How a VM is expected to end; compared with how it did end. */
enum vm_result {
	RESULT_NONE,      /* still running / not yet ended */
	RESULT_EXIT,      /* guest called the exit hypercall; status is its value */
	RESULT_SHUTDOWN,  /* triple fault (or other shutdown condition) */
	RESULT_LIMIT,     /* ran past its configured run limit */
	RESULT_HALT,      /* every vCPU halted or stopped, nothing can wake them */
	RESULT_FAULT,     /* hv ended it: bad access, unsupported instruction, ... */
};

struct vm_config {
	char name[CFG_NAME_MAX];
	char image[CFG_PATH_MAX];     /* file name on the boot medium */
	unsigned line;                /* line of the [vm NAME] header */
	enum guest_mode mode;         /* default long */
	u64 memory;                   /* bytes; default 2 MiB */
	unsigned vcpus;               /* default 1 */
	int pin[CFG_MAX_VCPUS];       /* pCPU per vCPU, -1 = any (default) */
	enum vm_ibpb ibpb;            /* default auto */
	u64 limit_ms;                 /* run-time limit, 0 = none (default) */
	enum vm_result expect;        /* default RESULT_EXIT */
	int expect_status;            /* for RESULT_EXIT; default 0 */
	u64 arg;                      /* passed to the guest in RBX at start; default 0 */
	bool test_device;             /* hv's MMIO test device (hv/emulate.c); default off */
};

struct hv_config {
	enum barrier_policy policy;   /* default guest */
	enum barrier_track track;     /* default passthrough */
	u64 slice_us;                 /* time slice in microseconds, default 10000 */
	bool trace;                   /* default false */
	bool virtual_ibpb;            /* offer IBPB even if the CPU lacks it, default false */
	bool force_wrmsr;             /* execute wrmsr PRED_CMD even if not enumerated, default false */
	unsigned max_pcpus;           /* default 1 */
	unsigned nvms;
	struct vm_config vms[CFG_MAX_VMS];
};

/*
 * Parse a config file. text need not be NUL-terminated; len is its size.
 * filename is used only in error messages.
 * Returns 0 and fills *cfg on success. On the first error returns -1 and
 * writes one line into err (no trailing newline) of the form
 *   "<filename>:<line>: <problem>"
 * naming what was found and what was expected.
 */
int config_parse(const char *text, size_t len, const char *filename,
		 struct hv_config *cfg, char *err, size_t errlen);

/* Names used in the config file and in reports. */
const char *policy_name(enum barrier_policy p);
const char *track_name(enum barrier_track t);
const char *vm_ibpb_name(enum vm_ibpb b);
const char *result_name(enum vm_result r);

#endif
