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
#define CFG_LINUX_MEMORY MiB(128) /* a Linux VM's default memory (Debian's kernel needs 88 MiB) */
#define CFG_CMDLINE_MAX 2048 /* Linux command line, including NUL (x86 COMMAND_LINE_SIZE) */

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
	bool ap_sipi;                 /* ap_start = sipi: APs wait for INIT-SIPI-SIPI; default entry */
	bool test_device;             /* hv's MMIO test device (hv/emulate.c); default off */
	/* A Linux VM (docs/config.md, docs/platform.md "Linux"): `kernel` instead
	 * of `image`; hv/linux_load.c boots it. Empty strings when not given. */
	char kernel[CFG_PATH_MAX];    /* bzImage or ELF vmlinux with a PVH note */
	char initrd[CFG_PATH_MAX];    /* optional */
	char cmdline[CFG_CMDLINE_MAX];/* optional; the kernel's command line */
	unsigned kernel_line, initrd_line, cmdline_line;  /* for messages */
};

static inline bool vm_is_linux(const struct vm_config *vm)
{
	return vm->kernel[0] != '\0';
}

/* console = ...: a mask; 0 (no key) = every console the machine has. */
#define CONSOLE_SERIAL 1u
#define CONSOLE_SCREEN 2u

/* clock = ...: what measures the TSC and LAPIC timer rates (hv/x86/apic.c). */
enum clock_source { CLOCK_AUTO, CLOCK_CPUID, CLOCK_ACPI_PM, CLOCK_HPET, CLOCK_PIT };

/* on_end = ...: what hv does after the report (hv/x86/platform.c). */
enum on_end { ON_END_AUTO, ON_END_HALT, ON_END_RESET };

struct hv_config {
	enum barrier_policy policy;   /* default guest */
	enum barrier_track track;     /* default passthrough */
	u64 slice_us;                 /* time slice in microseconds, default 10000 */
	bool trace;                   /* default false */
	bool virtual_ibpb;            /* offer IBPB even if the CPU lacks it, default false */
	bool force_wrmsr;             /* execute wrmsr PRED_CMD even if not enumerated, default false */
	bool mitigations_auto;        /* `mitigations = auto` (default): hv picks per CPU */
	u32 mitigations;              /* else: BIT(enum mitigation) of the listed ones; off = 0 */
	unsigned max_pcpus;           /* default 1 */
	unsigned console;             /* CONSOLE_* mask; default 0 = all present */
	enum clock_source clock;      /* default auto */
	enum on_end on_end;           /* default auto */
	bool host_x2apic_enable;      /* test aid: loader turns x2APIC on; default off (keep) */
	int console_input;            /* 1 + index of the VM that gets hv's COM1 input; 0: none */
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
/*
 * hv's host-side speculation measures (docs/security.md), as named in the
 * `mitigations` key. Each is applied only where the CPU can do it.
 */
enum mitigation {
	MIT_RETPOLINE,   /* indirect branches through retpoline thunks */
	MIT_EIBRS,       /* Intel enhanced IBRS / AMD Automatic IBRS */
	MIT_IBRS,        /* IBRS set while hv runs (legacy IBRS) */
	MIT_RSB,         /* fill the return stack buffer after each VM exit */
	MIT_IBPB_EXIT,   /* IBPB on each VM exit (AMD Retbleed/SRSO) */
	MIT_BHI,         /* BHI_DIS_S, or the branch-history clearing loop */
	MIT_VERW,        /* VERW before each VM entry (MDS/TAA/MMIO/RFDS/TSA) */
	MIT_L1D_FLUSH,   /* L1D flush before each VM entry (L1TF) */
	MIT_COUNT
};
extern const char *const mitigation_names[MIT_COUNT];
#define MIT_ALL ((1u << MIT_COUNT) - 1)
/* "auto", "off" or the comma list, into buf. */
void mitigations_str(const struct hv_config *cfg, char *buf, size_t n);

const char *policy_name(enum barrier_policy p);
const char *track_name(enum barrier_track t);
const char *vm_ibpb_name(enum vm_ibpb b);
const char *result_name(enum vm_result r);

#endif
