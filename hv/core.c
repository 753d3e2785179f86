/*
 * hv/core.c - the run's tables (core.h): the config, the boot-info record,
 * the VMs (filled by vms_create, vm.c) and the pCPUs (filled by pcpu_init,
 * main.c); which pCPU runs this code; a vCPU onto a pCPU's run queue (the
 * run loop, sched.c, takes it off). What every layer above may use.
 */
#include "core.h"
#include "hv.h"
#include "x86/apic.h"
#include "x86/trap.h"

const struct hv_config *hv_cfg;
bool tsc_split;
struct boot_info *hv_bootinfo;
struct vm *vms[CFG_MAX_VMS];
unsigned nvms;
struct pcpu *pcpus[CFG_MAX_PCPUS];
unsigned npcpus;
struct pcpu *pcpu_by_apic[256];

struct pcpu *this_pcpu(void)
{
	u32 id = apic_id();
	if (id < ARRAY_SIZE(pcpu_by_apic))
		return pcpu_by_apic[id];
	for (unsigned i = 0; i < npcpus; i++)   /* x2APIC ids of 256 and above */
		if (pcpus[i] && pcpus[i]->apic_id == id)
			return pcpus[i];
	return NULL;
}

void sched_enqueue(struct pcpu *p, struct vcpu *v)
{
	bool wake;
	spin_lock(&p->rq_lock);
	if (v->queued || v->state != VCPU_RUNNABLE) {
		spin_unlock(&p->rq_lock);
		return;
	}
	v->queued = true;
	v->rq_next = NULL;
	if (p->rq_tail)
		p->rq_tail->rq_next = v;
	else
		p->rq_head = v;
	p->rq_tail = v;
	p->rq_len++;
	wake = p->idle;
	spin_unlock(&p->rq_lock);
	if (wake && p != this_pcpu())
		apic_send_ipi(p->apic_id, VEC_WAKE);
}
