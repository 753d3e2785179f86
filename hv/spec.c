/*
 * hv/spec.c - which speculation measures hv takes on this CPU (see spec.h).
 *
 * Pure logic: no CPUID, no MSR. The rules follow what Linux and KVM do
 * (Documentation/admin-guide/hw-vuln/), with one simplification stated in
 * docs/security.md: hv has no table of CPU models, so where Linux consults
 * one, hv goes by the enumerated "_NO" bits and the AMD family alone.
 *
 * CPUID bits used (SDM Vol. 2A CPUID; AMD APM Vol. 3 appendix E):
 *   7.0 EBX[11] RTM; 7.0 EDX[10] MD_CLEAR, [26] IBRS/IBPB, [27] STIBP,
 *   [28] L1D_FLUSH, [29] ARCH_CAPABILITIES, [31] SSBD; 7.2 EDX[4] BHI_CTRL;
 *   8000_0008h EBX[12] IBPB, [14] IBRS, [15] STIBP, [24] SSBD, [26] SSB_NO;
 *   8000_000Ah EDX[20] V_SPEC_CTRL; 8000_0021h EAX[5] VERW_CLEAR,
 *   [8] AutoIBRS, [28] IBPB_BRTYPE, [29] SRSO_NO; ECX[1] TSA_SQ_NO,
 *   [2] TSA_L1_NO.
 */
#include "spec.h"

const char *const spec_vuln_names[V_COUNT] = {
	[V_SPECTRE_V1] = "spectre_v1", [V_SPECTRE_V2] = "spectre_v2", [V_RETBLEED] = "retbleed",
	[V_SRSO] = "srso", [V_BHI] = "bhi", [V_MDS] = "mds", [V_TAA] = "taa",
	[V_MMIO_STALE_DATA] = "mmio_stale_data", [V_RFDS] = "rfds", [V_TSA] = "tsa",
	[V_L1TF] = "l1tf", [V_SSB] = "ssb",
};

#define NOT_AFFECTED "Not affected"

static void set(struct spec_plan *p, enum spec_vuln v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set(struct spec_plan *p, enum spec_vuln v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(p->state[v], SPEC_LINE, fmt, ap);
	va_end(ap);
}

u64 spec_guest_spec_ctrl_bits(const struct spec_plan *plan)
{
	return plan->has_spec_ctrl ? plan->spec_ctrl_bits : 0;
}

void spec_decide(const struct spec_cpu *c, u32 mask, bool is_auto, struct spec_plan *p)
{
	bool intel = c->vendor == SPEC_INTEL, amd = c->vendor == SPEC_AMD;
	u64 ac = c->arch_cap;
#define WANT(m) ((mask >> (m)) & 1)
#define HAS_AC(b) ((ac & (b)) != 0)

	*p = (struct spec_plan){ 0 };
	p->has_arch_cap = (c->l7_edx & BIT(29)) != 0;
	if (!p->has_arch_cap)
		ac = 0;
	bool ibrs_cap = (c->l7_edx & BIT(26)) || (c->ext8_ebx & BIT(14));
	bool stibp_cap = (c->l7_edx & BIT(27)) || (c->ext8_ebx & BIT(15));
	bool ssbd_cap = (c->l7_edx & BIT(31)) || (c->ext8_ebx & BIT(24));
	p->has_spec_ctrl = ibrs_cap || stibp_cap || ssbd_cap;
	p->spec_ctrl_bits = (ibrs_cap ? SPEC_CTRL_IBRS : 0) | (stibp_cap ? SPEC_CTRL_STIBP : 0) |
			    (ssbd_cap ? SPEC_CTRL_SSBD : 0);
	p->has_ibpb = (c->l7_edx & BIT(26)) || (c->ext8_ebx & BIT(12));
	p->v_spec_ctrl = amd && (c->exta_edx & BIT(20)) && p->has_spec_ctrl;
	bool eibrs_cap = intel && HAS_AC(ARCH_CAP_IBRS_ALL);
	bool autoibrs_cap = amd && (c->ext21_eax & BIT(8));
	bool bhi_ctrl = intel && (c->l7_2_edx & BIT(4));
	bool md_clear = (c->l7_edx & BIT(10)) != 0;
	bool l1d_cap = (c->l7_edx & BIT(28)) != 0;
	bool verw_clear = amd && (c->ext21_eax & BIT(5));
	bool zen12 = amd && c->family >= 0x15 && c->family <= 0x17;

	/* Which classes this CPU has. */
	bool retbleed_aff = (intel && HAS_AC(ARCH_CAP_RSBA) && !eibrs_cap) || zen12;
	bool srso_aff = amd && (c->family == 0x17 || c->family == 0x19) && !(c->ext21_eax & BIT(29));
	bool bhi_aff = intel && !HAS_AC(ARCH_CAP_BHI_NO);
	bool mds_aff = intel && !HAS_AC(ARCH_CAP_MDS_NO);
	bool taa_aff = intel && (c->l7_ebx & BIT(11)) && !HAS_AC(ARCH_CAP_TAA_NO);
	bool mmio_no = HAS_AC(ARCH_CAP_FBSDP_NO) && HAS_AC(ARCH_CAP_PSDP_NO) && HAS_AC(ARCH_CAP_SBDR_SSDP_NO);
	bool mmio_aff = intel && !mmio_no && (mds_aff || HAS_AC(ARCH_CAP_FB_CLEAR));
	bool rfds_aff = intel && !HAS_AC(ARCH_CAP_RFDS_NO) && HAS_AC(ARCH_CAP_RFDS_CLEAR);
	bool tsa_aff = amd && c->family == 0x19 && !((c->ext21_ecx & BIT(1)) && (c->ext21_ecx & BIT(2)));
	bool l1tf_aff = intel && !HAS_AC(ARCH_CAP_RDCL_NO);
	bool ssb_aff = !(intel && HAS_AC(ARCH_CAP_SSB_NO)) && !(amd && (c->ext8_ebx & BIT(26)));

	/* ---- Spectre v2 (and Intel Retbleed): how hv's indirect branches are safe ---- */
	if (WANT(MIT_EIBRS) && (eibrs_cap || autoibrs_cap)) {
		p->eibrs = eibrs_cap;
		p->autoibrs = autoibrs_cap;
	} else if (WANT(MIT_IBRS) && intel && ibrs_cap &&
		   (!is_auto || retbleed_aff || !WANT(MIT_RETPOLINE))) {
		/* auto: IBRS only where returns need it too (Intel RSBA), as Linux */
		p->ibrs = true;
	} else if (WANT(MIT_RETPOLINE)) {
		p->retpoline = true;
	}
	if (p->eibrs || p->ibrs)
		p->host_spec_ctrl |= SPEC_CTRL_IBRS;
	/* The RSB after a VM exit holds the guest's entries: overwrite them before
	 * hv's first ret. With (e/Auto)IBRS only the PBRSB case needs one entry. */
	if (WANT(MIT_RSB)) {
		if (p->eibrs || p->autoibrs)
			p->rsb_lite = p->eibrs && !HAS_AC(ARCH_CAP_PBRSB_NO);
		else
			p->rsb_full = true;
	}
	const char *rsb = p->rsb_full ? "RSB filling" : p->rsb_lite ? "PBRSB-eIBRS: SW sequence"
			: (p->eibrs || p->autoibrs) ? "PBRSB-eIBRS: Not affected" : "RSB filling: off";
	if (p->eibrs)
		set(p, V_SPECTRE_V2, "Mitigation: Enhanced IBRS; %s", rsb);
	else if (p->autoibrs)
		set(p, V_SPECTRE_V2, "Mitigation: Automatic IBRS (EFER.AIBRSE); %s", rsb);
	else if (p->ibrs)
		set(p, V_SPECTRE_V2, "Mitigation: IBRS while hv runs; %s", rsb);
	else if (p->retpoline)
		set(p, V_SPECTRE_V2, "Mitigation: Retpolines; %s", rsb);
	else
		set(p, V_SPECTRE_V2, "Vulnerable; %s", rsb);

	/* ---- Retbleed / SRSO: returns predicted from guest-trained state ---- */
	bool ibpb_ok = p->has_ibpb && WANT(MIT_IBPB_EXIT);
	if (srso_aff && c->family == 0x19 && !(c->ext21_eax & BIT(28)))
		ibpb_ok = false;     /* Zen3/4: IBPB covers returns only with IBPB_BRTYPE microcode */
	if (!retbleed_aff)
		set(p, V_RETBLEED, NOT_AFFECTED);
	else if (intel && p->ibrs)
		set(p, V_RETBLEED, "Mitigation: IBRS while hv runs");
	else if (zen12 && ibpb_ok)
		set(p, V_RETBLEED, "Mitigation: IBPB on VM exit");
	else
		set(p, V_RETBLEED, "Vulnerable%s", zen12 && !p->has_ibpb ? ": no IBPB on this CPU" : "");
	if (!srso_aff)
		set(p, V_SRSO, NOT_AFFECTED);
	else if (ibpb_ok)
		set(p, V_SRSO, "Mitigation: IBPB on VM exit");
	else
		set(p, V_SRSO, "Vulnerable%s", !p->has_ibpb ? ": no IBPB on this CPU"
			       : WANT(MIT_IBPB_EXIT) ? ": No microcode (no IBPB_BRTYPE)" : "");
	p->ibpb_exit = ibpb_ok && ((zen12 && retbleed_aff) || srso_aff);

	/* ---- BHI: only where hv's indirect branches use the predictor (IBRS modes) ---- */
	if (!bhi_aff)
		set(p, V_BHI, NOT_AFFECTED);
	else if (p->retpoline)
		set(p, V_BHI, "Mitigation: Retpolines (hv's indirect branches do not use the BTB)");
	else if (WANT(MIT_BHI) && bhi_ctrl) {
		p->bhi_dis_s = true;
		p->host_spec_ctrl |= SPEC_CTRL_BHI_DIS_S;
		set(p, V_BHI, "Mitigation: BHI_DIS_S");
	} else if (WANT(MIT_BHI)) {
		p->bhb_clear = true;
		set(p, V_BHI, "Mitigation: branch history clearing loop after VM exit");
	} else
		set(p, V_BHI, "Vulnerable");

	/* ---- CPU buffers: one VERW before entry serves MDS, TAA, MMIO, RFDS, TSA ---- */
	bool buf_aff = mds_aff || taa_aff || mmio_aff || rfds_aff || tsa_aff;
	bool verw_works = amd ? verw_clear : (md_clear || HAS_AC(ARCH_CAP_FB_CLEAR) || HAS_AC(ARCH_CAP_RFDS_CLEAR));
	p->verw = buf_aff && verw_works && WANT(MIT_VERW);
	const char *verw_state = p->verw ? "Mitigation: Clear CPU buffers (VERW before VM entry)"
				 : !verw_works ? "Vulnerable: Clear CPU buffers attempted, no microcode"
				 : "Vulnerable";
	set(p, V_MDS, "%s", mds_aff ? verw_state : NOT_AFFECTED);
	set(p, V_TAA, "%s", taa_aff ? verw_state : NOT_AFFECTED);
	set(p, V_MMIO_STALE_DATA, "%s", mmio_aff ? verw_state : NOT_AFFECTED);
	set(p, V_RFDS, "%s", rfds_aff ? verw_state : NOT_AFFECTED);
	set(p, V_TSA, "%s", tsa_aff ? verw_state : NOT_AFFECTED);

	/* ---- L1TF: flush L1D before entry unless the CPU says entry needs none ---- */
	if (!l1tf_aff)
		set(p, V_L1TF, NOT_AFFECTED);
	else if (HAS_AC(ARCH_CAP_SKIP_L1DFL_VMENTRY))
		set(p, V_L1TF, "Mitigation: not needed on VM entry (SKIP_L1DFL_VMENTRY)");
	else if (WANT(MIT_L1D_FLUSH) && l1d_cap) {
		p->l1d_flush = true;
		set(p, V_L1TF, "Mitigation: L1D flush before VM entry (IA32_FLUSH_CMD)");
	} else
		set(p, V_L1TF, "Vulnerable%s", !l1d_cap ? ": no L1D_FLUSH on this CPU" : "");

	/* ---- the rest ---- */
	set(p, V_SPECTRE_V1, "Mitigation: array_index_nospec on guest-controlled indexes; "
	    "guest GPRs cleared after VM exit");
	if (!ssb_aff)
		set(p, V_SSB, NOT_AFFECTED);
	else if (ssbd_cap)
		set(p, V_SSB, "Vulnerable: hv does not set SSBD for itself; each guest's SSBD is applied");
	else
		set(p, V_SSB, "Vulnerable: no SSBD on this CPU");
	if (!p->has_spec_ctrl)
		p->host_spec_ctrl = 0;
#undef WANT
#undef HAS_AC
}
