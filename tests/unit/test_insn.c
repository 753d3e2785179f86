/*
 * tests/unit/test_insn.c - host unit tests for hv/insn.c (cmocka).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "insn.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static const char *kind_name(enum insn_kind kind)
{
	switch (kind) {
	case INSN_CPUID: return "CPUID";
	case INSN_RDMSR: return "RDMSR";
	case INSN_WRMSR: return "WRMSR";
	case INSN_HLT: return "HLT";
	case INSN_VMMCALL: return "VMMCALL";
	case INSN_VMCALL: return "VMCALL";
	case INSN_INVD: return "INVD";
	case INSN_WBINVD: return "WBINVD";
	case INSN_XSETBV: return "XSETBV";
	case INSN_RDPMC: return "RDPMC";
	case INSN_RDTSC: return "RDTSC";
	case INSN_RDTSCP: return "RDTSCP";
	case INSN_PAUSE: return "PAUSE";
	case INSN_IN_OUT: return "IN_OUT";
	}
	return "?";
}

/*
 * Decode and compare; on failure say which bytes/mode/kind it was (the hex
 * dump is built with hv's own formatter, the one linked into the test).
 */
static void check_at(const u8 *bytes, size_t avail, enum insn_mode mode,
		     enum insn_kind kind, int expected, const char *what, int line)
{
	int got = insn_length(bytes, avail, mode, kind);
	if (got != expected) {
		char hex[3 * 32 + 1] = "";
		size_t off = 0;
		for (size_t i = 0; i < avail && i < 32; i++)
			off += (size_t)ksnprintf(hex + off, sizeof(hex) - off, "%02x ", bytes[i]);
		print_error("line %d: %s: kind %s mode %d avail %zu bytes [ %s]: "
			    "expected %d, got %d\n",
			    line, what ? what : "", kind_name(kind), (int)mode, avail, hex,
			    expected, got);
	}
	assert_int_equal(got, expected);
}

#define CHECK(bytes, avail, mode, kind, expected) \
	check_at((bytes), (avail), (mode), (kind), (expected), NULL, __LINE__)

/* Check a byte array literal of known size. */
#define CHECK_ARR(arr, mode, kind, expected) \
	check_at((arr), sizeof(arr), (mode), (kind), (expected), #arr, __LINE__)

static const enum insn_mode all_modes[] = { INSN_MODE_16, INSN_MODE_32, INSN_MODE_64 };

static const u8 legacy_prefixes[] = {
	0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65,
};

/* The canonical (prefix-free) encoding of every kind. */
struct plain {
	enum insn_kind kind;
	u8 bytes[3];
	size_t len;
};

static const struct plain plain_encodings[] = {
	{ INSN_CPUID, { 0x0F, 0xA2 }, 2 },
	{ INSN_RDMSR, { 0x0F, 0x32 }, 2 },
	{ INSN_WRMSR, { 0x0F, 0x30 }, 2 },
	{ INSN_HLT, { 0xF4 }, 1 },
	{ INSN_VMMCALL, { 0x0F, 0x01, 0xD9 }, 3 },
	{ INSN_VMCALL, { 0x0F, 0x01, 0xC1 }, 3 },
	{ INSN_INVD, { 0x0F, 0x08 }, 2 },
	{ INSN_WBINVD, { 0x0F, 0x09 }, 2 },
	{ INSN_XSETBV, { 0x0F, 0x01, 0xD1 }, 3 },
	{ INSN_RDPMC, { 0x0F, 0x33 }, 2 },
	{ INSN_RDTSC, { 0x0F, 0x31 }, 2 },
	{ INSN_RDTSCP, { 0x0F, 0x01, 0xF9 }, 3 },
	{ INSN_PAUSE, { 0xF3, 0x90 }, 2 },
	{ INSN_IN_OUT, { 0xE4, 0x60 }, 2 },  /* in al, 0x60 */
	{ INSN_IN_OUT, { 0xE5, 0x71 }, 2 },  /* in eax, 0x71 */
	{ INSN_IN_OUT, { 0xE6, 0x80 }, 2 },  /* out 0x80, al */
	{ INSN_IN_OUT, { 0xE7, 0xF0 }, 2 },  /* out 0xf0, eax (imm looks like LOCK) */
	{ INSN_IN_OUT, { 0xEC }, 1 },        /* in al, dx */
	{ INSN_IN_OUT, { 0xED }, 1 },        /* in eax, dx */
	{ INSN_IN_OUT, { 0xEE }, 1 },        /* out dx, al */
	{ INSN_IN_OUT, { 0xEF }, 1 },        /* out dx, eax */
	{ INSN_IN_OUT, { 0x6C }, 1 },        /* insb */
	{ INSN_IN_OUT, { 0x6D }, 1 },        /* insd */
	{ INSN_IN_OUT, { 0x6E }, 1 },        /* outsb */
	{ INSN_IN_OUT, { 0x6F }, 1 },        /* outsd */
};

/* Build prefixes + plain encoding into buf; returns the total length. */
static size_t build(u8 *buf, const u8 *prefixes, size_t nprefixes, const struct plain *p)
{
	memcpy(buf, prefixes, nprefixes);
	memcpy(buf + nprefixes, p->bytes, p->len);
	return nprefixes + p->len;
}

/* ------------------------------------------------------------------------ */
/* Each kind, no prefixes                                                    */
/* ------------------------------------------------------------------------ */

static void test_plain_each_kind(void **state)
{
	(void)state;
	for (size_t m = 0; m < ARRAY_SIZE(all_modes); m++) {
		for (size_t i = 0; i < ARRAY_SIZE(plain_encodings); i++) {
			const struct plain *p = &plain_encodings[i];
			CHECK(p->bytes, p->len, all_modes[m], p->kind, (int)p->len);
		}
	}
}

static void test_plain_explicit(void **state)
{
	(void)state;
	static const u8 cpuid[] = { 0x0F, 0xA2 };
	static const u8 hlt[] = { 0xF4 };
	static const u8 vmmcall[] = { 0x0F, 0x01, 0xD9 };
	static const u8 pause[] = { 0xF3, 0x90 };
	static const u8 in_imm[] = { 0xE4, 0x64 };
	static const u8 out_dx[] = { 0xEE };
	static const u8 outsb[] = { 0x6E };

	assert_int_equal(insn_length(cpuid, sizeof(cpuid), INSN_MODE_64, INSN_CPUID), 2);
	assert_int_equal(insn_length(hlt, sizeof(hlt), INSN_MODE_16, INSN_HLT), 1);
	assert_int_equal(insn_length(vmmcall, sizeof(vmmcall), INSN_MODE_32, INSN_VMMCALL), 3);
	assert_int_equal(insn_length(pause, sizeof(pause), INSN_MODE_64, INSN_PAUSE), 2);
	assert_int_equal(insn_length(in_imm, sizeof(in_imm), INSN_MODE_16, INSN_IN_OUT), 2);
	assert_int_equal(insn_length(out_dx, sizeof(out_dx), INSN_MODE_32, INSN_IN_OUT), 1);
	assert_int_equal(insn_length(outsb, sizeof(outsb), INSN_MODE_64, INSN_IN_OUT), 1);
}

/* Bytes after the instruction (the rest of the 15-byte fetch) are ignored. */
static void test_trailing_bytes_ignored(void **state)
{
	(void)state;
	u8 buf[INSN_MAX_LEN + 8];
	for (size_t i = 0; i < ARRAY_SIZE(plain_encodings); i++) {
		const struct plain *p = &plain_encodings[i];
		/* Fill with bytes that would be prefixes/opcodes if misread. */
		memset(buf, 0x66, sizeof(buf));
		memcpy(buf, p->bytes, p->len);
		CHECK(buf, sizeof(buf), INSN_MODE_64, p->kind, (int)p->len);
		CHECK(buf, INSN_MAX_LEN, INSN_MODE_32, p->kind, (int)p->len);
		memset(buf, 0x0F, sizeof(buf));
		memcpy(buf, p->bytes, p->len);
		CHECK(buf, sizeof(buf), INSN_MODE_16, p->kind, (int)p->len);
	}
}

/* ------------------------------------------------------------------------ */
/* Legacy prefixes                                                           */
/* ------------------------------------------------------------------------ */

/* Each single legacy prefix in front of each kind, in each mode. */
static void test_single_legacy_prefix(void **state)
{
	(void)state;
	u8 buf[16];
	for (size_t m = 0; m < ARRAY_SIZE(all_modes); m++) {
		for (size_t i = 0; i < ARRAY_SIZE(plain_encodings); i++) {
			const struct plain *p = &plain_encodings[i];
			for (size_t k = 0; k < ARRAY_SIZE(legacy_prefixes); k++) {
				size_t n = build(buf, &legacy_prefixes[k], 1, p);
				int expected = (int)n;
				/* F2 in front of F3 90 makes no difference: F3 is last. */
				CHECK(buf, n, all_modes[m], p->kind, expected);
			}
		}
	}
}

static void test_operand_size_prefix(void **state)
{
	(void)state;
	static const u8 in_ax_imm[] = { 0x66, 0xE5, 0x60 };     /* in ax, 0x60 (32-bit) */
	static const u8 out_dx_ax[] = { 0x66, 0xEF };           /* out dx, ax */
	static const u8 cpuid[] = { 0x66, 0x0F, 0xA2 };
	static const u8 vmcall[] = { 0x66, 0x0F, 0x01, 0xC1 };
	CHECK_ARR(in_ax_imm, INSN_MODE_32, INSN_IN_OUT, 3);
	CHECK_ARR(in_ax_imm, INSN_MODE_16, INSN_IN_OUT, 3);
	CHECK_ARR(out_dx_ax, INSN_MODE_64, INSN_IN_OUT, 2);
	CHECK_ARR(cpuid, INSN_MODE_64, INSN_CPUID, 3);
	CHECK_ARR(vmcall, INSN_MODE_32, INSN_VMCALL, 4);
}

static void test_address_size_prefix(void **state)
{
	(void)state;
	static const u8 insb[] = { 0x67, 0x6C };               /* insb with (e)di */
	static const u8 rep_outsd[] = { 0x67, 0xF3, 0x6F };
	static const u8 rdtscp[] = { 0x67, 0x0F, 0x01, 0xF9 };
	CHECK_ARR(insb, INSN_MODE_64, INSN_IN_OUT, 2);
	CHECK_ARR(insb, INSN_MODE_16, INSN_IN_OUT, 2);
	CHECK_ARR(rep_outsd, INSN_MODE_32, INSN_IN_OUT, 3);
	CHECK_ARR(rdtscp, INSN_MODE_64, INSN_RDTSCP, 4);
}

static void test_segment_prefixes(void **state)
{
	(void)state;
	static const u8 outsb_fs[] = { 0x64, 0x6E };
	static const u8 outsd_all_segs[] = { 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65, 0x6F };
	static const u8 hlt_cs[] = { 0x2E, 0xF4 };
	static const u8 xsetbv_gs[] = { 0x65, 0x0F, 0x01, 0xD1 };
	CHECK_ARR(outsb_fs, INSN_MODE_16, INSN_IN_OUT, 2);
	CHECK_ARR(outsd_all_segs, INSN_MODE_32, INSN_IN_OUT, 7);
	CHECK_ARR(outsd_all_segs, INSN_MODE_64, INSN_IN_OUT, 7);
	CHECK_ARR(hlt_cs, INSN_MODE_64, INSN_HLT, 2);
	CHECK_ARR(xsetbv_gs, INSN_MODE_64, INSN_XSETBV, 4);
}

static void test_rep_prefixes(void **state)
{
	(void)state;
	static const u8 rep_insb[] = { 0xF3, 0x6C };
	static const u8 repne_insd[] = { 0xF2, 0x6D };
	static const u8 rep_outsw[] = { 0x66, 0xF3, 0x6F };
	static const u8 rep_rdtsc[] = { 0xF3, 0x0F, 0x31 };
	static const u8 rep_hlt[] = { 0xF3, 0xF4 };
	CHECK_ARR(rep_insb, INSN_MODE_32, INSN_IN_OUT, 2);
	CHECK_ARR(repne_insd, INSN_MODE_64, INSN_IN_OUT, 2);
	CHECK_ARR(rep_outsw, INSN_MODE_16, INSN_IN_OUT, 3);
	CHECK_ARR(rep_rdtsc, INSN_MODE_64, INSN_RDTSC, 3);
	CHECK_ARR(rep_hlt, INSN_MODE_32, INSN_HLT, 2);
}

static void test_lock_prefix(void **state)
{
	(void)state;
	static const u8 lock_wrmsr[] = { 0xF0, 0x0F, 0x30 };
	static const u8 lock_in[] = { 0xF0, 0xE4, 0x10 };
	static const u8 lock_lock_hlt[] = { 0xF0, 0xF0, 0xF4 };
	CHECK_ARR(lock_wrmsr, INSN_MODE_64, INSN_WRMSR, 3);
	CHECK_ARR(lock_in, INSN_MODE_32, INSN_IN_OUT, 3);
	CHECK_ARR(lock_lock_hlt, INSN_MODE_16, INSN_HLT, 3);
}

/* Prefixes may repeat and come in any order; every one adds one byte. */
static void test_many_prefixes_any_order(void **state)
{
	(void)state;
	u8 buf[16];
	for (size_t m = 0; m < ARRAY_SIZE(all_modes); m++) {
		for (size_t i = 0; i < ARRAY_SIZE(plain_encodings); i++) {
			const struct plain *p = &plain_encodings[i];
			/* n prefixes cycling through the list, from every start point. */
			for (size_t start = 0; start < ARRAY_SIZE(legacy_prefixes); start++) {
				for (size_t n = 0; n + p->len <= INSN_MAX_LEN; n++) {
					u8 pre[16];
					for (size_t j = 0; j < n; j++)
						pre[j] = legacy_prefixes[(start + j) % ARRAY_SIZE(legacy_prefixes)];
					size_t len = build(buf, pre, n, p);
					/* A trailing F2 right before F3 90 still leaves F3 last. */
					CHECK(buf, len, all_modes[m], p->kind, (int)len);
				}
			}
		}
	}
}

/* ------------------------------------------------------------------------ */
/* REX                                                                       */
/* ------------------------------------------------------------------------ */

static void test_rex_64bit(void **state)
{
	(void)state;
	u8 buf[16];
	for (size_t i = 0; i < ARRAY_SIZE(plain_encodings); i++) {
		const struct plain *p = &plain_encodings[i];
		/* For PAUSE the REX lands before the F3 and is discarded by it;
		 * REX between F3 and 90 is covered by test_pause_rex. */
		for (unsigned rex = 0x40; rex <= 0x4F; rex++) {
			u8 r = (u8)rex;
			size_t n = build(buf, &r, 1, p);
			CHECK(buf, n, INSN_MODE_64, p->kind, (int)n);

			/* Legacy prefix, then REX directly before the opcode. */
			u8 pre[2] = { 0x66, r };
			n = build(buf, pre, 2, p);
			CHECK(buf, n, INSN_MODE_64, p->kind, (int)n);
		}
	}

	static const u8 rex_w_in[] = { 0x48, 0xE5, 0x20 };
	static const u8 seg_rex_cpuid[] = { 0x2E, 0x41, 0x0F, 0xA2 };
	static const u8 rex_wrmsr[] = { 0x4F, 0x0F, 0x30 };
	CHECK_ARR(rex_w_in, INSN_MODE_64, INSN_IN_OUT, 3);
	CHECK_ARR(seg_rex_cpuid, INSN_MODE_64, INSN_CPUID, 4);
	CHECK_ARR(rex_wrmsr, INSN_MODE_64, INSN_WRMSR, 3);
}

/* A REX followed by a legacy prefix is ignored by the CPU but is still a byte. */
static void test_rex_before_legacy_prefix(void **state)
{
	(void)state;
	static const u8 rex_66_hlt[] = { 0x48, 0x66, 0xF4 };
	static const u8 rex_rex_cpuid[] = { 0x40, 0x48, 0x0F, 0xA2 };
	static const u8 mixed[] = { 0x66, 0x41, 0xF3, 0x4C, 0x2E, 0x48, 0x0F, 0x01, 0xD9 };
	static const u8 rexb_f3_pause[] = { 0x41, 0xF3, 0x90 }; /* REX.B discarded */
	CHECK_ARR(rex_66_hlt, INSN_MODE_64, INSN_HLT, 3);
	CHECK_ARR(rex_rex_cpuid, INSN_MODE_64, INSN_CPUID, 4);
	CHECK_ARR(mixed, INSN_MODE_64, INSN_VMMCALL, 9);
	CHECK_ARR(rexb_f3_pause, INSN_MODE_64, INSN_PAUSE, 3);
}

/* In 16/32-bit mode 40-4F are INC/DEC: never part of any intercepted insn. */
static void test_rex_bytes_mismatch_outside_64bit(void **state)
{
	(void)state;
	u8 buf[16];
	static const enum insn_mode legacy_modes[] = { INSN_MODE_16, INSN_MODE_32 };
	for (size_t m = 0; m < ARRAY_SIZE(legacy_modes); m++) {
		for (size_t i = 0; i < ARRAY_SIZE(plain_encodings); i++) {
			const struct plain *p = &plain_encodings[i];
			for (unsigned rex = 0x40; rex <= 0x4F; rex++) {
				u8 r = (u8)rex;
				size_t n = build(buf, &r, 1, p);
				CHECK(buf, n, legacy_modes[m], p->kind, INSN_ERR_MISMATCH);

				u8 pre[2] = { 0x66, r };
				n = build(buf, pre, 2, p);
				CHECK(buf, n, legacy_modes[m], p->kind, INSN_ERR_MISMATCH);

				/* Alone (only the INC/DEC byte available): still a mismatch. */
				CHECK(&r, 1, legacy_modes[m], p->kind, INSN_ERR_MISMATCH);
			}
		}
	}
	static const u8 f3_inc_nop[] = { 0xF3, 0x40, 0x90 };
	CHECK_ARR(f3_inc_nop, INSN_MODE_32, INSN_PAUSE, INSN_ERR_MISMATCH);
}

/* ------------------------------------------------------------------------ */
/* PAUSE specifics                                                           */
/* ------------------------------------------------------------------------ */

static void test_pause(void **state)
{
	(void)state;
	static const u8 seg_pause[] = { 0x2E, 0xF3, 0x90 };
	static const u8 f3_seg_90[] = { 0xF3, 0x2E, 0x90 };
	static const u8 opsize_pause[] = { 0x66, 0xF3, 0x90 };
	static const u8 f3_f3_90[] = { 0xF3, 0xF3, 0x90 };
	static const u8 f2_f3_90[] = { 0xF2, 0xF3, 0x90 };
	static const u8 nop[] = { 0x90 };
	static const u8 f2_nop[] = { 0xF2, 0x90 };
	static const u8 f3_f2_90[] = { 0xF3, 0xF2, 0x90 };  /* last REP is F2 */
	static const u8 f3_xchg[] = { 0xF3, 0x91 };          /* xchg ecx, eax */
	static const u8 f3_hlt[] = { 0xF3, 0xF4 };

	CHECK_ARR(seg_pause, INSN_MODE_32, INSN_PAUSE, 3);
	CHECK_ARR(f3_seg_90, INSN_MODE_64, INSN_PAUSE, 3);
	CHECK_ARR(opsize_pause, INSN_MODE_16, INSN_PAUSE, 3);
	CHECK_ARR(f3_f3_90, INSN_MODE_64, INSN_PAUSE, 3);
	CHECK_ARR(f2_f3_90, INSN_MODE_64, INSN_PAUSE, 3);
	CHECK_ARR(nop, INSN_MODE_64, INSN_PAUSE, INSN_ERR_MISMATCH);
	CHECK_ARR(f2_nop, INSN_MODE_32, INSN_PAUSE, INSN_ERR_MISMATCH);
	CHECK_ARR(f3_f2_90, INSN_MODE_32, INSN_PAUSE, INSN_ERR_MISMATCH);
	CHECK_ARR(f3_xchg, INSN_MODE_64, INSN_PAUSE, INSN_ERR_MISMATCH);
	CHECK_ARR(f3_hlt, INSN_MODE_64, INSN_PAUSE, INSN_ERR_MISMATCH);
	/* The same bytes are REP HLT for the HLT kind. */
	CHECK_ARR(f3_hlt, INSN_MODE_64, INSN_HLT, 2);
}

/* REX before 90 in 64-bit mode: allowed unless REX.B makes it XCHG r8, rAX. */
static void test_pause_rex(void **state)
{
	(void)state;
	for (unsigned rex = 0x40; rex <= 0x4F; rex++) {
		u8 buf[] = { 0xF3, (u8)rex, 0x90 };
		int expected = (rex & 1) ? INSN_ERR_MISMATCH : 3;
		CHECK(buf, sizeof(buf), INSN_MODE_64, INSN_PAUSE, expected);
	}
}

/* ------------------------------------------------------------------------ */
/* The 15-byte limit                                                         */
/* ------------------------------------------------------------------------ */

static void test_length_limit(void **state)
{
	(void)state;
	u8 buf[32];

	/* 14 prefixes + 1-byte opcode = 15: OK. */
	memset(buf, 0x66, 14);
	buf[14] = 0xF4;
	CHECK(buf, 15, INSN_MODE_64, INSN_HLT, 15);
	CHECK(buf, 15, INSN_MODE_16, INSN_HLT, 15);
	/* ... with the PAUSE F3 as the 14th prefix. */
	memset(buf, 0x3E, 13);
	buf[13] = 0xF3;
	buf[14] = 0x90;
	CHECK(buf, 15, INSN_MODE_32, INSN_PAUSE, 15);

	/* 15 prefixes + opcode = 16: too long, however many bytes are available. */
	memset(buf, 0x66, 15);
	buf[15] = 0xF4;
	CHECK(buf, 16, INSN_MODE_64, INSN_HLT, INSN_ERR_TOO_LONG);
	CHECK(buf, 15, INSN_MODE_64, INSN_HLT, INSN_ERR_TOO_LONG);
	CHECK(buf, sizeof(buf), INSN_MODE_32, INSN_HLT, INSN_ERR_TOO_LONG);
	memset(buf, 0xF3, 15);
	buf[15] = 0x90;
	CHECK(buf, 16, INSN_MODE_16, INSN_PAUSE, INSN_ERR_TOO_LONG);

	/* Many prefixes: still too long, not read past byte 15. */
	memset(buf, 0x2E, sizeof(buf));
	CHECK(buf, sizeof(buf), INSN_MODE_64, INSN_CPUID, INSN_ERR_TOO_LONG);

	/* REX counts toward the limit: 13 legacy + REX + HLT = 15 OK, one more not. */
	memset(buf, 0x65, 13);
	buf[13] = 0x48;
	buf[14] = 0xF4;
	CHECK(buf, 15, INSN_MODE_64, INSN_HLT, 15);
	memset(buf, 0x65, 14);
	buf[14] = 0x48;
	buf[15] = 0xF4;
	CHECK(buf, 16, INSN_MODE_64, INSN_HLT, INSN_ERR_TOO_LONG);
	memset(buf, 0x48, 15);  /* 15 REX bytes */
	buf[15] = 0xF4;
	CHECK(buf, 16, INSN_MODE_64, INSN_HLT, INSN_ERR_TOO_LONG);
}

/* Every kind at exactly 15 bytes, and one prefix more. */
static void test_length_limit_each_kind(void **state)
{
	(void)state;
	u8 buf[32], pre[16];
	memset(pre, 0x26, sizeof(pre));
	for (size_t i = 0; i < ARRAY_SIZE(plain_encodings); i++) {
		const struct plain *p = &plain_encodings[i];
		size_t n = INSN_MAX_LEN - p->len;
		size_t len = build(buf, pre, n, p);
		assert_int_equal(len, INSN_MAX_LEN);
		CHECK(buf, len, INSN_MODE_64, p->kind, INSN_MAX_LEN);
		CHECK(buf, len, INSN_MODE_32, p->kind, INSN_MAX_LEN);

		len = build(buf, pre, n + 1, p);
		CHECK(buf, len, INSN_MODE_64, p->kind, INSN_ERR_TOO_LONG);
		CHECK(buf, len, INSN_MODE_16, p->kind, INSN_ERR_TOO_LONG);
		/* Only 15 bytes handed in: the 16th is needed, so too long, not truncated. */
		CHECK(buf, INSN_MAX_LEN, INSN_MODE_32, p->kind, INSN_ERR_TOO_LONG);
	}

	/* Explicit: 13 prefixes + E4 ib = 15, 12 prefixes + 0F 01 D9 = 15. */
	memset(buf, 0x67, 13);
	buf[13] = 0xE4;
	buf[14] = 0x70;
	CHECK(buf, 15, INSN_MODE_32, INSN_IN_OUT, 15);
	memset(buf, 0x67, 14);
	buf[14] = 0xE4;
	buf[15] = 0x70;
	CHECK(buf, 16, INSN_MODE_32, INSN_IN_OUT, INSN_ERR_TOO_LONG);
	memset(buf, 0x64, 12);
	memcpy(buf + 12, (const u8[]){ 0x0F, 0x01, 0xD9 }, 3);
	CHECK(buf, 15, INSN_MODE_64, INSN_VMMCALL, 15);
	memset(buf, 0x64, 13);
	memcpy(buf + 13, (const u8[]){ 0x0F, 0x01, 0xD9 }, 3);
	CHECK(buf, 16, INSN_MODE_64, INSN_VMMCALL, INSN_ERR_TOO_LONG);
}

/* ------------------------------------------------------------------------ */
/* Truncation                                                                */
/* ------------------------------------------------------------------------ */

/* Cutting a valid instruction at every position gives TRUNCATED. */
static void test_truncated_each_position(void **state)
{
	(void)state;
	static const u8 prefix_sets[][4] = {
		{ 0 },
		{ 0x66 },
		{ 0xF0, 0x2E, 0x67 },
		{ 0x65, 0x66, 0x67, 0x48 }, /* ends with REX: only valid in 64-bit */
	};
	static const size_t prefix_lens[] = { 0, 1, 3, 4 };
	u8 buf[16];

	for (size_t s = 0; s < ARRAY_SIZE(prefix_sets); s++) {
		for (size_t i = 0; i < ARRAY_SIZE(plain_encodings); i++) {
			const struct plain *p = &plain_encodings[i];
			size_t len = build(buf, prefix_sets[s], prefix_lens[s], p);
			for (size_t m = 0; m < ARRAY_SIZE(all_modes); m++) {
				enum insn_mode mode = all_modes[m];
				bool has_rex = s == 3;
				if (has_rex && mode != INSN_MODE_64)
					continue;
				for (size_t avail = 0; avail < len; avail++)
					CHECK(buf, avail, mode, p->kind, INSN_ERR_TRUNCATED);
				CHECK(buf, len, mode, p->kind, (int)len);
			}
		}
	}
}

static void test_truncated_explicit(void **state)
{
	(void)state;
	static const u8 vmmcall[] = { 0x66, 0x0F, 0x01, 0xD9 };
	static const u8 in_imm[] = { 0xF3, 0xE5, 0x40 };
	static const u8 pause[] = { 0xF3, 0x90 };

	CHECK(vmmcall, 0, INSN_MODE_64, INSN_VMMCALL, INSN_ERR_TRUNCATED);
	CHECK(vmmcall, 1, INSN_MODE_64, INSN_VMMCALL, INSN_ERR_TRUNCATED);
	CHECK(vmmcall, 2, INSN_MODE_64, INSN_VMMCALL, INSN_ERR_TRUNCATED);
	CHECK(vmmcall, 3, INSN_MODE_64, INSN_VMMCALL, INSN_ERR_TRUNCATED);
	CHECK(vmmcall, 4, INSN_MODE_64, INSN_VMMCALL, 4);
	CHECK(in_imm, 2, INSN_MODE_32, INSN_IN_OUT, INSN_ERR_TRUNCATED); /* imm8 missing */
	CHECK(in_imm, 3, INSN_MODE_32, INSN_IN_OUT, 3);
	CHECK(pause, 1, INSN_MODE_64, INSN_PAUSE, INSN_ERR_TRUNCATED);
	/* A REX with nothing after it in 64-bit mode: truncated. */
	static const u8 rex_only[] = { 0x48 };
	CHECK_ARR(rex_only, INSN_MODE_64, INSN_CPUID, INSN_ERR_TRUNCATED);
	/* NULL with nothing available. */
	CHECK(NULL, 0, INSN_MODE_64, INSN_HLT, INSN_ERR_TRUNCATED);
}

/* ------------------------------------------------------------------------ */
/* Mismatches                                                                */
/* ------------------------------------------------------------------------ */

/* Every kind's bytes decoded as every other kind: mismatch. */
static void test_mismatch_cross_kinds(void **state)
{
	(void)state;
	for (size_t m = 0; m < ARRAY_SIZE(all_modes); m++) {
		for (size_t i = 0; i < ARRAY_SIZE(plain_encodings); i++) {
			const struct plain *p = &plain_encodings[i];
			for (int k = INSN_CPUID; k <= INSN_IN_OUT; k++) {
				enum insn_kind kind = (enum insn_kind)k;
				int expected = kind == p->kind ? (int)p->len : INSN_ERR_MISMATCH;
				/* F3 F4 would be REP HLT, but PAUSE's F3 90 is no HLT. */
				CHECK(p->bytes, p->len, all_modes[m], kind, expected);
			}
		}
	}
}

static void test_mismatch_wrong_opcode(void **state)
{
	(void)state;
	static const u8 nop[] = { 0x90 };
	static const u8 int3[] = { 0xCC };
	static const u8 cpuid_off_by_one[] = { 0x0F, 0xA3 };      /* bt */
	static const u8 sysenter[] = { 0x0F, 0x34 };
	static const u8 ud2[] = { 0x0F, 0x0B };
	static const u8 in_imm16[] = { 0xE8, 0x00, 0x00, 0x00, 0x00 }; /* call */
	static const u8 movs[] = { 0xA4 };
	static const u8 vex[] = { 0xC5, 0xF8, 0x77 };             /* vzeroupper */

	for (size_t m = 0; m < ARRAY_SIZE(all_modes); m++) {
		enum insn_mode mode = all_modes[m];
		CHECK_ARR(nop, mode, INSN_HLT, INSN_ERR_MISMATCH);
		CHECK_ARR(int3, mode, INSN_HLT, INSN_ERR_MISMATCH);
		CHECK_ARR(cpuid_off_by_one, mode, INSN_CPUID, INSN_ERR_MISMATCH);
		CHECK_ARR(sysenter, mode, INSN_RDPMC, INSN_ERR_MISMATCH);
		CHECK_ARR(ud2, mode, INSN_WBINVD, INSN_ERR_MISMATCH);
		CHECK_ARR(in_imm16, mode, INSN_IN_OUT, INSN_ERR_MISMATCH);
		CHECK_ARR(movs, mode, INSN_IN_OUT, INSN_ERR_MISMATCH);
		CHECK_ARR(vex, mode, INSN_XSETBV, INSN_ERR_MISMATCH);
	}

	/* Every one-byte opcode that is not an IN/OUT form mismatches IN_OUT. */
	for (unsigned op = 0; op <= 0xFF; op++) {
		u8 buf[2] = { (u8)op, 0x00 };
		bool prefix = false;
		for (size_t k = 0; k < ARRAY_SIZE(legacy_prefixes); k++)
			prefix |= legacy_prefixes[k] == op;
		if (prefix || (op & 0xF0) == 0x40)
			continue;
		bool io = (op >= 0xE4 && op <= 0xE7) || (op >= 0xEC && op <= 0xEF) ||
			  (op >= 0x6C && op <= 0x6F);
		int expected = io ? ((op & 0xF0) == 0xE0 && op <= 0xE7 ? 2 : 1)
				  : INSN_ERR_MISMATCH;
		CHECK(buf, sizeof(buf), INSN_MODE_32, INSN_IN_OUT, expected);
		CHECK(buf, sizeof(buf), INSN_MODE_64, INSN_IN_OUT, expected);
		CHECK(buf, sizeof(buf), INSN_MODE_32, INSN_HLT,
		      op == 0xF4 ? 1 : INSN_ERR_MISMATCH);
	}
}

/* For 0F 01 xx only the exact ModRM byte is the instruction. */
static void test_mismatch_group7_modrm(void **state)
{
	(void)state;
	static const struct {
		enum insn_kind kind;
		u8 modrm;
	} g7[] = {
		{ INSN_VMMCALL, 0xD9 },
		{ INSN_VMCALL, 0xC1 },
		{ INSN_XSETBV, 0xD1 },
		{ INSN_RDTSCP, 0xF9 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(g7); i++) {
		for (unsigned modrm = 0; modrm <= 0xFF; modrm++) {
			u8 buf[] = { 0x0F, 0x01, (u8)modrm, 0, 0, 0, 0 };
			int expected = modrm == g7[i].modrm ? 3 : INSN_ERR_MISMATCH;
			CHECK(buf, sizeof(buf), INSN_MODE_64, g7[i].kind, expected);
		}
	}
	/* Near misses named explicitly. */
	static const u8 vmrun[] = { 0x0F, 0x01, 0xD8 };
	static const u8 vmlaunch[] = { 0x0F, 0x01, 0xC2 };
	static const u8 xgetbv[] = { 0x0F, 0x01, 0xD0 };
	static const u8 swapgs[] = { 0x0F, 0x01, 0xF8 };
	static const u8 sgdt[] = { 0x0F, 0x01, 0x00 };
	CHECK_ARR(vmrun, INSN_MODE_64, INSN_VMMCALL, INSN_ERR_MISMATCH);
	CHECK_ARR(vmlaunch, INSN_MODE_64, INSN_VMCALL, INSN_ERR_MISMATCH);
	CHECK_ARR(xgetbv, INSN_MODE_32, INSN_XSETBV, INSN_ERR_MISMATCH);
	CHECK_ARR(swapgs, INSN_MODE_64, INSN_RDTSCP, INSN_ERR_MISMATCH);
	CHECK_ARR(sgdt, INSN_MODE_16, INSN_RDTSCP, INSN_ERR_MISMATCH);
	/* VMMCALL vs VMCALL: the two hypercalls are not interchangeable. */
	static const u8 vmcall[] = { 0x0F, 0x01, 0xC1 };
	static const u8 vmmcall[] = { 0x0F, 0x01, 0xD9 };
	CHECK_ARR(vmcall, INSN_MODE_64, INSN_VMMCALL, INSN_ERR_MISMATCH);
	CHECK_ARR(vmmcall, INSN_MODE_64, INSN_VMCALL, INSN_ERR_MISMATCH);
}

/* A wrong byte is reported as a mismatch even if later bytes are missing. */
static void test_mismatch_before_truncation(void **state)
{
	(void)state;
	static const u8 wrong_second[] = { 0x0F, 0xA3 };
	static const u8 wrong_first[] = { 0x90, 0x01 };
	static const u8 g7_wrong[] = { 0x66, 0x0F, 0x01, 0xD8 };
	CHECK(wrong_second, 2, INSN_MODE_64, INSN_VMMCALL, INSN_ERR_MISMATCH);
	CHECK(wrong_first, 1, INSN_MODE_64, INSN_CPUID, INSN_ERR_MISMATCH);
	CHECK(wrong_first, 1, INSN_MODE_64, INSN_IN_OUT, INSN_ERR_MISMATCH);
	CHECK(g7_wrong, 4, INSN_MODE_32, INSN_VMMCALL, INSN_ERR_MISMATCH);
	/* ...but a correct prefix of the instruction is only truncated. */
	CHECK(g7_wrong, 3, INSN_MODE_32, INSN_VMMCALL, INSN_ERR_TRUNCATED);
}

/* ------------------------------------------------------------------------ */
/* Table-driven                                                              */
/* ------------------------------------------------------------------------ */

struct vector {
	const char *name;
	u8 bytes[20];
	size_t avail;
	enum insn_mode mode;
	enum insn_kind kind;
	int expected;
};

#define M16 INSN_MODE_16
#define M32 INSN_MODE_32
#define M64 INSN_MODE_64
#define MIS INSN_ERR_MISMATCH
#define LONG INSN_ERR_TOO_LONG
#define TRUNC INSN_ERR_TRUNCATED

static const struct vector vectors[] = {
	/* name                        bytes                                   avail mode kind      expected */
	{ "cpuid",                    { 0x0F, 0xA2 },                            2, M64, INSN_CPUID,   2 },
	{ "cpuid rex.w",              { 0x48, 0x0F, 0xA2 },                      3, M64, INSN_CPUID,   3 },
	{ "cpuid 40 in 32-bit",       { 0x40, 0x0F, 0xA2 },                      3, M32, INSN_CPUID,   MIS },
	{ "cpuid 4f in 16-bit",       { 0x4F, 0x0F, 0xA2 },                      3, M16, INSN_CPUID,   MIS },
	{ "rdmsr",                    { 0x0F, 0x32 },                            2, M32, INSN_RDMSR,   2 },
	{ "rdmsr as wrmsr",           { 0x0F, 0x32 },                            2, M32, INSN_WRMSR,   MIS },
	{ "wrmsr 66 67",              { 0x66, 0x67, 0x0F, 0x30 },                4, M16, INSN_WRMSR,   4 },
	{ "wrmsr truncated",          { 0x66, 0x67, 0x0F, 0x30 },                3, M16, INSN_WRMSR,   TRUNC },
	{ "hlt",                      { 0xF4 },                                  1, M16, INSN_HLT,     1 },
	{ "hlt cs ds es ss fs gs",    { 0x2E, 0x3E, 0x26, 0x36, 0x64, 0x65, 0xF4 }, 7, M32, INSN_HLT, 7 },
	{ "hlt empty",                { 0 },                                     0, M64, INSN_HLT,     TRUNC },
	{ "vmmcall",                  { 0x0F, 0x01, 0xD9 },                      3, M64, INSN_VMMCALL, 3 },
	{ "vmmcall rex",              { 0x41, 0x0F, 0x01, 0xD9 },                4, M64, INSN_VMMCALL, 4 },
	{ "vmmcall modrm missing",    { 0x0F, 0x01 },                            2, M64, INSN_VMMCALL, TRUNC },
	{ "vmmcall vs vmrun",         { 0x0F, 0x01, 0xD8 },                      3, M64, INSN_VMMCALL, MIS },
	{ "vmcall",                   { 0x0F, 0x01, 0xC1 },                      3, M32, INSN_VMCALL,  3 },
	{ "vmcall vs vmresume",       { 0x0F, 0x01, 0xC3 },                      3, M32, INSN_VMCALL,  MIS },
	{ "invd",                     { 0x0F, 0x08 },                            2, M64, INSN_INVD,    2 },
	{ "invd as wbinvd",           { 0x0F, 0x08 },                            2, M64, INSN_WBINVD,  MIS },
	{ "wbinvd f3",                { 0xF3, 0x0F, 0x09 },                      3, M64, INSN_WBINVD,  3 },
	{ "xsetbv",                   { 0x0F, 0x01, 0xD1 },                      3, M64, INSN_XSETBV,  3 },
	{ "xsetbv rex.w",             { 0x48, 0x0F, 0x01, 0xD1 },                4, M64, INSN_XSETBV,  4 },
	{ "xsetbv vs xgetbv",         { 0x0F, 0x01, 0xD0 },                      3, M64, INSN_XSETBV,  MIS },
	{ "rdpmc",                    { 0x0F, 0x33 },                            2, M16, INSN_RDPMC,   2 },
	{ "rdtsc",                    { 0x0F, 0x31 },                            2, M32, INSN_RDTSC,   2 },
	{ "rdtsc as rdtscp",          { 0x0F, 0x31 },                            2, M32, INSN_RDTSCP,  MIS },
	{ "rdtscp",                   { 0x0F, 0x01, 0xF9 },                      3, M64, INSN_RDTSCP,  3 },
	{ "rdtscp 66",                { 0x66, 0x0F, 0x01, 0xF9 },                4, M64, INSN_RDTSCP,  4 },
	{ "pause",                    { 0xF3, 0x90 },                            2, M16, INSN_PAUSE,   2 },
	{ "pause seg before",         { 0x26, 0xF3, 0x90 },                      3, M64, INSN_PAUSE,   3 },
	{ "pause rex.w",              { 0xF3, 0x48, 0x90 },                      3, M64, INSN_PAUSE,   3 },
	{ "pause rex.b = xchg r8",    { 0xF3, 0x41, 0x90 },                      3, M64, INSN_PAUSE,   MIS },
	{ "pause without f3",         { 0x90 },                                  1, M64, INSN_PAUSE,   MIS },
	{ "in al, imm8",              { 0xE4, 0x71 },                            2, M16, INSN_IN_OUT,  2 },
	{ "in ax, imm8 (66)",         { 0x66, 0xE5, 0x71 },                      3, M32, INSN_IN_OUT,  3 },
	{ "out imm8, al",             { 0xE6, 0x80 },                            2, M64, INSN_IN_OUT,  2 },
	{ "out imm8, eax rex",        { 0x48, 0xE7, 0x80 },                      3, M64, INSN_IN_OUT,  3 },
	{ "out imm8 missing",         { 0xE6 },                                  1, M64, INSN_IN_OUT,  TRUNC },
	{ "in al, dx",                { 0xEC },                                  1, M32, INSN_IN_OUT,  1 },
	{ "in ax, dx",                { 0x66, 0xED },                            2, M32, INSN_IN_OUT,  2 },
	{ "out dx, al",               { 0xEE },                                  1, M16, INSN_IN_OUT,  1 },
	{ "out dx, eax (66 in rm)",   { 0x66, 0xEF },                            2, M16, INSN_IN_OUT,  2 },
	{ "rep insb",                 { 0xF3, 0x6C },                            2, M32, INSN_IN_OUT,  2 },
	{ "rep insw a32",             { 0x67, 0x66, 0xF3, 0x6D },                4, M16, INSN_IN_OUT,  4 },
	{ "rep outsb fs",             { 0xF3, 0x64, 0x6E },                      3, M64, INSN_IN_OUT,  3 },
	{ "rep outsd rex.w",          { 0xF3, 0x48, 0x6F },                      3, M64, INSN_IN_OUT,  3 },
	{ "in/out vs movsb",          { 0xF3, 0xA4 },                            2, M64, INSN_IN_OUT,  MIS },
	{ "in/out vs in imm16?",      { 0xE8, 0x00 },                            2, M64, INSN_IN_OUT,  MIS },
	{ "in/out inc eax 32-bit",    { 0x40, 0xEC },                            2, M32, INSN_IN_OUT,  MIS },
	{ "14 prefixes + hlt",        { 0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x2E, 0x36,
					0x3E, 0x26, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF4 }, 15, M32, INSN_HLT, 15 },
	{ "15 prefixes + hlt",        { 0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x2E, 0x36,
					0x3E, 0x26, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF0, 0xF4 }, 16, M32, INSN_HLT, LONG },
	{ "15 prefixes, avail 15",    { 0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x2E, 0x36,
					0x3E, 0x26, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF0, 0xF4 }, 15, M32, INSN_HLT, LONG },
	{ "15 prefixes, avail 14",    { 0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x2E, 0x36,
					0x3E, 0x26, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF0, 0xF4 }, 14, M32, INSN_HLT, TRUNC },
	{ "13 prefixes + out imm8",   { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
					0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0xE6, 0x80 }, 15, M64, INSN_IN_OUT, 15 },
	{ "14 prefixes + out imm8",   { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
					0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0xE6, 0x80 }, 16, M64, INSN_IN_OUT, LONG },
	{ "11 prefixes+rex+vmmcall",  { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
					0x66, 0x66, 0x66, 0x66, 0x48, 0x0F, 0x01, 0xD9 }, 15, M64, INSN_VMMCALL, 15 },
	{ "12 prefixes+rex+vmmcall",  { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
					0x66, 0x66, 0x66, 0x66, 0x66, 0x48, 0x0F, 0x01, 0xD9 }, 16, M64, INSN_VMMCALL, LONG },
	{ "avail beyond 15 ignored",  { 0x0F, 0xA2, 0x0F, 0xA2, 0x0F, 0xA2, 0x0F, 0xA2, 0x0F,
					0xA2, 0x0F, 0xA2, 0x0F, 0xA2, 0x0F, 0xA2, 0x0F, 0xA2 }, 18, M64, INSN_CPUID, 2 },
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		const struct vector *v = &vectors[i];
		assert_true(v->avail <= sizeof(v->bytes));
		check_at(v->bytes, v->avail, v->mode, v->kind, v->expected, v->name, __LINE__);
	}
}

/* The decoder never reads past avail: bytes beyond it are poisoned. */
static void test_no_read_past_avail(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(plain_encodings); i++) {
		const struct plain *p = &plain_encodings[i];
		for (size_t avail = 0; avail <= p->len; avail++) {
			/* Same first `avail` bytes, different tails: the result
			 * must not depend on what lies beyond avail. */
			u8 a[8], b[8];
			memset(a, 0x00, sizeof(a));
			memset(b, 0xFF, sizeof(b));
			memcpy(a, p->bytes, avail);
			memcpy(b, p->bytes, avail);
			int ra = insn_length(a, avail, INSN_MODE_64, p->kind);
			int rb = insn_length(b, avail, INSN_MODE_64, p->kind);
			assert_int_equal(ra, rb);
			assert_int_equal(ra, avail == p->len ? (int)p->len : INSN_ERR_TRUNCATED);
		}
	}
}

/* MOV to CR4: plain, with REX.B (r9), with REX.R (CR12: not CR4), memory form refused. */
static void test_mov_to_cr(void **state)
{
	(void)state;
	enum cr_write_op op = CRW_CLTS;
	unsigned cr = 99, gpr = 99;
	const u8 plain[] = { 0x0F, 0x22, 0xE0 };           /* mov cr4, rax */
	assert_int_equal(insn_cr_write(plain, 3, INSN_MODE_64, &op, &cr, &gpr), 3);
	assert_int_equal(op, CRW_MOV);
	assert_int_equal(cr, 4);
	assert_int_equal(gpr, 0);
	const u8 r9[] = { 0x41, 0x0F, 0x22, 0xE1 };        /* mov cr4, r9 */
	assert_int_equal(insn_cr_write(r9, 4, INSN_MODE_64, &op, &cr, &gpr), 4);
	assert_int_equal(cr, 4);
	assert_int_equal(gpr, 9);
	const u8 rexr[] = { 0x44, 0x0F, 0x22, 0xC3 };      /* mov cr8, rbx */
	assert_int_equal(insn_cr_write(rexr, 4, INSN_MODE_64, &op, &cr, &gpr), 4);
	assert_int_equal(cr, 8);
	assert_int_equal(gpr, 3);
	const u8 in32[] = { 0x66, 0x0F, 0x22, 0xE3 };      /* prefix, mov cr4, ebx */
	assert_int_equal(insn_cr_write(in32, 4, INSN_MODE_32, &op, &cr, &gpr), 4);
	assert_int_equal(gpr, 3);
	const u8 inc[] = { 0x41, 0x0F, 0x22, 0xE1 };       /* 0x41 is INC ECX in 32-bit mode */
	assert_int_equal(insn_cr_write(inc, 4, INSN_MODE_32, &op, &cr, &gpr), INSN_ERR_MISMATCH);
	const u8 mem[] = { 0x0F, 0x22, 0x20 };             /* mod != 3 */
	assert_int_equal(insn_cr_write(mem, 3, INSN_MODE_64, &op, &cr, &gpr), INSN_ERR_MISMATCH);
	assert_int_equal(insn_cr_write(plain, 2, INSN_MODE_64, &op, &cr, &gpr), INSN_ERR_TRUNCATED);
}

/* The other CR0 writers: CLTS, LMSW r16 (REX.B, prefixes), LMSW m16 refused
 * as a memory operand, other group-7 members are no CR write; and CLTS and
 * LMSW are never reported as MOV to CR. */
static void test_cr_write(void **state)
{
	(void)state;
	enum cr_write_op op = CRW_MOV;
	unsigned cr = 99, gpr = 99;
	const u8 clts[] = { 0x0F, 0x06 };
	assert_int_equal(insn_cr_write(clts, 2, INSN_MODE_64, &op, &cr, &gpr), 2);
	assert_int_equal(op, CRW_CLTS);
	assert_int_equal(cr, 0);
	const u8 lmsw_ax[] = { 0x0F, 0x01, 0xF0 };          /* lmsw ax */
	assert_int_equal(insn_cr_write(lmsw_ax, 3, INSN_MODE_64, &op, &cr, &gpr), 3);
	assert_int_equal(op, CRW_LMSW);
	assert_int_equal(cr, 0);
	assert_int_equal(gpr, 0);
	const u8 lmsw_r10[] = { 0x66, 0x41, 0x0F, 0x01, 0xF2 };   /* lmsw r10w */
	assert_int_equal(insn_cr_write(lmsw_r10, 5, INSN_MODE_64, &op, &cr, &gpr), 5);
	assert_int_equal(op, CRW_LMSW);
	assert_int_equal(gpr, 10);
	const u8 lmsw_mem[] = { 0x0F, 0x01, 0x33 };         /* lmsw [rbx] */
	op = CRW_MOV;
	assert_int_equal(insn_cr_write(lmsw_mem, 3, INSN_MODE_64, &op, &cr, &gpr), INSN_ERR_MEMORY);
	assert_int_equal(op, CRW_LMSW);
	const u8 smsw[] = { 0x0F, 0x01, 0xE0 };             /* smsw eax (/4): not a write */
	assert_int_equal(insn_cr_write(smsw, 3, INSN_MODE_64, &op, &cr, &gpr), INSN_ERR_MISMATCH);
	const u8 vmmcall[] = { 0x0F, 0x01, 0xD9 };
	assert_int_equal(insn_cr_write(vmmcall, 3, INSN_MODE_64, &op, &cr, &gpr), INSN_ERR_MISMATCH);
	const u8 mov[] = { 0x0F, 0x22, 0xC0 };              /* mov cr0, rax */
	assert_int_equal(insn_cr_write(mov, 3, INSN_MODE_64, &op, &cr, &gpr), 3);
	assert_int_equal(op, CRW_MOV);
	assert_int_equal(cr, 0);
	assert_int_equal(insn_cr_write(clts, 1, INSN_MODE_64, &op, &cr, &gpr), INSN_ERR_TRUNCATED);
	op = CRW_MOV;
	assert_int_equal(insn_cr_write(clts, 2, INSN_MODE_64, &op, &cr, &gpr), 2);
	assert_int_not_equal(op, CRW_MOV);
	op = CRW_MOV;
	assert_int_equal(insn_cr_write(lmsw_ax, 3, INSN_MODE_64, &op, &cr, &gpr), 3);
	assert_int_not_equal(op, CRW_MOV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_each_kind),
		cmocka_unit_test(test_plain_explicit),
		cmocka_unit_test(test_trailing_bytes_ignored),
		cmocka_unit_test(test_single_legacy_prefix),
		cmocka_unit_test(test_operand_size_prefix),
		cmocka_unit_test(test_address_size_prefix),
		cmocka_unit_test(test_segment_prefixes),
		cmocka_unit_test(test_rep_prefixes),
		cmocka_unit_test(test_lock_prefix),
		cmocka_unit_test(test_many_prefixes_any_order),
		cmocka_unit_test(test_rex_64bit),
		cmocka_unit_test(test_rex_before_legacy_prefix),
		cmocka_unit_test(test_rex_bytes_mismatch_outside_64bit),
		cmocka_unit_test(test_pause),
		cmocka_unit_test(test_pause_rex),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_length_limit_each_kind),
		cmocka_unit_test(test_truncated_each_position),
		cmocka_unit_test(test_truncated_explicit),
		cmocka_unit_test(test_mismatch_cross_kinds),
		cmocka_unit_test(test_mismatch_wrong_opcode),
		cmocka_unit_test(test_mismatch_group7_modrm),
		cmocka_unit_test(test_mismatch_before_truncation),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_no_read_past_avail),
		cmocka_unit_test(test_mov_to_cr),
		cmocka_unit_test(test_cr_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
