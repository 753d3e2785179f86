/*
 * hv/x86/spec_hw.c - hv's speculation measures on this machine (spec.h).
 *
 * spec_init() reads what the CPU enumerates, lets spec_decide() choose, and
 * patches the code once: the retpoline thunks (x86/thunks.S) become plain
 * `jmp *%reg` where IBRS in some form protects hv's indirect branches (or
 * with `mitigations = off`), and every entry/exit site (x86/spec_asm.h)
 * this CPU does not need is jumped over. That happens on the boot CPU
 * before hv's text is checksummed, before hv's own page tables exist and
 * before any other pCPU runs; text is written with CR0.WP clear, so it
 * works whatever the loader's page tables say. Nothing is patched later.
 */
#include "../barrier.h"
#include "../hv.h"
#include "../spec.h"
#include "../vendor.h"
#include "cpu.h"

#define MSR_ARCH_CAPABILITIES 0x10a  /* SDM Vol. 4 table 2-2 */
#define EFER_AIBRSE BIT(21)          /* APM Vol. 2 3.1.7: Automatic IBRS enable */

struct spec_plan spec_plan;
u64 spec_host_spec_ctrl;
u16 spec_verw_sel;                   /* VERW's operand: a writable data selector */
static char mit_config[96];

/* The sites of the entry/exit stubs (labels in svm_entry.S / vmx_entry.S). */
#define SITE(n) extern u8 n[], n##_end[]
SITE(spec_svm_sc_entry); SITE(spec_svm_sc_exit); SITE(spec_svm_verw); SITE(spec_svm_ibpb);
SITE(spec_svm_rsb); SITE(spec_svm_rsb_lite);
SITE(spec_vmx_sc_entry); SITE(spec_vmx_sc_exit); SITE(spec_vmx_sc_fail); SITE(spec_vmx_l1d);
SITE(spec_vmx_verw); SITE(spec_vmx_rsb); SITE(spec_vmx_rsb_lite); SITE(spec_vmx_bhb);
#undef SITE
extern u8 spec_thunks_start[], spec_thunks_end[];

static void read_cpu(struct spec_cpu *c)
{
	u32 max = cpuid(0, 0).eax, max_ext = cpuid(0x80000000, 0).eax;
	struct cpuid_regs l1 = cpuid(1, 0);
	unsigned fam = (l1.eax >> 8) & 0xf, model = (l1.eax >> 4) & 0xf;

	*c = (struct spec_cpu){ 0 };
	if (cpu_vendor_is("GenuineIntel"))
		c->vendor = SPEC_INTEL;
	else if (cpu_vendor_is("AuthenticAMD") || cpu_vendor_is("HygonGenuine"))
		c->vendor = SPEC_AMD;
	/* Display family/model: SDM Vol. 2A CPUID leaf 1, figure 3-6. */
	if (fam == 0xf)
		fam += (l1.eax >> 20) & 0xff;
	if (fam == 0x6 || fam >= 0xf)
		model |= ((l1.eax >> 16) & 0xf) << 4;
	c->family = fam;
	c->model = model;
	if (max >= 7) {
		struct cpuid_regs l7 = cpuid(7, 0);
		c->l7_ebx = l7.ebx;
		c->l7_edx = l7.edx;
		if (l7.eax >= 2)
			c->l7_2_edx = cpuid(7, 2).edx;
	}
	if (max_ext >= 0x80000008)
		c->ext8_ebx = cpuid(0x80000008, 0).ebx;
	if (max_ext >= 0x8000000a)
		c->exta_edx = cpuid(0x8000000a, 0).edx;
	if (max_ext >= 0x80000021) {
		struct cpuid_regs e = cpuid(0x80000021, 0);
		c->ext21_eax = e.eax;
		c->ext21_ecx = e.ecx;
	}
	if (c->l7_edx & BIT(29))
		c->arch_cap = rdmsr(MSR_ARCH_CAPABILITIES);
}

/* Reached only through a static call spec_init() did not patch: a bug. */
void static_call_unset(void);
void static_call_unset(void)
{
	PANIC("static call used before spec_init() patched it");
}

/* A jmp from `at` to `to` over the start of a site (rel8 if it reaches). */
static void put_jmp(u8 *at, const u8 *to)
{
	s64 rel = to - (at + 2);
	if (rel >= -128 && rel <= 127) {
		at[0] = 0xeb;
		at[1] = (u8)rel;
	} else {
		s32 rel32 = (s32)(to - (at + 5));
		at[0] = 0xe9;
		memcpy(at + 1, &rel32, 4);
	}
}

struct site {
	u8 *start, *end;
	bool needed;
};

/*
 * Jump over every site not needed; where several such sites follow one
 * another, one jmp goes over them all (the exit path is hot).
 */
static void skip_sites(struct site *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (s[i].needed)
			continue;
		u8 *to = s[i].end;
		for (bool more = true; more;) {
			more = false;
			for (unsigned j = 0; j < n; j++)
				if (!s[j].needed && s[j].start == to) {
					to = s[j].end;
					more = true;
				}
		}
		s64 rel8 = to - (s[i].start + 2);
		if (s[i].end - s[i].start < (rel8 >= -128 && rel8 <= 127 ? 2 : 5))
			PANIC("speculation site at %p too short for its jmp", (void *)s[i].start);
		put_jmp(s[i].start, to);
	}
}

static void patch_text(const struct spec_plan *p)
{
	u64 cr0 = read_cr0();
	write_cr0(cr0 & ~CR0_WP);     /* supervisor writes ignore R/W now (SDM Vol. 3A 4.6.1) */

	if (!p->retpoline) {
		/* `jmp *%reg` (FF /4, REX.B for r8-r15) then int3, in each 32-byte slot. */
		for (unsigned r = 0; r < 16; r++) {
			u8 *slot = spec_thunks_start + 32 * r, *q = slot;
			if (r >= 8)
				*q++ = 0x41;
			*q++ = 0xff;
			*q++ = (u8)(0xe0 | (r & 7));
			*q = 0xcc;
		}
	}
	bool sc = p->has_spec_ctrl;
	bool sc_svm = sc && !p->v_spec_ctrl;  /* with V_SPEC_CTRL, VMRUN switches it */
#define S(n, need) { n, n##_end, need }
	struct site sites[] = {
		S(spec_svm_sc_entry, sc_svm), S(spec_svm_sc_exit, sc_svm), S(spec_svm_verw, p->verw),
		S(spec_svm_ibpb, p->ibpb_exit), S(spec_svm_rsb, p->rsb_full), S(spec_svm_rsb_lite, p->rsb_lite),
		S(spec_vmx_sc_entry, sc), S(spec_vmx_sc_exit, sc), S(spec_vmx_sc_fail, sc),
		S(spec_vmx_l1d, p->l1d_flush), S(spec_vmx_verw, p->verw), S(spec_vmx_rsb, p->rsb_full),
		S(spec_vmx_rsb_lite, p->rsb_lite), S(spec_vmx_bhb, p->bhb_clear),
	};
#undef S
	skip_sites(sites, ARRAY_SIZE(sites));

	/* The static calls (x86/thunks.S): jmp rel32 to the backend's function. */
	u8 *run = (u8 *)static_call_vendor_run, *adv = (u8 *)static_call_vendor_advance_rip;
	s32 rel = (s32)((u8 *)vendor->run - (run + 5));
	run[0] = 0xe9;
	memcpy(run + 1, &rel, 4);
	rel = (s32)((u8 *)vendor->advance_rip - (adv + 5));
	adv[0] = 0xe9;
	memcpy(adv + 1, &rel, 4);
	u8 *win = (u8 *)static_call_vendor_irq_window, *inj = (u8 *)static_call_vendor_inject_event;
	rel = (s32)((u8 *)vendor->irq_window - (win + 5));
	win[0] = 0xe9;
	memcpy(win + 1, &rel, 4);
	rel = (s32)((u8 *)vendor->inject_event - (inj + 5));
	inj[0] = 0xe9;
	memcpy(inj + 1, &rel, 4);

	write_cr0(cr0);
	(void)cpuid(0, 0);             /* serializing: no stale prefetched bytes (SDM Vol. 3A 9.1.3) */
}

void spec_init(const struct hv_config *cfg)
{
	struct spec_cpu c;
	read_cpu(&c);
	spec_decide(&c, cfg->mitigations_auto ? MIT_ALL : cfg->mitigations, cfg->mitigations_auto, &spec_plan);
	spec_host_spec_ctrl = spec_plan.host_spec_ctrl;
	mitigations_str(cfg, mit_config, sizeof(mit_config));
	printk("hv: speculation: CPU %s family 0x%x model 0x%x; CPUID 7.0 EDX %08x, 7.2 EDX %08x, "
	       "8000_0008h EBX %08x, 8000_0021h EAX %08x; ARCH_CAPABILITIES %s%llx\n",
	       c.vendor == SPEC_INTEL ? "Intel" : c.vendor == SPEC_AMD ? "AMD" : "other", c.family, c.model,
	       c.l7_edx, c.l7_2_edx, c.ext8_ebx, c.ext21_eax,
	       spec_plan.has_arch_cap ? "" : "not enumerated, ", (unsigned long long)c.arch_cap);
	patch_text(&spec_plan);
}

void spec_pcpu_init(void)
{
	u16 ds;
	__asm__ volatile("mov %%ds, %0" : "=r"(ds));
	if (!ds)
		__asm__ volatile("mov %%ss, %0" : "=r"(ds));
	spec_verw_sel = ds;
	if (spec_plan.autoibrs)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_AIBRSE);
	if (spec_plan.has_spec_ctrl)
		wrmsr(MSR_SPEC_CTRL, spec_host_spec_ctrl);
}

/*
 * The guest's view of the speculation controls (the CPUID
 * allow-list in hv/vcpu.c calls this for leaves 7.0 and 8000_0008h). IBRS/IBPB, STIBP,
 * SSBD and ARCH_CAPABILITIES are offered only as far as they are real;
 * IBPB alone may be virtual (barrier.h: virtual_ibpb).
 */
void spec_cpuid_bits(u32 leaf, u32 sub, u32 *ebx, u32 *edx)
{
	const struct spec_plan *p = &spec_plan;
	u64 sc = spec_guest_spec_ctrl_bits(p);
	if (leaf == 7 && sub == 0) {
		/* EDX[26] IBRS+IBPB, [27] STIBP, [29] ARCH_CAPABILITIES, [31] SSBD */
		*edx &= ~(BIT(26) | BIT(27) | BIT(29) | BIT(31));
		if (barrier_caps.offer_guest)
			*edx |= BIT(26);       /* IBPB; IA32_SPEC_CTRL virtual if the CPU has none */
		if (sc & SPEC_CTRL_STIBP)
			*edx |= BIT(27);
		if (sc & SPEC_CTRL_SSBD)
			*edx |= BIT(31);
	} else if (leaf == 0x80000008) {
		/* EBX[12] IBPB, [14] IBRS, [15] STIBP, [24] SSBD (+ the hint bits 16, 17, 30) */
		*ebx &= ~(BIT(12) | BIT(14) | BIT(15) | BIT(16) | BIT(17) | BIT(24) | BIT(30));
		if (barrier_caps.offer_guest)
			*ebx |= BIT(12) | (barrier_caps.cpu_ibpb_ret ? BIT(30) : 0);
		if (sc & SPEC_CTRL_IBRS)
			*ebx |= BIT(14);
		if (sc & SPEC_CTRL_STIBP)
			*ebx |= BIT(15);
		if (sc & SPEC_CTRL_SSBD)
			*ebx |= BIT(24);
	}
}

const char *spec_ctrl_state(void)
{
	if (!spec_plan.has_spec_ctrl)
		return "Virtual: this CPU has no IA32_SPEC_CTRL; guest writes are kept, nothing is applied";
	if (spec_plan.v_spec_ctrl)
		return "Switched: the guest's value loaded by VMRUN (V_SPEC_CTRL), hv's restored on exit";
	return "Switched: the guest's value loaded before VM entry, hv's right after the exit";
}

static void spectre_v2_user(char *buf, size_t n)
{
	const struct barrier_caps *b = &barrier_caps;
	const char *pol = policy_name(hv_cfg->policy);
	switch (b->mode) {
	case BARRIER_HARDWARE:
		ksnprintf(buf, n, "Mitigation: IBPB between vCPUs (policy %s)", pol);
		break;
	case BARRIER_FORCED:
		ksnprintf(buf, n, "Mitigation: IBPB by wrmsr, not enumerated (policy %s, force_wrmsr)", pol);
		break;
	case BARRIER_VIRTUAL:
		ksnprintf(buf, n, "Vulnerable: no IBPB on this CPU; barriers recorded only (policy %s)", pol);
		break;
	default:
		ksnprintf(buf, n, "Vulnerable: no IBPB on this CPU");
		break;
	}
}

void spec_report(void (*emit)(void *ctx, const char *line), void *ctx)
{
	char line[SPEC_LINE + 48], v2u[SPEC_LINE];
	spectre_v2_user(v2u, sizeof(v2u));
	ksnprintf(line, sizeof(line), "mitigations = %s:", mit_config);
	emit(ctx, line);
	for (int i = 0; i < V_COUNT; i++) {
		ksnprintf(line, sizeof(line), "  %-16s %s", spec_vuln_names[i], spec_plan.state[i]);
		emit(ctx, line);
		if (i == V_SPECTRE_V2) {
			ksnprintf(line, sizeof(line), "  %-16s %s", "spectre_v2_user", v2u);
			emit(ctx, line);
		}
	}
	ksnprintf(line, sizeof(line), "  %-16s %s", "spec_ctrl", spec_ctrl_state());
	emit(ctx, line);
}

void spec_report_kv(void (*emit)(void *ctx, const char *line), void *ctx)
{
	char line[SPEC_LINE + 48], v2u[SPEC_LINE];
	spectre_v2_user(v2u, sizeof(v2u));
	ksnprintf(line, sizeof(line), "kv mitigation.config=%s", mit_config);
	emit(ctx, line);
	for (int i = 0; i < V_COUNT; i++) {
		ksnprintf(line, sizeof(line), "kv mitigation.%s=%s", spec_vuln_names[i], spec_plan.state[i]);
		emit(ctx, line);
		if (i == V_SPECTRE_V2) {
			ksnprintf(line, sizeof(line), "kv mitigation.spectre_v2_user=%s", v2u);
			emit(ctx, line);
		}
	}
	ksnprintf(line, sizeof(line), "kv mitigation.spec_ctrl=%s", spec_ctrl_state());
	emit(ctx, line);
}
