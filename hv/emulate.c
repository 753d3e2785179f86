/*
 * hv/emulate.c - string I/O (INS/OUTS) and MMIO: the exits hv handles by
 * doing the guest's instruction itself. Both are slow paths: they read the
 * guest state through vendor->get_state, fetch the instruction at CS:RIP
 * through the guest's paging, and decode it with the pure hv/mmio.c.
 *
 * String I/O (SDM Vol. 2B INS/OUTS, REP; AMD APM Vol. 3 same): each element
 * goes through the guest's segmentation and paging with the checks its CPU
 * would make, in the order it would make them: segment usability, limit
 * and type (#GP(0), #SS(0) for SS; in 64-bit mode canonical form), then
 * paging (#PF with CR2 = the faulting linear address and the P/W/U error
 * code). A fault is injected like hardware: the elements already done stay
 * done (RSI/RDI/RCX say so) and RIP stays at the instruction. The port is
 * accessed only once the memory side is known to be good, so a faulting
 * INS consumes no port data. A guest-physical address outside the VM's RAM
 * (a device, or nothing), for the data or for a paging-structure entry,
 * ends the VM with a reason: string I/O to MMIO is not emulated. One exit moves at most STRIO_CHUNK elements; the rest are
 * done by the CPU re-executing the instruction (RIP unchanged), so a huge
 * count stays preemptible.
 */
#include "emulate.h"
#include "hv.h"
#include "port_io.h"
#include "vm.h"
#include "vendor.h"
#include "x86/cpu.h"

#define RFLAGS_DF BIT(10)
#define RFLAGS_AC BIT(18)

static u64 amask_of(unsigned asize)
{
	return asize == 8 ? ~0ull : asize == 4 ? 0xffffffffull : 0xffff;
}

/* reg = (reg + delta) at address size asize: a 16-bit update keeps the
 * upper bits, a 32-bit one zero-extends (SDM Vol. 1 3.4.1.1). */
static u64 addr_add(u64 reg, s64 delta, unsigned asize)
{
	u64 m = amask_of(asize);
	if (asize == 2)
		return (reg & ~m) | ((reg + (u64)delta) & m);
	return (reg + (u64)delta) & m;
}

static bool canonical(u64 la)
{
	return (u64)((s64)(la << 16) >> 16) == la;   /* 48-bit linear addresses */
}

/* Bytes of the instruction at CS:RIP (fewer if unreadable). */
static size_t fetch_insn(struct vcpu *v, const struct guest_state *st, u8 *bytes)
{
	u64 la = st->mode == INSN_MODE_64 ? st->rip : (st->seg[SEG_CS].base + st->rip) & 0xffffffffull;
	return guest_read_linear(v->vm, &st->pg, la, bytes, INSN_MAX_LEN);
}

enum elem_result { EL_OK, EL_FAULT, EL_END };

/*
 * The linear address of one element of `size` bytes at offset ea in
 * segment `seg` (SDM Vol. 3A 3.4.5.1, 5.3: limit checks; 3.3.7.1:
 * canonical form). On a violation injects #GP(0) / #SS(0) and says EL_FAULT.
 */
static enum elem_result seg_check(struct vcpu *v, const struct guest_state *st, unsigned seg, bool write, u64 ea,
				  unsigned size, u64 *la)
{
	u8 vec = seg == SEG_SS ? EXC_SS : EXC_GP;
	bool pe = (st->pg.cr0 & CR0_PE) != 0;   /* real mode: no error code is pushed */
	if (st->mode == INSN_MODE_64) {
		*la = ((seg == SEG_FS || seg == SEG_GS) ? st->seg[seg].base : 0) + ea;
		if (!canonical(*la) || !canonical(*la + size - 1)) {
			vendor->inject_exception(v, vec, pe, 0);
			return EL_FAULT;
		}
		return EL_OK;
	}
	const struct guest_segment *s = &st->seg[seg];
	bool prot = (st->pg.cr0 & CR0_PE) && !(st->rflags & BIT(17));
	u64 last = ea + size - 1;
	bool bad = !s->usable;
	if (!bad && prot && write && ((s->type & 0x8) || !(s->type & 0x2)))
		bad = true;                   /* code, or read-only data: not writable (3.4.5.1) */
	if (!bad && prot && !write && (s->type & 0xA) == 0x8)
		bad = true;                   /* execute-only code: not readable */
	if (!bad) {
		if (prot && !(s->type & 0x8) && (s->type & 0x4)) {
			u64 top = s->db ? 0xffffffffull : 0xffff;   /* expand-down: (limit, top] */
			bad = ea <= s->limit || last > top;
		} else {
			bad = last > s->limit;
		}
	}
	if (bad) {
		vendor->inject_exception(v, vec, pe, 0);
		return EL_FAULT;
	}
	*la = (s->base + ea) & 0xffffffffull;
	return EL_OK;
}

/*
 * Guest-physical address(es) of `size` bytes at linear la (two parts if
 * they cross a page). Injects #PF on a paging fault; ends the VM if the
 * memory is not RAM.
 */
static enum elem_result translate(struct vcpu *v, struct guest_state *st, u64 la, unsigned size, bool write,
				  u64 gpa[2], unsigned part[2])
{
	part[0] = size;
	part[1] = 0;
	u64 in_page = 4096 - (la & 0xfff);
	if (in_page < size) {
		part[0] = (unsigned)in_page;
		part[1] = size - part[0];
	}
	for (int i = 0; i < 2 && part[i]; i++) {
		u64 a = i ? la + part[0] : la;
		if (st->mode != INSN_MODE_64)
			a &= 0xffffffffull;
		u32 err;
		enum guest_xlate x = guest_translate(v->vm, &st->pg, a, write, st->cpl, (st->rflags & RFLAGS_AC) != 0,
						     &gpa[i], &err);
		if (x == GT_BAD_WALK) {
			/* Where the CPU's own walk would take a nested page fault. */
			vm_fail(v, "%s at linear 0x%llx: its page walk reads guest-physical 0x%llx, outside the VM's RAM",
				write ? "ins" : "outs", (unsigned long long)a, (unsigned long long)gpa[i]);
			return EL_END;
		}
		if (x == GT_FAULT) {
			st->cr2 = a;
			vendor->set_state(v, st);
			vendor->inject_exception(v, EXC_PF, true, err);
			return EL_FAULT;
		}
		if (!guest_phys_ok(v->vm, gpa[i], part[i])) {
			vm_fail(v, "%s at linear 0x%llx: guest-physical 0x%llx is outside the VM's %llu MiB of RAM",
				write ? "ins" : "outs", (unsigned long long)a, (unsigned long long)gpa[i],
				(unsigned long long)(v->vm->mem_size >> 20));
			return EL_END;
		}
	}
	return EL_OK;
}

enum exit_action vcpu_string_io(struct vcpu *v, struct vm_exit *e)
{
	struct guest_state st;
	struct strio_insn si;
	u8 bytes[INSN_MAX_LEN];

	vendor->get_state(v, &st);
	size_t n = fetch_insn(v, &st, bytes);
	int len = insn_string_io(bytes, n, st.mode, &si);
	if (len <= 0 || si.in != e->io.in || si.opsize != e->io.size || si.rep != e->io.rep ||
	    (e->insn_len && e->insn_len != (u32)len)) {
		vm_fail(v, "string I/O exit on port 0x%x, but the instruction at rip 0x%llx is not that %s "
			   "(changed under hv?)",
			e->io.port, (unsigned long long)st.rip, e->io.in ? "ins" : "outs");
		return ACTION_STOP;
	}

	struct guest_regs *r = &v->regs;
	unsigned size = si.opsize;
	u64 amask = amask_of(si.asize);
	u64 *idx = si.in ? &r->rdi : &r->rsi;
	unsigned seg = si.in ? SEG_ES : si.seg >= 0 ? (unsigned)si.seg : SEG_DS;   /* INS: ES, no override */
	s64 step = (st.rflags & RFLAGS_DF) ? -(s64)size : (s64)size;
	u64 count = si.rep ? r->rcx & amask : 1;
	u64 done = 0;

	while (done < count && done < STRIO_CHUNK) {
		u64 la, gpa[2];
		unsigned part[2];
		enum elem_result res = seg_check(v, &st, seg, si.in, *idx & amask, size, &la);
		if (res == EL_OK)
			res = translate(v, &st, la, size, si.in, gpa, part);
		if (res == EL_FAULT)
			return ACTION_RESUME;         /* RIP at the instruction, the done part stays done */
		if (res == EL_END)
			return ACTION_STOP;
		u32 val = 0;
		if (si.in) {
			val = vcpu_port_in(v, e->io.port, size);
			memcpy(guest_phys_ptr(v->vm, gpa[0]), &val, part[0]);
			if (part[1])
				memcpy(guest_phys_ptr(v->vm, gpa[1]), (u8 *)&val + part[0], part[1]);
		} else {
			memcpy(&val, guest_phys_ptr(v->vm, gpa[0]), part[0]);
			if (part[1])
				memcpy((u8 *)&val + part[0], guest_phys_ptr(v->vm, gpa[1]), part[1]);
			vcpu_port_out(v, e->io.port, size, val);
		}
		*idx = addr_add(*idx, step, si.asize);
		if (si.rep)
			r->rcx = addr_add(r->rcx, -1, si.asize);
		done++;
	}
	if (done == count)
		vendor->advance_rip(v, (u32)len);
	/* else: a chunk done; the CPU runs the instruction again for the rest,
	 * after any pending interrupt or preemption (SDM Vol. 2B REP). */
	return ACTION_RESUME;
}

/* ---- MMIO ---- */

bool vcpu_mmio_exit(struct vcpu *v, struct vm_exit *e, mmio_lookup_fn lookup, enum exit_action *act)
{
	mmio_access_fn fn;
	void *ctx;
	if (!lookup || !lookup(v, e->npf.gpa, &fn, &ctx))
		return false;

	struct guest_state st;
	u8 bytes[INSN_MAX_LEN];
	vendor->get_state(v, &st);
	size_t n = fetch_insn(v, &st, bytes);

	struct guest_regs *r = &v->regs;
	struct mmio_cpu c = {
		.gpr = { r->rax, r->rcx, r->rdx, r->rbx, st.rsp, r->rbp, r->rsi, r->rdi, r->r8, r->r9, r->r10, r->r11,
			 r->r12, r->r13, r->r14, r->r15 },
		.rip = st.rip,
		.rflags = st.rflags,
		.mode = st.mode,
	};
	for (int i = 0; i < SEG_COUNT; i++)
		c.seg_base[i] = st.seg[i].base;

	struct mmio_result res;
	if (mmio_emulate(bytes, n, &c, e->npf.gpa, fn, ctx, &res) != MMIO_OK) {
		vm_fail(v, "MMIO at guest-physical 0x%llx: %s at rip 0x%llx", (unsigned long long)e->npf.gpa, res.why,
			(unsigned long long)st.rip);
		*act = ACTION_STOP;
		return true;
	}
	r->rax = c.gpr[0], r->rcx = c.gpr[1], r->rdx = c.gpr[2], r->rbx = c.gpr[3];
	r->rbp = c.gpr[5], r->rsi = c.gpr[6], r->rdi = c.gpr[7];
	r->r8 = c.gpr[8], r->r9 = c.gpr[9], r->r10 = c.gpr[10], r->r11 = c.gpr[11];
	r->r12 = c.gpr[12], r->r13 = c.gpr[13], r->r14 = c.gpr[14], r->r15 = c.gpr[15];
	if (c.gpr[4] != st.rsp || c.rflags != st.rflags) {
		st.rsp = c.gpr[4];
		st.rflags = c.rflags;
		vendor->set_state(v, &st);
	}
	vendor->advance_rip(v, res.len);
	*act = ACTION_RESUME;
	return true;
}

/* ---- hv's MMIO test device ---- */

struct test_device {
	struct spinlock lock;
	u8 regs[0x40];
	u64 writes, reads;
};
static struct test_device test_devices[CFG_MAX_VMS];

static bool test_device_access(void *ctx, u64 gpa, unsigned size, bool is_write, u64 *val)
{
	struct test_device *d = ctx;
	u64 off = gpa - TEST_DEVICE_GPA;
	spin_lock(&d->lock);
	if (is_write) {
		d->writes++;
		if (off + size <= sizeof(d->regs))
			memcpy(d->regs + off, val, size);   /* little-endian, like the guest */
	} else {
		d->reads++;
		*val = 0;
		if (off + size <= sizeof(d->regs))
			memcpy(val, d->regs + off, size);
		else if (off == 0x40 && size == 8)
			*val = d->writes;
		else if (off == 0x48 && size == 8)
			*val = d->reads - 1;        /* the reads before this one */
		else
			*val = size == 8 ? ~0ull : BIT(8 * size) - 1;
	}
	spin_unlock(&d->lock);
	return true;
}

bool test_device_lookup(struct vcpu *v, u64 gpa, mmio_access_fn *fn, void **ctx)
{
	const struct vm *vm = v->vm;
	if (!vm->cfg->test_device || gpa < TEST_DEVICE_GPA || gpa >= TEST_DEVICE_GPA + 4096 ||
	    vm->id >= CFG_MAX_VMS)
		return false;
	*fn = test_device_access;
	*ctx = &test_devices[vm->id];
	return true;
}

/* port_access for INS/OUTS (vcpu_string_io), element by element. */
u32 vcpu_port_in(struct vcpu *v, u16 port, unsigned size)
{
	u64 val = 0;
	port_access(v, port, size, false, &val);
	return (u32)(val & (size == 4 ? 0xffffffffull : size == 2 ? 0xffff : 0xff));
}

void vcpu_port_out(struct vcpu *v, u16 port, unsigned size, u32 val)
{
	u64 x = val;
	port_access(v, port, size, true, &x);
}
