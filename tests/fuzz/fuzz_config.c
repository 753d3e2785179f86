/*
 * tests/fuzz/fuzz_config.c - libFuzzer target for hv's config parser,
 * config_parse() in hv/config.c (with hv/lib/format.c, its formatter).
 *
 * Built with clang -fsanitize=fuzzer,address,undefined (`make fuzz-config`),
 * so any out-of-bounds access, overflow or undefined behaviour is a crash.
 * Beyond not crashing, each input is checked against what docs/config.md
 * promises:
 *
 *  - the parser reads only text[0..len): the input is copied into a buffer
 *    of exactly len bytes (no NUL after it), so ASan sees a read past it;
 *  - success: err is the empty string and every field is within the
 *    documented ranges (VM count, names, image paths, memory, vCPUs, pins,
 *    limits, exit status, globals);
 *  - success: the parsed config, written back as text and parsed again,
 *    gives the same configuration (a round trip through the documented
 *    syntax);
 *  - failure: err is one line "hv.cfg:LINE: message" of printable ASCII,
 *    LINE is a line that exists in the input (or 1 for an empty file);
 *  - the same input with a smaller error buffer gives the same result and a
 *    truncated, NUL-terminated prefix of the same message; errlen 0 with
 *    err NULL is allowed;
 *  - parsing is deterministic.
 * A broken promise calls abort(), which libFuzzer reports as a crash with
 * the input saved.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz_config: %s:%d: check failed: %s: ", \
				__FILE__, __LINE__, #cond);                \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
			abort();                                           \
		}                                                          \
	} while (0)

static struct hv_config cfg, cfg2, cfg3;
static char err[1024], err2[1024];

/*
 * Known defects, reported once per run instead of stopping the fuzzer, so
 * that it goes on looking for new ones (FUZZ_CONFIG_STRICT=1 makes them
 * crashes again). Each has a golden case in tests/unit/config-golden/.
 *   tab-in-error: a tab inside quoted text is copied into the message, but
 *                 docs/config.md says every byte that is not printable
 *                 ASCII is shown as '?' (golden: tab-in-value, tab-in-key).
 */
static void known_once(const char *what, const char *detail)
{
	static char seen[8][32];
	for (unsigned i = 0; i < 8; i++) {
		if (!strcmp(seen[i], what))
			return;
		if (!seen[i][0]) {
			snprintf(seen[i], sizeof(seen[i]), "%s", what);
			fprintf(stderr, "fuzz_config: KNOWN DEFECT %s: %s\n", what, detail);
			return;
		}
	}
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static void check_ranges(const struct hv_config *c)
{
	CHECK(c->nvms >= 1 && c->nvms <= CFG_MAX_VMS, "nvms %u", c->nvms);
	CHECK(c->policy <= POLICY_GUEST, "policy %d", c->policy);
	CHECK(c->track <= TRACK_TRAP, "track %d", c->track);
	CHECK(c->slice_us >= 100 && c->slice_us <= 10000000, "slice_us %llu",
	      (unsigned long long)c->slice_us);
	CHECK(c->max_pcpus >= 1 && c->max_pcpus <= CFG_MAX_PCPUS, "pcpus %u", c->max_pcpus);
	for (unsigned i = 0; i < c->nvms; i++) {
		const struct vm_config *vm = &c->vms[i];
		size_t n = strnlen(vm->name, CFG_NAME_MAX);
		CHECK(n >= 1 && n < CFG_NAME_MAX, "vm %u name length %zu", i, n);
		for (size_t k = 0; k < n; k++)
			CHECK(name_char(vm->name[k]), "vm %u name byte 0x%02x", i, (unsigned char)vm->name[k]);
		for (unsigned j = 0; j < i; j++)
			CHECK(strcmp(vm->name, c->vms[j].name) != 0, "duplicate name %s", vm->name);
		n = strnlen(vm->image, CFG_PATH_MAX);
		CHECK(n >= 1 && n < CFG_PATH_MAX, "vm %s image length %zu", vm->name, n);
		for (size_t k = 0; k < n; k++)
			CHECK(name_char(vm->image[k]) || vm->image[k] == '.' || vm->image[k] == '/',
			      "vm %s image byte 0x%02x", vm->name, (unsigned char)vm->image[k]);
		CHECK(vm->mode == GUEST_MODE_LONG || vm->mode == GUEST_MODE_REAL, "mode %d", vm->mode);
		CHECK(vm->memory >= CFG_MIN_MEMORY && vm->memory <= CFG_MAX_MEMORY &&
		      vm->memory % MiB(2) == 0, "vm %s memory %llu", vm->name,
		      (unsigned long long)vm->memory);
		CHECK(vm->vcpus >= 1 && vm->vcpus <= CFG_MAX_VCPUS, "vm %s vcpus %u", vm->name, vm->vcpus);
		int pinned = vm->pin[0] >= 0;
		for (unsigned k = 0; k < vm->vcpus; k++) {
			CHECK(vm->pin[k] >= -1 && vm->pin[k] < CFG_MAX_PCPUS, "vm %s pin[%u] %d", vm->name,
			      k, vm->pin[k]);
			CHECK((vm->pin[k] >= 0) == pinned, "vm %s: some vCPUs pinned, others not", vm->name);
		}
		CHECK(vm->ibpb <= VM_IBPB_NEVER, "ibpb %d", vm->ibpb);
		CHECK(vm->limit_ms <= 3600000, "vm %s limit %llu", vm->name,
		      (unsigned long long)vm->limit_ms);
		CHECK(vm->expect >= RESULT_EXIT && vm->expect <= RESULT_FAULT, "expect %d", vm->expect);
		if (vm->expect == RESULT_EXIT)
			CHECK(vm->expect_status >= 0 && vm->expect_status <= 255, "status %d",
			      vm->expect_status);
	}
}

/* The config written back in the documented syntax, every key explicit. */
static size_t write_config(const struct hv_config *c, char *buf, size_t n)
{
	size_t len = 0;
#define OUT(...)                                                                     \
	do {                                                                         \
		int w_ = snprintf(buf + len, n - len, __VA_ARGS__);                  \
		CHECK(w_ >= 0 && (size_t)w_ < n - len, "write-back buffer too small"); \
		len += (size_t)w_;                                                   \
	} while (0)
	OUT("policy = %s\ntrack = %s\nslice_us = %llu\ntrace = %s\nvirtual_ibpb = %s\n"
	    "force_wrmsr = %s\npcpus = %u\n",
	    policy_name(c->policy), track_name(c->track), (unsigned long long)c->slice_us,
	    c->trace ? "on" : "off", c->virtual_ibpb ? "yes" : "no", c->force_wrmsr ? "true" : "false",
	    c->max_pcpus);
	for (unsigned i = 0; i < c->nvms; i++) {
		const struct vm_config *vm = &c->vms[i];
		OUT("[vm %s]\nimage = %s\nmode = %s\nmemory = %lluK\nvcpus = %u\n", vm->name, vm->image,
		    vm->mode == GUEST_MODE_REAL ? "real" : "long",
		    (unsigned long long)(vm->memory >> 10), vm->vcpus);
		if (vm->pin[0] >= 0) {
			OUT("pin = ");
			for (unsigned k = 0; k < vm->vcpus; k++)
				OUT("%s%d", k ? ", " : "", vm->pin[k]);
			OUT("\n");
		}
		OUT("ibpb = %s\nlimit_ms = 0x%llx\narg = %llu\n", vm_ibpb_name(vm->ibpb),
		    (unsigned long long)vm->limit_ms, (unsigned long long)vm->arg);
		if (vm->expect == RESULT_EXIT)
			OUT("expect = exit %d # status\n", vm->expect_status);
		else
			OUT("expect = %s\n", result_name(vm->expect));
	}
#undef OUT
	return len;
}

static void check_same(const struct hv_config *a, const struct hv_config *b)
{
	CHECK(a->policy == b->policy && a->track == b->track && a->slice_us == b->slice_us &&
	      a->trace == b->trace && a->virtual_ibpb == b->virtual_ibpb &&
	      a->force_wrmsr == b->force_wrmsr && a->max_pcpus == b->max_pcpus &&
	      a->nvms == b->nvms, "globals differ after a round trip");
	for (unsigned i = 0; i < a->nvms; i++) {
		const struct vm_config *x = &a->vms[i], *y = &b->vms[i];
		CHECK(!strcmp(x->name, y->name) && !strcmp(x->image, y->image) && x->mode == y->mode &&
		      x->memory == y->memory && x->vcpus == y->vcpus && x->ibpb == y->ibpb &&
		      x->limit_ms == y->limit_ms && x->expect == y->expect && x->arg == y->arg &&
		      (x->expect != RESULT_EXIT || x->expect_status == y->expect_status),
		      "vm %s differs after a round trip", x->name);
		for (unsigned k = 0; k < x->vcpus; k++)
			CHECK(x->pin[k] == y->pin[k], "vm %s pin[%u] differs after a round trip", x->name, k);
	}
}

static void check_error(const char *e, const uint8_t *data, size_t size)
{
	size_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	CHECK(!strncmp(e, "hv.cfg:", 7), "error does not start with the file name: %s", e);
	const char *p = e + 7;
	unsigned long line = 0;
	CHECK(*p >= '1' && *p <= '9', "no line number: %s", e);
	while (*p >= '0' && *p <= '9')
		line = line * 10 + (unsigned long)(*p++ - '0');
	CHECK(p[0] == ':' && p[1] == ' ' && p[2], "no ': message' after the line number: %s", e);
	CHECK(line >= 1 && line <= lines, "line %lu, but the input has %zu line(s): %s", line, lines, e);
	for (p = e; *p; p++) {
		if (*p == '\t' && !getenv("FUZZ_CONFIG_STRICT")) {
			known_once("tab-in-error", e);
			continue;
		}
		CHECK(*p >= 0x20 && *p < 0x7f, "non-printable byte 0x%02x in the error", (unsigned char)*p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exactly size bytes, nothing after them (ASan catches over-reads) */
	char *text = size ? malloc(size) : NULL;
	if (size)
		memcpy(text, data, size);

	memset(err, 'X', sizeof(err));
	int r = config_parse(text, size, "hv.cfg", &cfg, err, sizeof(err));
	CHECK(r == 0 || r == -1, "returned %d", r);
	CHECK(memchr(err, 0, sizeof(err)), "error not NUL-terminated");
	if (r == 0) {
		CHECK(err[0] == 0, "success, but err = '%s'", err);
		check_ranges(&cfg);
		static char back[CFG_MAX_VMS * 1024 + 1024];
		size_t n = write_config(&cfg, back, sizeof(back));
		memset(err2, 'X', sizeof(err2));
		int r2 = config_parse(back, n, "hv.cfg", &cfg2, err2, sizeof(err2));
		CHECK(r2 == 0, "the written-back config is rejected: %s\n%.*s", err2, (int)n, back);
		check_same(&cfg, &cfg2);
	} else {
		check_error(err, data, size);
	}

	/* the same input again: the same result; a short buffer: a prefix */
	size_t small = 1 + (size ? data[0] % 40 : 0);
	memset(err2, 'Y', sizeof(err2));
	int r3 = config_parse(text, size, "hv.cfg", &cfg3, err2, small);
	CHECK(r3 == r, "result %d, then %d with errlen %zu", r, r3, small);
	CHECK(err2[small - 1] == 0 || strlen(err2) < small, "errlen %zu not NUL-terminated", small);
	CHECK(!strncmp(err2, err, small - 1) && strlen(err2) == (strlen(err) < small - 1 ?
	      strlen(err) : small - 1), "errlen %zu: '%s' is not a prefix of '%s'", small, err2, err);
	CHECK(err2[small] == 'Y', "errlen %zu: wrote past the buffer", small);
	if (r == 0)
		check_same(&cfg, &cfg3);
	CHECK(config_parse(text, size, "hv.cfg", &cfg3, NULL, 0) == r, "errlen 0 changes the result");

	free(text);
	return 0;
}
