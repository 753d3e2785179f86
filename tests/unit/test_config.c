/*
 * tests/unit/test_config.c - host unit tests for the boot config parser
 * (hv/config.c).
 *
 * Two groups:
 *  - "config": hand-written tests of defaults, every key and spelling, the
 *    name functions, robustness (len 0, random bytes, huge lines, reading
 *    past the end of the text, small error buffers).
 *  - "config-golden": one test per NAME.cfg in CONFIG_GOLDEN_DIR. NAME.err
 *    holds the exact error line config_parse must produce (the file is named
 *    "hv.cfg" in messages); NAME.ok holds a dump of the parsed config
 *    (see dump_config) for inputs that must be accepted.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#ifndef CONFIG_GOLDEN_DIR
#define CONFIG_GOLDEN_DIR "tests/unit/config-golden"
#endif

/* The golden set must keep at least this many error cases. */
#define MIN_GOLDEN_ERRORS 20

static struct hv_config cfg;
static char err[512];

static int parse(const char *text)
{
	memset(err, 'X', sizeof(err));
	return config_parse(text, strlen(text), "hv.cfg", &cfg, err, sizeof(err));
}

static void parse_ok(const char *text)
{
	int r = parse(text);
	if (r != 0)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(r, 0);
}

static void parse_err(const char *text, const char *expected)
{
	assert_int_equal(parse(text), -1);
	assert_string_equal(err, expected);
}

/* ---- dump, for comparisons with .ok golden files ---------------------------- */

static void dump_config(const struct hv_config *c, char *buf, size_t n)
{
	size_t len = 0;
#define OUT(...)                                                                  \
	do {                                                                      \
		int w_ = snprintf(buf + len, n - len, __VA_ARGS__);               \
		assert_true(w_ >= 0 && (size_t)w_ < n - len);                     \
		len += (size_t)w_;                                                \
	} while (0)

	OUT("policy=%s track=%s slice_us=%llu trace=%s virtual_ibpb=%s force_wrmsr=%s pcpus=%u\n",
	    policy_name(c->policy), track_name(c->track), (unsigned long long)c->slice_us,
	    c->trace ? "on" : "off", c->virtual_ibpb ? "on" : "off",
	    c->force_wrmsr ? "on" : "off", c->max_pcpus);
	/* the real-machine keys: a line only when one is set (older .ok files stay valid) */
	if (c->console || c->clock || c->on_end || c->host_x2apic_enable) {
		static const char *const clocks[] = { "auto", "cpuid", "acpi-pm", "hpet", "pit" };
		static const char *const ends[] = { "auto", "halt", "reset" };
		OUT("console=%s%s%s clock=%s on_end=%s host_x2apic=%s\n",
		    c->console & CONSOLE_SERIAL ? "serial" : "",
		    c->console == (CONSOLE_SERIAL | CONSOLE_SCREEN) ? "," : "",
		    c->console & CONSOLE_SCREEN ? "screen" : (c->console ? "" : "all"),
		    clocks[c->clock], ends[c->on_end], c->host_x2apic_enable ? "enable" : "keep");
	}
	if (c->console_input)             /* only when set, like the lines around it */
		OUT("console_input=%s\n", c->vms[c->console_input - 1].name);
	if (!c->mitigations_auto) {       /* only when set: the older .ok files stay as they are */
		char m[96];
		mitigations_str(c, m, sizeof(m));
		OUT("mitigations=%s\n", m);
	}
	for (unsigned i = 0; i < c->nvms; i++) {
		const struct vm_config *vm = &c->vms[i];
		OUT("vm %s line=%u image=%s mode=%s memory=%llu vcpus=%u pin=", vm->name, vm->line,
		    vm->image, vm->mode == GUEST_MODE_REAL ? "real" : "long",
		    (unsigned long long)vm->memory, vm->vcpus);
		bool any = true;
		for (unsigned j = 0; j < vm->vcpus; j++)
			if (vm->pin[j] != -1)
				any = false;
		if (any)
			OUT("any");
		else
			for (unsigned j = 0; j < vm->vcpus; j++)
				OUT("%s%d", j ? "," : "", vm->pin[j]);
		OUT(" ibpb=%s limit_ms=%llu expect=%s %d%s\n", vm_ibpb_name(vm->ibpb),
		    (unsigned long long)vm->limit_ms, result_name(vm->expect), vm->expect_status,
		    vm->ap_sipi ? " ap_start=sipi" : "");
		if (vm_is_linux(vm))      /* a Linux VM only: the older .ok files stay valid */
			OUT("  linux kernel=%s (line %u) initrd=%s (line %u) cmdline='%s' (line %u)\n",
			    vm->kernel, vm->kernel_line, vm->initrd, vm->initrd_line, vm->cmdline,
			    vm->cmdline_line);
	}
#undef OUT
}

/* ---- defaults and names ------------------------------------------------------ */

static void test_defaults(void **state)
{
	(void)state;
	parse_ok("[vm a]\nimage = a.bin\n");
	assert_string_equal(err, "");
	assert_int_equal(cfg.policy, POLICY_GUEST);
	assert_int_equal(cfg.track, TRACK_PASSTHROUGH);
	assert_int_equal(cfg.slice_us, 10000);
	assert_false(cfg.trace);
	assert_false(cfg.virtual_ibpb);
	assert_false(cfg.force_wrmsr);
	assert_int_equal(cfg.max_pcpus, 1);
	assert_int_equal(cfg.nvms, 1);

	const struct vm_config *vm = &cfg.vms[0];
	assert_string_equal(vm->name, "a");
	assert_string_equal(vm->image, "a.bin");
	assert_int_equal(vm->line, 1);
	assert_int_equal(vm->mode, GUEST_MODE_LONG);
	assert_int_equal(vm->memory, MiB(2));
	assert_int_equal(vm->vcpus, 1);
	for (unsigned i = 0; i < CFG_MAX_VCPUS; i++)
		assert_int_equal(vm->pin[i], -1);
	assert_int_equal(vm->ibpb, VM_IBPB_AUTO);
	assert_int_equal(vm->limit_ms, 0);
	assert_int_equal(vm->expect, RESULT_EXIT);
	assert_int_equal(vm->expect_status, 0);
}

/* A parse resets everything: nothing leaks from an earlier config. */
static void test_defaults_reset(void **state)
{
	(void)state;
	parse_ok("policy = never\ntrace = on\npcpus = 8\n[vm a]\nimage = a.bin\nvcpus = 4\npin = 3\n"
		 "[vm b]\nimage = b.bin\n");
	assert_int_equal(cfg.nvms, 2);
	parse_ok("[vm c]\nimage = c.bin\n");
	assert_int_equal(cfg.policy, POLICY_GUEST);
	assert_false(cfg.trace);
	assert_int_equal(cfg.max_pcpus, 1);
	assert_int_equal(cfg.nvms, 1);
	assert_int_equal(cfg.vms[0].vcpus, 1);
	assert_int_equal(cfg.vms[0].pin[0], -1);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(policy_name(POLICY_NEVER), "never");
	assert_string_equal(policy_name(POLICY_SWITCH), "switch");
	assert_string_equal(policy_name(POLICY_SWITCH_MIGRATE), "switch-migrate");
	assert_string_equal(policy_name(POLICY_GUEST), "guest");
	assert_string_equal(track_name(TRACK_PASSTHROUGH), "passthrough");
	assert_string_equal(track_name(TRACK_TRAP), "trap");
	assert_string_equal(vm_ibpb_name(VM_IBPB_AUTO), "auto");
	assert_string_equal(vm_ibpb_name(VM_IBPB_ALWAYS), "always");
	assert_string_equal(vm_ibpb_name(VM_IBPB_NEVER), "never");
	assert_string_equal(result_name(RESULT_NONE), "none");
	assert_string_equal(result_name(RESULT_EXIT), "exit");
	assert_string_equal(result_name(RESULT_SHUTDOWN), "shutdown");
	assert_string_equal(result_name(RESULT_LIMIT), "limit");
	assert_string_equal(result_name(RESULT_HALT), "halt");
	assert_string_equal(result_name(RESULT_FAULT), "fault");
	/* out-of-range values do not crash and are not mistaken for a real name */
	assert_string_equal(policy_name((enum barrier_policy)99), "unknown");
	assert_string_equal(track_name((enum barrier_track)99), "unknown");
	assert_string_equal(vm_ibpb_name((enum vm_ibpb)99), "unknown");
	assert_string_equal(result_name((enum vm_result)99), "unknown");
}

/* The spellings the parser accepts are exactly the names the name functions print. */
static void test_names_round_trip(void **state)
{
	(void)state;
	char text[256];
	for (int p = POLICY_NEVER; p <= POLICY_GUEST; p++) {
		snprintf(text, sizeof(text), "policy = %s\n[vm a]\nimage = a\n", policy_name(p));
		parse_ok(text);
		assert_int_equal(cfg.policy, p);
	}
	for (int t = TRACK_PASSTHROUGH; t <= TRACK_TRAP; t++) {
		snprintf(text, sizeof(text), "track = %s\n[vm a]\nimage = a\n", track_name(t));
		parse_ok(text);
		assert_int_equal(cfg.track, t);
	}
	for (int b = VM_IBPB_AUTO; b <= VM_IBPB_NEVER; b++) {
		snprintf(text, sizeof(text), "[vm a]\nimage = a\nibpb = %s\n", vm_ibpb_name(b));
		parse_ok(text);
		assert_int_equal(cfg.vms[0].ibpb, b);
	}
	for (int r = RESULT_EXIT; r <= RESULT_FAULT; r++) {
		snprintf(text, sizeof(text), "[vm a]\nimage = a\nexpect = %s\n", result_name(r));
		parse_ok(text);
		assert_int_equal(cfg.vms[0].expect, r);
		assert_int_equal(cfg.vms[0].expect_status, 0);
	}
}

/* ---- global keys -------------------------------------------------------------- */

static void test_global_policy_track(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum barrier_policy p;
	} pol[] = {
		{ "never", POLICY_NEVER },
		{ "switch", POLICY_SWITCH },
		{ "switch-migrate", POLICY_SWITCH_MIGRATE },
		{ "guest", POLICY_GUEST },
	};
	char text[256];
	for (size_t i = 0; i < sizeof(pol) / sizeof(pol[0]); i++) {
		snprintf(text, sizeof(text), "policy = %s\n[vm a]\nimage = a.bin\n", pol[i].text);
		parse_ok(text);
		assert_int_equal(cfg.policy, pol[i].p);
	}
	parse_ok("track = trap\n[vm a]\nimage = a.bin\n");
	assert_int_equal(cfg.track, TRACK_TRAP);
	parse_ok("track = passthrough\n[vm a]\nimage = a.bin\n");
	assert_int_equal(cfg.track, TRACK_PASSTHROUGH);
	/* values are case-sensitive and whole words */
	parse_err("policy = Never\n",
		  "hv.cfg:1: bad value 'Never' for 'policy' (expected never, switch, switch-migrate or guest)");
	parse_err("policy = switch-\n",
		  "hv.cfg:1: bad value 'switch-' for 'policy' (expected never, switch, switch-migrate or guest)");
	parse_err("track = pass\n",
		  "hv.cfg:1: bad value 'pass' for 'track' (expected passthrough or trap)");
}

static void test_global_booleans(void **state)
{
	(void)state;
	static const char *const keys[] = { "trace", "virtual_ibpb", "force_wrmsr" };
	static const struct {
		const char *text;
		bool v;
	} spell[] = {
		{ "on", true },   { "yes", true }, { "true", true },   { "1", true },
		{ "off", false }, { "no", false }, { "false", false }, { "0", false },
	};
	char text[256];
	for (size_t k = 0; k < 3; k++) {
		for (size_t s = 0; s < sizeof(spell) / sizeof(spell[0]); s++) {
			snprintf(text, sizeof(text), "%s = %s\n[vm a]\nimage = a.bin\n", keys[k],
				 spell[s].text);
			parse_ok(text);
			bool got = k == 0 ? cfg.trace : k == 1 ? cfg.virtual_ibpb : cfg.force_wrmsr;
			assert_int_equal(got, spell[s].v);
			/* the other two keep their defaults */
			if (k != 0)
				assert_false(cfg.trace);
			if (k != 1)
				assert_false(cfg.virtual_ibpb);
			if (k != 2)
				assert_false(cfg.force_wrmsr);
		}
		snprintf(text, sizeof(text), "%s = ON\n", keys[k]);
		assert_int_equal(parse(text), -1);
		snprintf(text, sizeof(text), "%s = onn\n", keys[k]);
		assert_int_equal(parse(text), -1);
	}
	parse_ok("trace = on\nvirtual_ibpb = yes\nforce_wrmsr = true\n[vm a]\nimage = a.bin\n");
	assert_true(cfg.trace && cfg.virtual_ibpb && cfg.force_wrmsr);
}

static void test_global_numbers(void **state)
{
	(void)state;
	parse_ok("slice_us = 100\n[vm a]\nimage = a.bin\n");
	assert_int_equal(cfg.slice_us, 100);
	parse_ok("slice_us = 10000000\n[vm a]\nimage = a.bin\n");
	assert_int_equal(cfg.slice_us, 10000000);
	parse_ok("slice_us = 0x3E8\n[vm a]\nimage = a.bin\n");
	assert_int_equal(cfg.slice_us, 1000);
	parse_ok("slice_us = 0X3e8\n[vm a]\nimage = a.bin\n");
	assert_int_equal(cfg.slice_us, 1000);
	parse_ok("slice_us = 000500\n[vm a]\nimage = a.bin\n"); /* decimal, not octal */
	assert_int_equal(cfg.slice_us, 500);
	parse_ok("pcpus = 1\n[vm a]\nimage = a.bin\n");
	assert_int_equal(cfg.max_pcpus, 1);
	parse_ok("pcpus = 64\n[vm a]\nimage = a.bin\n");
	assert_int_equal(cfg.max_pcpus, 64);
	parse_ok("pcpus = 0x40\n[vm a]\nimage = a.bin\n");
	assert_int_equal(cfg.max_pcpus, 64);

	parse_err("slice_us = 99\n",
		  "hv.cfg:1: value '99' for 'slice_us' is out of range (expected 100..10000000)");
	parse_err("slice_us = 0x989681\n",
		  "hv.cfg:1: value '0x989681' for 'slice_us' is out of range (expected 100..10000000)");
	/* the largest 64-bit value is in range of the parser but not of the key */
	parse_err("slice_us = 18446744073709551615\n",
		  "hv.cfg:1: value '18446744073709551615' for 'slice_us' is out of range (expected 100..10000000)");
	parse_err("slice_us = 0xffffffffffffffff\n",
		  "hv.cfg:1: value '0xffffffffffffffff' for 'slice_us' is out of range (expected 100..10000000)");
	/* one more overflows 64 bits: still reported, never wrapped */
	parse_err("slice_us = 18446744073709551616\n",
		  "hv.cfg:1: value '18446744073709551616' for 'slice_us' is out of range (expected 100..10000000)");
	/* 2^64 + 1000 would wrap to 1000 (in range) without overflow detection */
	parse_err("slice_us = 18446744073709552616\n",
		  "hv.cfg:1: value '18446744073709552616' for 'slice_us' is out of range (expected 100..10000000)");
	parse_err("slice_us = 0x100000000000003e8\n",
		  "hv.cfg:1: value '0x100000000000003e8' for 'slice_us' is out of range (expected 100..10000000)");
	/* a bad character after an overflow is a bad number */
	parse_err("slice_us = 99999999999999999999x\n",
		  "hv.cfg:1: bad number '99999999999999999999x' for 'slice_us' (expected a number 100..10000000)");
	parse_err("slice_us = 1e3\n",
		  "hv.cfg:1: bad number '1e3' for 'slice_us' (expected a number 100..10000000)");
	parse_err("pcpus = 0x\n", "hv.cfg:1: bad number '0x' for 'pcpus' (expected a number 1..64)");
	parse_err("pcpus = 0xg\n", "hv.cfg:1: bad number '0xg' for 'pcpus' (expected a number 1..64)");
	parse_err("pcpus = -1\n", "hv.cfg:1: bad number '-1' for 'pcpus' (expected a number 1..64)");
}

/* ---- VM keys ------------------------------------------------------------------ */

static void test_vm_keys(void **state)
{
	(void)state;
	parse_ok("[vm guest-1_A]\n"
		 "image = dir/sub/guest-1_A.v2.bin\n"
		 "mode = real\n"
		 "memory = 8M\n"
		 "vcpus = 4\n"
		 "ibpb = always\n"
		 "limit_ms = 3600000\n"
		 "expect = exit 255\n");
	const struct vm_config *vm = &cfg.vms[0];
	assert_string_equal(vm->name, "guest-1_A");
	assert_string_equal(vm->image, "dir/sub/guest-1_A.v2.bin");
	assert_int_equal(vm->mode, GUEST_MODE_REAL);
	assert_int_equal(vm->memory, MiB(8));
	assert_int_equal(vm->vcpus, 4);
	assert_int_equal(vm->ibpb, VM_IBPB_ALWAYS);
	assert_int_equal(vm->limit_ms, 3600000);
	assert_int_equal(vm->expect, RESULT_EXIT);
	assert_int_equal(vm->expect_status, 255);

	parse_ok("[vm a]\nimage = a\nmode = long\nibpb = never\nlimit_ms = 0\nvcpus = 64\n");
	assert_int_equal(cfg.vms[0].mode, GUEST_MODE_LONG);
	assert_int_equal(cfg.vms[0].ibpb, VM_IBPB_NEVER);
	assert_int_equal(cfg.vms[0].limit_ms, 0);
	assert_int_equal(cfg.vms[0].vcpus, 64);
	parse_ok("[vm a]\nimage = a\nibpb = auto\n");
	assert_int_equal(cfg.vms[0].ibpb, VM_IBPB_AUTO);

	/* names and images at their length limits */
	parse_ok("[vm abcdefghijklmnopqrstuvw]\nimage = "
		 "123456789012345678901234567890123456789012345678901234567890123\n");
	assert_int_equal(strlen(cfg.vms[0].name), CFG_NAME_MAX - 1);
	assert_int_equal(strlen(cfg.vms[0].image), CFG_PATH_MAX - 1);
	parse_err("[vm a]\nimage = 1234567890123456789012345678901234567890123456789012345678901234\n",
		  "hv.cfg:2: image name '1234567890123456789012345678901234567890...' is too long "
		  "(64 characters; expected at most 63)");
}

static void test_expect(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum vm_result r;
		int status;
	} cases[] = {
		{ "exit", RESULT_EXIT, 0 },
		{ "exit 0", RESULT_EXIT, 0 },
		{ "exit 3", RESULT_EXIT, 3 },
		{ "exit\t7", RESULT_EXIT, 7 },
		{ "exit   0x2a", RESULT_EXIT, 42 },
		{ "exit 255", RESULT_EXIT, 255 },
		{ "shutdown", RESULT_SHUTDOWN, 0 },
		{ "limit", RESULT_LIMIT, 0 },
		{ "halt", RESULT_HALT, 0 },
		{ "fault", RESULT_FAULT, 0 },
	};
	char text[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[vm a]\nimage = a.bin\nexpect = %s\n", cases[i].text);
		parse_ok(text);
		assert_int_equal(cfg.vms[0].expect, cases[i].r);
		assert_int_equal(cfg.vms[0].expect_status, cases[i].status);
	}
	parse_err("[vm a]\nimage = a\nexpect = exit3\n",
		  "hv.cfg:3: bad value 'exit3' for 'expect' (expected exit [STATUS], shutdown, limit, halt or fault)");
	parse_err("[vm a]\nimage = a\nexpect = none\n",
		  "hv.cfg:3: bad value 'none' for 'expect' (expected exit [STATUS], shutdown, limit, halt or fault)");
	parse_err("[vm a]\nimage = a\nexpect = exit 1 2\n",
		  "hv.cfg:3: bad exit status '1 2' for 'expect' (expected a number 0..255)");
	parse_err("[vm a]\nimage = a\nexpect = exit 0x100\n",
		  "hv.cfg:3: exit status '0x100' for 'expect' is out of range (expected 0..255)");
	parse_err("[vm a]\nimage = a\nexpect = exit 99999999999999999999999\n",
		  "hv.cfg:3: exit status '99999999999999999999999' for 'expect' is out of range (expected 0..255)");
}

static void test_two_vms(void **state)
{
	(void)state;
	parse_ok("policy = switch\n"
		 "\n"
		 "[vm first]\n"
		 "image = one.bin\n"
		 "vcpus = 2\n"
		 "\n"
		 "[vm second]\n"
		 "image = two.bin\n"
		 "memory = 4M\n"
		 "expect = shutdown\n");
	assert_int_equal(cfg.policy, POLICY_SWITCH);
	assert_int_equal(cfg.nvms, 2);
	assert_string_equal(cfg.vms[0].name, "first");
	assert_string_equal(cfg.vms[0].image, "one.bin");
	assert_int_equal(cfg.vms[0].line, 3);
	assert_int_equal(cfg.vms[0].vcpus, 2);
	assert_int_equal(cfg.vms[0].memory, MiB(2));
	assert_int_equal(cfg.vms[0].expect, RESULT_EXIT);
	assert_string_equal(cfg.vms[1].name, "second");
	assert_string_equal(cfg.vms[1].image, "two.bin");
	assert_int_equal(cfg.vms[1].line, 7);
	assert_int_equal(cfg.vms[1].vcpus, 1);
	assert_int_equal(cfg.vms[1].memory, MiB(4));
	assert_int_equal(cfg.vms[1].expect, RESULT_SHUTDOWN);

	/* the same key in two VMs is not a duplicate; names differ only in case */
	parse_ok("[vm a]\nimage = a.bin\n[vm A]\nimage = a.bin\n");
	assert_int_equal(cfg.nvms, 2);
	/* an empty section right before another is still missing its image */
	parse_err("[vm a]\n[vm b]\nimage = b.bin\n",
		  "hv.cfg:1: vm 'a' has no image (expected 'image = FILE')");
}

static void test_max_vms(void **state)
{
	(void)state;
	char text[4096];
	size_t len = 0;
	for (int i = 0; i < CFG_MAX_VMS; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "[vm vm%d]\nimage = g%d.bin\n", i, i);
	parse_ok(text);
	assert_int_equal(cfg.nvms, CFG_MAX_VMS);
	assert_string_equal(cfg.vms[CFG_MAX_VMS - 1].name, "vm15");
	assert_string_equal(cfg.vms[CFG_MAX_VMS - 1].image, "g15.bin");
	snprintf(text + len, sizeof(text) - len, "[vm one-more]\nimage = x.bin\n");
	parse_err(text, "hv.cfg:33: too many VMs at '[vm one-more]' (expected at most 16 '[vm NAME]' sections)");
}

static void test_pin(void **state)
{
	(void)state;
	/* single form: every vCPU on the same pCPU, vcpus given after pin */
	parse_ok("[vm a]\nimage = a.bin\npin = 5\nvcpus = 3\n");
	assert_int_equal(cfg.vms[0].vcpus, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(cfg.vms[0].pin[i], 5);
	assert_int_equal(cfg.vms[0].pin[3], -1);

	/* single form with one vCPU; hex */
	parse_ok("[vm a]\nimage = a.bin\npin = 0x3f\n");
	assert_int_equal(cfg.vms[0].pin[0], 63);
	assert_int_equal(cfg.vms[0].pin[1], -1);

	/* list form, spaces around commas, vcpus before or after */
	parse_ok("[vm a]\nimage = a.bin\nvcpus = 3\npin = 2, 0 ,1\n");
	assert_int_equal(cfg.vms[0].pin[0], 2);
	assert_int_equal(cfg.vms[0].pin[1], 0);
	assert_int_equal(cfg.vms[0].pin[2], 1);
	assert_int_equal(cfg.vms[0].pin[3], -1);
	parse_ok("[vm a]\nimage = a.bin\npin = 7,7\nvcpus = 2\n[vm b]\nimage = b.bin\n");
	assert_int_equal(cfg.vms[0].pin[0], 7);
	assert_int_equal(cfg.vms[0].pin[1], 7);
	assert_int_equal(cfg.vms[1].pin[0], -1);

	/* the largest list */
	char text[1024];
	size_t len = (size_t)snprintf(text, sizeof(text), "[vm a]\nimage = a.bin\nvcpus = 64\npin = ");
	for (int i = 0; i < CFG_MAX_VCPUS; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%d", i ? "," : "", 63 - i);
	snprintf(text + len, sizeof(text) - len, "\n");
	parse_ok(text);
	for (int i = 0; i < CFG_MAX_VCPUS; i++)
		assert_int_equal(cfg.vms[0].pin[i], 63 - i);

	/* count checks */
	parse_err("[vm a]\nimage = a.bin\npin = 1,2\n", "hv.cfg:3: 'pin' lists 2 pCPUs but vcpus = 1");
	parse_err("[vm a]\nimage = a.bin\nvcpus = 4\npin = 1,2,3\n[vm b]\nimage = b.bin\n",
		  "hv.cfg:4: 'pin' lists 3 pCPUs but vcpus = 4");
	parse_err("[vm a]\nimage = a.bin\npin = 1,2\nvcpus = 3\n",
		  "hv.cfg:3: 'pin' lists 2 pCPUs but vcpus = 3");
	parse_err("[vm a]\nimage = a.bin\npin = 0,64\nvcpus = 2\n",
		  "hv.cfg:3: pCPU '64' in 'pin' is out of range (expected 0..63)");
	parse_err("[vm a]\nimage = a.bin\npin = -1\n",
		  "hv.cfg:3: bad pCPU '-1' in 'pin' (expected P or P0,P1,... with pCPUs 0..63)");
	parse_err("[vm a]\nimage = a.bin\nvcpus = 2\npin = ,1\n",
		  "hv.cfg:4: bad pin list ',1' (expected P or P0,P1,... with pCPUs 0..63)");
	parse_err("[vm a]\nimage = a.bin\npin = 99999999999999999999999\n",
		  "hv.cfg:3: pCPU '99999999999999999999999' in 'pin' is out of range (expected 0..63)");
}

static void test_memory(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		u64 bytes;
	} cases[] = {
		{ "2M", MiB(2) },         { "2m", MiB(2) },       { "4M", MiB(4) },
		{ "2048K", MiB(2) },      { "6144k", MiB(6) },    { "2097152", MiB(2) },
		{ "0x200000", MiB(2) },   { "0x400000", MiB(4) }, { "0x4M", MiB(4) },
		{ "1G", GiB(1) },         { "1g", GiB(1) },       { "1024M", GiB(1) },
		{ "1048576K", GiB(1) },   { "1073741824", GiB(1) }, { "1022M", MiB(1022) },
	};
	char text[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[vm a]\nimage = a.bin\nmemory = %s\n", cases[i].text);
		parse_ok(text);
		assert_int_equal(cfg.vms[0].memory, cases[i].bytes);
	}
	parse_err("[vm a]\nimage = a.bin\nmemory = 1M\n",
		  "hv.cfg:3: memory '1M' is out of range (expected 2M..1G)");
	parse_err("[vm a]\nimage = a.bin\nmemory = 1026M\n",
		  "hv.cfg:3: memory '1026M' is out of range (expected 2M..1G)");
	parse_err("[vm a]\nimage = a.bin\nmemory = 3M\n", "hv.cfg:3: memory '3M' is not a multiple of 2M");
	parse_err("[vm a]\nimage = a.bin\nmemory = 2049K\n",
		  "hv.cfg:3: memory '2049K' is not a multiple of 2M");
	/* these overflow when shifted and would wrap to 1G and 2M: still out of range */
	parse_err("[vm a]\nimage = a.bin\nmemory = 17179869185G\n",
		  "hv.cfg:3: memory '17179869185G' is out of range (expected 2M..1G)");
	parse_err("[vm a]\nimage = a.bin\nmemory = 0x400000000000002M\n",
		  "hv.cfg:3: memory '0x400000000000002M' is out of range (expected 2M..1G)");
	parse_err("[vm a]\nimage = a.bin\nmemory = M\n",
		  "hv.cfg:3: bad memory size 'M' (expected N, NK, NM or NG: a multiple of 2M, 2M..1G)");
	parse_err("[vm a]\nimage = a.bin\nmemory = 2 M\n",
		  "hv.cfg:3: bad memory size '2 M' (expected N, NK, NM or NG: a multiple of 2M, 2M..1G)");
	parse_err("[vm a]\nimage = a.bin\nmemory = 2T\n",
		  "hv.cfg:3: bad memory size '2T' (expected N, NK, NM or NG: a multiple of 2M, 2M..1G)");
}

/* ---- syntax ------------------------------------------------------------------- */

static void test_whitespace_and_comments(void **state)
{
	(void)state;
	parse_ok("#!hv\n"
		 "   # indented comment\n"
		 "\t\n"
		 "policy=never#no spaces at all\n"
		 "\ttrack\t =\ttrap\t\n"
		 "  [  vm   a  ]  # comment after a header\n"
		 "image = a.bin # = not a key\n"
		 "# image = b.bin\n"
		 "mode = real#\n");
	assert_int_equal(cfg.policy, POLICY_NEVER);
	assert_int_equal(cfg.track, TRACK_TRAP);
	assert_int_equal(cfg.nvms, 1);
	assert_string_equal(cfg.vms[0].name, "a");
	assert_int_equal(cfg.vms[0].line, 6);
	assert_string_equal(cfg.vms[0].image, "a.bin");
	assert_int_equal(cfg.vms[0].mode, GUEST_MODE_REAL);

	/* a commented-out section does not exist */
	parse_err("policy = never\n#[vm a]\n#image = a.bin\n",
		  "hv.cfg:1: no VM defined (expected at least one '[vm NAME]' section)");
	/* non-ASCII bytes are fine in comments */
	parse_ok("# caf\xc3\xa9 \xe2\x80\x94 comment\n[vm a]\nimage = a.bin # \xff\xfe\n");
	/* the first '=' splits: the rest is the value */
	parse_err("[vm a]\nimage = a=b\n",
		  "hv.cfg:2: bad image name 'a=b' (expected letters, digits, '.', '_', '-' or '/')");
}

static void test_line_endings(void **state)
{
	(void)state;
	parse_ok("policy = switch\r\n\r\n[vm a]\r\nimage = a.bin\r\nmemory = 4M\r\nexpect = exit 9\r\n");
	assert_int_equal(cfg.policy, POLICY_SWITCH);
	assert_string_equal(cfg.vms[0].image, "a.bin");
	assert_int_equal(cfg.vms[0].memory, MiB(4));
	assert_int_equal(cfg.vms[0].expect_status, 9);
	/* no final newline, with and without CR */
	parse_ok("[vm a]\nimage = a.bin");
	assert_string_equal(cfg.vms[0].image, "a.bin");
	parse_ok("[vm a]\r\nimage = a.bin\r");
	assert_string_equal(cfg.vms[0].image, "a.bin");
	/* mixed endings count lines the same way */
	parse_err("[vm a]\r\nimage = a.bin\n\r\nmode = x\r\n",
		  "hv.cfg:4: bad value 'x' for 'mode' (expected long or real)");
	/* error messages never contain the CR */
	parse_err("policy = x\r\n",
		  "hv.cfg:1: bad value 'x' for 'policy' (expected never, switch, switch-migrate or guest)");
}

/* Messages quote at most 40 characters of what they found. */
static void test_quote_truncation(void **state)
{
	(void)state;
	char text[256], expect[256];
	/* exactly 40: not truncated */
	snprintf(text, sizeof(text), "%s = 1\n", "k123456789012345678901234567890123456789");
	snprintf(expect, sizeof(expect),
		 "hv.cfg:1: unknown key '%s' (expected one of: policy, track, slice_us, trace, "
		 "virtual_ibpb, force_wrmsr, mitigations, pcpus, console, clock, on_end, host_x2apic, console_input)",
		 "k123456789012345678901234567890123456789");
	parse_err(text, expect);
	/* 41: truncated to 40 plus "..." */
	snprintf(text, sizeof(text), "%s = 1\n", "k1234567890123456789012345678901234567890");
	snprintf(expect, sizeof(expect),
		 "hv.cfg:1: unknown key '%s...' (expected one of: policy, track, slice_us, trace, "
		 "virtual_ibpb, force_wrmsr, mitigations, pcpus, console, clock, on_end, host_x2apic, console_input)",
		 "k123456789012345678901234567890123456789");
	parse_err(text, expect);
}

/* ---- robustness --------------------------------------------------------------- */

static void test_empty_input(void **state)
{
	(void)state;
	const char *novm = "hv.cfg:1: no VM defined (expected at least one '[vm NAME]' section)";
	assert_int_equal(config_parse("", 0, "hv.cfg", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, novm);
	assert_int_equal(config_parse(NULL, 0, "hv.cfg", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, novm);
	/* len 0 means nothing is read, whatever the pointer holds */
	assert_int_equal(config_parse("[vm a]\nimage = a\n", 0, "hv.cfg", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, novm);
	/* len cuts the text: only what is inside counts */
	const char *t = "[vm a]\nimage = a.bin\nmode = real\n";
	assert_int_equal(config_parse(t, 19, "hv.cfg", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.vms[0].image, "a.bi");
	assert_int_equal(cfg.vms[0].mode, GUEST_MODE_LONG);
	/* the file name is used as given */
	assert_int_equal(config_parse("x\n", 2, "EFI/hv/hv.cfg", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "EFI/hv/hv.cfg:1: expected 'key = value' or '[vm NAME]', got 'x'");
}

static void test_error_buffer(void **state)
{
	(void)state;
	const char *bad = "polcy = switch\n";
	char small[16];
	memset(small, 'X', sizeof(small));
	assert_int_equal(config_parse(bad, strlen(bad), "hv.cfg", &cfg, small, sizeof(small)), -1);
	assert_string_equal(small, "hv.cfg:1: unkno");
	/* a buffer too small for even the prefix */
	char tiny[4];
	memset(tiny, 'X', sizeof(tiny));
	assert_int_equal(config_parse(bad, strlen(bad), "hv.cfg", &cfg, tiny, sizeof(tiny)), -1);
	assert_string_equal(tiny, "hv.");
	/* no buffer at all */
	assert_int_equal(config_parse(bad, strlen(bad), "hv.cfg", &cfg, NULL, 0), -1);
	char one = 'X';
	assert_int_equal(config_parse(bad, strlen(bad), "hv.cfg", &cfg, &one, 0), -1);
	assert_int_equal(one, 'X');
	/* success clears the message */
	memset(err, 'X', sizeof(err));
	assert_int_equal(config_parse("[vm a]\nimage=a\n", 15, "hv.cfg", &cfg, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

static void test_binary_data(void **state)
{
	(void)state;
	const char nul[] = "[vm a]\nimage = a\0.bin\n";
	assert_int_equal(config_parse(nul, sizeof(nul) - 1, "hv.cfg", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "hv.cfg:2: line contains binary data (byte 0x00 at column 10; expected text)");
	/* every control byte except tab, CR and LF is rejected, DEL too */
	for (int c = 0; c < 0x20; c++) {
		if (c == '\t' || c == '\r' || c == '\n')
			continue;
		char text[64];
		int n = snprintf(text, sizeof(text), "[vm a]\nimage = a.bin\n# x%cx\n", 'A');
		text[n - 3] = (char)c;
		char expect[128];
		snprintf(expect, sizeof(expect),
			 "hv.cfg:3: line contains binary data (byte 0x%02x at column 4; expected text)", c);
		assert_int_equal(config_parse(text, (size_t)n, "hv.cfg", &cfg, err, sizeof(err)), -1);
		assert_string_equal(err, expect);
	}
	parse_err("\x7f\n", "hv.cfg:1: line contains binary data (byte 0x7f at column 1; expected text)");
}

/* Put text at the very end of a readable page followed by an unmapped one, so
 * any read past text + len faults. */
struct guarded {
	char *map;
	size_t size;
	char *text;
};

static void guard_alloc(struct guarded *g, const void *text, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t pages = (len + page - 1) / page + 1;
	g->size = (pages + 1) * page;
	g->map = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	assert_int_equal(mprotect(g->map + pages * page, page, PROT_NONE), 0);
	g->text = g->map + pages * page - len;
	memcpy(g->text, text, len);
}

static void guard_free(struct guarded *g)
{
	munmap(g->map, g->size);
}

static int parse_guarded(const char *text, size_t len)
{
	struct guarded g;
	guard_alloc(&g, text, len);
	int r = config_parse(g.text, len, "hv.cfg", &cfg, err, sizeof(err));
	guard_free(&g);
	return r;
}

static void test_no_read_past_end(void **state)
{
	(void)state;
	/* texts ending at every interesting point, none NUL-terminated */
	static const char *const texts[] = {
		"[vm a]\nimage = a.bin",
		"[vm a]\nimage = a.bin\n",
		"[vm a]\nimage = a.bin\r",
		"[vm a]\nimage = a.bin\nmemory = 4M",
		"[vm a]\nimage = a.bin\nmemory = 0x",
		"[vm a]\nimage = a.bin\nvcpus = 2\npin = 1,",
		"[vm a]\nimage = a.bin\nexpect = exit",
		"[vm a]\nimage = a.bin\nexpect = exit ",
		"[vm a]\nimage = a.bin #",
		"[vm a",
		"[",
		"[vm",
		"=",
		"policy",
		"policy =",
		"\xef\xbb",
		"\xef\xbb\xbf",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t len = strlen(texts[i]);
		/* every prefix too */
		for (size_t n = 0; n <= len; n++) {
			int r = parse_guarded(texts[i], n);
			assert_true(r == 0 || r == -1);
			if (r)
				assert_memory_equal(err, "hv.cfg:", 7);
		}
	}
	assert_int_equal(parse_guarded("[vm a]\nimage = a.bin", 20), 0);
	assert_string_equal(cfg.vms[0].image, "a.bin");
}

static void test_huge_line(void **state)
{
	(void)state;
	size_t len = 1 << 20;
	char *text = malloc(len);
	assert_non_null(text);
	memset(text, 'x', len);
	assert_int_equal(parse_guarded(text, len), -1);
	assert_string_equal(err, "hv.cfg:1: expected 'key = value' or '[vm NAME]', got "
				 "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'");
	/* a huge comment is fine, and a huge value is reported and cut */
	text[0] = '#';
	memcpy(text + len - 22, "\n[vm a]\nimage = a.bin\n", 22);
	assert_int_equal(parse_guarded(text, len), 0);
	memcpy(text, "[vm a]\nimage = ", 15);
	memset(text + 15, 'y', len - 15);
	assert_int_equal(parse_guarded(text, len), -1);
	assert_string_equal(err, "hv.cfg:2: image name 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy...' "
				 "is too long (1048561 characters; expected at most 63)");
	/* many lines: line numbers keep counting */
	memset(text, '\n', len);
	memcpy(text + len - 4, "bad\n", 4);
	assert_int_equal(parse_guarded(text, len), -1);
	assert_string_equal(err, "hv.cfg:1048573: expected 'key = value' or '[vm NAME]', got 'bad'");
	free(text);
}

/* Random bytes and random mixes of config tokens: never crash, never read
 * past the end, always either success or one well-formed error line. */
static void test_fuzz(void **state)
{
	(void)state;
	static const char *const tokens[] = {
		"[vm a]", "[vm b]", "[vm ", "]", "[", "image", "=", " = ", "a.bin", "\n", "\r\n", "#",
		"policy", "switch", "pin", "vcpus", "0", "1", "2", ",", "64", "memory", "2M", "3M",
		"0x", "expect", "exit", " ", "\t", "99999999999999999999", "\0", "\xff", "trace", "on",
	};
	u64 seed = 0x9e3779b97f4a7c15ull;
	char text[512];
	unsigned ok = 0, bad = 0;
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = 0;
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		size_t want = seed % sizeof(text);
		bool tok = iter & 1;
		while (len < want) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			if (tok) {
				const char *t = tokens[seed % (sizeof(tokens) / sizeof(tokens[0]))];
				size_t tl = t[0] ? strlen(t) : 1;
				if (len + tl > want)
					break;
				memcpy(text + len, t, tl);
				len += tl;
			} else {
				text[len++] = (char)(seed >> 24);
			}
		}
		int r = parse_guarded(text, len);
		assert_true(r == 0 || r == -1);
		if (r == 0) {
			ok++;
			assert_true(cfg.nvms >= 1 && cfg.nvms <= CFG_MAX_VMS);
			for (unsigned i = 0; i < cfg.nvms; i++) {
				assert_true(strlen(cfg.vms[i].name) >= 1);
				assert_true(strlen(cfg.vms[i].image) >= 1);
				assert_true(cfg.vms[i].vcpus >= 1 && cfg.vms[i].vcpus <= CFG_MAX_VCPUS);
			}
		} else {
			bad++;
			assert_memory_equal(err, "hv.cfg:", 7);
			assert_true(strlen(err) < sizeof(err) - 1);
			for (const char *p = err; *p; p++)
				assert_true((*p >= 0x20 && *p < 0x7f) || *p == '\t');
		}
	}
	assert_true(bad > 0);
	(void)ok;
}

/* ---- golden files ------------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	assert_non_null(buf);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static char *golden_path(const char *name, const char *ext)
{
	size_t n = strlen(CONFIG_GOLDEN_DIR) + strlen(name) + strlen(ext) + 3;
	char *p = malloc(n);
	assert_non_null(p);
	snprintf(p, n, "%s/%s.%s", CONFIG_GOLDEN_DIR, name, ext);
	return p;
}

static void test_golden(void **state)
{
	const char *name = *state;
	char *path = golden_path(name, "cfg");
	size_t len, elen;
	char *text = read_file(path, &len);
	if (!text)
		fail_msg("cannot read %s", path);
	free(path);

	char *errpath = golden_path(name, "err");
	char *okpath = golden_path(name, "ok");
	char *expect_err = read_file(errpath, &elen);
	char *expect_ok = expect_err ? NULL : read_file(okpath, &elen);
	if (!expect_err && !expect_ok)
		fail_msg("%s has neither a .err nor a .ok file", name);
	assert_true(!expect_err || access(okpath, F_OK) != 0); /* not both */
	free(errpath);
	free(okpath);

	int r = parse_guarded(text, len);
	if (expect_err) {
		/* the .err file is one line; its newline is not part of the message */
		while (elen && (expect_err[elen - 1] == '\n' || expect_err[elen - 1] == '\r'))
			expect_err[--elen] = '\0';
		assert_null(strchr(expect_err, '\n'));
		if (r != -1)
			print_error("%s: accepted, expected: %s\n", name, expect_err);
		assert_int_equal(r, -1);
		assert_string_equal(err, expect_err);
	} else {
		if (r != 0)
			print_error("%s: rejected: %s\n", name, err);
		assert_int_equal(r, 0);
		char dump[8192];
		dump_config(&cfg, dump, sizeof(dump));
		assert_string_equal(dump, expect_ok);
	}
	free(text);
	free(expect_err);
	free(expect_ok);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names (without .cfg) of the golden inputs, sorted; counts the .err ones. */
static char **golden_list(size_t *count, size_t *nerr)
{
	DIR *d = opendir(CONFIG_GOLDEN_DIR);
	*count = 0;
	*nerr = 0;
	if (!d)
		return NULL;
	size_t cap = 16;
	char **names = malloc(cap * sizeof(*names));
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n <= 4 || strcmp(e->d_name + n - 4, ".cfg") != 0)
			continue;
		if (*count == cap) {
			cap *= 2;
			names = realloc(names, cap * sizeof(*names));
		}
		names[*count] = strndup(e->d_name, n - 4);
		char *errpath = golden_path(names[*count], "err");
		if (access(errpath, F_OK) == 0)
			(*nerr)++;
		free(errpath);
		(*count)++;
	}
	closedir(d);
	qsort(names, *count, sizeof(*names), cmp_names);
	return names;
}

/* The golden set is there, big enough, and has no stray expectation files. */
static void test_golden_set(void **state)
{
	(void)state;
	size_t count, nerr;
	char **names = golden_list(&count, &nerr);
	if (!names)
		fail_msg("cannot open golden directory %s", CONFIG_GOLDEN_DIR);
	if (nerr < MIN_GOLDEN_ERRORS)
		fail_msg("only %zu golden error cases in %s (want at least %d)", nerr,
			 CONFIG_GOLDEN_DIR, MIN_GOLDEN_ERRORS);
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);

	DIR *d = opendir(CONFIG_GOLDEN_DIR);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		const char *dot = strrchr(e->d_name, '.');
		if (!dot)
			fail_msg("stray file %s in golden directory", e->d_name);
		if (strcmp(dot, ".err") && strcmp(dot, ".ok")) {
			if (strcmp(dot, ".cfg"))
				fail_msg("stray file %s in golden directory", e->d_name);
			continue;
		}
		char *base = strndup(e->d_name, (size_t)(dot - e->d_name));
		char *cfgpath = golden_path(base, "cfg");
		if (access(cfgpath, F_OK) != 0)
			fail_msg("%s has no matching .cfg", e->d_name);
		free(cfgpath);
		free(base);
	}
	closedir(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_defaults_reset),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_global_policy_track),
		cmocka_unit_test(test_global_booleans),
		cmocka_unit_test(test_global_numbers),
		cmocka_unit_test(test_vm_keys),
		cmocka_unit_test(test_expect),
		cmocka_unit_test(test_two_vms),
		cmocka_unit_test(test_max_vms),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_whitespace_and_comments),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_quote_truncation),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_error_buffer),
		cmocka_unit_test(test_binary_data),
		cmocka_unit_test(test_no_read_past_end),
		cmocka_unit_test(test_huge_line),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_golden_set),
	};
	int failed = cmocka_run_group_tests_name("config", tests, NULL, NULL);

	/* one test per golden input, named after it */
	size_t count, nerr;
	char **names = golden_list(&count, &nerr);
	if (names && count) {
		struct CMUnitTest *golden = calloc(count, sizeof(*golden));
		char **labels = calloc(count, sizeof(*labels));
		if (!golden || !labels)
			return 1;
		for (size_t i = 0; i < count; i++) {
			size_t n = strlen(names[i]) + 8;
			labels[i] = malloc(n);
			snprintf(labels[i], n, "golden/%s", names[i]);
			golden[i].name = labels[i];
			golden[i].test_func = test_golden;
			golden[i].initial_state = names[i];
		}
		failed += _cmocka_run_group_tests("config-golden", golden, count, NULL, NULL);
		for (size_t i = 0; i < count; i++) {
			free(labels[i]);
			free(names[i]);
		}
		free(labels);
		free(golden);
	}
	free(names);
	return failed ? 1 : 0;
}
