/*
 * hv/config.c - the boot configuration parser (see hv/config.h and
 * docs/config.md for the format).
 *
 * Pure logic, built freestanding into hv and on the host for the unit tests:
 * only hv/lib.h is used (no allocation, no libc beyond the string functions).
 *
 * The text is never copied or NUL-terminated: every piece of it is handled as
 * a (pointer, length) span inside text[0..len), so arbitrary bytes, very long
 * lines and a missing final newline are all safe. The parser stops at the
 * first problem and describes it in one line, "FILE:LINE: message".
 */
#include "config.h"

/* Quoted text in error messages is cut to this many characters (plus "..."). */
#define QUOTE_MAX 40
#define QUOTE_BUF (QUOTE_MAX + 4)

#define EXPECT_BUF 96

struct span {
	const char *p;
	size_t n;
};

/* ---- names ---------------------------------------------------------------- */

const char *policy_name(enum barrier_policy p)
{
	switch (p) {
	case POLICY_NEVER:
		return "never";
	case POLICY_SWITCH:
		return "switch";
	case POLICY_SWITCH_MIGRATE:
		return "switch-migrate";
	case POLICY_GUEST:
		return "guest";
	}
	return "unknown";
}

const char *const mitigation_names[MIT_COUNT] = {
	[MIT_RETPOLINE] = "retpoline", [MIT_EIBRS] = "eibrs", [MIT_IBRS] = "ibrs",
	[MIT_RSB] = "rsb", [MIT_IBPB_EXIT] = "ibpb_exit", [MIT_BHI] = "bhi",
	[MIT_VERW] = "verw", [MIT_L1D_FLUSH] = "l1d_flush",
};

void mitigations_str(const struct hv_config *cfg, char *buf, size_t n)
{
	size_t len = 0;
	if (n)
		buf[0] = '\0';
	if (cfg->mitigations_auto || !cfg->mitigations) {
		ksnprintf(buf, n, "%s", cfg->mitigations_auto ? "auto" : "off");
		return;
	}
	for (int i = 0; i < MIT_COUNT; i++)
		if (cfg->mitigations & (1u << i) && len < n)
			len += (size_t)ksnprintf(buf + len, n - len, "%s%s", len ? "," : "", mitigation_names[i]);
}

const char *track_name(enum barrier_track t)
{
	switch (t) {
	case TRACK_PASSTHROUGH:
		return "passthrough";
	case TRACK_TRAP:
		return "trap";
	}
	return "unknown";
}

const char *vm_ibpb_name(enum vm_ibpb b)
{
	switch (b) {
	case VM_IBPB_AUTO:
		return "auto";
	case VM_IBPB_ALWAYS:
		return "always";
	case VM_IBPB_NEVER:
		return "never";
	}
	return "unknown";
}

const char *result_name(enum vm_result r)
{
	switch (r) {
	case RESULT_NONE:
		return "none";
	case RESULT_EXIT:
		return "exit";
	case RESULT_SHUTDOWN:
		return "shutdown";
	case RESULT_LIMIT:
		return "limit";
	case RESULT_HALT:
		return "halt";
	case RESULT_FAULT:
		return "fault";
	}
	return "unknown";
}

/* ---- keys ----------------------------------------------------------------- */

enum key_id {
	/* global */
	K_POLICY,
	K_TRACK,
	K_SLICE_US,
	K_TRACE,
	K_VIRTUAL_IBPB,
	K_FORCE_WRMSR,
	K_MITIGATIONS,
	K_PCPUS,
	K_CONSOLE,
	K_CLOCK,
	K_ON_END,
	K_HOST_X2APIC,
	K_CONSOLE_INPUT,
	/* per VM */
	K_IMAGE,
	K_MODE,
	K_MEMORY,
	K_VCPUS,
	K_PIN,
	K_IBPB,
	K_LIMIT_MS,
	K_EXPECT,
	K_ARG,
	K_TEST_DEVICE,
	K_AP_START,
	K_KERNEL,
	K_INITRD,
	K_CMDLINE,
	K_COUNT
};

#define FIRST_VM_KEY K_IMAGE

struct key {
	const char *name;
	const char *expect; /* what a value looks like; NULL: "a number min..max" */
	u64 min, max;       /* for plain numbers */
};

static const struct key keys[K_COUNT] = {
	[K_POLICY] = { "policy", "never, switch, switch-migrate or guest", 0, 0 },
	[K_TRACK] = { "track", "passthrough or trap", 0, 0 },
	[K_SLICE_US] = { "slice_us", NULL, 100, 10000000 },
	[K_TRACE] = { "trace", "on or off", 0, 0 },
	[K_VIRTUAL_IBPB] = { "virtual_ibpb", "on or off", 0, 0 },
	[K_FORCE_WRMSR] = { "force_wrmsr", "on or off", 0, 0 },
	[K_MITIGATIONS] = { "mitigations", "auto, off or a comma list of retpoline, eibrs, ibrs, rsb, "
			    "ibpb_exit, bhi, verw, l1d_flush", 0, 0 },
	[K_PCPUS] = { "pcpus", NULL, 1, CFG_MAX_PCPUS },
	[K_CONSOLE] = { "console", "serial, screen or both ('serial, screen')", 0, 0 },
	[K_CLOCK] = { "clock", "auto, cpuid, acpi-pm, hpet or pit", 0, 0 },
	[K_ON_END] = { "on_end", "auto, halt or reset", 0, 0 },
	[K_HOST_X2APIC] = { "host_x2apic", "keep or enable", 0, 0 },
	[K_CONSOLE_INPUT] = { "console_input", "the name of a VM defined below", 0, 0 },
	[K_IMAGE] = { "image", "a file name", 0, 0 },
	[K_MODE] = { "mode", "long or real", 0, 0 },
	[K_MEMORY] = { "memory", "", 0, 0 },  /* built by key_expect() */
	[K_VCPUS] = { "vcpus", NULL, 1, CFG_MAX_VCPUS },
	[K_PIN] = { "pin", "", 0, 0 },        /* built by key_expect() */
	[K_IBPB] = { "ibpb", "auto, always or never", 0, 0 },
	[K_LIMIT_MS] = { "limit_ms", NULL, 0, 3600000 },
	[K_EXPECT] = { "expect", "exit [STATUS], shutdown, limit, halt or fault", 0, 0 },
	[K_ARG] = { "arg", NULL, 0, ~0ull },
	[K_TEST_DEVICE] = { "test_device", "on or off", 0, 0 },
	[K_AP_START] = { "ap_start", "entry or sipi", 0, 0 },
	[K_KERNEL] = { "kernel", "a file name", 0, 0 },
	[K_INITRD] = { "initrd", "a file name", 0, 0 },
	[K_CMDLINE] = { "cmdline", "the kernel's command line", 0, 0 },
};

#define GLOBAL_KEY_LIST "policy, track, slice_us, trace, virtual_ibpb, force_wrmsr, mitigations, pcpus, " \
	"console, clock, on_end, host_x2apic, console_input"
#define VM_KEY_LIST "image, mode, memory, vcpus, pin, ibpb, limit_ms, expect, arg, test_device, ap_start, " \
	"kernel, initrd, cmdline"

/* ---- parser state --------------------------------------------------------- */

struct parser {
	const char *file;
	char *err;
	size_t errlen;
	struct hv_config *cfg;
	unsigned line;

	u32 global_seen;        /* bit per enum key_id */
	struct vm_config *vm;   /* section being parsed, NULL before the first */
	u32 vm_seen;
	unsigned pin_line;
	unsigned pin_count;     /* entries in a pin list; 0 = single form */
	int pin_single;         /* the single form's pCPU */
	char input_vm[CFG_NAME_MAX]; /* console_input = NAME, resolved at the end */
	unsigned input_line;
};

static int fail(struct parser *ps, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *ps, unsigned line, const char *fmt, ...)
{
	if (!ps->err || !ps->errlen)
		return -1;
	int n = ksnprintf(ps->err, ps->errlen, "%s:%u: ", ps->file, line);
	if (n >= 0 && (size_t)n < ps->errlen) {
		va_list ap;
		va_start(ap, fmt);
		kvsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- spans ---------------------------------------------------------------- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static struct span trim(struct span s)
{
	while (s.n && is_space(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && is_space(s.p[s.n - 1]))
		s.n--;
	return s;
}

static bool span_eq(struct span s, const char *word)
{
	size_t n = strlen(word);
	return s.n == n && memcmp(s.p, word, n) == 0;
}

/* Index of the first c in s, or s.n. */
static size_t span_find(struct span s, char c)
{
	size_t i = 0;
	while (i < s.n && s.p[i] != c)
		i++;
	return i;
}

static struct span span_sub(struct span s, size_t from, size_t to)
{
	struct span r = { s.p + from, to - from };
	return r;
}

/*
 * Copy s into buf (QUOTE_BUF bytes) for an error message: at most QUOTE_MAX
 * characters, then "..." if it was longer. Anything that is not printable
 * ASCII (a tab included) becomes '?', so the message stays one clean line.
 */
static const char *quote(char *buf, struct span s)
{
	size_t n = s.n > QUOTE_MAX ? QUOTE_MAX : s.n;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (s.n > QUOTE_MAX) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* ---- values --------------------------------------------------------------- */

enum num_status { NUM_OK, NUM_BAD, NUM_OVERFLOW };

/* Decimal or 0x-hex, no sign, no spaces. */
static enum num_status parse_num(struct span s, u64 *out)
{
	unsigned base = 10;
	size_t i = 0;
	u64 v = 0;

	if (s.n >= 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == s.n)
		return NUM_BAD;
	bool overflow = false;
	for (; i < s.n; i++) {
		char c = s.p[i];
		unsigned d;
		if (is_digit(c))
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return NUM_BAD;
		/* keep scanning after an overflow: "99...9x" is bad, not too big */
		if (v > (UINT64_MAX - d) / base)
			overflow = true;
		else
			v = v * base + d;
	}
	if (overflow)
		return NUM_OVERFLOW;
	*out = v;
	return NUM_OK;
}

/* 0 -> false, 1 -> true, -1 -> not a boolean. */
static int parse_bool(struct span s)
{
	if (span_eq(s, "on") || span_eq(s, "yes") || span_eq(s, "true") || span_eq(s, "1"))
		return 1;
	if (span_eq(s, "off") || span_eq(s, "no") || span_eq(s, "false") || span_eq(s, "0"))
		return 0;
	return -1;
}

/* A byte count as the config spells it: "2M", "1G", "4096". */
static void format_size(char *buf, size_t n, u64 v)
{
	if (v && v % GiB(1) == 0)
		ksnprintf(buf, n, "%lluG", (unsigned long long)(v >> 30));
	else if (v && v % MiB(1) == 0)
		ksnprintf(buf, n, "%lluM", (unsigned long long)(v >> 20));
	else if (v && v % KiB(1) == 0)
		ksnprintf(buf, n, "%lluK", (unsigned long long)(v >> 10));
	else
		ksnprintf(buf, n, "%llu", (unsigned long long)v);
}

/* What a value for key k looks like, for "(expected ...)". */
static const char *key_expect(enum key_id k, char *buf, size_t n)
{
	char lo[24], hi[24], step[24];

	switch (k) {
	case K_MEMORY:
		format_size(lo, sizeof(lo), CFG_MIN_MEMORY);
		format_size(hi, sizeof(hi), CFG_MAX_MEMORY);
		format_size(step, sizeof(step), MiB(2));
		ksnprintf(buf, n, "N, NK, NM or NG: a multiple of %s, %s..%s", step, lo, hi);
		return buf;
	case K_PIN:
		ksnprintf(buf, n, "P or P0,P1,... with pCPUs 0..%u", CFG_MAX_PCPUS - 1);
		return buf;
	default:
		if (keys[k].expect)
			return keys[k].expect;
		ksnprintf(buf, n, "a number %llu..%llu", (unsigned long long)keys[k].min,
			  (unsigned long long)keys[k].max);
		return buf;
	}
}

static int lookup_key(struct span s)
{
	for (int k = 0; k < K_COUNT; k++)
		if (span_eq(s, keys[k].name))
			return k;
	return -1;
}

/* A plain number key: parse and range-check. */
static int value_number(struct parser *ps, enum key_id k, struct span v, u64 *out)
{
	char q[QUOTE_BUF], e[EXPECT_BUF];
	u64 x = 0;

	switch (parse_num(v, &x)) {
	case NUM_BAD:
		return fail(ps, ps->line, "bad number '%s' for '%s' (expected %s)",
			    quote(q, v), keys[k].name, key_expect(k, e, sizeof(e)));
	case NUM_OVERFLOW:
		return fail(ps, ps->line, "value '%s' for '%s' is out of range (expected %llu..%llu)",
			    quote(q, v), keys[k].name, (unsigned long long)keys[k].min,
			    (unsigned long long)keys[k].max);
	case NUM_OK:
		break;
	}
	if (x < keys[k].min || x > keys[k].max)
		return fail(ps, ps->line, "value '%s' for '%s' is out of range (expected %llu..%llu)",
			    quote(q, v), keys[k].name, (unsigned long long)keys[k].min,
			    (unsigned long long)keys[k].max);
	*out = x;
	return 0;
}

static int bad_value(struct parser *ps, enum key_id k, struct span v)
{
	char q[QUOTE_BUF], e[EXPECT_BUF];
	return fail(ps, ps->line, "bad value '%s' for '%s' (expected %s)", quote(q, v),
		    keys[k].name, key_expect(k, e, sizeof(e)));
}

static int value_bool(struct parser *ps, enum key_id k, struct span v, bool *out)
{
	int b = parse_bool(v);
	if (b < 0)
		return bad_value(ps, k, v);
	*out = b;
	return 0;
}

static int value_memory(struct parser *ps, struct span v, u64 *out)
{
	char q[QUOTE_BUF], e[EXPECT_BUF], lo[24], hi[24];
	struct span num = v;
	unsigned shift = 0;
	u64 x = 0;

	if (v.n) {
		switch (v.p[v.n - 1]) {
		case 'K':
		case 'k':
			shift = 10;
			break;
		case 'M':
		case 'm':
			shift = 20;
			break;
		case 'G':
		case 'g':
			shift = 30;
			break;
		}
	}
	if (shift)
		num.n--;

	enum num_status st = parse_num(num, &x);
	if (st == NUM_BAD)
		return fail(ps, ps->line, "bad memory size '%s' (expected %s)", quote(q, v),
			    key_expect(K_MEMORY, e, sizeof(e)));
	if (st == NUM_OVERFLOW || x > (UINT64_MAX >> shift) || (x << shift) < CFG_MIN_MEMORY ||
	    (x << shift) > CFG_MAX_MEMORY) {
		format_size(lo, sizeof(lo), CFG_MIN_MEMORY);
		format_size(hi, sizeof(hi), CFG_MAX_MEMORY);
		return fail(ps, ps->line, "memory '%s' is out of range (expected %s..%s)",
			    quote(q, v), lo, hi);
	}
	x <<= shift;
	if (x % MiB(2))
		return fail(ps, ps->line, "memory '%s' is not a multiple of 2M", quote(q, v));
	*out = x;
	return 0;
}

/* A file name on the boot medium; what is "image", "kernel" or "initrd". */
static int value_file(struct parser *ps, struct span v, char *out, const char *what)
{
	char q[QUOTE_BUF];

	if (v.n > CFG_PATH_MAX - 1)
		return fail(ps, ps->line,
			    "%s name '%s' is too long (%llu characters; expected at most %u)",
			    what, quote(q, v), (unsigned long long)v.n, CFG_PATH_MAX - 1);
	for (size_t i = 0; i < v.n; i++) {
		char c = v.p[i];
		if (!is_alnum(c) && c != '.' && c != '_' && c != '-' && c != '/')
			return fail(ps, ps->line,
				    "bad %s name '%s' (expected letters, digits, '.', '_', '-' or '/')",
				    what, quote(q, v));
	}
	memcpy(out, v.p, v.n);
	out[v.n] = '\0';
	return 0;
}

/* The kernel's command line: printable ASCII ('#' starts a comment, so none). */
static int value_cmdline(struct parser *ps, struct span v)
{
	char q[QUOTE_BUF];
	struct vm_config *vm = ps->vm;

	if (v.n > CFG_CMDLINE_MAX - 1)
		return fail(ps, ps->line, "cmdline '%s' is too long (%llu characters; expected at most %u)",
			    quote(q, v), (unsigned long long)v.n, CFG_CMDLINE_MAX - 1);
	for (size_t i = 0; i < v.n; i++)
		if (v.p[i] == '\t')
			return fail(ps, ps->line, "cmdline '%s' contains a tab at column %llu (expected spaces)",
				    quote(q, v), (unsigned long long)i + 1);
	vm->cmdline_line = ps->line;
	memcpy(vm->cmdline, v.p, v.n);
	vm->cmdline[v.n] = '\0';
	return 0;
}

static int value_pin(struct parser *ps, struct span v)
{
	char q[QUOTE_BUF], e[EXPECT_BUF];
	struct vm_config *vm = ps->vm;
	size_t comma = span_find(v, ',');
	unsigned count = 0;
	u64 x = 0;

	if (comma == v.n) {
		/* single form: every vCPU on this pCPU (filled in at section end) */
		enum num_status st = parse_num(v, &x);
		if (st == NUM_BAD)
			return fail(ps, ps->line, "bad pCPU '%s' in 'pin' (expected %s)",
				    quote(q, v), key_expect(K_PIN, e, sizeof(e)));
		if (st == NUM_OVERFLOW || x >= CFG_MAX_PCPUS)
			return fail(ps, ps->line,
				    "pCPU '%s' in 'pin' is out of range (expected 0..%u)",
				    quote(q, v), CFG_MAX_PCPUS - 1);
		ps->pin_single = (int)x;
		ps->pin_count = 0;
		ps->pin_line = ps->line;
		return 0;
	}

	/* list form: one pCPU per vCPU, count checked at section end */
	size_t pos = 0;
	for (;;) {
		struct span rest = span_sub(v, pos, v.n);
		size_t end = pos + span_find(rest, ',');
		struct span item = trim(span_sub(v, pos, end));
		if (!item.n)
			return fail(ps, ps->line, "bad pin list '%s' (expected %s)", quote(q, v),
				    key_expect(K_PIN, e, sizeof(e)));
		if (count == CFG_MAX_VCPUS)
			return fail(ps, ps->line,
				    "'pin' lists more than %u pCPUs (expected one per vCPU, vcpus <= %u)",
				    CFG_MAX_VCPUS, CFG_MAX_VCPUS);
		enum num_status st = parse_num(item, &x);
		if (st == NUM_BAD)
			return fail(ps, ps->line, "bad pCPU '%s' in 'pin' (expected %s)",
				    quote(q, item), key_expect(K_PIN, e, sizeof(e)));
		if (st == NUM_OVERFLOW || x >= CFG_MAX_PCPUS)
			return fail(ps, ps->line,
				    "pCPU '%s' in 'pin' is out of range (expected 0..%u)",
				    quote(q, item), CFG_MAX_PCPUS - 1);
		vm->pin[count++] = (int)x;
		if (end == v.n)
			break;
		pos = end + 1;
	}
	ps->pin_count = count;
	ps->pin_line = ps->line;
	return 0;
}

/* mitigations = auto | off | NAME[,NAME...] (names: mitigation_names[]) */
static int value_mitigations(struct parser *ps, struct span v)
{
	char q[QUOTE_BUF], e[EXPECT_BUF];
	struct hv_config *cfg = ps->cfg;
	u32 mask = 0;
	size_t pos = 0;

	if (span_eq(v, "auto") || span_eq(v, "off")) {
		cfg->mitigations_auto = span_eq(v, "auto");
		cfg->mitigations = cfg->mitigations_auto ? MIT_ALL : 0;
		return 0;
	}
	for (;;) {
		struct span rest = span_sub(v, pos, v.n);
		size_t end = pos + span_find(rest, ',');
		struct span item = trim(span_sub(v, pos, end));
		int m = -1;
		if (!item.n)
			return fail(ps, ps->line, "bad mitigations list '%s' (expected %s)", quote(q, v),
				    key_expect(K_MITIGATIONS, e, sizeof(e)));
		for (int i = 0; i < MIT_COUNT; i++)
			if (span_eq(item, mitigation_names[i]))
				m = i;
		if (m < 0)
			return fail(ps, ps->line, "unknown mitigation '%s' in 'mitigations' (expected %s)",
				    quote(q, item), key_expect(K_MITIGATIONS, e, sizeof(e)));
		if (mask & (1u << m))
			return fail(ps, ps->line, "mitigation '%s' listed twice in 'mitigations'",
				    mitigation_names[m]);
		mask |= 1u << m;
		if (end == v.n)
			break;
		pos = end + 1;
	}
	cfg->mitigations_auto = false;
	cfg->mitigations = mask;
	return 0;
}

static int value_expect(struct parser *ps, struct span v)
{
	char q[QUOTE_BUF];
	struct vm_config *vm = ps->vm;
	static const struct {
		const char *word;
		enum vm_result r;
	} plain[] = {
		{ "shutdown", RESULT_SHUTDOWN },
		{ "limit", RESULT_LIMIT },
		{ "halt", RESULT_HALT },
		{ "fault", RESULT_FAULT },
	};

	for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
		if (span_eq(v, plain[i].word)) {
			vm->expect = plain[i].r;
			vm->expect_status = 0;
			return 0;
		}
	}
	if (v.n < 4 || memcmp(v.p, "exit", 4) != 0 || (v.n > 4 && !is_space(v.p[4])))
		return bad_value(ps, K_EXPECT, v);

	u64 status = 0;
	struct span s = trim(span_sub(v, 4, v.n));
	if (s.n) {
		enum num_status st = parse_num(s, &status);
		if (st == NUM_BAD)
			return fail(ps, ps->line,
				    "bad exit status '%s' for 'expect' (expected a number 0..255)",
				    quote(q, s));
		if (st == NUM_OVERFLOW || status > 255)
			return fail(ps, ps->line,
				    "exit status '%s' for 'expect' is out of range (expected 0..255)",
				    quote(q, s));
	}
	vm->expect = RESULT_EXIT;
	vm->expect_status = (int)status;
	return 0;
}

/* console = serial | screen | serial, screen (either order, each once). */
static int value_console(struct parser *ps, struct span v)
{
	unsigned mask = 0;
	struct span rest = v;

	for (;;) {
		size_t c = span_find(rest, ',');
		struct span w = trim(span_sub(rest, 0, c));
		unsigned bit = span_eq(w, "serial") ? CONSOLE_SERIAL : span_eq(w, "screen") ? CONSOLE_SCREEN : 0;
		if (!bit || (mask & bit))
			return bad_value(ps, K_CONSOLE, v);
		mask |= bit;
		if (c == rest.n)
			break;
		rest = span_sub(rest, c + 1, rest.n);
	}
	ps->cfg->console = mask;
	return 0;
}

static int set_value(struct parser *ps, enum key_id k, struct span v)
{
	struct hv_config *cfg = ps->cfg;
	struct vm_config *vm = ps->vm;
	u64 x;

	switch (k) {
	case K_POLICY:
		if (span_eq(v, "never"))
			cfg->policy = POLICY_NEVER;
		else if (span_eq(v, "switch"))
			cfg->policy = POLICY_SWITCH;
		else if (span_eq(v, "switch-migrate"))
			cfg->policy = POLICY_SWITCH_MIGRATE;
		else if (span_eq(v, "guest"))
			cfg->policy = POLICY_GUEST;
		else
			return bad_value(ps, k, v);
		return 0;
	case K_TRACK:
		if (span_eq(v, "passthrough"))
			cfg->track = TRACK_PASSTHROUGH;
		else if (span_eq(v, "trap"))
			cfg->track = TRACK_TRAP;
		else
			return bad_value(ps, k, v);
		return 0;
	case K_SLICE_US:
		if (value_number(ps, k, v, &x))
			return -1;
		cfg->slice_us = x;
		return 0;
	case K_TRACE:
		return value_bool(ps, k, v, &cfg->trace);
	case K_VIRTUAL_IBPB:
		return value_bool(ps, k, v, &cfg->virtual_ibpb);
	case K_FORCE_WRMSR:
		return value_bool(ps, k, v, &cfg->force_wrmsr);
	case K_MITIGATIONS:
		return value_mitigations(ps, v);
	case K_PCPUS:
		if (value_number(ps, k, v, &x))
			return -1;
		cfg->max_pcpus = (unsigned)x;
		return 0;
	case K_CONSOLE:
		return value_console(ps, v);
	case K_CLOCK:
		if (span_eq(v, "auto"))
			cfg->clock = CLOCK_AUTO;
		else if (span_eq(v, "cpuid"))
			cfg->clock = CLOCK_CPUID;
		else if (span_eq(v, "acpi-pm"))
			cfg->clock = CLOCK_ACPI_PM;
		else if (span_eq(v, "hpet"))
			cfg->clock = CLOCK_HPET;
		else if (span_eq(v, "pit"))
			cfg->clock = CLOCK_PIT;
		else
			return bad_value(ps, k, v);
		return 0;
	case K_ON_END:
		if (span_eq(v, "auto"))
			cfg->on_end = ON_END_AUTO;
		else if (span_eq(v, "halt"))
			cfg->on_end = ON_END_HALT;
		else if (span_eq(v, "reset"))
			cfg->on_end = ON_END_RESET;
		else
			return bad_value(ps, k, v);
		return 0;
	case K_HOST_X2APIC:
		if (span_eq(v, "keep"))
			cfg->host_x2apic_enable = false;
		else if (span_eq(v, "enable"))
			cfg->host_x2apic_enable = true;
		else
			return bad_value(ps, k, v);
		return 0;
	case K_CONSOLE_INPUT: {
		char q[QUOTE_BUF];
		if (v.n > CFG_NAME_MAX - 1)
			return fail(ps, ps->line, "console_input names VM '%s', longer than any VM name "
				    "(at most %u characters)", quote(q, v), CFG_NAME_MAX - 1);
		memcpy(ps->input_vm, v.p, v.n);
		ps->input_vm[v.n] = '\0';
		ps->input_line = ps->line;
		return 0;
	}
	case K_IMAGE:
		return value_file(ps, v, vm->image, "image");
	case K_MODE:
		if (span_eq(v, "long"))
			vm->mode = GUEST_MODE_LONG;
		else if (span_eq(v, "real"))
			vm->mode = GUEST_MODE_REAL;
		else
			return bad_value(ps, k, v);
		return 0;
	case K_MEMORY:
		return value_memory(ps, v, &vm->memory);
	case K_VCPUS:
		if (value_number(ps, k, v, &x))
			return -1;
		vm->vcpus = (unsigned)x;
		return 0;
	case K_PIN:
		return value_pin(ps, v);
	case K_IBPB:
		if (span_eq(v, "auto"))
			vm->ibpb = VM_IBPB_AUTO;
		else if (span_eq(v, "always"))
			vm->ibpb = VM_IBPB_ALWAYS;
		else if (span_eq(v, "never"))
			vm->ibpb = VM_IBPB_NEVER;
		else
			return bad_value(ps, k, v);
		return 0;
	case K_LIMIT_MS:
		if (value_number(ps, k, v, &x))
			return -1;
		vm->limit_ms = x;
		return 0;
	case K_EXPECT:
		return value_expect(ps, v);
	case K_ARG:
		return value_number(ps, k, v, &vm->arg);
	case K_TEST_DEVICE:
		return value_bool(ps, k, v, &vm->test_device);
	case K_AP_START:
		if (span_eq(v, "entry"))
			vm->ap_sipi = false;
		else if (span_eq(v, "sipi"))
			vm->ap_sipi = true;
		else
			return bad_value(ps, k, v);
		return 0;
	case K_KERNEL:
		vm->kernel_line = ps->line;
		return value_file(ps, v, vm->kernel, "kernel");
	case K_INITRD:
		vm->initrd_line = ps->line;
		return value_file(ps, v, vm->initrd, "initrd");
	case K_CMDLINE:
		return value_cmdline(ps, v);
	case K_COUNT:
		break;
	}
	return -1;
}

/* ---- lines ---------------------------------------------------------------- */

static void vm_defaults(struct vm_config *vm, unsigned line)
{
	memset(vm, 0, sizeof(*vm));
	vm->line = line;
	vm->mode = GUEST_MODE_LONG;
	vm->memory = MiB(2);
	vm->vcpus = 1;
	for (unsigned i = 0; i < CFG_MAX_VCPUS; i++)
		vm->pin[i] = -1;
	vm->ibpb = VM_IBPB_AUTO;
	vm->limit_ms = 0;
	vm->expect = RESULT_EXIT;
	vm->expect_status = 0;
}

/* The current section ends: check what could only be checked now. */
static int finish_vm(struct parser *ps)
{
	struct vm_config *vm = ps->vm;

	if (!vm)
		return 0;
	ps->vm = NULL;
	if (ps->vm_seen & BIT(K_KERNEL)) {
		/* A Linux VM: hv builds the platform and boots the kernel (hv/linux_load.c). */
		if (ps->vm_seen & BIT(K_IMAGE))
			return fail(ps, vm->kernel_line, "vm '%s' has both 'image' and 'kernel' (expected one: "
				    "'image' for an hv guest, 'kernel' for Linux)", vm->name);
		if (ps->vm_seen & BIT(K_MODE))
			return fail(ps, vm->kernel_line, "vm '%s': 'mode' does not apply to a Linux VM "
				    "(the kernel's boot protocol sets the start mode)", vm->name);
		if ((ps->vm_seen & BIT(K_AP_START)) && !vm->ap_sipi)
			return fail(ps, vm->kernel_line, "vm '%s': a Linux VM starts its APs with INIT-SIPI-SIPI "
				    "(expected no 'ap_start' or 'ap_start = sipi')", vm->name);
		if (ps->vm_seen & BIT(K_ARG))
			return fail(ps, vm->kernel_line, "vm '%s': 'arg' does not apply to a Linux VM "
				    "(expected 'cmdline = ...')", vm->name);
		vm->ap_sipi = true;
		if (!(ps->vm_seen & BIT(K_MEMORY)))
			vm->memory = CFG_LINUX_MEMORY;
	} else {
		if (ps->vm_seen & BIT(K_INITRD))
			return fail(ps, vm->initrd_line, "vm '%s' has an initrd but no kernel (expected "
				    "'kernel = FILE')", vm->name);
		if (ps->vm_seen & BIT(K_CMDLINE))
			return fail(ps, vm->cmdline_line, "vm '%s' has a cmdline but no kernel (expected "
				    "'kernel = FILE')", vm->name);
		if (!(ps->vm_seen & BIT(K_IMAGE)))
			return fail(ps, vm->line, "vm '%s' has no image (expected 'image = FILE')",
				    vm->name);
	}
	if (ps->vm_seen & BIT(K_PIN)) {
		if (ps->pin_count) {
			if (ps->pin_count != vm->vcpus)
				return fail(ps, ps->pin_line, "'pin' lists %u pCPUs but vcpus = %u",
					    ps->pin_count, vm->vcpus);
		} else {
			for (unsigned i = 0; i < vm->vcpus; i++)
				vm->pin[i] = ps->pin_single;
		}
	}
	return 0;
}

static int parse_section(struct parser *ps, struct span s)
{
	char q[QUOTE_BUF], q2[QUOTE_BUF];
	struct hv_config *cfg = ps->cfg;

	/* problems of the section that ends here come from earlier lines */
	if (finish_vm(ps))
		return -1;

	if (s.n < 2 || s.p[s.n - 1] != ']')
		return fail(ps, ps->line, "expected '[vm NAME]', got '%s'", quote(q, s));
	struct span inner = trim(span_sub(s, 1, s.n - 1));
	if (inner.n < 2 || memcmp(inner.p, "vm", 2) != 0 || (inner.n > 2 && !is_space(inner.p[2])))
		return fail(ps, ps->line, "unknown section '%s' (expected '[vm NAME]')",
			    quote(q, s));
	struct span name = trim(span_sub(inner, 2, inner.n));
	if (!name.n)
		return fail(ps, ps->line, "missing vm name in '%s' (expected '[vm NAME]')",
			    quote(q, s));
	if (name.n > CFG_NAME_MAX - 1)
		return fail(ps, ps->line,
			    "vm name '%s' is too long (%llu characters; expected at most %u)",
			    quote(q, name), (unsigned long long)name.n, CFG_NAME_MAX - 1);
	for (size_t i = 0; i < name.n; i++)
		if (!is_alnum(name.p[i]) && name.p[i] != '_' && name.p[i] != '-')
			return fail(ps, ps->line,
				    "bad vm name '%s' (expected letters, digits, '_' or '-')",
				    quote(q, name));
	for (unsigned i = 0; i < cfg->nvms; i++)
		if (span_eq(name, cfg->vms[i].name))
			return fail(ps, ps->line, "duplicate vm name '%s' (first defined at line %u)",
				    quote(q, name), cfg->vms[i].line);
	if (cfg->nvms == CFG_MAX_VMS)
		return fail(ps, ps->line, "too many VMs at '%s' (expected at most %u '[vm NAME]' sections)",
			    quote(q2, s), CFG_MAX_VMS);

	struct vm_config *vm = &cfg->vms[cfg->nvms++];
	vm_defaults(vm, ps->line);
	memcpy(vm->name, name.p, name.n);
	vm->name[name.n] = '\0';
	ps->vm = vm;
	ps->vm_seen = 0;
	ps->pin_count = 0;
	ps->pin_single = -1;
	ps->pin_line = 0;
	return 0;
}

static int parse_setting(struct parser *ps, struct span s)
{
	char q[QUOTE_BUF], e[EXPECT_BUF];
	size_t eq = span_find(s, '=');
	struct span key = trim(span_sub(s, 0, eq));

	if (eq == s.n || !key.n)
		return fail(ps, ps->line, "expected 'key = value' or '[vm NAME]', got '%s'",
			    quote(q, s));
	struct span val = trim(span_sub(s, eq + 1, s.n));

	int k = lookup_key(key);
	if (!ps->vm) {
		if (k < 0)
			return fail(ps, ps->line, "unknown key '%s' (expected one of: " GLOBAL_KEY_LIST ")",
				    quote(q, key));
		if (k >= FIRST_VM_KEY)
			return fail(ps, ps->line,
				    "vm key '%s' outside a vm section (expected '[vm NAME]' before it)",
				    keys[k].name);
		if (ps->global_seen & BIT(k))
			return fail(ps, ps->line, "global key '%s' given twice", keys[k].name);
		ps->global_seen |= (u32)BIT(k);
	} else {
		if (k < 0)
			return fail(ps, ps->line, "unknown key '%s' (expected one of: " VM_KEY_LIST ")",
				    quote(q, key));
		if (k < FIRST_VM_KEY)
			return fail(ps, ps->line,
				    "global key '%s' inside vm '%s' (expected global keys before the first '[vm NAME]')",
				    keys[k].name, ps->vm->name);
		if (ps->vm_seen & BIT(k))
			return fail(ps, ps->line, "key '%s' given twice in vm '%s'", keys[k].name,
				    ps->vm->name);
		ps->vm_seen |= (u32)BIT(k);
	}
	if (!val.n)
		return fail(ps, ps->line, "missing value for '%s' (expected %s)", keys[k].name,
			    key_expect((enum key_id)k, e, sizeof(e)));
	return set_value(ps, (enum key_id)k, val);
}

static int parse_line(struct parser *ps, struct span s)
{
	/* whole raw line, comment included: text only */
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
			return fail(ps, ps->line,
				    "line contains binary data (byte 0x%02x at column %llu; expected text)",
				    c, (unsigned long long)i + 1);
	}
	s.n = span_find(s, '#');
	s = trim(s);
	if (!s.n)
		return 0;
	if (s.p[0] == '[')
		return parse_section(ps, s);
	return parse_setting(ps, s);
}

static void config_defaults(struct hv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->policy = POLICY_GUEST;
	cfg->track = TRACK_PASSTHROUGH;
	cfg->slice_us = 10000;
	cfg->trace = false;
	cfg->virtual_ibpb = false;
	cfg->force_wrmsr = false;
	cfg->mitigations_auto = true;
	cfg->mitigations = MIT_ALL;
	cfg->max_pcpus = 1;
	cfg->nvms = 0;
}

int config_parse(const char *text, size_t len, const char *filename,
		 struct hv_config *cfg, char *err, size_t errlen)
{
	struct parser ps;
	size_t pos = 0;

	memset(&ps, 0, sizeof(ps));
	ps.file = filename ? filename : "config";
	ps.err = err;
	ps.errlen = errlen;
	ps.cfg = cfg;
	if (err && errlen)
		err[0] = '\0';
	config_defaults(cfg);
	if (!text)
		len = 0;

	/* a UTF-8 byte order mark, as some editors write, is not content */
	if (len >= 3 && (u8)text[0] == 0xef && (u8)text[1] == 0xbb && (u8)text[2] == 0xbf)
		pos = 3;

	while (pos < len) {
		size_t start = pos;
		while (pos < len && text[pos] != '\n')
			pos++;
		struct span line = { text + start, pos - start };
		if (pos < len)
			pos++; /* the '\n' */
		ps.line++;
		if (parse_line(&ps, line))
			return -1;
	}
	if (finish_vm(&ps))
		return -1;
	if (!cfg->nvms)
		return fail(&ps, 1, "no VM defined (expected at least one '[vm NAME]' section)");
	if (ps.input_line) {
		for (unsigned i = 0; i < cfg->nvms; i++)
			if (!strcmp(cfg->vms[i].name, ps.input_vm))
				cfg->console_input = (int)i + 1;
		if (!cfg->console_input)
			return fail(&ps, ps.input_line, "console_input names VM '%s', but no '[vm %s]' "
				    "section defines it", ps.input_vm, ps.input_vm);
	}
	return 0;
}
