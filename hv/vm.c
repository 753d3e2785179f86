/*
 * hv/vm.c - creating VMs from the config and ending them.
 */
#include "barrier.h"
#include "bootinfo.h"
#include "guest_layout.h"
#include "hv.h"
#include "linux_load.h"
#include "trace.h"
#include "vendor.h"
#include "vm.h"
#include "vplat.h"
#include "x86/apic.h"
#include "x86/cpu.h"

/* Long-mode start: a flat GDT and an identity map with 2 MiB pages (guest-abi.md). */
static void build_long_mode_tables(struct vm *vm)
{
	u64 *gdt = guest_phys_ptr(vm, GUEST_GDT);
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull;   /* 0x08: 64-bit code */
	gdt[2] = 0x00cf93000000ffffull;   /* 0x10: flat data */
	u64 *pml4 = guest_phys_ptr(vm, GUEST_PML4);
	u64 *pdpt = guest_phys_ptr(vm, GUEST_PDPT);
	u64 *pd = guest_phys_ptr(vm, GUEST_PD);
	pml4[0] = GUEST_PDPT | 0x3;       /* present, writable */
	pdpt[0] = GUEST_PD | 0x3;
	for (u64 i = 0; i < vm->mem_size / MiB(2); i++)
		pd[i] = i * MiB(2) | 0x83;    /* present, writable, 2 MiB page */
}

static void vcpu_fpu_init(struct vcpu *v)
{
	memset(v->fpu, 0, sizeof(v->fpu));
	*(u16 *)&v->fpu[0] = 0x37f;       /* FCW after FNINIT */
	*(u32 *)&v->fpu[24] = 0x1f80;     /* MXCSR reset value */
	v->dr6 = 0xffff0ff0;              /* DR6 and PKRU (0) as after reset */
}

void vms_create(void)
{
	const struct hv_config *cfg = hv_cfg;
	unsigned gid = 0;
	for (unsigned i = 0; i < cfg->nvms; i++) {
		const struct vm_config *c = &cfg->vms[i];
		struct vm *vm = kzalloc(sizeof(*vm));
		vm->id = i;
		vm->cfg = c;
		vm->name = c->name;
		vm->mem_size = c->memory;
		vm->mem_pa = va_to_pa(page_alloc_aligned(c->memory / 4096, MiB(2)));
		vm->nvcpus = c->vcpus;
		vm->limit_tsc = c->limit_ms * tsc_per_ms;
		barrier_vm_init(&vm->bar, vm->id, c->ibpb);
		vplat_init(vm);

		const struct boot_image *img = &hv_bootinfo->images[i];
		/* A Linux VM: hv/linux_load.c; a failure ends this VM only (below). */
		static struct linux_cpu_state boot;
		static char lerr[sizeof(vm->reason)];
		bool linux_ok = false;
		lerr[0] = '\0';
		if (vm_is_linux(c)) {
			linux_ok = linux_load(vm, img, &hv_bootinfo->initrds[i], &boot, lerr, sizeof(lerr)) == 0;
		} else {
			memcpy(guest_phys_ptr(vm, guest_load_addr(c)), pa_to_va(img->pa), img->size);
			if (c->mode == GUEST_MODE_LONG)
				build_long_mode_tables(vm);
		}
		vendor->vm_init(vm);

		vm->vcpus = kzalloc(sizeof(struct vcpu *) * c->vcpus);
		for (unsigned j = 0; j < c->vcpus; j++) {
			struct vcpu *v = kzalloc(sizeof(*v));
			vm->vcpus[j] = v;
			v->vm = vm;
			v->id = j;
			v->gid = gid++;
			v->state = VCPU_RUNNABLE;
			vm->nrunnable++;
			v->pin = c->pin[j];
			v->hv_bytes = sizeof(*v);
			v->regs.rdi = j;
			v->regs.rsi = c->vcpus;
			v->regs.rdx = c->memory;
			v->regs.rbx = c->arg;
			v->misc_enable = MISC_ENABLE_FAST_STRING;   /* as firmware leaves it (LINUX.md: Linux keeps FSRM) */
			vcpu_fpu_init(v);
			vplat_vcpu_init(v);
			barrier_vcpu_init(&v->bar, v->gid, vm->id);
			vendor->vcpu_init(v);
			if (j == 0 && linux_ok)
				vendor->set_boot_state(v, &boot);
			v->home = pcpus[v->pin >= 0 ? (unsigned)v->pin : v->gid % npcpus];
			if (c->ap_sipi && j > 0) {
				/* An AP waits for INIT-SIPI-SIPI from another vCPU
				 * (vplat.c, SDM Vol. 3A 9.4.4): not runnable yet. */
				v->state = VCPU_HALTED;
				vm->nrunnable--;
				v->wait_sipi = true;
			} else {
				sched_enqueue(v->home, v);
			}
		}
		vms[nvms++] = vm;
		if (vm_is_linux(c))
			printk("hv: vm %s: %u vCPU(s), %llu MiB at 0x%llx, Linux kernel %s (%llu bytes), "
			       "initrd %s (%llu bytes), ibpb %s\n", vm->name, vm->nvcpus,
			       (unsigned long long)(vm->mem_size >> 20), (unsigned long long)vm->mem_pa,
			       c->kernel, (unsigned long long)img->size, c->initrd[0] ? c->initrd : "none",
			       (unsigned long long)hv_bootinfo->initrds[i].size, vm_ibpb_name(c->ibpb));
		else
			printk("hv: vm %s: %u vCPU(s), %llu MiB at 0x%llx, %s mode, image %s (%llu bytes), ibpb %s\n",
			       vm->name, vm->nvcpus, (unsigned long long)(vm->mem_size >> 20),
			       (unsigned long long)vm->mem_pa, c->mode == GUEST_MODE_REAL ? "real" : "long",
			       c->image, (unsigned long long)img->size, vm_ibpb_name(c->ibpb));
		if (lerr[0])
			vm_end(vm, RESULT_FAULT, -1, "%s", lerr);
	}
}

void vm_end(struct vm *vm, enum vm_result r, int status, const char *fmt, ...)
{
	spin_lock(&vm->lock);
	if (vm_ended(vm)) {
		spin_unlock(&vm->lock);
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(vm->reason, sizeof(vm->reason), fmt, ap);
	va_end(ap);
	static unsigned ended;
	if (r == RESULT_EXIT)
		vm->status = status;
	vm->end_order = __atomic_add_fetch(&ended, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vm->vcpus[i]->state = VCPU_STOPPED;   /* run queues drop them lazily */
	vm->nrunnable = 0;
	__atomic_store_n(&vm->result, r, __ATOMIC_RELEASE);
	spin_unlock(&vm->lock);
	if (r == RESULT_EXIT)
		printk("hv: vm %s ended: exit %d (%s)\n", vm->name, vm->status, vm->reason);
	else
		printk("hv: vm %s ended: %s (%s)\n", vm->name, result_name(r), vm->reason);
	struct pcpu *p = this_pcpu();
	if (p)
		trace_add(p, TR_VMEND, vm->id, r, 0, 0);
}

void vm_fail(struct vcpu *v, const char *fmt, ...)
{
	char msg[sizeof(v->vm->reason)];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printk("hv: vm %s vCPU %u: %s; guest state:\n", v->vm->name, v->id, msg);
	vendor->dump(v);
	vm_end(v->vm, RESULT_FAULT, -1, "%s", msg);
}

void vm_check_halted(struct vm *vm)
{
	unsigned halted = 0, waiting = 0, nstopped;
	/* A vCPU that runs (or may run) can wake the others: nothing to
	 * look at. Every change away from RUNNABLE calls this after it
	 * (under vm->lock), so the last one sees 0 and looks. */
	if (__atomic_load_n(&vm->nrunnable, __ATOMIC_RELAXED))
		return;
	spin_lock(&vm->lock);
	for (unsigned i = 0; i < vm->nvcpus && halted != ~0u; i++) {
		struct vcpu *v = vm->vcpus[i];
		if (v->state == VCPU_RUNNABLE ||
		    (v->state == VCPU_HALTED && v->halt_if && (vplat_timer_can_wake(&v->lapic) || vplat_input_vm(vm))))
			halted = ~0u;          /* runs, or its APIC timer (or serial input) will wake it */
		else if (v->state == VCPU_HALTED && v->wait_sipi)
			waiting++;             /* only another vCPU's SIPI starts it */
		else
			halted += vm->vcpus[i]->state == VCPU_HALTED;
	}
	nstopped = vm->nstopped;
	spin_unlock(&vm->lock);
	if (halted == ~0u)
		return;
	/* Every vCPU that ever ran called exit; the APs still waiting for a
	 * SIPI were never started (hardware: they stay in wait-for-SIPI). */
	if (!halted && waiting && nstopped + waiting == vm->nvcpus)
		vm_end(vm, RESULT_EXIT, vm->status, "every started vCPU called exit; %u AP(s) never got a SIPI", waiting);
	else if (halted)
		vm_end(vm, RESULT_HALT, -1, "%u vCPU(s) halted and nothing can wake them (no vCPU runs to send an IPI, no APIC timer armed)",
		       halted + waiting);
}
