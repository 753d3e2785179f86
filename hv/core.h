/*
 * hv/core.h - VMs, vCPUs and physical CPUs as the generic core sees them
 * (types only), the run's tables that hold them and the pCPU primitives
 * every layer may use (core.c). Vendor state (VMCB, VMCS, nested page
 * tables) hangs off opaque pointers that only hv/svm or hv/vmx look inside.
 */
#ifndef HV_CORE_H
#define HV_CORE_H

#include "config.h"
#include "exits.h"
#include "policy.h"
#include "vplat_state.h"
#include "x86/apic.h"
#include "x86/cpu.h"
#include "x86/spinlock.h"

struct vm_exit {
	enum exit_reason reason;
	u64 raw;          /* the vendor's own exit code, for messages */
	u32 insn_len;     /* length of the exiting instruction, if it has one */
	u8 cpl;           /* EXIT_HYPERCALL: the guest's CPL (calls from CPL > 0 are refused) */
	const char *what; /* EXIT_OTHER: the instruction found, if hv knows it, else
			   * NULL (run_vcpu zeroes it; set only when the VM then ends) */
	union {
		struct { u16 port; u8 size; bool in, string, rep; } io;
		struct { u64 gpa, error; } npf;
		struct { u8 vector; u32 error; } exc;
	};
};

/* Guest general registers; RSP/RIP live in the vendor structure. */
struct guest_regs {
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 spec_ctrl;   /* IA32_SPEC_CTRL while the guest runs (spec.h; hv's own on exit) */
};

enum vcpu_state { VCPU_RUNNABLE, VCPU_HALTED, VCPU_STOPPED };

#define HV_COUNTERS 16
#define CONSOLE_LINE_MAX 120

struct vm;
struct pcpu;

struct vcpu {
	struct guest_regs regs;          /* first: the entry asm uses offset 0 */
	u8 fpu[512] __attribute__((aligned(16)));  /* FXSAVE image */
	void *vendor;                    /* VMCB / VMCS and friends */
	struct vm *vm;
	unsigned id;                     /* within the VM */
	unsigned gid;                    /* across all VMs, for traces */
	enum vcpu_state state;
	int pin;                         /* pCPU or -1 */
	struct pcpu *home;               /* run queue it belongs to */
	struct vcpu *rq_next;            /* run-queue link */
	bool queued;
	struct vcpu_barrier bar;         /* barrier-policy state (policy.h) */
	u64 spec_ctrl;                   /* guest's IA32_SPEC_CTRL (virtual) */
	u64 tsc_aux;                     /* guest's IA32_TSC_AUX (kept only: no RDTSCP/RDPID) */
	u64 misc_enable;                 /* guest's IA32_MISC_ENABLE (kept only; starts FAST_STRING) */
	u64 fpu_gen;                     /* bumped at each FXSAVE into fpu[] */
	u64 dr[4], dr6;                  /* debug registers no VM-entry switches */
	u32 pkru;                        /* protection-key rights, where the CPU has PKU */
	u32 hv_bytes;                    /* hv memory this vCPU costs (report) */
	u64 exits[EXIT_COUNT];
	u64 enter_tsc;                   /* TSC inside the vendor's entry call (svm_enter,
	                                  * vmx_enter): the guest plus that glue (vm->guest_tsc) */
	u64 slice_start_tsc;
	unsigned line_len;
	char line[CONSOLE_LINE_MAX + 1];
	struct lapic lapic;              /* its local APIC (vplat.c; under vm->plat.lock) */
	bool irq_check;                  /* the LAPIC may have something to deliver */
	bool halt_if;                    /* halted with RFLAGS.IF = 1 (an interrupt wakes it) */
	bool wait_sipi;                  /* ap_start = sipi: an AP in wait-for-SIPI (state
	                                  * VCPU_HALTED, halt_if false; vm->lock) */
	bool init_req;                   /* an INIT reached it while it ran: it goes to
	                                  * wait-for-SIPI when next switched out (vm->lock) */
	struct pcpu *timer_sleep;        /* halted waiting for its APIC timer: the pCPU
	                                  * whose timer wakes it (vm->lock), else NULL */
	u64 irqs_injected;
	u64 nmis_injected;               /* NMIs delivered (vplat_deliver) */
	unsigned pause_run;              /* PAUSE exits since the last yield (vcpu.c) */
	u64 pause_yields;                /* yields because of PAUSE loops */
	u32 running_on;                  /* pCPU id + 1 from dispatch until its state is
	                                  * saved, else 0 (atomic: run_vcpu's check) */
};

struct vm {
	struct spinlock lock;            /* result, status, nstopped, nrunnable, vCPU states */
	unsigned id;
	const struct vm_config *cfg;
	const char *name;
	u64 mem_pa, mem_size;            /* guest-physical 0 maps to mem_pa */
	void *vendor;                    /* nested page table root, ASID / VPID */
	unsigned nvcpus, nstopped;
	unsigned nrunnable;              /* vCPUs in state VCPU_RUNNABLE (vm_check_halted) */
	struct vcpu **vcpus;
	enum vm_result result;
	int status;                      /* exit status (RESULT_EXIT) */
	bool status_set;                 /* a vCPU gave a nonzero status */
	unsigned end_order;              /* 1 for the first VM to end, 2 ... */
	char reason[200];                /* why it ended, for the report (a line of at most 255 with its prefix) */
	u64 run_tsc;                     /* run time so far (guest + hv handling its exits), TSC */
	/* Where that time went (make bench, docs/benchmarks.md): TSC inside the
	 * vendor's entry call (the guest, plus VMRUN/VMRESUME and the register
	 * switch of svm_entry.S/vmx_entry.S: a fixed number of instructions per
	 * exit) and TSC in the rest of hv (the scheduler's dispatch of the vCPU
	 * and every exit's handling in C). */
	u64 guest_tsc, hv_tsc;
	u64 first_entry_tsc;             /* TSC at the VM's first entry, 0 before */
	u64 limit_tsc;                   /* 0 = no limit */
	u64 counters[HV_COUNTERS];
	u32 counters_set;                /* bit i: counter i was reported */
	struct vm_barrier bar;
	struct bar_stats stats;
	u64 pred_cmd_writes;             /* PRED_CMD writes that exited to hv */
	u64 hypercalls_refused;          /* hypercalls from CPL > 0 */
	u64 guest_tlb_flushes;           /* TLB flushes hv requested for guest CR writes */
	struct vplat plat;               /* devices on the port bus (vplat.c) */
};

struct pcpu {
	unsigned id;
	u32 apic_id;
	void *vendor;                    /* host save area etc. */
	struct spinlock rq_lock;         /* rq_*, and queued/rq_next of queued vCPUs */
	struct vcpu *rq_head, *rq_tail;  /* runnable vCPUs, round robin */
	unsigned rq_len;
	volatile bool idle;              /* in the idle loop, nothing to run */
	u64 steals;                      /* vCPUs taken from other pCPUs' queues */
	u64 migrations_in;               /* vCPUs that arrived by HC_MIGRATE */
	struct vcpu *current;            /* vCPU entered last (NULL: none yet) */
	struct vcpu *fpu_owner;          /* whose FPU state is in the registers */
	struct pcpu_barrier bar;         /* whose predictions may be here */
	struct bar_stats stats;
	u64 pred_cmd_writes;
	u64 fpu_gen;                     /* fpu_owner's fpu_gen when loaded */
	u64 busy_tsc, start_tsc;
	u64 slice_end_tsc;               /* when the running vCPU's slice ends */
	u64 timer_at;                    /* the TSC hv's timer is armed for while a vCPU runs */
	unsigned nsleepers;              /* vCPUs with timer_sleep == this pCPU (atomic) */
	unsigned fast_left;              /* fast exits left before the run loop looks at the clock (sched.c) */
};

/* Arm p's timer for the earlier of v's slice end and v's guest timer (the
 * sleepers are sched_timer.c's). In line: the run loop's tick and the
 * backends' fast path of it (docs/benchmarks.md, sixth pass). */
static inline void pcpu_timer_arm(struct pcpu *p, struct vcpu *v, u64 now, u64 next_sleeper)
{
	u64 target = p->slice_end_tsc, dl = v->lapic.timer_deadline;
	if (dl && dl < target)
		target = dl;
	if (next_sleeper && next_sleeper < target)
		target = next_sleeper;
	p->timer_at = target;
	apic_timer_oneshot_tsc(target > now ? target - now : 1);
}

/* The vCPU running on p armed its guest timer for dl (TSC, 0: none): hv's
 * timer is moved earlier if dl comes before what it is armed for; a later
 * one is looked at when that fires (sched_timer.c re-arms). In line: the
 * exit handler and the backends' fast paths (vplat_fast_wrmsr) call it. */
static inline void pcpu_timer_shorten(struct pcpu *p, u64 dl)
{
	if (dl && dl < p->timer_at) {
		u64 now = rdtsc();
		p->timer_at = dl;
		apic_timer_oneshot_tsc(dl > now ? dl - now : 1);
	}
}

/* Has vm ended (result set)? */
static inline bool vm_ended(const struct vm *vm)
{
	return __atomic_load_n(&vm->result, __ATOMIC_ACQUIRE) != RESULT_NONE;
}
/* Guest-physical gpa of vm as a pointer for hv (check it with guest_phys_ok). */
static inline void *guest_phys_ptr(const struct vm *vm, u64 gpa)
{
	return (void *)(uintptr_t)(vm->mem_pa + gpa);
}

/* What the exit handler tells the run loop. */
enum exit_action {
	ACTION_RESUME,    /* enter the same vCPU again at once */
	ACTION_YIELD,     /* back of the run queue */
	ACTION_PREEMPT,   /* slice used up: back of the run queue */
	ACTION_BLOCK,     /* vCPU halted */
	ACTION_STOP,      /* vCPU (or its whole VM) ended */
};

/* The tables of the run (core.c): the config, the boot-info record, the VMs
 * and the pCPUs (pcpu_by_apic: by local APIC id below 256). */
extern const struct hv_config *hv_cfg;
/* Split each VM's run time into guest and hv (vm->guest_tsc, hv_tsc): set
 * by hv_main when the config traces (`trace = on`), so that a run measured
 * for its path lengths pays only a test per exit. */
extern bool tsc_split;
struct boot_info;
extern struct boot_info *hv_bootinfo;
extern struct vm *vms[CFG_MAX_VMS];
extern unsigned nvms;
extern struct pcpu *pcpus[CFG_MAX_PCPUS];
extern unsigned npcpus;
extern struct pcpu *pcpu_by_apic[256];
/* The pCPU running this code (NULL before pcpu_init). */
struct pcpu *this_pcpu(void);
/* Put v on p's run queue (if runnable and not queued) and wake p if it idles. */
void sched_enqueue(struct pcpu *p, struct vcpu *v);

#endif
