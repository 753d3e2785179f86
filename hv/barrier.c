/* hv/barrier.c - see barrier.h. */
#include "barrier.h"
#include "hv.h"
#include "x86/cpu.h"

const char *const barrier_mode_names[] = {
	[BARRIER_HARDWARE] = "hardware",
	[BARRIER_FORCED] = "forced-wrmsr",
	[BARRIER_VIRTUAL] = "virtual",
	[BARRIER_UNAVAILABLE] = "unavailable",
};

struct barrier_caps barrier_caps;
struct barrier_ctx barrier_ctx;
struct spinlock policy_lock;

void barrier_init(const struct hv_config *cfg)
{
	struct barrier_caps *b = &barrier_caps;
	u32 max_ext = cpuid(0x80000000, 0).eax;
	struct cpuid_regs ext8 = max_ext >= 0x80000008 ? cpuid(0x80000008, 0) : (struct cpuid_regs){ 0 };
	struct cpuid_regs l7 = cpuid(0, 0).eax >= 7 ? cpuid(7, 0) : (struct cpuid_regs){ 0 };
	struct cpuid_regs ext21 = max_ext >= 0x80000021 ? cpuid(0x80000021, 0) : (struct cpuid_regs){ 0 };

	/* AMD: 8000_0008h EBX[12] IBPB, EBX[30] IBPB_RET; Intel: 7.0 EDX[26] IBRS/IBPB. */
	b->cpu_ibpb = (ext8.ebx & BIT(12)) || (l7.edx & BIT(26));
	b->cpu_ibpb_ret = ext8.ebx & BIT(30);
	b->cpu_sbpb = ext21.eax & BIT(27);
	if (b->cpu_ibpb)
		b->mode = BARRIER_HARDWARE;
	else if (cfg->force_wrmsr)
		b->mode = BARRIER_FORCED;
	else if (cfg->virtual_ibpb)
		b->mode = BARRIER_VIRTUAL;
	else
		b->mode = BARRIER_UNAVAILABLE;
	b->offer_guest = b->mode != BARRIER_UNAVAILABLE;
	b->track = cfg->track;
	if (b->track == TRACK_PASSTHROUGH && (b->mode == BARRIER_VIRTUAL || b->mode == BARRIER_UNAVAILABLE))
		b->track = TRACK_TRAP;   /* nothing to pass through to: hv records each write */
	barrier_ctx_init(&barrier_ctx, cfg->policy, b->track);

	printk("hv: barriers: policy %s, track %s%s; CPU IBPB %s%s; hv's barriers are %s\n",
	       policy_name(cfg->policy), track_name(b->track),
	       b->track != cfg->track ? " (passthrough needs an executable PRED_CMD)" : "",
	       b->cpu_ibpb ? "yes" : "no", b->cpu_ibpb && !b->cpu_ibpb_ret ? " (return stack stuffed after each)" : "",
	       b->mode == BARRIER_HARDWARE ? "executed on the hardware"
	       : b->mode == BARRIER_FORCED ? "executed by wrmsr although the CPU does not enumerate IBPB (force_wrmsr)"
	       : "RECORDED ONLY, not executed (the CPU has no IBPB)");
	if (!b->offer_guest)
		printk("hv: guests are not offered IBPB (set virtual_ibpb = on to offer a recorded one)\n");
	/* Start from a clean predictor state on the boot CPU: the contract assumes it. */
	barrier_execute();
}

void barrier_execute(void)
{
	const struct barrier_caps *b = &barrier_caps;
	if (b->mode != BARRIER_HARDWARE && b->mode != BARRIER_FORCED)
		return;
	wrmsr(MSR_PRED_CMD, PRED_CMD_IBPB);
	if (!b->cpu_ibpb_ret)
		rsb_stuff();
}

/* AMD's selective barrier, where the CPU has it; elsewhere nothing to run. */
void barrier_execute_sbpb(void)
{
	if (barrier_caps.cpu_sbpb && barrier_caps.mode == BARRIER_HARDWARE)
		wrmsr(MSR_PRED_CMD, PRED_CMD_SBPB);
}
