/* hv/trace.c - see trace.h. */
#include "trace.h"
#include "barrier.h"
#include "hv.h"

#define TRACE_PER_PCPU 65536

bool trace_on;
static struct trace_rec *buf[CFG_MAX_PCPUS];
static u32 len[CFG_MAX_PCPUS];
static u64 dropped, seq;

void trace_init(void)
{
	trace_on = hv_cfg->trace;
	if (!trace_on)
		return;
	for (unsigned i = 0; i < npcpus; i++)
		buf[i] = page_alloc(TRACE_PER_PCPU * sizeof(struct trace_rec) / 4096);
}

void trace_add(struct pcpu *p, enum trace_ev ev, u32 vcpu, u64 val, u8 barrier, u8 reason)
{
	if (!trace_on)
		return;
	u64 s = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	if (len[p->id] >= TRACE_PER_PCPU) {
		__atomic_add_fetch(&dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	buf[p->id][len[p->id]++] = (struct trace_rec){
		.seq = s, .vcpu = vcpu, .ev = (u8)ev, .pcpu = (u8)p->id,
		.barrier = barrier, .reason = reason, .val = val,
	};
}

void trace_print(void)
{
	static const char *const names[] = { "entry", "ibpb", "yield", "halt", "stop", "vmend", "preempt", "migrate" };
	if (!trace_on)
		return;
	printk("trace begin policy=%s track=%s pcpus=%u vms=%u barriers=%s\n",
	       policy_name(hv_cfg->policy), track_name(barrier_caps.track), npcpus, nvms,
	       barrier_mode_names[barrier_caps.mode]);
	for (unsigned i = 0; i < nvms; i++) {
		struct vm *vm = vms[i];
		printk("trace vm id=%u name=%s ibpb=%s vcpus=%u\n", vm->id, vm->name,
		       vm_ibpb_name(vm->cfg->ibpb), vm->nvcpus);
		for (unsigned j = 0; j < vm->nvcpus; j++)
			printk("trace vcpu gid=%u vm=%u id=%u\n", vm->vcpus[j]->gid, vm->id, j);
	}
	u64 total = 0;
	for (unsigned c = 0; c < npcpus; c++) {
		for (u32 i = 0; i < len[c]; i++) {
			struct trace_rec *r = &buf[c][i];
			unsigned long long s = r->seq;
			switch (r->ev) {
			case TR_ENTRY: {
				/* The contract wanted a barrier: issued for a reason, or a hole. */
				bool required = r->reason < BAR_ISSUED_POLICY || r->reason == BAR_SKIP_HOLE;
				printk("trace %llu entry p=%u v=%u barrier=%u required=%u reason=%s\n", s, r->pcpu,
				       r->vcpu, r->barrier, required, bar_reason_names[r->reason]);
				break;
			}
			case TR_IBPB:
				printk("trace %llu ibpb p=%u v=%u value=0x%llx\n", s, r->pcpu, r->vcpu,
				       (unsigned long long)r->val);
				break;
			case TR_VMEND:
				printk("trace %llu vmend vm=%u result=%s\n", s, r->vcpu, result_name((enum vm_result)r->val));
				break;
			case TR_MIGRATE:
				printk("trace %llu migrate p=%u v=%u to=%llu\n", s, r->pcpu, r->vcpu, (unsigned long long)r->val);
				break;
			default:
				printk("trace %llu %s p=%u v=%u\n", s, names[r->ev], r->pcpu, r->vcpu);
				break;
			}
			total++;
		}
	}
	printk("trace end events=%llu dropped=%llu\n", (unsigned long long)total, (unsigned long long)dropped);
}
