/*
 * tests/unit/test_spec.c - spec_decide() on CPUs described by hand
 * (hv/spec.c): what hv does per vulnerability class, from CPUID bits,
 * IA32_ARCH_CAPABILITIES and the `mitigations` key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "spec.h"

#define L7_IBRS BIT(26)
#define L7_STIBP BIT(27)
#define L7_L1D BIT(28)
#define L7_ARCHCAP BIT(29)
#define L7_SSBD BIT(31)
#define L7_MDCLEAR BIT(10)

static struct spec_plan plan;

static void decide(const struct spec_cpu *c, u32 mask, bool is_auto)
{
	spec_decide(c, mask, is_auto, &plan);
}

static void assert_state(enum spec_vuln v, const char *want)
{
	if (strcmp(plan.state[v], want) != 0)
		fail_msg("%s: got '%s', want '%s'", spec_vuln_names[v], plan.state[v], want);
}

static void assert_state_has(enum spec_vuln v, const char *part)
{
	if (!strstr(plan.state[v], part))
		fail_msg("%s: '%s' lacks '%s'", spec_vuln_names[v], plan.state[v], part);
}

/* QEMU TCG -cpu max: AMD family 0xf, no speculation controls at all. */
static const struct spec_cpu qemu_max = { .vendor = SPEC_AMD, .family = 0xf, .model = 0x6b };

static void test_qemu_auto(void **state)
{
	(void)state;
	decide(&qemu_max, MIT_ALL, true);
	assert_true(plan.retpoline);
	assert_true(plan.rsb_full);
	assert_false(plan.rsb_lite || plan.eibrs || plan.autoibrs || plan.ibrs);
	assert_false(plan.verw || plan.l1d_flush || plan.ibpb_exit || plan.bhb_clear || plan.bhi_dis_s);
	assert_false(plan.has_spec_ctrl);
	assert_int_equal(plan.host_spec_ctrl, 0);
	assert_state(V_SPECTRE_V2, "Mitigation: Retpolines; RSB filling");
	assert_state(V_MDS, "Not affected");
	assert_state(V_L1TF, "Not affected");
	assert_state(V_RETBLEED, "Not affected");
	assert_state(V_SSB, "Vulnerable: no SSBD on this CPU");
	assert_int_equal(spec_guest_spec_ctrl_bits(&plan), 0);
}

static void test_off(void **state)
{
	(void)state;
	decide(&qemu_max, 0, false);
	assert_false(plan.retpoline || plan.rsb_full || plan.rsb_lite);
	assert_state(V_SPECTRE_V2, "Vulnerable; RSB filling: off");
}

/* An Intel part with eIBRS, PBRSB, MDS and BHI (no BHI_DIS_S). */
static const struct spec_cpu intel_eibrs = {
	.vendor = SPEC_INTEL, .family = 6, .model = 0x7e,
	.l7_edx = L7_IBRS | L7_STIBP | L7_ARCHCAP | L7_SSBD | L7_MDCLEAR | L7_L1D,
	.arch_cap = ARCH_CAP_RDCL_NO | ARCH_CAP_IBRS_ALL | ARCH_CAP_SKIP_L1DFL_VMENTRY,
};

static void test_intel_eibrs(void **state)
{
	(void)state;
	decide(&intel_eibrs, MIT_ALL, true);
	assert_true(plan.eibrs);
	assert_false(plan.retpoline);
	assert_true(plan.rsb_lite);          /* no PBRSB_NO */
	assert_false(plan.rsb_full);
	assert_true(plan.bhb_clear);         /* BHI affected, no BHI_CTRL */
	assert_true(plan.verw);              /* MDS (no MDS_NO) with MD_CLEAR */
	assert_false(plan.l1d_flush);        /* RDCL_NO */
	assert_int_equal(plan.host_spec_ctrl, SPEC_CTRL_IBRS);
	assert_state(V_SPECTRE_V2, "Mitigation: Enhanced IBRS; PBRSB-eIBRS: SW sequence");
	assert_state(V_MDS, "Mitigation: Clear CPU buffers (VERW before VM entry)");
	assert_state(V_L1TF, "Not affected");
	assert_int_equal(spec_guest_spec_ctrl_bits(&plan), SPEC_CTRL_IBRS | SPEC_CTRL_STIBP | SPEC_CTRL_SSBD);
}

static void test_intel_bhi_dis_s(void **state)
{
	(void)state;
	struct spec_cpu c = intel_eibrs;
	c.l7_2_edx = BIT(4);
	c.arch_cap |= ARCH_CAP_PBRSB_NO | ARCH_CAP_MDS_NO | ARCH_CAP_TAA_NO | ARCH_CAP_FBSDP_NO |
		      ARCH_CAP_PSDP_NO | ARCH_CAP_SBDR_SSDP_NO;
	decide(&c, MIT_ALL, true);
	assert_true(plan.bhi_dis_s);
	assert_false(plan.bhb_clear);
	assert_false(plan.rsb_lite || plan.rsb_full);
	assert_false(plan.verw);
	assert_int_equal(plan.host_spec_ctrl, SPEC_CTRL_IBRS | SPEC_CTRL_BHI_DIS_S);
	assert_state(V_BHI, "Mitigation: BHI_DIS_S");
	assert_state(V_MDS, "Not affected");
	assert_state(V_MMIO_STALE_DATA, "Not affected");
}

/* An older Intel part: no ARCH_CAPABILITIES, L1TF and MDS. */
static const struct spec_cpu intel_old = {
	.vendor = SPEC_INTEL, .family = 6, .model = 0x3c,
	.l7_edx = L7_IBRS | L7_STIBP | L7_SSBD | L7_MDCLEAR | L7_L1D,
};

static void test_intel_old(void **state)
{
	(void)state;
	decide(&intel_old, MIT_ALL, true);
	assert_true(plan.retpoline);         /* no RSBA: retpolines, as Linux */
	assert_false(plan.ibrs);
	assert_true(plan.rsb_full);
	assert_true(plan.l1d_flush);
	assert_true(plan.verw);
	assert_state(V_L1TF, "Mitigation: L1D flush before VM entry (IA32_FLUSH_CMD)");
	assert_state_has(V_BHI, "Retpolines");
	/* Without the L1D_FLUSH and MD_CLEAR microcode: vulnerable, and says why. */
	struct spec_cpu c = intel_old;
	c.l7_edx &= ~(L7_L1D | L7_MDCLEAR);
	decide(&c, MIT_ALL, true);
	assert_false(plan.l1d_flush || plan.verw);
	assert_state(V_L1TF, "Vulnerable: no L1D_FLUSH on this CPU");
	assert_state(V_MDS, "Vulnerable: Clear CPU buffers attempted, no microcode");
}

static void test_intel_rsba_ibrs(void **state)
{
	(void)state;
	struct spec_cpu c = intel_old;
	c.l7_edx |= L7_ARCHCAP;
	c.arch_cap = ARCH_CAP_RSBA;
	decide(&c, MIT_ALL, true);
	assert_true(plan.ibrs);
	assert_false(plan.retpoline);
	assert_true(plan.rsb_full);
	assert_int_equal(plan.host_spec_ctrl, SPEC_CTRL_IBRS);
	assert_state(V_RETBLEED, "Mitigation: IBRS while hv runs");
	/* The same CPU with only retpoline allowed: Retbleed stays open. */
	decide(&c, BIT(MIT_RETPOLINE) | BIT(MIT_RSB), false);
	assert_true(plan.retpoline);
	assert_false(plan.ibrs);
	assert_int_equal(plan.host_spec_ctrl, 0);
	assert_state(V_RETBLEED, "Vulnerable");
}

static void test_amd_zen2(void **state)
{
	(void)state;
	struct spec_cpu c = { .vendor = SPEC_AMD, .family = 0x17, .model = 0x31,
			      .ext8_ebx = BIT(12) | BIT(14) | BIT(15) | BIT(24) };
	decide(&c, MIT_ALL, true);
	assert_true(plan.ibpb_exit);
	assert_true(plan.retpoline && plan.rsb_full);
	assert_state(V_RETBLEED, "Mitigation: IBPB on VM exit");
	assert_state(V_SRSO, "Mitigation: IBPB on VM exit");
	assert_int_equal(spec_guest_spec_ctrl_bits(&plan), SPEC_CTRL_IBRS | SPEC_CTRL_STIBP | SPEC_CTRL_SSBD);
	/* No IBPB: nothing hv can do about returns. */
	c.ext8_ebx = 0;
	decide(&c, MIT_ALL, true);
	assert_false(plan.ibpb_exit);
	assert_state(V_RETBLEED, "Vulnerable: no IBPB on this CPU");
	assert_state(V_SRSO, "Vulnerable: no IBPB on this CPU");
}

static void test_amd_zen3_srso_tsa(void **state)
{
	(void)state;
	struct spec_cpu c = { .vendor = SPEC_AMD, .family = 0x19, .model = 0x01, .ext8_ebx = BIT(12) };
	decide(&c, MIT_ALL, true);
	assert_false(plan.ibpb_exit);        /* IBPB without IBPB_BRTYPE does not cover returns */
	assert_state(V_SRSO, "Vulnerable: No microcode (no IBPB_BRTYPE)");
	assert_state(V_TSA, "Vulnerable: Clear CPU buffers attempted, no microcode");
	c.ext21_eax = BIT(28) | BIT(5);      /* IBPB_BRTYPE, VERW_CLEAR */
	decide(&c, MIT_ALL, true);
	assert_true(plan.ibpb_exit);
	assert_true(plan.verw);
	assert_state(V_TSA, "Mitigation: Clear CPU buffers (VERW before VM entry)");
	c.ext21_ecx = BIT(1) | BIT(2);       /* TSA_SQ_NO, TSA_L1_NO */
	c.ext21_eax |= BIT(29);              /* SRSO_NO */
	decide(&c, MIT_ALL, true);
	assert_false(plan.ibpb_exit || plan.verw);
	assert_state(V_TSA, "Not affected");
	assert_state(V_SRSO, "Not affected");
}

static void test_amd_autoibrs(void **state)
{
	(void)state;
	struct spec_cpu c = { .vendor = SPEC_AMD, .family = 0x19, .model = 0x11,
			      .ext8_ebx = BIT(12) | BIT(14), .ext21_eax = BIT(8) | BIT(28) | BIT(29),
			      .ext21_ecx = BIT(1) | BIT(2), .exta_edx = BIT(20) };
	decide(&c, MIT_ALL, true);
	assert_true(plan.autoibrs);
	assert_false(plan.retpoline || plan.rsb_full || plan.rsb_lite);
	assert_true(plan.v_spec_ctrl);
	assert_int_equal(plan.host_spec_ctrl, 0);   /* AutoIBRS is an EFER bit */
	assert_state(V_SPECTRE_V2, "Mitigation: Automatic IBRS (EFER.AIBRSE); PBRSB-eIBRS: Not affected");
}

static void test_list(void **state)
{
	(void)state;
	/* eIBRS not listed: retpolines although the CPU has it. */
	decide(&intel_eibrs, BIT(MIT_RETPOLINE) | BIT(MIT_RSB), false);
	assert_true(plan.retpoline && plan.rsb_full);
	assert_false(plan.eibrs || plan.verw);
	assert_int_equal(plan.host_spec_ctrl, 0);
	assert_state(V_MDS, "Vulnerable");
	/* Only VERW: buffers cleared, indirect branches unprotected. */
	decide(&intel_eibrs, BIT(MIT_VERW), false);
	assert_true(plan.verw);
	assert_false(plan.retpoline || plan.eibrs || plan.rsb_full || plan.rsb_lite);
	assert_state_has(V_SPECTRE_V2, "Vulnerable");
	/* A listed measure the CPU lacks stays off. */
	decide(&qemu_max, BIT(MIT_EIBRS) | BIT(MIT_L1D_FLUSH) | BIT(MIT_VERW), false);
	assert_false(plan.eibrs || plan.l1d_flush || plan.verw);
}

static void test_config_names(void **state)
{
	(void)state;
	struct hv_config cfg = { .mitigations_auto = false, .mitigations = BIT(MIT_RSB) | BIT(MIT_VERW) };
	char buf[96];
	mitigations_str(&cfg, buf, sizeof(buf));
	assert_string_equal(buf, "rsb,verw");
	cfg.mitigations = 0;
	mitigations_str(&cfg, buf, sizeof(buf));
	assert_string_equal(buf, "off");
	cfg.mitigations_auto = true;
	mitigations_str(&cfg, buf, sizeof(buf));
	assert_string_equal(buf, "auto");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_auto),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_intel_eibrs),
		cmocka_unit_test(test_intel_bhi_dis_s),
		cmocka_unit_test(test_intel_old),
		cmocka_unit_test(test_intel_rsba_ibrs),
		cmocka_unit_test(test_amd_zen2),
		cmocka_unit_test(test_amd_zen3_srso_tsa),
		cmocka_unit_test(test_amd_autoibrs),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_config_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
