/*
 * hv/vmx/vmx.c - the Intel VT-x (VMX) backend: Intel SDM Vol. 3C ch. 23-28,
 * the mirror of hv/svm/svm.c behind hv/vendor.h. docs/vmx.md explains the
 * choices; the short version:
 *
 * Per pCPU: IA32_FEATURE_CONTROL enabled, CR0/CR4 fixed bits, VMXON region,
 * which VMCS is current there, whose SYSCALL MSRs are in the registers.
 * Per VM: an EPT mapping exactly its RAM, a VPID. Per vCPU: a VMCS and an
 * MSR bitmap (per vCPU because the PRED_CMD passthrough is per vCPU). One
 * pair of I/O bitmaps for everybody: every port exits.
 *
 * Controls hv needs (probe() names any the CPU lacks): EPT + unrestricted
 * guest (real-mode guests run natively), external-interrupt and NMI exiting
 * (without acknowledge-on-exit: the timer interrupt stays pending in the
 * LAPIC for generic code to take), the VMX-preemption timer (the slice
 * timer: Bochs does not exit on a host interrupt while the guest has IF=0),
 * HLT/MWAIT/MONITOR/CR8 exiting, MSR and I/O bitmaps, 64-bit host, and
 * guest EFER switched by the VMCS. Optional: VPID, PAT switching, WBINVD
 * exiting, RDTSCP, INVPCID.
 */
#include "../guest_layout.h"
#include "../guest_mem.h"
#include "../hv.h"
#include "../insn.h"
#include "../linux.h"
#include "../pagetable.h"
#include "../spec.h"
#include "../vendor.h"
#include "../x86/cpu.h"
#include "../x86/trap.h"
#include "vmcs.h"

#define CR0_NW BIT(29)
#define CR0_CD BIT(30)
#define CR4_VMXE BIT(13)
#define CR4_OSXSAVE BIT(18)
#define RFLAGS_VM BIT(17)
#define AR_L BIT(13)                  /* CS.L in VMCS access rights (Table 24-2) */
#define AR_DB BIT(14)

/* ---- what probe() found; the same on every pCPU ---- */

static struct {
	u32 revision;                   /* VMCS revision identifier (A.1) */
	u32 pin, proc, proc2, exit, entry;  /* controls every VMCS starts with */
	u32 entry_allowed1;             /* entry controls that may be 1 (IA-32e toggling) */
	u64 caps[5];                    /* capability MSRs used, for dump() (pin proc proc2 exit entry) */
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u64 ept_vpid_cap;
	unsigned preempt_rate;          /* timer ticks every 2^rate TSC cycles (A.6) */
	bool vpid, pat;
	bool nmi_window;                /* virtual NMIs and NMI-window exiting */
	bool ple, pause_exiting;        /* PAUSE-loop exiting, else PAUSE exiting */
} vmx;

static char probe_msg[320];
static u8 *io_bitmaps;              /* A and B: two pages, all ones */

struct vmx_vcpu;

struct vmx_pcpu {
	unsigned id;
	void *vmxon;                    /* VMXON region (24.11.5) */
	struct vmx_vcpu *current;       /* whose VMCS is current here (VMPTRLD), or NULL */
	struct vmx_vcpu *msr_owner;     /* whose lazy_msrs are in the registers */
	struct vmx_vcpu *vpid_owner[CFG_MAX_VMS + 1];  /* who last used each VPID here */
	u64 host_cr3, host_fs_base, host_gs_base, host_efer, host_pat;
	u64 host_sysenter_cs, host_sysenter_esp, host_sysenter_eip;
};

struct vmx_vm {
	u64 *ept;                       /* EPT PML4 */
	u64 eptp;
	u16 vpid;                       /* 0: no VPID (every entry and exit flushes) */
};

/* Guest MSRs the VMCS does not switch, loaded lazily per pCPU (docs/vmx.md). */
static const u32 lazy_msrs[] = { MSR_STAR, MSR_LSTAR, MSR_SFMASK, MSR_KERNEL_GS_BASE };
#define NLAZY ARRAY_SIZE(lazy_msrs)

struct vmx_vcpu {
	struct vcpu *v;
	void *vmcs;
	u64 vmcs_pa;
	u8 *msr_bitmap;
	struct vmx_pcpu *active_on;     /* pCPU where the VMCS is active; NULL: clear, in memory */
	struct vmx_pcpu *host_of;       /* pCPU whose host state the VMCS holds */
	struct vmx_pcpu *last_pcpu;     /* where it last ran */
	bool launched;                  /* launch state: VMRESUME, else VMLAUNCH */
	bool pause_sw, pause_on;        /* PAUSE exiting toggled by vmx_run (no PLE) */
	bool rip_cached, rip_dirty;     /* guest RIP kept here while the VMCS is clear */
	u64 rip;
	int fail;                       /* last VMfail of VMLAUNCH/VMRESUME (enum vmx_status) */
	u32 insn_error;                 /* its VM-instruction error */
	u64 lazy[NLAZY];                /* lazy_msrs while not in the registers */
	u64 cstar;                      /* IA32_CSTAR: unused by Intel CPUs, kept for the guest */
	u64 pat;                        /* guest PAT (also in the VMCS if the CPU switches it) */
	u64 tpr;                        /* guest CR8 (not applied: hv delivers no interrupts) */
	u64 cr2;                        /* guest CR2 while not in the register (not in the VMCS) */
	u64 internal_exits;             /* exits handled inside the backend */
};

int vmx_enter(struct guest_regs *regs, bool launched);
void vmx_exit(void);                /* HOST_RIP, in vmx_entry.S */

static struct vmx_vcpu *vx(struct vcpu *v) { return v->vendor; }

/* ---- one wrapper per VMX instruction (SDM 30.2 "conventions": CF/ZF) ---- */

enum vmx_status { VMX_OK = 0, VMX_FAIL_INVALID = 1, VMX_FAIL_VALID = 2 };

static inline enum vmx_status vmx_status(bool cf, bool zf)
{
	return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK;
}

static inline enum vmx_status vmxon(u64 pa)
{
	bool cf, zf;
	__asm__ volatile("vmxon %[pa]" : "=@ccc"(cf), "=@ccz"(zf) : [pa] "m"(pa) : "memory");
	return vmx_status(cf, zf);
}

static inline enum vmx_status vmclear(u64 pa)
{
	bool cf, zf;
	__asm__ volatile("vmclear %[pa]" : "=@ccc"(cf), "=@ccz"(zf) : [pa] "m"(pa) : "memory");
	return vmx_status(cf, zf);
}

static inline enum vmx_status vmptrld(u64 pa)
{
	bool cf, zf;
	__asm__ volatile("vmptrld %[pa]" : "=@ccc"(cf), "=@ccz"(zf) : [pa] "m"(pa) : "memory");
	return vmx_status(cf, zf);
}

static inline u64 vmptrst(void)
{
	u64 pa;
	__asm__ volatile("vmptrst %[pa]" : [pa] "=m"(pa)::"memory");
	return pa;
}

static inline enum vmx_status vmread(u32 field, u64 *val)
{
	bool cf, zf;
	u64 v;
	__asm__ volatile("vmread %[f], %[v]" : [v] "=r"(v), "=@ccc"(cf), "=@ccz"(zf) : [f] "r"((u64)field));
	*val = v;
	return vmx_status(cf, zf);
}

static inline enum vmx_status vmwrite(u32 field, u64 val)
{
	bool cf, zf;
	__asm__ volatile("vmwrite %[v], %[f]" : "=@ccc"(cf), "=@ccz"(zf) : [v] "r"(val), [f] "r"((u64)field) : "memory");
	return vmx_status(cf, zf);
}

static inline enum vmx_status invept(u64 type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };
	bool cf, zf;
	__asm__ volatile("invept %[d], %[t]" : "=@ccc"(cf), "=@ccz"(zf) : [d] "m"(desc), [t] "r"(type) : "memory");
	return vmx_status(cf, zf);
}

static inline enum vmx_status invvpid(u64 type, u16 vpid)
{
	struct { u64 vpid, linear; } desc = { vpid, 0 };
	bool cf, zf;
	__asm__ volatile("invvpid %[d], %[t]" : "=@ccc"(cf), "=@ccz"(zf) : [d] "m"(desc), [t] "r"(type) : "memory");
	return vmx_status(cf, zf);
}

/* VM-instruction error numbers, SDM Vol. 3C 30.4 (Table 30-1). */
static const char *vmx_error_text(u32 n)
{
	static const char *const text[] = {
		[1] = "VMCALL executed in VMX root operation",
		[2] = "VMCLEAR with invalid physical address",
		[3] = "VMCLEAR with VMXON pointer",
		[4] = "VMLAUNCH with non-clear VMCS",
		[5] = "VMRESUME with non-launched VMCS",
		[6] = "VMRESUME after VMXOFF",
		[7] = "VM entry with invalid control field(s)",
		[8] = "VM entry with invalid host-state field(s)",
		[9] = "VMPTRLD with invalid physical address",
		[10] = "VMPTRLD with VMXON pointer",
		[11] = "VMPTRLD with incorrect VMCS revision identifier",
		[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
		[13] = "VMWRITE to read-only VMCS component",
		[15] = "VMXON executed in VMX root operation",
		[16] = "VM entry with invalid executive-VMCS pointer",
		[17] = "VM entry with non-launched executive VMCS",
		[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
		[19] = "VMCALL with non-clear VMCS",
		[20] = "VMCALL with invalid VM-exit control fields",
		[22] = "VMCALL with incorrect MSEG revision identifier",
		[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
		[24] = "VMCALL with invalid SMM-monitor features",
		[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
		[26] = "VM entry with events blocked by MOV SS",
		[28] = "invalid operand to INVEPT/INVVPID",
	};
	return n < ARRAY_SIZE(text) && text[n] ? text[n] : "unknown VM-instruction error";
}

static u32 insn_error_now(void)
{
	u64 n = 0;
	vmread(VMCS_INSN_ERROR, &n);
	return (u32)n;
}

static void __attribute__((noreturn)) vmx_insn_panic(const char *insn, const char *what, u64 arg, enum vmx_status st)
{
	if (st == VMX_FAIL_VALID) {
		u32 n = insn_error_now();
		PANIC("%s %s (0x%llx) failed: VM-instruction error %u (%s)", insn, what,
		      (unsigned long long)arg, n, vmx_error_text(n));
	}
	PANIC("%s %s (0x%llx) failed: VMfailInvalid (no current VMCS, or a bad pointer)", insn, what,
	      (unsigned long long)arg);
}

/* Must-not-fail variants: a failure here is an hv bug, named by its field. */
static u64 vmcs_read_named(u32 field, const char *name)
{
	u64 v;
	enum vmx_status st = vmread(field, &v);
	if (__builtin_expect(st != VMX_OK, 0))
		vmx_insn_panic("VMREAD", name, field, st);
	return v;
}

static void vmcs_write_named(u32 field, u64 val, const char *name)
{
	enum vmx_status st = vmwrite(field, val);
	if (__builtin_expect(st != VMX_OK, 0))
		vmx_insn_panic("VMWRITE", name, field, st);
}

#define vmcs_read(f) vmcs_read_named(f, #f)
#define vmcs_write(f, v) vmcs_write_named(f, v, #f)

static void vmcs_load(u64 pa, const char *what)
{
	enum vmx_status st = vmptrld(pa);
	if (st != VMX_OK)
		vmx_insn_panic("VMPTRLD", what, pa, st);
}

static void vmcs_clear(u64 pa, const char *what)
{
	enum vmx_status st = vmclear(pa);
	if (st != VMX_OK)
		vmx_insn_panic("VMCLEAR", what, pa, st);
}

/* Flush the TLB entries of one VPID (28.3.3.3), the all-context kind if single is missing. */
static void flush_vpid(u16 vpid)
{
	bool single = vmx.ept_vpid_cap & VPID_CAP_INVVPID_SINGLE;
	enum vmx_status st = invvpid(single ? INVVPID_SINGLE : INVVPID_ALL, vpid);
	if (st != VMX_OK)
		vmx_insn_panic("INVVPID", single ? "single-context" : "all-context", vpid, st);
}

/* ---- probe: is this an Intel CPU hv can run on? ---- */

/*
 * IA32_FEATURE_CONTROL (SDM Vol. 3C 23.7): VMXON outside SMX needs bit 2,
 * and the MSR must be locked (bit 0). The firmware usually locks it; when
 * it did not, hv enables VMX and locks it. NULL when VMXON may run.
 */
static const char *feature_control_enable(void)
{
	u64 fc = rdmsr(MSR_FEATURE_CONTROL);
	if (fc & FEATURE_CONTROL_LOCK)
		return (fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX) ? NULL :
		       "VT-x is disabled by the firmware: enable Intel Virtualization Technology in the firmware setup";
	wrmsr(MSR_FEATURE_CONTROL, fc | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCK);
	return NULL;
}

struct ctl_name {
	u32 bit;
	const char *name;
};

static size_t missing_len;

static void note_text(const char *text)
{
	size_t room = missing_len < sizeof(probe_msg) ? sizeof(probe_msg) - missing_len : 0;
	missing_len += (size_t)ksnprintf(probe_msg + missing_len, room, "%s%s", missing_len ? ", " : "", text);
}

static void note_missing(const char *kind, const char *name)
{
	char buf[96];
	ksnprintf(buf, sizeof(buf), "%s '%s'", kind, name);
	note_text(buf);
}

/*
 * A control word from its capability MSR (Appendix A.3-A.5): a bit clear in
 * the high half must be 0, a bit set in the low half must be 1. Every
 * required control must be allowed to be 1 (else its name goes into the
 * message); optional ones are used where allowed.
 */
static u32 adjust_controls(u64 cap, const char *kind, const struct ctl_name *req, unsigned nreq, u32 optional)
{
	u32 must1 = (u32)cap, may1 = (u32)(cap >> 32);
	u32 ctl = must1 | (optional & may1);
	for (unsigned i = 0; i < nreq; i++) {
		if (may1 & req[i].bit)
			ctl |= req[i].bit;
		else
			note_missing(kind, req[i].name);
	}
	return ctl;
}

static const struct ctl_name pin_required[] = {
	{ PIN_EXT_INTR_EXITING, "external-interrupt exiting" },
	{ PIN_NMI_EXITING, "NMI exiting" },
	{ PIN_PREEMPT_TIMER, "activate VMX-preemption timer" },
};
static const struct ctl_name proc_required[] = {
	{ PROC_HLT_EXITING, "HLT exiting" },
	{ PROC_MWAIT_EXITING, "MWAIT exiting" },
	{ PROC_MONITOR_EXITING, "MONITOR exiting" },
	{ PROC_CR8_LOAD_EXITING, "CR8-load exiting" },
	{ PROC_CR8_STORE_EXITING, "CR8-store exiting" },
	{ PROC_MSR_BITMAPS, "use MSR bitmaps" },
	{ PROC_RDPMC_EXITING, "RDPMC exiting" },
	{ PROC_SECONDARY, "activate secondary controls" },
};
static const struct ctl_name proc2_required[] = {
	{ PROC2_EPT, "enable EPT" },
	{ PROC2_UNRESTRICTED, "unrestricted guest" },
};
static const struct ctl_name exit_required[] = {
	{ EXIT_HOST_64, "host address-space size" },
	{ EXIT_SAVE_EFER, "save IA32_EFER" },
	{ EXIT_LOAD_EFER, "load IA32_EFER" },
	{ EXIT_SAVE_DEBUG, "save debug controls" },
};
static const struct ctl_name entry_required[] = {
	{ ENTRY_LOAD_EFER, "load IA32_EFER" },
	{ ENTRY_LOAD_DEBUG, "load debug controls" },
};

static const char *vmx_probe(void)
{
	if (!cpu_vendor_is("GenuineIntel"))
		return "not an Intel CPU (VMX backend)";
	if (!(cpuid(1, 0).ecx & BIT(5)))
		return "this CPU has no VT-x (VMX): CPUID.1:ECX[5] is clear";
	const char *why = feature_control_enable();
	if (why)
		return why;

	/* IA32_VMX_BASIC (A.1): revision id, region size, WB memory type, true controls. */
	u64 basic = rdmsr(MSR_VMX_BASIC);
	vmx.revision = VMX_BASIC_REVISION(basic);
	if (VMX_BASIC_VMCS_SIZE(basic) > 4096 || VMX_BASIC_MEMTYPE(basic) != 6)
		return "VT-x: unsupported VMCS region (larger than 4 KiB or not write-back, IA32_VMX_BASIC)";
	if (basic & VMX_BASIC_PA_32BIT)
		return "VT-x: VMX structures limited to 32-bit physical addresses (IA32_VMX_BASIC[48])";
	bool true_ctls = basic & VMX_BASIC_TRUE_CTLS;

	missing_len = 0;
	probe_msg[0] = 0;
	u64 pin_cap = rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED_CTLS : MSR_VMX_PINBASED_CTLS);
	u64 proc_cap = rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS);
	u64 exit_cap = rdmsr(true_ctls ? MSR_VMX_TRUE_EXIT_CTLS : MSR_VMX_EXIT_CTLS);
	u64 entry_cap = rdmsr(true_ctls ? MSR_VMX_TRUE_ENTRY_CTLS : MSR_VMX_ENTRY_CTLS);
	/* Secondary controls exist only if the primary ones can activate them (A.3.3). */
	u64 proc2_cap = (proc_cap >> 32) & PROC_SECONDARY ? rdmsr(MSR_VMX_PROCBASED_CTLS2) : 0;

	/* Virtual NMIs (24.6.1) where the CPU has them: the CPU then keeps
	 * "blocking by NMI" for an injected NMI until the guest's IRET, and
	 * NMI-window exiting (24.6.2) tells hv when the next may go in. */
	vmx.pin = adjust_controls(pin_cap, "pin-based", pin_required, ARRAY_SIZE(pin_required),
				  PIN_VIRTUAL_NMIS);
	vmx.nmi_window = (vmx.pin & PIN_VIRTUAL_NMIS) && ((proc_cap >> 32) & PROC_NMI_WINDOW);
	/* PAUSE loops (hv/vcpu.c pause_exit): PAUSE-loop exiting where the CPU
	 * has it, else PAUSE exiting (every PAUSE) with hv counting; set per
	 * VMCS for VMs of more than one vCPU (vmx_vcpu_init). */
	vmx.ple = (proc2_cap >> 32) & PROC2_PAUSE_LOOP;
	vmx.pause_exiting = !vmx.ple && ((proc_cap >> 32) & PROC_PAUSE_EXITING);
	vmx.proc = adjust_controls(proc_cap, "processor-based", proc_required, ARRAY_SIZE(proc_required), 0);
	/* Every port exits: through I/O bitmaps of all ones, or unconditionally. */
	if ((proc_cap >> 32) & PROC_IO_BITMAPS)
		vmx.proc |= PROC_IO_BITMAPS;
	else if ((proc_cap >> 32) & PROC_UNCOND_IO_EXITING)
		vmx.proc |= PROC_UNCOND_IO_EXITING;
	else
		note_text("processor-based 'use I/O bitmaps' or 'unconditional I/O exiting'");
	vmx.proc2 = adjust_controls(proc2_cap, "secondary", proc2_required, ARRAY_SIZE(proc2_required),
				    PROC2_VPID | PROC2_WBINVD_EXITING | PROC2_RDTSCP | PROC2_INVPCID |
				    PROC2_BUS_LOCK_DETECT | PROC2_NOTIFY_EXITING);
	vmx.exit = adjust_controls(exit_cap, "VM-exit", exit_required, ARRAY_SIZE(exit_required),
				   EXIT_SAVE_PAT | EXIT_LOAD_PAT);
	vmx.entry = adjust_controls(entry_cap, "VM-entry", entry_required, ARRAY_SIZE(entry_required),
				    ENTRY_LOAD_PAT);
	vmx.entry_allowed1 = (u32)(entry_cap >> 32);
	if (!(vmx.entry_allowed1 & ENTRY_IA32E_GUEST))
		note_missing("VM-entry", "IA-32e mode guest");
	vmx.caps[0] = pin_cap, vmx.caps[1] = proc_cap, vmx.caps[2] = proc2_cap;
	vmx.caps[3] = exit_cap, vmx.caps[4] = entry_cap;

	/* EPT (A.10): 4-level walks, write-back, 2 MiB pages (pt_map uses them), INVEPT. */
	vmx.ept_vpid_cap = (vmx.proc2 & PROC2_EPT) ? rdmsr(MSR_VMX_EPT_VPID_CAP) : 0;
	u64 ec = vmx.ept_vpid_cap;
	if (vmx.proc2 & PROC2_EPT) {
		if (!(ec & EPT_CAP_WALK_4))
			note_missing("EPT", "4-level page walk");
		if (!(ec & EPT_CAP_WB))
			note_missing("EPT", "write-back memory type");
		if (!(ec & EPT_CAP_2M))
			note_missing("EPT", "2 MiB pages");
		if (!(ec & EPT_CAP_INVEPT) || !(ec & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL)))
			note_missing("EPT", "INVEPT");
	}
	/* VPID only with an INVVPID hv can use to flush one (28.3.3.3). */
	if (!(ec & VPID_CAP_INVVPID) || !(ec & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL)))
		vmx.proc2 &= ~PROC2_VPID;
	vmx.vpid = vmx.proc2 & PROC2_VPID;

	/* PAT is switched only when all three controls exist. */
	vmx.pat = (vmx.exit & EXIT_SAVE_PAT) && (vmx.exit & EXIT_LOAD_PAT) && (vmx.entry & ENTRY_LOAD_PAT);
	if (!vmx.pat) {
		vmx.exit &= ~((EXIT_SAVE_PAT | EXIT_LOAD_PAT) & ~(u32)exit_cap);
		vmx.entry &= ~(ENTRY_LOAD_PAT & ~(u32)entry_cap);
	}

	/* Controls hv cannot live with as 1 (acknowledge-on-exit would take the timer's interrupt). */
	if ((u32)exit_cap & EXIT_ACK_INTR)
		note_text("VM-exit 'acknowledge interrupt on exit' = 0");

	if (missing_len) {
		/* Rebuild the message with a lead-in around the list collected above. */
		static char list[sizeof(probe_msg)];
		memcpy(list, probe_msg, sizeof(list));
		ksnprintf(probe_msg, sizeof(probe_msg), "this CPU's VT-x lacks what hv needs: %s", list);
		return probe_msg;
	}

	vmx.cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
	vmx.cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
	vmx.cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
	vmx.cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
	if (!(vmx.cr4_fixed1 & CR4_VMXE))
		return "VT-x: CR4.VMXE cannot be set (IA32_VMX_CR4_FIXED1)";
	vmx.preempt_rate = VMX_MISC_PREEMPT_RATE(rdmsr(MSR_VMX_MISC));

	printk("hv: VMX rev %u, EPT, unrestricted guest, VPID %s, PAT switching %s, preemption timer TSC/%u\n",
	       vmx.revision, vmx.vpid ? "yes" : "no", vmx.pat ? "yes" : "no (guest PAT recorded only)",
	       1u << vmx.preempt_rate);
	printk("hv: VMX virtual NMIs and NMI-window exiting: %s; PAUSE loops: %s\n",
	       vmx.nmi_window ? "yes (guest NMIs blocked until IRET)" : "no (guest NMIs not held until IRET)",
	       vmx.ple ? "PAUSE-loop exiting" : vmx.pause_exiting ?
	       "PAUSE exiting while another vCPU waits on the pCPU, counted by hv" : "not intercepted");
	pause_exits_per_yield = vmx.ple ? 1 : PAUSE_SW_EXITS;
	printk("hv: VMX bus-lock exits %s, notify-window exits %s\n",
	       vmx.proc2 & PROC2_BUS_LOCK_DETECT ? "on" : "not available on this CPU",
	       vmx.proc2 & PROC2_NOTIFY_EXITING ? "on" : "not available on this CPU");
	return NULL;
}

/* ---- per pCPU ---- */

static void vmx_cpu_init(struct pcpu *p)
{
	struct vmx_pcpu *vp = kzalloc(sizeof(*vp));
	vp->id = p->id;

	const char *why = feature_control_enable();
	if (why)
		PANIC("pCPU %u: %s", p->id, why);
	/* VMX operation needs the fixed CR0/CR4 bits (23.8, A.7, A.8) and CR4.VMXE. */
	write_cr0((read_cr0() | vmx.cr0_fixed0) & vmx.cr0_fixed1);
	write_cr4((read_cr4() | vmx.cr4_fixed0 | CR4_VMXE) & vmx.cr4_fixed1);

	vp->vmxon = page_alloc(1);
	((struct vmcs_header *)vp->vmxon)->revision = vmx.revision;
	enum vmx_status st = vmxon(va_to_pa(vp->vmxon));
	if (st != VMX_OK)
		vmx_insn_panic("VMXON", "region", va_to_pa(vp->vmxon), st);

	/* Nothing cached from before hv may survive (28.3.3.4); see also tlb_prepare. */
	if ((vmx.ept_vpid_cap & EPT_CAP_INVEPT_ALL) && (st = invept(INVEPT_ALL, 0)) != VMX_OK)
		vmx_insn_panic("INVEPT", "all-context", 0, st);
	if (vmx.vpid && (vmx.ept_vpid_cap & VPID_CAP_INVVPID_ALL) && (st = invvpid(INVVPID_ALL, 0)) != VMX_OK)
		vmx_insn_panic("INVVPID", "all-context", 0, st);

	/* Host state that VM exits restore (27.5); hv's page tables are in CR3 by now. */
	vp->host_cr3 = read_cr3();
	vp->host_fs_base = rdmsr(MSR_FS_BASE);
	vp->host_gs_base = rdmsr(MSR_GS_BASE);
	vp->host_efer = rdmsr(MSR_EFER);
	vp->host_pat = rdmsr(MSR_PAT);
	vp->host_sysenter_cs = rdmsr(MSR_SYSENTER_CS);
	vp->host_sysenter_esp = rdmsr(MSR_SYSENTER_ESP);
	vp->host_sysenter_eip = rdmsr(MSR_SYSENTER_EIP);

	if (!io_bitmaps) {
		io_bitmaps = page_alloc(2);
		memset(io_bitmaps, 0xff, 2 * 4096);   /* intercept every port (24.6.4) */
	}
	p->vendor = vp;
}

/* The host-state area for pCPU p (24.5); rewritten when a VMCS moves to another pCPU. */
static void write_host_state(struct pcpu *p, struct vmx_pcpu *vp)
{
	vmcs_write(VMCS_HOST_CR0, read_cr0());
	vmcs_write(VMCS_HOST_CR3, vp->host_cr3);
	vmcs_write(VMCS_HOST_CR4, read_cr4());
	vmcs_write(VMCS_HOST_CS_SEL, SEL_CODE);
	vmcs_write(VMCS_HOST_SS_SEL, SEL_DATA);
	vmcs_write(VMCS_HOST_DS_SEL, SEL_DATA);
	vmcs_write(VMCS_HOST_ES_SEL, SEL_DATA);
	vmcs_write(VMCS_HOST_FS_SEL, 0);
	vmcs_write(VMCS_HOST_GS_SEL, 0);
	vmcs_write(VMCS_HOST_TR_SEL, SEL_TSS);
	vmcs_write(VMCS_HOST_FS_BASE, vp->host_fs_base);
	vmcs_write(VMCS_HOST_GS_BASE, vp->host_gs_base);
	vmcs_write(VMCS_HOST_TR_BASE, desc_tss_base(p->id));
	vmcs_write(VMCS_HOST_GDTR_BASE, desc_gdt_base(p->id));
	vmcs_write(VMCS_HOST_IDTR_BASE, desc_idt_base());
	vmcs_write(VMCS_HOST_SYSENTER_CS, vp->host_sysenter_cs);
	vmcs_write(VMCS_HOST_SYSENTER_ESP, vp->host_sysenter_esp);
	vmcs_write(VMCS_HOST_SYSENTER_EIP, vp->host_sysenter_eip);
	vmcs_write(VMCS_HOST_EFER, vp->host_efer);
	if (vmx.pat)
		vmcs_write(VMCS_HOST_PAT, vp->host_pat);
	vmcs_write(VMCS_HOST_RIP, (u64)(uintptr_t)vmx_exit);
	/* HOST_RSP: written by vmx_enter right before each entry. */
}

/* ---- per VM: EPT and VPID ---- */

static void *ept_alloc(void *ctx)
{
	(void)ctx;
	return page_alloc(1);
}

/*
 * EPT entries (28.3.2): R|W|X everywhere, bit 7 for 2 MiB. Leaves are
 * write-back with "ignore PAT" (28.3.7.2): guest RAM is WB whatever the
 * guest's PAT says, as on SVM where the host's WB nested entries combine
 * with the guest PAT only towards stronger types hv does not care about.
 * (Guest memory is only RAM; a guest UC mapping of it must not make hv's
 * own WB accesses incoherent with the guest's.)
 */
static const struct pt_format ept_format = {
	.table_bits = EPT_RWX,
	.leaf_bits = EPT_RWX | EPT_MT_WB | EPT_IPAT,
	.large_bits = EPT_RWX | EPT_MT_WB | EPT_IPAT | EPT_LARGE,
	.present_mask = EPT_RWX,
	.alloc_page = ept_alloc,
};

static void vmx_vm_init(struct vm *vm)
{
	struct vmx_vm *x = kzalloc(sizeof(*x));
	x->ept = page_alloc(1);
	if (pt_map(x->ept, &ept_format, 0, vm->mem_pa, vm->mem_size))
		PANIC("cannot build the EPT of vm %s", vm->name);
	x->eptp = va_to_pa(x->ept) | EPTP_WALK_4 | EPTP_MT_WB;   /* 24.6.11 */
	x->vpid = vmx.vpid ? (u16)(vm->id + 1) : 0;             /* VPID 0 belongs to hv */
	vm->vendor = x;
}

/* ---- per vCPU ---- */

/* MSR bitmap (24.6.9): one bit per MSR and direction; 1 = exit. */
static void msr_bitmap_set(u8 *map, u32 msr, bool intercept_read, bool intercept_write)
{
	u32 rd, wr;
	if (msr <= 0x1fff) {
		rd = MSR_BITMAP_READ_LOW, wr = MSR_BITMAP_WRITE_LOW;
	} else if (msr >= 0xc0000000 && msr <= 0xc0001fff) {
		rd = MSR_BITMAP_READ_HIGH, wr = MSR_BITMAP_WRITE_HIGH;
		msr -= 0xc0000000;
	} else {
		return;                   /* outside both ranges every access exits */
	}
	u8 bit = (u8)(1u << (msr % 8));
	map[rd + msr / 8] = intercept_read ? map[rd + msr / 8] | bit : map[rd + msr / 8] & ~bit;
	map[wr + msr / 8] = intercept_write ? map[wr + msr / 8] | bit : map[wr + msr / 8] & ~bit;
}

/*
 * The deliberate exceptions to "intercept every MSR", the same list as
 * svm.c minus CSTAR: FS/GS base and SYSENTER_* are in the VMCS guest-state
 * area; STAR, LSTAR, SFMASK and KERNEL_GS_BASE are switched by hv (lazily,
 * see lazy_msrs_load). IA32_CSTAR is intercepted and kept per vCPU by
 * msr_read/msr_write: Intel CPUs never use it (no SYSCALL in compatibility
 * mode), so it need not be in the registers.
 */
static const u32 passthrough_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR,
	MSR_SFMASK, MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP,
};

/* Guest segment registers in VMCS order: the encodings step by 2 (Appendix B):
 * ES CS SS DS FS GS (enum mmio_seg, hv/mmio.h), then LDTR and TR. */
enum { SEG_LDTR = SEG_COUNT, SEG_TR };

static void guest_seg(unsigned seg, u16 sel, u32 ar, u32 limit, u64 base)
{
	vmcs_write_named(VMCS_GUEST_ES_SEL + 2 * seg, sel, "guest segment selector");
	vmcs_write_named(VMCS_GUEST_ES_AR + 2 * seg, ar, "guest segment access rights");
	vmcs_write_named(VMCS_GUEST_ES_LIMIT + 2 * seg, limit, "guest segment limit");
	vmcs_write_named(VMCS_GUEST_ES_BASE + 2 * seg, base, "guest segment base");
}

/*
 * CR0/CR4 bits hv owns (24.6.6): the guest reads them from the read shadow,
 * and a MOV that would change one exits (25.3). CR0: the bits VMX fixes
 * (NE; PE and PG are free under unrestricted guest, 26.3.1.1) and PG, so
 * that paging on/off exits and hv keeps EFER.LMA and the IA-32e entry
 * control in step. CR4: the fixed bits (VMXE), the ones VMX forbids, and
 * OSXSAVE (no XSAVE for guests), so that setting one exits and gets #GP.
 */
static u64 cr0_forced(void) { return vmx.cr0_fixed0 & ~(CR0_PE | CR0_PG); }
static u64 cr0_mask(void) { return cr0_forced() | ~vmx.cr0_fixed1 | CR0_PG; }
/*
 * CR4: the guest owns only the bits of guest_cr4_allowed() (hv/vendor.c, the
 * same list the SVM backend checks); every other bit (VMXE, SMXE, OSXSAVE,
 * LA57, CET, PKS, KL, UINTR, LAM, anything new) is hv's, so a MOV that would
 * change one exits and emulate_cr4 refuses it. Bits VMX fixes are hv's too.
 */
static u64 cr4_mask(void) { return vmx.cr4_fixed0 | ~vmx.cr4_fixed1 | ~guest_cr4_allowed(); }

/* Real mode through unrestricted guest: CR0.PE = PG = 0 (26.3.1.1); CS =
 * cs_sel with base cs_sel << 4, flat 64 KiB data segments. */
static void real_state(struct vmx_vcpu *s, u16 cs_sel, u64 rip, u64 rsp)
{
	guest_seg(SEG_CS, cs_sel, 0x9b, 0xffff, (u64)cs_sel << 4);
	for (unsigned sg = SEG_ES; sg <= SEG_GS; sg++)
		if (sg != SEG_CS)
			guest_seg(sg, 0, 0x93, 0xffff, 0);
	vmcs_write(VMCS_GUEST_GDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0x3ff);
	vmcs_write(VMCS_GUEST_CR3, 0);
	vmcs_write(VMCS_GUEST_EFER, 0);
	s->rip = rip;
	vmcs_write(VMCS_GUEST_RSP, rsp);
}

/* The guest sees cr0/cr4; the CPU runs with the bits VMX forces. */
static void write_cr0_cr4(u64 cr0, u64 cr4)
{
	vmcs_write(VMCS_CR0_MASK, cr0_mask());
	vmcs_write(VMCS_CR0_SHADOW, cr0);
	vmcs_write(VMCS_GUEST_CR0, (cr0 | cr0_forced()) & vmx.cr0_fixed1);
	vmcs_write(VMCS_CR4_MASK, cr4_mask());
	vmcs_write(VMCS_CR4_SHADOW, cr4);
	vmcs_write(VMCS_GUEST_CR4, (cr4 | vmx.cr4_fixed0) & vmx.cr4_fixed1);
}

static void vmx_vcpu_init(struct vcpu *v)
{
	struct vmx_vcpu *s = kzalloc(sizeof(*s));
	struct vmx_vm *x = v->vm->vendor;
	s->v = v;
	s->vmcs = page_alloc(1);
	s->vmcs_pa = va_to_pa(s->vmcs);
	((struct vmcs_header *)s->vmcs)->revision = vmx.revision;
	s->msr_bitmap = page_alloc(1);
	memset(s->msr_bitmap, 0xff, 4096);
	for (unsigned i = 0; i < ARRAY_SIZE(passthrough_msrs); i++)
		msr_bitmap_set(s->msr_bitmap, passthrough_msrs[i], false, false);
	/* Where IA32_SPEC_CTRL is real the guest's value is in it while the guest
	 * runs (vmx_entry.S): reads need no exit; writes are checked (spec.h). */
	if (spec_plan.has_spec_ctrl)
		msr_bitmap_set(s->msr_bitmap, MSR_SPEC_CTRL, false, true);
	s->pat = 0x0007040600070406ull;     /* the reset value */
	s->rip_cached = true;               /* the VMCS stays clear until the first run */
	v->vendor = s;
	v->hv_bytes += sizeof(*s) + 2 * 4096;   /* VMCS + 4 KiB MSR bitmap */

	/*
	 * Make this VMCS current to fill it, then clear it again (which also
	 * writes it back to memory, 24.11.3) and restore whatever VMCS was
	 * current before, so each pCPU's record of its current VMCS stays true.
	 */
	u64 prev = vmptrst();
	vmcs_clear(s->vmcs_pa, "new VMCS");
	vmcs_load(s->vmcs_pa, "new VMCS");

	bool real = v->vm->cfg->mode == GUEST_MODE_REAL;

	/* Controls (24.6-24.8). */
	vmcs_write(VMCS_PIN_CONTROLS, vmx.pin);
	bool smp = v->vm->nvcpus > 1;       /* PAUSE loops only matter with a lock holder */
	vmcs_write(VMCS_PROC_CONTROLS, vmx.proc);   /* PAUSE exiting: vmx_run */
	s->pause_sw = smp && vmx.pause_exiting;
	vmcs_write(VMCS_PROC2_CONTROLS, vmx.proc2 | (smp && vmx.ple ? PROC2_PAUSE_LOOP : 0));
	if (smp && vmx.ple) {
		vmcs_write(VMCS_PLE_GAP, 128);      /* PAUSEs at most 128 TSC ticks apart ... */
		vmcs_write(VMCS_PLE_WINDOW, 4096);  /* ... for 4096 ticks: a loop (KVM's values) */
	}
	vmcs_write(VMCS_EXIT_CONTROLS, vmx.exit);
	vmcs_write(VMCS_ENTRY_CONTROLS, vmx.entry | (real ? 0 : ENTRY_IA32E_GUEST));
	/* #UD: vmmcall (AMD's hypercall) raises it here. #DB and #AC always
	 * (CVE-2015-8104 / CVE-2015-5307: one raised while delivering another
	 * loops inside the CPU), reflected to the guest; #MC ends the VM. */
	vmcs_write(VMCS_EXCEPTION_BITMAP, BIT(EXC_UD) | BIT(EXC_DB) | BIT(EXC_AC) | BIT(EXC_MC));
	if (vmx.proc2 & PROC2_NOTIFY_EXITING)
		vmcs_write(VMCS_NOTIFY_WINDOW, 0);   /* the CPU's own threshold only (as KVM's default) */
	vmcs_write(VMCS_PF_ERROR_MASK, 0);
	vmcs_write(VMCS_PF_ERROR_MATCH, 0);
	vmcs_write(VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
	vmcs_write(VMCS_TSC_OFFSET, 0);
	if (vmx.proc & PROC_IO_BITMAPS) {
		vmcs_write(VMCS_IO_BITMAP_A, va_to_pa(io_bitmaps));
		vmcs_write(VMCS_IO_BITMAP_B, va_to_pa(io_bitmaps + 4096));
	}
	vmcs_write(VMCS_MSR_BITMAP, va_to_pa(s->msr_bitmap));
	vmcs_write(VMCS_EPTP, x->eptp);
	if (x->vpid)
		vmcs_write(VMCS_VPID, x->vpid);
	vmcs_write(VMCS_LINK_POINTER, ~0ull);   /* no shadow VMCS (26.3.1.5) */

	/* Guest state (24.4), the same start state as svm_vcpu_init. */
	u64 cr0, cr4;
	if (vmx.pat)
		vmcs_write(VMCS_GUEST_PAT, s->pat);
	vmcs_write(VMCS_GUEST_DEBUGCTL, 0);
	vmcs_write(VMCS_GUEST_DR7, 0x400);
	vmcs_write(VMCS_GUEST_RFLAGS, 0x2);
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write(VMCS_GUEST_ACTIVITY, 0);
	vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_EIP, 0);
	guest_seg(SEG_LDTR, 0, AR_UNUSABLE | 0x82, 0xffff, 0);
	guest_seg(SEG_TR, 0, 0x8b, 0xffff, 0);   /* busy TSS, needed only for the entry checks */
	if (real) {
		real_state(s, 0, GUEST_REAL_LOAD, GUEST_REAL_LOAD - v->id * GUEST_REAL_STACK);
		cr0 = CR0_ET;
		cr4 = 0;
	} else {
		guest_seg(SEG_CS, 0x08, 0xa09b, 0xffffffff, 0);  /* P S DPL0 code, L=1, G=1 */
		for (unsigned sg = SEG_ES; sg <= SEG_GS; sg++)
			if (sg != SEG_CS)
				guest_seg(sg, 0x10, 0xc093, 0xffffffff, 0);  /* P S DPL0 data, DB=1, G=1 */
		vmcs_write(VMCS_GUEST_GDTR_BASE, GUEST_GDT);
		vmcs_write(VMCS_GUEST_GDTR_LIMIT, 0x17);
		vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
		vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0);
		cr0 = CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE;
		cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
		vmcs_write(VMCS_GUEST_CR3, GUEST_PML4);
		vmcs_write(VMCS_GUEST_EFER, EFER_LME | EFER_LMA);
		s->rip = GUEST_LONG_LOAD;
		vmcs_write(VMCS_GUEST_RSP, v->vm->mem_size - v->id * GUEST_LONG_STACK);
	}
	write_cr0_cr4(cr0, cr4);
	vmcs_write(VMCS_GUEST_RIP, s->rip);
	vmcs_clear(s->vmcs_pa, "new VMCS");
	if (prev != ~0ull)
		vmcs_load(prev, "previous VMCS");
}

/*
 * vendor->start_real: the start-up IPI state (SDM Vol. 3A table 9-1) in
 * v's VMCS, which is active nowhere (the AP waited for its SIPI since it
 * was built). Loaded here and cleared again, as in vmx_vcpu_init.
 */
static void vmx_start_real(struct vcpu *v, u16 cs_sel)
{
	struct vmx_vcpu *s = v->vendor;
	ASSERT(!s->active_on, "vCPU %u: start-up IPI while its VMCS is active", v->id);
	u64 prev = vmptrst();
	vmcs_load(s->vmcs_pa, "AP VMCS");
	vmcs_write(VMCS_ENTRY_CONTROLS, vmx.entry);          /* no IA-32e mode guest */
	vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
	vmcs_write(VMCS_GUEST_RFLAGS, 0x2);
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write(VMCS_GUEST_ACTIVITY, 0);
	vmcs_write(VMCS_GUEST_DR7, 0x400);
	real_state(s, cs_sel, 0, 0);
	write_cr0_cr4(CR0_ET, 0);
	vmcs_write(VMCS_GUEST_RIP, s->rip);
	vmcs_clear(s->vmcs_pa, "AP VMCS");
	if (prev != ~0ull)
		vmcs_load(prev, "previous VMCS");
}

/*
 * vendor->set_boot_state: a Linux entry state (hv/linux.h) in v's VMCS,
 * which is active nowhere yet (as in vmx_vcpu_init). The IA-32e mode guest
 * entry control follows EFER.LMA (26.2.4: they must agree).
 */
static void vmx_set_boot_state(struct vcpu *v, const struct linux_cpu_state *st)
{
	struct vmx_vcpu *s = v->vendor;
	ASSERT(!s->active_on, "vCPU %u: boot state while its VMCS is active", v->id);
	u64 prev = vmptrst();
	vmcs_load(s->vmcs_pa, "boot VMCS");
	bool lma = (st->efer & EFER_LMA) != 0;
	vmcs_write(VMCS_ENTRY_CONTROLS, vmx.entry | (lma ? ENTRY_IA32E_GUEST : 0));
	const struct linux_seg *segs[] = { [SEG_ES] = &st->es, [SEG_CS] = &st->cs, [SEG_SS] = &st->ss,
					   [SEG_DS] = &st->ds, [SEG_FS] = &st->fs, [SEG_GS] = &st->gs };
	for (unsigned sg = SEG_ES; sg <= SEG_GS; sg++)
		guest_seg(sg, segs[sg]->sel, segs[sg]->attr, segs[sg]->limit, segs[sg]->base);
	guest_seg(SEG_TR, st->tr.sel, st->tr.attr, st->tr.limit, st->tr.base);
	vmcs_write(VMCS_GUEST_GDTR_BASE, st->gdt_base);
	vmcs_write(VMCS_GUEST_GDTR_LIMIT, st->gdt_limit);
	vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0);
	vmcs_write(VMCS_GUEST_CR3, st->cr3);
	vmcs_write(VMCS_GUEST_EFER, st->efer);
	vmcs_write(VMCS_GUEST_RFLAGS, st->rflags);
	vmcs_write(VMCS_GUEST_RSP, 0);
	write_cr0_cr4(st->cr0, st->cr4);
	s->rip = st->rip;
	vmcs_write(VMCS_GUEST_RIP, s->rip);
	vmcs_clear(s->vmcs_pa, "boot VMCS");
	if (prev != ~0ull)
		vmcs_load(prev, "previous VMCS");
	v->regs.rsi = st->rsi;
	v->regs.rbx = st->rbx;
}

/* ---- which VMCS is where (24.11.1) ---- */

/*
 * A VMCS is active on at most one pCPU, and must be VMCLEARed there before
 * any other pCPU may load it. Generic code can move a vCPU to another pCPU
 * (stealing, HC_MIGRATE) without telling the backend, but only after an
 * exit for which run_vcpu() may give up the pCPU: a host interrupt (the
 * slice may be over), the preemption timer, HLT, a hypercall (yield,
 * migrate, exit), a shutdown. vmx_run clears the VMCS after exactly those
 * (may_leave), so a VMCS is never left active on a pCPU its vCPU has left.
 * A vendor hook "vCPU leaves this pCPU" would let hv skip those VMCLEARs.
 */
static bool may_leave(enum exit_reason r)
{
	return r == EXIT_INTR || r == EXIT_SLICE || r == EXIT_HLT || r == EXIT_HYPERCALL || r == EXIT_SHUTDOWN ||
	       r == EXIT_PAUSE;
}

/* Moving RIP past an instruction also ends its STI / MOV SS shadow (24.4.2). */
static void write_rip(u64 rip)
{
	vmcs_write(VMCS_GUEST_RIP, rip);
	u64 irq = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
	if (irq & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, irq & ~(u64)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

/*
 * VMCLEAR s's VMCS on the pCPU where it is active (the calling one). Its
 * RIP stays readable and writable in s (rip_cached: exactly while clear).
 */
static void vmcs_release(struct vmx_vcpu *s)
{
	s->rip = vmcs_read(VMCS_GUEST_RIP);
	s->rip_cached = true;
	s->rip_dirty = false;
	vmcs_clear(s->vmcs_pa, "vCPU VMCS");
	if (s->active_on->current == s)
		s->active_on->current = NULL;
	s->active_on = NULL;
	s->launched = false;             /* VMCLEAR made its launch state "clear" */
}

/* Make s's (clear) VMCS current on vp, after clearing whatever vp had. */
static void vmcs_acquire(struct vmx_pcpu *vp, struct vmx_vcpu *s)
{
	if (vp->current)
		vmcs_release(vp->current);   /* a vCPU that stopped here, or a borrowed one */
	ASSERT(!s->active_on, "vm %s vCPU %u: its VMCS is still active on pCPU %u (left without VMCLEAR)",
	       s->v->vm->name, s->v->id, s->active_on->id);
	vmcs_load(s->vmcs_pa, "vCPU VMCS");
	vp->current = s;
	s->active_on = vp;
	if (s->rip_dirty)
		write_rip(s->rip);
	s->rip_cached = s->rip_dirty = false;
}

/*
 * For generic code's accessors: v's VMCS current on this pCPU. Normally it
 * is (generic code asks right after the exit); after a may_leave exit it
 * was cleared, and is borrowed here until vmcs_put.
 */
static bool vmcs_get(struct vcpu *v)
{
	struct vmx_vcpu *s = vx(v);
	if (s->active_on) {
		ASSERT(s->active_on->current == s, "vm %s vCPU %u: VMCS active but not current", v->vm->name, v->id);
		return false;
	}
	vmcs_acquire(this_pcpu()->vendor, s);
	return true;
}

static void vmcs_put(struct vcpu *v, bool borrowed)
{
	if (borrowed)
		vmcs_release(vx(v));
}

/* ---- register access for generic code ---- */

static u64 vmx_get_rip(struct vcpu *v)
{
	struct vmx_vcpu *s = vx(v);
	if (s->rip_cached)
		return s->rip;
	vmcs_get(v);                     /* (active: only checks it is current) */
	return vmcs_read(VMCS_GUEST_RIP);
}

static void vmx_set_rip(struct vcpu *v, u64 rip)
{
	struct vmx_vcpu *s = vx(v);
	if (s->rip_cached) {
		s->rip = rip;                /* written at the next VMPTRLD */
		s->rip_dirty = true;
	} else {
		vmcs_get(v);
		write_rip(rip);
	}
}

static void vmx_advance_rip(struct vcpu *v, u32 len)
{
	vmx_set_rip(v, vmx_get_rip(v) + len);
}

/*
 * VM-entry event injection (24.8.3, 26.6). The error code is delivered
 * exactly when the architecture pushes one: for #DF #TS #NP #SS #GP #PF
 * #AC, and only with CR0.PE = 1 (26.2.1.3: a real-mode guest gets none).
 */
static void vmx_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
	bool b = vmcs_get(v);
	bool pushes = vector == EXC_DF || (vector >= EXC_TS && vector <= EXC_PF) || vector == 17;
	bool deliver = pushes && (vmcs_read(VMCS_GUEST_CR0) & CR0_PE);
	vmcs_write(VMCS_ENTRY_INTR_INFO, vector | INTR_TYPE_HW_EXC << 8 | INTR_INFO_VALID |
					 (deliver ? INTR_INFO_ERROR : 0));
	if (deliver)
		vmcs_write(VMCS_ENTRY_EXC_ERROR, has_error ? error : 0);
	vmcs_put(v, b);
}

/*
 * Interrupt window (SDM Vol. 3C 25.4.2 and 26.7.5): the guest can take an
 * external interrupt if RFLAGS.IF is set, there is no STI / MOV SS blocking
 * and no event is already queued for injection; otherwise interrupt-window
 * exiting makes the CPU exit as soon as it could.
 */
static bool vmx_irq_window(struct vcpu *v, unsigned want)
{
	bool b = vmcs_get(v);
	u64 is = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
	bool queued = vmcs_read(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID;
	if (want == WINDOW_NMI) {
		/* NMI injection: no blocking by NMI (virtual NMIs), MOV SS or STI
		 * (26.3.1.5; some CPUs refuse an NMI in an STI shadow), nothing
		 * queued. Else NMI-window exiting. Without virtual NMIs hv cannot
		 * see the handler's IRET: it injects whenever nothing else blocks
		 * (docs/platform.md). */
		bool can = !queued && !(is & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_NMI));
		if (!can && !queued && vmx.nmi_window)
			vmcs_write(VMCS_PROC_CONTROLS, vmcs_read(VMCS_PROC_CONTROLS) | PROC_NMI_WINDOW);
		vmcs_put(v, b);
		return can;
	}
	bool can = (vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_IF) &&
		   !(is & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) && !queued;
	u64 proc = vmcs_read(VMCS_PROC_CONTROLS);
	u64 want_proc = (can || !want) ? proc & ~(u64)PROC_INTR_WINDOW : proc | PROC_INTR_WINDOW;
	if (want_proc != proc)
		vmcs_write(VMCS_PROC_CONTROLS, want_proc);
	vmcs_put(v, b);
	return can;
}

static void vmx_inject_event(struct vcpu *v, bool nmi, u8 vector)
{
	bool b = vmcs_get(v);
	vmcs_write(VMCS_ENTRY_INTR_INFO, nmi ? (2 | INTR_TYPE_NMI << 8 | INTR_INFO_VALID)
					     : (vector | INTR_TYPE_EXT << 8 | INTR_INFO_VALID));
	vmcs_put(v, b);
}

/* Code size the guest executes in, from CR0.PE, EFER.LMA, CS.L and CS.D. */
static enum insn_mode code_mode(void)
{
	if (!(vmcs_read(VMCS_GUEST_CR0) & CR0_PE))
		return INSN_MODE_16;
	u64 ar = vmcs_read(VMCS_GUEST_CS_AR);
	if ((vmcs_read(VMCS_GUEST_EFER) & EFER_LMA) && (ar & AR_L))
		return INSN_MODE_64;
	return (ar & AR_DB) ? INSN_MODE_32 : INSN_MODE_16;
}

static struct guest_paging guest_paging(void)
{
	return (struct guest_paging){ vmcs_read(VMCS_GUEST_CR0), vmcs_read(VMCS_GUEST_CR3),
				      vmcs_read(VMCS_GUEST_CR4), vmcs_read(VMCS_GUEST_EFER) };
}

/* Length of a `kind` instruction at the guest's CS:RIP, 0 if it is not one. */
static u32 decode_len(struct vcpu *v, enum insn_kind kind)
{
	struct guest_paging pg = guest_paging();
	enum insn_mode mode = code_mode();
	u64 rip = vmcs_read(VMCS_GUEST_RIP);
	u64 la = mode == INSN_MODE_64 ? rip : (vmcs_read(VMCS_GUEST_CS_BASE) + rip) & 0xffffffffull;
	u8 bytes[INSN_MAX_LEN];
	size_t n = guest_read_linear(v->vm, &pg, la, bytes, sizeof(bytes));
	int len = insn_length(bytes, n, mode, kind);
	return len > 0 ? (u32)len : 0;
}

/* ---- exits the backend handles itself: control registers ---- */

/* General register n as numbered in exit qualifications (Table 27-3). */
static u64 *gpr_slot(struct vcpu *v, unsigned n)
{
	struct guest_regs *r = &v->regs;
	u64 *const slot[16] = { &r->rax, &r->rcx, &r->rdx, &r->rbx, NULL, &r->rbp, &r->rsi, &r->rdi,
				&r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15 };
	return slot[n & 15];
}

static u64 gpr_read(struct vcpu *v, unsigned n)
{
	return n == 4 ? vmcs_read(VMCS_GUEST_RSP) : *gpr_slot(v, n);
}

static void gpr_write(struct vcpu *v, unsigned n, u64 val)
{
	if (n == 4)
		vmcs_write(VMCS_GUEST_RSP, val);
	else
		*gpr_slot(v, n) = val;
}

/*
 * PAE paging outside long mode takes its four PDPTEs from the VMCS under
 * EPT (26.3.2.4, 28.3.1): load them as the CPU would on MOV to CR0/CR3/CR4
 * (SDM Vol. 3A 4.4.1). false if one is invalid (the guest gets #GP).
 */
static bool load_pdptes(struct vcpu *v, u64 cr3)
{
	u64 gpa = cr3 & 0xffffffe0ull, pdpte[4];
	if (!guest_phys_ok(v->vm, gpa, sizeof(pdpte)))
		return false;
	memcpy(pdpte, guest_phys_ptr(v->vm, gpa), sizeof(pdpte));
	for (int i = 0; i < 4; i++)
		if ((pdpte[i] & 1) && (pdpte[i] & 0x1e6))   /* reserved bits 2:1 and 8:5 */
			return false;
	for (int i = 0; i < 4; i++)
		vmcs_write_named(VMCS_GUEST_PDPTE0 + 2 * i, pdpte[i], "VMCS_GUEST_PDPTEn");
	return true;
}

static bool pae_legacy_paging(u64 cr0, u64 cr4, u64 efer)
{
	return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA);
}

/* The guest's CR0 as it sees it: owned bits from the shadow, the rest real. */
static u64 guest_cr0_view(void)
{
	u64 mask = cr0_mask();
	return (vmcs_read(VMCS_GUEST_CR0) & ~mask) | (vmcs_read(VMCS_CR0_SHADOW) & mask);
}

/*
 * MOV to CR0 that touched an owned bit (PG, NE, ...). Checks as the SDM's
 * MOV CR0 does (Vol. 2B), then switches IA-32e mode with paging: EFER.LMA
 * and the "IA-32e mode guest" entry control follow EFER.LME & CR0.PG
 * (Vol. 3A 9.8.5). false: the guest gets #GP.
 */
static bool emulate_cr0(struct vcpu *v, u64 val)
{
	u64 old = vmcs_read(VMCS_GUEST_CR0), cr4 = vmcs_read(VMCS_GUEST_CR4);
	u64 efer = vmcs_read(VMCS_GUEST_EFER), entry = vmcs_read(VMCS_ENTRY_CONTROLS);
	u64 real = val | cr0_forced() | CR0_ET;   /* ET is hardwired to 1 (Vol. 3A 2.5) */
	if ((val >> 32) || (real & ~vmx.cr0_fixed1))
		return false;
	if (((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)))
		return false;
	bool pg_on = (val & CR0_PG) && !(old & CR0_PG), pg_off = !(val & CR0_PG) && (old & CR0_PG);
	if (pg_on && (efer & EFER_LME)) {
		if (!(cr4 & CR4_PAE) || (vmcs_read(VMCS_GUEST_CS_AR) & AR_L))
			return false;
		efer |= EFER_LMA;
		entry |= ENTRY_IA32E_GUEST;
	} else if (pg_off && (efer & EFER_LMA)) {
		if (code_mode() == INSN_MODE_64)
			return false;               /* leave long mode from compatibility mode only */
		efer &= ~EFER_LMA;
		entry &= ~(u64)ENTRY_IA32E_GUEST;
	}
	/* MOV to CR0 reloads the PDPTEs when it changes PG, CD or NW under PAE paging. */
	if (pae_legacy_paging(val, cr4, efer) && (pg_on || ((val ^ old) & (CR0_CD | CR0_NW))) &&
	    !load_pdptes(v, vmcs_read(VMCS_GUEST_CR3)))
		return false;
	vmcs_write(VMCS_GUEST_EFER, efer);
	vmcs_write(VMCS_ENTRY_CONTROLS, entry);
	vmcs_write(VMCS_CR0_SHADOW, val);
	vmcs_write(VMCS_GUEST_CR0, real);
	return true;
}

static bool emulate_cr4(struct vcpu *v, u64 val)
{
	u64 cr0 = vmcs_read(VMCS_GUEST_CR0), efer = vmcs_read(VMCS_GUEST_EFER);
	u64 old = vmcs_read(VMCS_GUEST_CR4);
	if ((val & ~guest_cr4_allowed()) || ((val | vmx.cr4_fixed0) & ~vmx.cr4_fixed1))
		return false;                   /* only the allow-list; nor bits VMX forbids */
	if ((efer & EFER_LMA) && !(val & CR4_PAE))
		return false;
	if (pae_legacy_paging(cr0, val, efer) && ((val ^ old) & (CR4_PAE | BIT(4) | BIT(7))) &&
	    !load_pdptes(v, vmcs_read(VMCS_GUEST_CR3)))
		return false;
	vmcs_write(VMCS_CR4_SHADOW, val);
	vmcs_write(VMCS_GUEST_CR4, val | vmx.cr4_fixed0);
	return true;
}

/* CR3 exits happen only on CPUs without true controls, where they cannot be turned off. */
static bool emulate_cr3(struct vcpu *v, u64 val)
{
	if (pae_legacy_paging(vmcs_read(VMCS_GUEST_CR0), vmcs_read(VMCS_GUEST_CR4), vmcs_read(VMCS_GUEST_EFER)) &&
	    !load_pdptes(v, val))
		return false;
	vmcs_write(VMCS_GUEST_CR3, val);
	return true;
}

/*
 * A control-register exit (27.2.1, Table 27-3): MOV to/from CR0, CR3, CR4,
 * CR8, CLTS, LMSW. Handled here, invisible to generic code: the guest
 * continues after the instruction, or gets #GP where the CPU would give it.
 * Paging changes flush the VM's VPID, as MOV to CR0/CR4 would (28.3.3.1).
 */
static void handle_cr_access(struct vcpu *v, struct vmx_vcpu *s)
{
	u64 q = vmcs_read(VMCS_EXIT_QUALIFICATION);
	unsigned cr = CR_QUAL_CR(q), gpr = CR_QUAL_GPR(q);
	u64 val;
	bool ok = true, flush = false;
	switch (CR_QUAL_TYPE(q)) {
	case CR_TYPE_MOV_TO:
		val = gpr_read(v, gpr);
		if (code_mode() != INSN_MODE_64)
			val &= 0xffffffffull;
		if (cr == 0)
			ok = flush = emulate_cr0(v, val);
		else if (cr == 3)
			ok = flush = emulate_cr3(v, val);
		else if (cr == 4)
			ok = flush = emulate_cr4(v, val);
		else if (cr == 8 && !(val & ~0xfull))
			s->tpr = val;
		else
			ok = false;
		break;
	case CR_TYPE_MOV_FROM:
		if (cr == 3)
			gpr_write(v, gpr, vmcs_read(VMCS_GUEST_CR3));
		else if (cr == 8)
			gpr_write(v, gpr, s->tpr);
		else
			ok = false;
		break;
	case CR_TYPE_CLTS:
		ok = emulate_cr0(v, guest_cr0_view() & ~CR0_TS);
		break;
	case CR_TYPE_LMSW:
	default: {
		/* LMSW loads CR0[3:0] but cannot clear PE (Vol. 2A LMSW). */
		u64 cr0 = guest_cr0_view(), src = (q >> 16) & 0xf;
		ok = emulate_cr0(v, (cr0 & ~0xeull) | (src & 0xf) | (cr0 & CR0_PE));
		break;
	}
	}
	if (!ok) {
		vmx_inject_exception(v, EXC_GP, true, 0);
		return;
	}
	if (flush) {
		/* (without VPID every entry flushes anyway, 28.3.3.3) */
		__atomic_add_fetch(&v->vm->guest_tlb_flushes, 1, __ATOMIC_RELAXED);
		if (vmx.vpid)
			flush_vpid(((struct vmx_vm *)v->vm->vendor)->vpid);
	}
	vmx_set_rip(v, vmcs_read(VMCS_GUEST_RIP) + vmcs_read(VMCS_EXIT_INSN_LEN));
}

/* ---- run ---- */

/*
 * STAR, LSTAR, SFMASK and KERNEL_GS_BASE are not in the VMCS and hv itself
 * never uses them (no SYSCALL, no SWAPGS in hv); nor is CR2, which hv
 * never changes (it takes no page faults). So the registers simply
 * hold the guest values of the last vCPU that entered this pCPU. The guest
 * reaches them without exits, so they are read back at every exit after
 * which the vCPU may leave (lazy_msrs_save); they are loaded when a vCPU
 * enters a pCPU whose registers do not hold its latest values.
 */
static void lazy_msrs_load(struct vmx_pcpu *vp, struct vmx_vcpu *s, bool moved)
{
	if (vp->msr_owner == s && !moved)
		return;                  /* still as saved at its last exit here */
	for (unsigned i = 0; i < NLAZY; i++)
		wrmsr(lazy_msrs[i], s->lazy[i]);
	write_cr2(s->cr2);
	vp->msr_owner = s;
}

static void lazy_msrs_save(struct vmx_vcpu *s)
{
	for (unsigned i = 0; i < NLAZY; i++)
		s->lazy[i] = rdmsr(lazy_msrs[i]);
	s->cr2 = read_cr2();
}

/*
 * TLB entries are tagged with the VPID (28.1), which is per VM. They must
 * not leak from one vCPU to another of the same VM (their CR3s may differ
 * and no MOV CR3 happens at the switch), nor survive a trip of v through
 * another pCPU, where v may have changed its page tables (a guest's
 * INVLPG/MOV CR3 only flushes the pCPU it runs on).
 */
static void tlb_prepare(struct vmx_pcpu *vp, struct vmx_vcpu *s, const struct vmx_vm *x, bool moved)
{
	if (moved && !(vmx.ept_vpid_cap & EPT_CAP_INVEPT_ALL)) {
		/* cpu_init could not flush every EPTP: flush this one before its first use here. */
		enum vmx_status st = invept(INVEPT_SINGLE, x->eptp);
		if (st != VMX_OK)
			vmx_insn_panic("INVEPT", "single-context", x->eptp, st);
	}
	if (x->vpid && (moved || vp->vpid_owner[x->vpid] != s)) {
		flush_vpid(x->vpid);    /* (with VPID 0 every entry and exit flushes, 28.3.3.3) */
		vp->vpid_owner[x->vpid] = s;
	}
}

/* The slice as a VMX-preemption timer value (25.5.1): TSC >> rate, saturated. */
static void arm_preemption_timer(struct pcpu *p)
{
	u64 now = rdtsc();
	u64 left = p->slice_end_tsc > now ? (p->slice_end_tsc - now) >> vmx.preempt_rate : 0;
	vmcs_write(VMCS_GUEST_PREEMPT_TIMER, left > 0xffffffffull ? 0xffffffffull : left);
}

/*
 * An event the exit interrupted while it was being delivered (27.2.4) is
 * delivered again at the next entry (26.6), unless hv injects its own.
 */
static void reinject_idt_vectoring(void)
{
	u64 info = vmcs_read(VMCS_IDT_VECTORING_INFO);
	if (!(info & INTR_INFO_VALID))
		return;
	vmcs_write(VMCS_ENTRY_INTR_INFO, info & ~(u64)INTR_INFO_NMI_UNBLOCK & 0xffffffffull);
	if (info & INTR_INFO_ERROR)
		vmcs_write(VMCS_ENTRY_EXC_ERROR, vmcs_read(VMCS_IDT_VECTORING_ERROR));
	u32 type = INTR_INFO_TYPE(info);
	if (type == INTR_TYPE_SW_INT || type == INTR_TYPE_PRIV_SW_EXC || type == INTR_TYPE_SW_EXC)
		vmcs_write(VMCS_ENTRY_INSN_LEN, vmcs_read(VMCS_EXIT_INSN_LEN));
}

/*
 * Reflect an intercepted #DB or #AC to the guest as the CPU would have
 * delivered it. #DB: a VM exit leaves DR6 alone and reports its new status
 * bits in the exit qualification (B0-B3, BD, BS, RTM: SDM Vol. 3C 27.2.1
 * Table 27-1), so hv puts them into DR6 (clearing the old B0-B3, as the CPU
 * may), then injects the same event: a hardware exception, or ICEBP's
 * privileged software exception with its instruction length (26.6.1.1).
 */
static void reflect_exception(struct vcpu *v, u64 info, u8 vec)
{
	if (vec == EXC_AC) {
		vmx_inject_exception(v, EXC_AC, true, 0);
		return;
	}
	u64 q = vmcs_read(VMCS_EXIT_QUALIFICATION);
	u64 dr6 = (read_dr(6) & ~0xfull) | 0xffff0ff0ull;     /* fixed 1s; RTM (16) active low */
	dr6 |= q & (0xfull | BIT(13) | BIT(14));
	if (q & BIT(16))
		dr6 &= ~BIT(16);
	write_dr(6, dr6);
	if (INTR_INFO_TYPE(info) == INTR_TYPE_PRIV_SW_EXC) {
		vmcs_write(VMCS_ENTRY_INTR_INFO, EXC_DB | INTR_TYPE_PRIV_SW_EXC << 8 | INTR_INFO_VALID);
		vmcs_write(VMCS_ENTRY_INSN_LEN, vmcs_read(VMCS_EXIT_INSN_LEN));
	} else {
		vmx_inject_exception(v, EXC_DB, false, 0);
	}
}

/*
 * Turn the exit in the current VMCS into *e. Returns false when the
 * backend handled it itself (the guest re-enters at once): control-register
 * accesses, and a #UD that is not a vmmcall (given back to the guest).
 */
static bool classify_exit(struct vcpu *v, struct vmx_vcpu *s, u32 reason, struct vm_exit *e)
{
	u32 basic = EXIT_REASON_BASIC(reason);
	e->raw = reason;
	e->insn_len = 0;
	switch (basic) {
	case VMX_EXIT_IO: {
		u64 q = vmcs_read(VMCS_EXIT_QUALIFICATION);
		e->reason = EXIT_IO;
		e->io.port = IO_QUAL_PORT(q);
		e->io.size = (u8)IO_QUAL_SIZE(q);
		e->io.in = q & IO_QUAL_IN;
		e->io.string = q & IO_QUAL_STRING;
		e->io.rep = q & IO_QUAL_REP;
		e->insn_len = (u32)vmcs_read(VMCS_EXIT_INSN_LEN);
		return true;
	}
	case VMX_EXIT_RDMSR:
	case VMX_EXIT_WRMSR:
	case VMX_EXIT_CPUID:
	case VMX_EXIT_HLT:
	case VMX_EXIT_INVD:
	case VMX_EXIT_WBINVD:
		e->reason = basic == VMX_EXIT_RDMSR ? EXIT_MSR_READ : basic == VMX_EXIT_WRMSR ? EXIT_MSR_WRITE
			    : basic == VMX_EXIT_CPUID ? EXIT_CPUID : basic == VMX_EXIT_HLT ? EXIT_HLT : EXIT_CACHE;
		e->insn_len = (u32)vmcs_read(VMCS_EXIT_INSN_LEN);
		return true;
	case VMX_EXIT_INTR_WINDOW:
		e->reason = EXIT_IRQ_WINDOW;
		vmcs_write(VMCS_PROC_CONTROLS, vmcs_read(VMCS_PROC_CONTROLS) & ~(u64)PROC_INTR_WINDOW);
		return true;
	case VMX_EXIT_PAUSE:                /* PAUSE exiting or PAUSE-loop exiting */
		e->reason = EXIT_PAUSE;
		e->insn_len = (u32)vmcs_read(VMCS_EXIT_INSN_LEN);
		return true;
	case VMX_EXIT_NMI_WINDOW:
		e->reason = EXIT_IRQ_WINDOW;
		vmcs_write(VMCS_PROC_CONTROLS, vmcs_read(VMCS_PROC_CONTROLS) & ~(u64)PROC_NMI_WINDOW);
		return true;
	case VMX_EXIT_XSETBV:
		e->reason = EXIT_XSETBV;
		return true;
	case VMX_EXIT_EXCEPTION_NMI: {
		u64 info = vmcs_read(VMCS_EXIT_INTR_INFO);
		if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI) {
			/* A host NMI: hv's own handler takes it, as after an SVM NMI intercept. */
			__asm__ volatile("int $2");
			e->reason = EXIT_INTR;
			return true;
		}
		u8 vec = INTR_INFO_VECTOR(info);
		if (vec == EXC_UD) {
			u32 len = decode_len(v, INSN_VMMCALL);
			if (len) {
				e->reason = EXIT_HYPERCALL;   /* guest/hv.inc's vmmcall */
				e->insn_len = len;
				e->cpl = (vmcs_read(VMCS_GUEST_SS_AR) >> 5) & 3;   /* SS.DPL = CPL (24.4.1) */
				return true;
			}
			vmx_inject_exception(v, EXC_UD, false, 0);   /* the guest's own #UD */
			return false;
		}
		e->reason = EXIT_EXCEPTION;
		e->exc.vector = vec;
		e->exc.error = info & INTR_INFO_ERROR ? (u32)vmcs_read(VMCS_EXIT_INTR_ERROR) : 0;
		if (vec == EXC_DB || vec == EXC_AC)
			reflect_exception(v, info, vec);
		return true;
	}
	case VMX_EXIT_EXT_INTR:
	case VMX_EXIT_INIT:
	case VMX_EXIT_SIPI:
	case VMX_EXIT_IO_SMI:
	case VMX_EXIT_OTHER_SMI:
		e->reason = EXIT_INTR;       /* still pending in the LAPIC: not acknowledged */
		return true;
	case VMX_EXIT_PREEMPT_TIMER:
		e->reason = EXIT_SLICE;
		return true;
	case VMX_EXIT_TRIPLE_FAULT:
		e->reason = EXIT_SHUTDOWN;
		return true;
	case VMX_EXIT_EPT_VIOLATION:
	case VMX_EXIT_EPT_MISCONFIG:
		e->reason = EXIT_NPF;
		e->npf.gpa = vmcs_read(VMCS_GUEST_PHYS_ADDR);
		e->npf.error = vmcs_read(VMCS_EXIT_QUALIFICATION);
		return true;
	case VMX_EXIT_GETSEC:
	case VMX_EXIT_VMCALL:            /* vmmcall is the one hypercall (docs/guest-abi.md): #UD as on AMD */
	case VMX_EXIT_VMCLEAR:
	case VMX_EXIT_VMLAUNCH:
	case VMX_EXIT_VMPTRLD:
	case VMX_EXIT_VMPTRST:
	case VMX_EXIT_VMREAD:
	case VMX_EXIT_VMRESUME:
	case VMX_EXIT_VMWRITE:
	case VMX_EXIT_VMXOFF:
	case VMX_EXIT_VMXON:
	case VMX_EXIT_INVEPT:
	case VMX_EXIT_INVVPID:
	case VMX_EXIT_VMFUNC:
	case VMX_EXIT_ENCLS:
	case VMX_EXIT_MONITOR:
	case VMX_EXIT_MWAIT:
		e->reason = EXIT_VIRT_INSN;
		return true;
	case VMX_EXIT_CR_ACCESS:
		handle_cr_access(v, s);
		return false;
	case VMX_EXIT_RDPMC:
		/* No PMU is virtualised: every counter reads 0, as on SVM (the host's must not leak). */
		v->regs.rax = 0;
		v->regs.rdx = 0;
		e->reason = EXIT_EMULATED;
		e->insn_len = (u32)vmcs_read(VMCS_EXIT_INSN_LEN);
		return true;
	case VMX_EXIT_BUS_LOCK:
		/* Trap-like (RIP is past the locked instruction): counted as an
		 * exit, so a guest splitting locks pays an exit per bus lock. */
		e->reason = EXIT_EMULATED;
		return true;
	case VMX_EXIT_NOTIFY:
		/* The guest kept the CPU from reaching an instruction boundary for
		 * the notify window (e.g. an event-delivery loop). Bit 0 of the
		 * qualification: the VM context is invalid, the VM cannot go on. */
		if (vmcs_read(VMCS_EXIT_QUALIFICATION) & 1) {
			e->reason = EXIT_OTHER;
			e->what = "a notify-window exit with the VM context invalid";
		} else {
			e->reason = EXIT_EMULATED;
		}
		return true;
	default:
		e->reason = EXIT_OTHER;
		return true;
	}
}

static void vmx_run(struct pcpu *p, struct vcpu *v, struct vm_exit *e)
{
	struct vmx_pcpu *vp = p->vendor;
	struct vmx_vcpu *s = vx(v);
	struct vmx_vm *x = v->vm->vendor;

	if (vp->current != s) {
		vmcs_acquire(vp, s);     /* (it was VMCLEARed wherever it last ran) */
		if (s->host_of != vp) {
			write_host_state(p, vp);
			s->host_of = vp;
		}
	}
	bool moved = s->last_pcpu != vp;
	tlb_prepare(vp, s, x, moved);
	lazy_msrs_load(vp, s, moved);
	s->last_pcpu = vp;

	if (__builtin_expect(s->pause_sw, 0)) {
		/* Without PAUSE-loop exiting every PAUSE would exit: only while
		 * another vCPU waits in this pCPU's queue (as on SVM). */
		bool want = __atomic_load_n(&p->rq_head, __ATOMIC_RELAXED);
		if (want != s->pause_on) {
			u64 proc = vmcs_read(VMCS_PROC_CONTROLS);
			vmcs_write(VMCS_PROC_CONTROLS, want ? proc | PROC_PAUSE_EXITING : proc & ~(u64)PROC_PAUSE_EXITING);
			s->pause_on = want;
		}
	}
	for (;;) {
		arm_preemption_timer(p);
		int st;
		if (__builtin_expect(tsc_split, 0)) {    /* the guest's time, for the report (core.h) */
			u64 t0 = rdtsc();
			st = vmx_enter(&v->regs, s->launched);
			v->enter_tsc += rdtsc() - t0;
		} else {
			st = vmx_enter(&v->regs, s->launched);
		}
		if (st != VMX_OK) {
			/* VMfail: the CPU never left hv (26.1, 26.2); dump() says why. */
			s->fail = st;
			s->insn_error = st == VMX_FAIL_VALID ? insn_error_now() : 0;
			e->reason = EXIT_INVALID;
			e->raw = BIT(32) | s->insn_error;
			e->insn_len = 0;
			return;
		}
		u32 reason = (u32)vmcs_read(VMCS_EXIT_REASON);
		if (reason & EXIT_REASON_ENTRY_FAIL) {
			/* Entry failed while loading guest state (26.8): nothing ran. */
			e->reason = EXIT_INVALID;
			e->raw = reason;
			e->insn_len = 0;
			return;
		}
		s->launched = true;
		reinject_idt_vectoring();
		if (classify_exit(v, s, reason, e))
			break;
		s->internal_exits++;
	}
	if (may_leave(e->reason)) {
		lazy_msrs_save(s);
		vmcs_release(s);         /* see may_leave */
	}
}

/* ---- MSRs kept in the VMCS (or here) ---- */

static bool vmx_msr_read(struct vcpu *v, u32 msr, u64 *val)
{
	bool b;
	switch (msr) {
	case MSR_EFER:
		b = vmcs_get(v);
		*val = vmcs_read(VMCS_GUEST_EFER);
		vmcs_put(v, b);
		return true;
	case MSR_PAT:
		*val = vx(v)->pat;       /* kept in step with the VMCS field by msr_write */
		return true;
	case MSR_CSTAR:
		*val = vx(v)->cstar;
		return true;
	default:
		return false;
	}
}

static bool vmx_msr_write(struct vcpu *v, u32 msr, u64 val)
{
	bool b, ok;
	switch (msr) {
	case MSR_EFER: {
		/* SCE, LME, LMA (read-only: kept), NXE, as on SVM. */
		if (val & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
			return false;
		b = vmcs_get(v);
		u64 cur = vmcs_read(VMCS_GUEST_EFER);
		/* LME may not change while paging is on (Vol. 3A 9.8.5: #GP), else entry would fail. */
		ok = !(((val ^ cur) & EFER_LME) && (vmcs_read(VMCS_GUEST_CR0) & CR0_PG));
		if (ok)
			vmcs_write(VMCS_GUEST_EFER, (val & ~EFER_LMA) | (cur & EFER_LMA));
		vmcs_put(v, b);
		return ok;
	}
	case MSR_PAT:
		for (int i = 0; i < 8; i++) {
			u8 t = (u8)(val >> (i * 8));
			if (t == 2 || t == 3 || t > 7)
				return false;   /* reserved memory types (SDM 11.12.2) */
		}
		if (vmx.pat) {
			b = vmcs_get(v);
			vmcs_write(VMCS_GUEST_PAT, val);
			vmcs_put(v, b);
		}
		vx(v)->pat = val;
		return true;
	case MSR_CSTAR:
		if ((u64)((s64)(val << 16) >> 16) != val)
			return false;       /* not canonical */
		vx(v)->cstar = val;
		return true;
	default:
		return false;
	}
}

static void vmx_pred_cmd_passthrough(struct vcpu *v)
{
	msr_bitmap_set(vx(v)->msr_bitmap, MSR_PRED_CMD, true, false);
}

/* ---- dump ---- */

static const char *exit_name(u32 basic)
{
	switch (basic) {
	case VMX_EXIT_EXCEPTION_NMI: return "exception or NMI";
	case VMX_EXIT_EXT_INTR: return "external interrupt";
	case VMX_EXIT_TRIPLE_FAULT: return "triple fault";
	case VMX_EXIT_TASK_SWITCH: return "task switch (not supported)";
	case VMX_EXIT_CPUID: return "CPUID";
	case VMX_EXIT_HLT: return "HLT";
	case VMX_EXIT_VMCALL: return "VMCALL";
	case VMX_EXIT_CR_ACCESS: return "control-register access";
	case VMX_EXIT_DR_ACCESS: return "MOV DR";
	case VMX_EXIT_IO: return "I/O instruction";
	case VMX_EXIT_RDMSR: return "RDMSR";
	case VMX_EXIT_WRMSR: return "WRMSR";
	case VMX_EXIT_INVALID_GUEST: return "VM-entry failure: invalid guest state";
	case VMX_EXIT_MSR_LOADING: return "VM-entry failure: MSR loading";
	case VMX_EXIT_MACHINE_CHECK: return "VM-entry failure: machine-check event";
	case VMX_EXIT_EPT_VIOLATION: return "EPT violation";
	case VMX_EXIT_EPT_MISCONFIG: return "EPT misconfiguration";
	case VMX_EXIT_PREEMPT_TIMER: return "VMX-preemption timer expired";
	case VMX_EXIT_XSETBV: return "XSETBV";
	case VMX_EXIT_RDPMC: return "RDPMC";
	case VMX_EXIT_BUS_LOCK: return "bus lock";
	case VMX_EXIT_NOTIFY: return "notify window";
	default: return "other";
	}
}

/* Which control bits the CPU would refuse (for error 7, 26.2.1.1). */
static void explain_controls(void)
{
	static const struct { u32 field; const char *name; } f[5] = {
		{ VMCS_PIN_CONTROLS, "pin-based" }, { VMCS_PROC_CONTROLS, "processor-based" },
		{ VMCS_PROC2_CONTROLS, "secondary" }, { VMCS_EXIT_CONTROLS, "VM-exit" },
		{ VMCS_ENTRY_CONTROLS, "VM-entry" },
	};
	for (int i = 0; i < 5; i++) {
		u64 c = 0, cap = vmx.caps[i];
		vmread(f[i].field, &c);
		u32 must0 = ~(u32)(cap >> 32) & (u32)c, must1 = (u32)cap & ~(u32)c;
		if (must0 || must1)
			printk("  %s controls 0x%08x: bits 0x%x not allowed, bits 0x%x required\n", f[i].name,
			       (u32)c, must0, must1);
	}
}

/* The guest-state checks most likely to have failed (26.3.1), for exit reason 33. */
static void explain_guest_state(void)
{
	u64 cr0 = vmcs_read(VMCS_GUEST_CR0), cr4 = vmcs_read(VMCS_GUEST_CR4);
	u64 efer = vmcs_read(VMCS_GUEST_EFER), entry = vmcs_read(VMCS_ENTRY_CONTROLS);
	u64 cs_ar = vmcs_read(VMCS_GUEST_CS_AR), tr_ar = vmcs_read(VMCS_GUEST_TR_AR);
	u64 rflags = vmcs_read(VMCS_GUEST_RFLAGS);
	bool ia32e = entry & ENTRY_IA32E_GUEST;
	int n = 0;
#define WHY(cond, ...) do { if (cond) { printk("  possible cause: " __VA_ARGS__); printk("\n"); n++; } } while (0)
	WHY((cr0 & cr0_forced()) != cr0_forced() || (cr0 & ~vmx.cr0_fixed1),
	    "CR0 0x%llx breaks IA32_VMX_CR0_FIXED0/1 (0x%llx/0x%llx)", (unsigned long long)cr0,
	    (unsigned long long)vmx.cr0_fixed0, (unsigned long long)vmx.cr0_fixed1);
	WHY((cr4 & vmx.cr4_fixed0) != vmx.cr4_fixed0 || (cr4 & ~vmx.cr4_fixed1),
	    "CR4 0x%llx breaks IA32_VMX_CR4_FIXED0/1 (0x%llx/0x%llx)", (unsigned long long)cr4,
	    (unsigned long long)vmx.cr4_fixed0, (unsigned long long)vmx.cr4_fixed1);
	WHY((cr0 & CR0_PG) && !(cr0 & CR0_PE), "CR0.PG set without CR0.PE");
	WHY(ia32e != !!(efer & EFER_LMA), "'IA-32e mode guest' entry control (%d) differs from EFER.LMA", ia32e);
	WHY((cr0 & CR0_PG) && !!(efer & EFER_LME) != !!(efer & EFER_LMA), "CR0.PG set and EFER.LME != EFER.LMA");
	WHY(ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)), "IA-32e mode guest without CR0.PG and CR4.PAE");
	WHY((cs_ar & AR_L) && (cs_ar & AR_DB), "CS.L and CS.D both set");
	WHY((cs_ar & AR_L) && !ia32e, "CS.L set outside IA-32e mode");
	u64 tr_type = tr_ar & 0xf;
	WHY((tr_ar & AR_UNUSABLE) || !(tr_type == 11 || (!ia32e && tr_type == 3)),
	    "TR access rights 0x%llx: need a usable busy TSS", (unsigned long long)tr_ar);
	WHY(!(rflags & 2) || (ia32e && (rflags & RFLAGS_VM)), "RFLAGS 0x%llx: bit 1 clear or VM set in IA-32e mode",
	    (unsigned long long)rflags);
	WHY(vmcs_read(VMCS_LINK_POINTER) != ~0ull, "VMCS link pointer is not all ones");
	WHY(vmcs_read(VMCS_GUEST_ACTIVITY) != 0, "guest activity state is not active");
	if (!n)
		printk("  (none of hv's checks of 26.3.1 found the cause)\n");
#undef WHY
}

static void vmx_dump(struct vcpu *v)
{
	struct vmx_vcpu *s = vx(v);
	struct guest_regs *r = &v->regs;
	bool b = vmcs_get(v);
	if (s->fail) {
		printk("  VM%s failed: %s\n", s->launched ? "RESUME" : "LAUNCH",
		       s->fail == VMX_FAIL_INVALID ? "VMfailInvalid (no valid current VMCS)" : "VMfailValid");
		if (s->fail == VMX_FAIL_VALID) {
			printk("  VM-instruction error %u: %s (SDM 30.4)\n", s->insn_error, vmx_error_text(s->insn_error));
			if (s->insn_error == 7)
				explain_controls();
			else if (s->insn_error == 8)
				printk("  host state: see SDM 26.2.2-26.2.4 (CR0/CR4 fixed bits, selectors, canonical bases)\n");
		}
	} else {
		u32 reason = (u32)vmcs_read(VMCS_EXIT_REASON);
		u32 basic = EXIT_REASON_BASIC(reason);
		u64 q = vmcs_read(VMCS_EXIT_QUALIFICATION);
		printk("  exit reason %u (%s)%s qualification 0x%llx insn len %llu intr info 0x%llx idt-vectoring 0x%llx\n",
		       basic, exit_name(basic), reason & EXIT_REASON_ENTRY_FAIL ? " [VM-entry failure]" : "",
		       (unsigned long long)q, (unsigned long long)vmcs_read(VMCS_EXIT_INSN_LEN),
		       (unsigned long long)vmcs_read(VMCS_EXIT_INTR_INFO),
		       (unsigned long long)vmcs_read(VMCS_IDT_VECTORING_INFO));
		if (basic == VMX_EXIT_INVALID_GUEST) {
			printk("  the CPU rejected the guest-state area (SDM 26.3.1)%s\n",
			       q == 2 ? ": PDPTE loading failed" : q == 3 ? ": NMI injection with NMIs blocked"
			       : q == 4 ? ": invalid VMCS link pointer" : "");
			explain_guest_state();
		} else if (basic == VMX_EXIT_MSR_LOADING) {
			printk("  the CPU failed to load entry %llu of the VM-entry MSR-load area (26.4)\n",
			       (unsigned long long)q);
		} else if (basic == VMX_EXIT_MACHINE_CHECK) {
			printk("  a machine check happened during VM entry (26.9)\n");
		}
	}
	printk("  rip %016llx rsp %016llx rflags %016llx cs %04llx ar %05llx\n",
	       (unsigned long long)vmcs_read(VMCS_GUEST_RIP), (unsigned long long)vmcs_read(VMCS_GUEST_RSP),
	       (unsigned long long)vmcs_read(VMCS_GUEST_RFLAGS), (unsigned long long)vmcs_read(VMCS_GUEST_CS_SEL),
	       (unsigned long long)vmcs_read(VMCS_GUEST_CS_AR));
	printk("  cr0 %016llx (guest sees %016llx) cr3 %016llx\n", (unsigned long long)vmcs_read(VMCS_GUEST_CR0),
	       (unsigned long long)guest_cr0_view(), (unsigned long long)vmcs_read(VMCS_GUEST_CR3));
	printk("  cr4 %016llx (guest sees %016llx) efer %016llx ia32e %d\n",
	       (unsigned long long)vmcs_read(VMCS_GUEST_CR4), (unsigned long long)vmcs_read(VMCS_CR4_SHADOW),
	       (unsigned long long)vmcs_read(VMCS_GUEST_EFER),
	       !!(vmcs_read(VMCS_ENTRY_CONTROLS) & ENTRY_IA32E_GUEST));
	printk("  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n", (unsigned long long)r->rax,
	       (unsigned long long)r->rbx, (unsigned long long)r->rcx, (unsigned long long)r->rdx);
	printk("  rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n", (unsigned long long)r->rsi,
	       (unsigned long long)r->rdi, (unsigned long long)r->rbp, (unsigned long long)r->r8);
	printk("  r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n", (unsigned long long)r->r9,
	       (unsigned long long)r->r10, (unsigned long long)r->r11, (unsigned long long)r->r12);
	printk("  r13 %016llx r14 %016llx r15 %016llx exits handled in vmx.c %llu\n", (unsigned long long)r->r13,
	       (unsigned long long)r->r14, (unsigned long long)r->r15, (unsigned long long)s->internal_exits);
	vmcs_put(v, b);
}

/* Guest segment n (ES CS SS DS FS GS: the VMCS fields are 2 apart in that
 * order, SDM Vol. 3C Appendix B). Access rights: 24.4.1 Table 24-2. */
static struct guest_segment vmx_seg(unsigned n)
{
	u64 ar = vmcs_read(VMCS_GUEST_ES_AR + 2 * n);
	return (struct guest_segment){ vmcs_read(VMCS_GUEST_ES_BASE + 2 * n),
				       (u32)vmcs_read(VMCS_GUEST_ES_LIMIT + 2 * n), (u8)(ar & 0xf),
				       !(ar & AR_UNUSABLE) && (ar & BIT(7)), (ar & AR_DB) != 0 };
}

static void vmx_get_state(struct vcpu *v, struct guest_state *st)
{
	bool b = vmcs_get(v);
	st->pg = guest_paging();
	st->mode = code_mode();
	st->cpl = (unsigned)(vmcs_read(VMCS_GUEST_SS_AR) >> 5) & 3;   /* SS.DPL = CPL (26.3.1.5) */
	st->rip = vmx_get_rip(v);
	st->rsp = vmcs_read(VMCS_GUEST_RSP);
	st->rflags = vmcs_read(VMCS_GUEST_RFLAGS);
	st->cr2 = read_cr2();            /* VT-x does not switch CR2: the guest's is live */
	for (unsigned n = 0; n < SEG_COUNT; n++)
		st->seg[n] = vmx_seg(n);
	if (!(st->pg.cr0 & CR0_PE) || (st->rflags & BIT(17)))
		for (int i = 0; i < SEG_COUNT; i++)
			st->seg[i].usable = true;
	vmcs_put(v, b);
}

static void vmx_set_state(struct vcpu *v, const struct guest_state *st)
{
	bool b = vmcs_get(v);
	vmcs_write(VMCS_GUEST_RSP, st->rsp);
	vmcs_write(VMCS_GUEST_RFLAGS, st->rflags);
	write_cr2(st->cr2);              /* live until the next entry on this pCPU */
	vmcs_put(v, b);
}

const struct vendor_ops vmx_ops = {
	.name = "vmx",
	.probe = vmx_probe,
	.cpu_init = vmx_cpu_init,
	.vm_init = vmx_vm_init,
	.vcpu_init = vmx_vcpu_init,
	.start_real = vmx_start_real,
	.set_boot_state = vmx_set_boot_state,
	.run = vmx_run,
	.get_rip = vmx_get_rip,
	.set_rip = vmx_set_rip,
	.advance_rip = vmx_advance_rip,
	.inject_exception = vmx_inject_exception,
	.irq_window = vmx_irq_window,
	.inject_event = vmx_inject_event,
	.msr_read = vmx_msr_read,
	.msr_write = vmx_msr_write,
	.pred_cmd_passthrough = vmx_pred_cmd_passthrough,
	.get_state = vmx_get_state,
	.set_state = vmx_set_state,
	.dump = vmx_dump,
};
