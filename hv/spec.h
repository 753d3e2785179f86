/*
 * hv/spec.h - hv's host-side speculation mitigations (docs/security.md).
 *
 * spec.c is the pure part: from what the CPU enumerates (CPUID and
 * IA32_ARCH_CAPABILITIES, gathered by x86/spec_hw.c) and the `mitigations`
 * config key it decides what hv does, per vulnerability class, and writes
 * one line per class in the style of Linux's
 * /sys/devices/system/cpu/vulnerabilities. The host unit tests feed it CPUs
 * of their own (tests/unit/test_spec.c).
 *
 * x86/spec_hw.c is the hardware part: it reads the CPU, sets hv's own
 * IA32_SPEC_CTRL / EFER.AIBRSE on every pCPU, and patches the entry/exit
 * sites and the retpoline thunks once, at boot, before hv's text is
 * checksummed and before any other pCPU runs.
 */
#ifndef HV_SPEC_H
#define HV_SPEC_H

#include "config.h"
#include "lib.h"

/* IA32_SPEC_CTRL (MSR 48h) bits: SDM Vol. 4 table 2-2. */
#define SPEC_CTRL_IBRS BIT(0)
#define SPEC_CTRL_STIBP BIT(1)
#define SPEC_CTRL_SSBD BIT(2)
#define SPEC_CTRL_BHI_DIS_S BIT(10)

/* IA32_ARCH_CAPABILITIES (MSR 10Ah) bits: SDM Vol. 4 table 2-2. */
#define ARCH_CAP_RDCL_NO BIT(0)
#define ARCH_CAP_IBRS_ALL BIT(1)
#define ARCH_CAP_RSBA BIT(2)
#define ARCH_CAP_SKIP_L1DFL_VMENTRY BIT(3)
#define ARCH_CAP_SSB_NO BIT(4)
#define ARCH_CAP_MDS_NO BIT(5)
#define ARCH_CAP_PSCHANGE_MC_NO BIT(6)
#define ARCH_CAP_TAA_NO BIT(8)
#define ARCH_CAP_SBDR_SSDP_NO BIT(13)
#define ARCH_CAP_FBSDP_NO BIT(14)
#define ARCH_CAP_PSDP_NO BIT(15)
#define ARCH_CAP_FB_CLEAR BIT(17)
#define ARCH_CAP_RRSBA BIT(19)
#define ARCH_CAP_BHI_NO BIT(20)
#define ARCH_CAP_PBRSB_NO BIT(24)
#define ARCH_CAP_GDS_NO BIT(26)
#define ARCH_CAP_RFDS_NO BIT(27)
#define ARCH_CAP_RFDS_CLEAR BIT(28)

enum spec_vendor { SPEC_OTHER, SPEC_INTEL, SPEC_AMD };

/* What the CPU enumerates: raw registers, decoded by spec_decide(). */
struct spec_cpu {
	enum spec_vendor vendor;
	unsigned family, model;      /* display family/model (CPUID 1) */
	u32 l7_ebx, l7_edx;          /* CPUID 7.0 */
	u32 l7_2_edx;                /* CPUID 7.2 */
	u32 ext8_ebx;                /* CPUID 8000_0008h */
	u32 exta_edx;                /* CPUID 8000_000Ah (SVM features) */
	u32 ext21_eax, ext21_ecx;    /* CPUID 8000_0021h */
	u64 arch_cap;                /* IA32_ARCH_CAPABILITIES, 0 if not enumerated */
};

/* The vulnerability classes, in the order hv prints them. */
enum spec_vuln {
	V_SPECTRE_V1, V_SPECTRE_V2, V_RETBLEED, V_SRSO, V_BHI, V_MDS, V_TAA,
	V_MMIO_STALE_DATA, V_RFDS, V_TSA, V_L1TF, V_SSB, V_COUNT
};
extern const char *const spec_vuln_names[V_COUNT];

#define SPEC_LINE 112

/* What hv does (decided once at boot). */
struct spec_plan {
	/* what the CPU has */
	bool has_spec_ctrl;          /* IA32_SPEC_CTRL exists */
	u64 spec_ctrl_bits;          /* ... and which of IBRS/STIBP/SSBD it implements */
	bool has_ibpb, has_arch_cap, v_spec_ctrl;
	/* what hv does */
	bool retpoline;              /* thunks stay retpolines (else: plain jmp *reg) */
	bool eibrs, autoibrs, ibrs;  /* IBRS flavour in force while hv runs */
	bool rsb_full, rsb_lite;     /* after each VM exit: 32-entry fill / PBRSB one-entry */
	bool ibpb_exit;              /* IBPB after each VM exit */
	bool bhi_dis_s, bhb_clear;   /* BHI: SPEC_CTRL bit, or the clearing loop after exit */
	bool verw;                   /* VERW before each VM entry */
	bool l1d_flush;              /* IA32_FLUSH_CMD before each VM entry */
	u64 host_spec_ctrl;          /* hv's own IA32_SPEC_CTRL value */
	char state[V_COUNT][SPEC_LINE];
};

/*
 * Decide. mask: BIT(enum mitigation) of the measures allowed (`auto` passes
 * MIT_ALL, `off` 0, a list its names); is_auto says which measures are
 * worth it where the CPU leaves a choice (e.g. IBRS vs retpolines).
 */
void spec_decide(const struct spec_cpu *cpu, u32 mask, bool is_auto, struct spec_plan *plan);

/* The IA32_SPEC_CTRL bits a guest may set on this CPU. */
u64 spec_guest_spec_ctrl_bits(const struct spec_plan *plan);

/* ---- hardware side (x86/spec_hw.c) ---- */

extern struct spec_plan spec_plan;
/* hv's SPEC_CTRL value, read by the entry/exit stubs. */
extern u64 spec_host_spec_ctrl;

/* Boot CPU, once, before hv's text is checksummed and before the APs start. */
void spec_init(const struct hv_config *cfg);
/* Every pCPU (the boot CPU from spec_init): hv's SPEC_CTRL, AutoIBRS. */
void spec_pcpu_init(void);
/* The guest's CPUID speculation bits: leaf 7.0 EDX and 8000_0008h EBX. */
void spec_cpuid_bits(u32 leaf, u32 sub, u32 *ebx, u32 *edx);
struct vcpu;
/* SVM with V_SPEC_CTRL: the guest's value into its VMCB (svm.c). */
void svm_set_v_spec_ctrl(struct vcpu *v, u64 val);
/* One line for the guest's SPEC_CTRL handling ("switched ...", "virtual ..."). */
const char *spec_ctrl_state(void);
/* The per-vulnerability lines for the report and boot log, and as kv lines. */
void spec_report(void (*emit)(void *ctx, const char *line), void *ctx);
void spec_report_kv(void (*emit)(void *ctx, const char *line), void *ctx);

#endif
