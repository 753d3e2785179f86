/*
 * tests/unit/test_mmio.c - host unit tests for hv/mmio.c (cmocka): the MMIO
 * instruction decoder/emulator against hand-assembled encodings (bytes as
 * GNU as emits them), flags checked against the host CPU's own ALU, and a
 * random-bytes fuzz that checks it never reads past the given bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mmio.h"

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

/* A fake device: one 8-byte register at DEV_GPA, with an access log. */
#define DEV_GPA 0xfee00030ull
struct dev {
	u64 reg;
	unsigned nread, nwrite;
	u64 last_gpa;
	unsigned last_size;
	bool refuse;
};

static bool dev_access(void *ctx, u64 gpa, unsigned size, bool is_write, u64 *val)
{
	struct dev *d = ctx;
	d->last_gpa = gpa;
	d->last_size = size;
	if (d->refuse)
		return false;
	u64 m = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
	if (is_write) {
		d->nwrite++;
		d->reg = (d->reg & ~m) | (*val & m);
	} else {
		d->nread++;
		*val = d->reg & m;
	}
	return true;
}

static struct mmio_cpu cpu64(void)
{
	struct mmio_cpu c = { .mode = INSN_MODE_64, .rip = 0x401000, .rflags = 0x2 };
	for (int i = 0; i < 16; i++)
		c.gpr[i] = 0x1111111111111111ull * (u64)(i + 1);
	return c;
}

/* Run one instruction; return the result code, filling *res. */
static int run(const u8 *b, size_t n, struct mmio_cpu *c, u64 gpa, struct dev *d, struct mmio_result *res)
{
	int rc = mmio_emulate(b, n, c, gpa, dev_access, d, res);
	if (rc != MMIO_OK)
		print_message("  (%s)\n", res->why);
	return rc;
}

#define B(...) ((const u8[]){ __VA_ARGS__ }), sizeof((const u8[]){ __VA_ARGS__ })

/* ---- mov forms ---------------------------------------------------------- */

static void test_mov_store_load_sizes(void **state)
{
	(void)state;
	struct mmio_result r;
	struct dev d = { 0 };
	struct mmio_cpu c = cpu64();

	/* mov %eax,(%rbx) = 89 03; rbx = DEV_GPA (identity-mapped). */
	c.gpr[RBX] = DEV_GPA;
	c.gpr[RAX] = 0xdeadbeefcafef00dull;
	assert_int_equal(run(B(0x89, 0x03), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.len, 2);
	assert_int_equal(r.size, 4);
	assert_true(r.write && !r.read);
	assert_int_equal(d.reg, 0xcafef00d);

	/* mov %rax,(%rbx) = 48 89 03 */
	assert_int_equal(run(B(0x48, 0x89, 0x03), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.len, 3);
	assert_int_equal(d.last_size, 8);
	assert_int_equal(d.reg, 0xdeadbeefcafef00dull);

	/* mov %ax,(%rbx) = 66 89 03 */
	d.reg = 0;
	assert_int_equal(run(B(0x66, 0x89, 0x03), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(d.last_size, 2);
	assert_int_equal(d.reg, 0xf00d);

	/* mov %al,(%rbx) = 88 03 */
	d.reg = 0;
	assert_int_equal(run(B(0x88, 0x03), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(d.last_size, 1);
	assert_int_equal(d.reg, 0x0d);

	/* Loads: 32-bit zero-extends, 16 and 8 keep the upper bits. */
	d.reg = 0x8877665544332211ull;
	c.gpr[RCX] = 0xffffffffffffffffull;
	/* mov (%rbx),%ecx = 8b 0b */
	assert_int_equal(run(B(0x8b, 0x0b), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[RCX], 0x44332211);
	assert_true(r.read && !r.write);
	c.gpr[RCX] = 0xffffffffffffffffull;
	/* mov (%rbx),%cx = 66 8b 0b */
	assert_int_equal(run(B(0x66, 0x8b, 0x0b), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[RCX], 0xffffffffffff2211ull);
	/* mov (%rbx),%cl = 8a 0b */
	c.gpr[RCX] = 0xffffffffffffffffull;
	assert_int_equal(run(B(0x8a, 0x0b), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[RCX], 0xffffffffffffff11ull);
	/* mov (%rbx),%r9 = 4c 8b 0b */
	assert_int_equal(run(B(0x4c, 0x8b, 0x0b), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[R9], 0x8877665544332211ull);
	assert_int_equal(r.len, 3);
}

static void test_mov_high_byte_and_rex_byte_regs(void **state)
{
	(void)state;
	struct mmio_result r;
	struct dev d = { .reg = 0x5a };
	struct mmio_cpu c = cpu64();
	c.gpr[RBX] = DEV_GPA;
	c.gpr[RAX] = 0x1234;
	/* mov (%rbx),%ah = 8a 23: AH is register 4 without REX. */
	c.gpr[RSP] = 0x7777;
	assert_int_equal(run(B(0x8a, 0x23), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[RAX], 0x5a34);
	assert_int_equal(c.gpr[RSP], 0x7777);
	/* mov (%rbx),%spl = 40 8a 23: with any REX it is SPL. */
	assert_int_equal(run(B(0x40, 0x8a, 0x23), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[RSP], 0x775a);
	assert_int_equal(c.gpr[RAX], 0x5a34);
	/* mov %bh,(%rbx) = 88 3b */
	c.gpr[RBX] = DEV_GPA;       /* BH = (DEV_GPA >> 8) & 0xff = 0x00 */
	c.gpr[RBX] |= 0;
	d.reg = 0xff;
	assert_int_equal(run(B(0x88, 0x3b), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(d.reg, (DEV_GPA >> 8) & 0xff);
	/* mov %dil,(%rbx) = 40 88 3b */
	c.gpr[RDI] = 0xabcd;
	assert_int_equal(run(B(0x40, 0x88, 0x3b), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(d.reg, 0xcd);
}

static void test_mov_immediates(void **state)
{
	(void)state;
	struct mmio_result r;
	struct dev d = { 0 };
	struct mmio_cpu c = cpu64();
	c.gpr[RDX] = DEV_GPA - 0x30;
	/* movl $0x12345678,0x30(%rdx) = c7 42 30 78 56 34 12 */
	assert_int_equal(run(B(0xc7, 0x42, 0x30, 0x78, 0x56, 0x34, 0x12), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.len, 7);
	assert_int_equal(d.reg, 0x12345678);
	/* movq $-2,0x30(%rdx) = 48 c7 42 30 fe ff ff ff: imm32 sign-extended */
	assert_int_equal(run(B(0x48, 0xc7, 0x42, 0x30, 0xfe, 0xff, 0xff, 0xff), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(d.reg, 0xfffffffffffffffeull);
	assert_int_equal(d.last_size, 8);
	/* movw $0xbeef,0x30(%rdx) = 66 c7 42 30 ef be */
	d.reg = 0;
	assert_int_equal(run(B(0x66, 0xc7, 0x42, 0x30, 0xef, 0xbe), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.len, 6);
	assert_int_equal(d.reg, 0xbeef);
	/* movb $0x7f,0x30(%rdx) = c6 42 30 7f */
	assert_int_equal(run(B(0xc6, 0x42, 0x30, 0x7f), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.len, 4);
	assert_int_equal(d.reg, 0xbe7f);
	/* C7 /1 is not a mov. */
	assert_int_equal(run(B(0xc7, 0x4a, 0x30, 0, 0, 0, 0), &c, DEV_GPA, &d, &r), MMIO_NOT_EMULATED);
	assert_non_null(strstr(r.why, "not emulated"));
}

static void test_moffs(void **state)
{
	(void)state;
	struct mmio_result r;
	struct dev d = { .reg = 0xa1a2a3a4a5a6a7a8ull };
	struct mmio_cpu c = cpu64();
	/* movabs 0xfee00030,%eax = a1 + 8-byte address */
	assert_int_equal(run(B(0xa1, 0x30, 0x00, 0xe0, 0xfe, 0, 0, 0, 0), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.len, 9);
	assert_int_equal(c.gpr[RAX], 0xa5a6a7a8);
	/* movabs %rax,0xfee00030 = 48 a3 + 8 bytes */
	c.gpr[RAX] = 0x0102030405060708ull;
	assert_int_equal(run(B(0x48, 0xa3, 0x30, 0x00, 0xe0, 0xfe, 0, 0, 0, 0), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.len, 10);
	assert_int_equal(d.reg, 0x0102030405060708ull);
	/* addr32 mov 0xfee00030,%al = 67 a0 + 4 bytes */
	assert_int_equal(run(B(0x67, 0xa0, 0x30, 0x00, 0xe0, 0xfe), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.len, 6);
	assert_int_equal(c.gpr[RAX], 0x0102030405060708ull);
	/* 32-bit mode: mov %ax,%ds:0xfee00030 = 66 a3 + 4 bytes, DS base 0 */
	struct mmio_cpu c32 = cpu64();
	c32.mode = INSN_MODE_32;
	c32.gpr[RAX] = 0xffff;
	assert_int_equal(run(B(0x66, 0xa3, 0x30, 0x00, 0xe0, 0xfe), &c32, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.len, 6);
	assert_int_equal(d.last_size, 2);
	assert_int_equal(d.reg & 0xffff, 0xffff);
	/* A wrong page offset is refused (the bytes are not the faulting access). */
	assert_int_equal(run(B(0x66, 0xa3, 0x34, 0x00, 0xe0, 0xfe), &c32, DEV_GPA, &d, &r), MMIO_NOT_EMULATED);
	assert_non_null(strstr(r.why, "not the faulting address"));
}

/* ---- addressing modes --------------------------------------------------- */

static void test_sib_disp_riprel(void **state)
{
	(void)state;
	struct mmio_result r;
	struct dev d = { .reg = 0x42 };
	struct mmio_cpu c = cpu64();

	/* mov 0x10(%rbx,%rcx,4),%eax = 8b 44 8b 10 */
	c.gpr[RBX] = DEV_GPA - 0x10 - 4 * 3;
	c.gpr[RCX] = 3;
	assert_int_equal(run(B(0x8b, 0x44, 0x8b, 0x10), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.la, DEV_GPA);
	assert_int_equal(r.len, 4);
	/* mov -0x8(%r12,%r13,8),%r14d = 47 8b 74 ec f8 */
	c.gpr[R12] = DEV_GPA + 8 - 8 * 2;
	c.gpr[R13] = 2;
	assert_int_equal(run(B(0x47, 0x8b, 0x74, 0xec, 0xf8), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[R14], 0x42);
	/* mov 0x100(%rsp),%edx = 8b 94 24 00 01 00 00 (SIB with no index, disp32) */
	c.gpr[RSP] = DEV_GPA - 0x100;
	assert_int_equal(run(B(0x8b, 0x94, 0x24, 0x00, 0x01, 0x00, 0x00), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.len, 7);
	assert_int_equal(c.gpr[RDX], 0x42);
	/* mov 0xfee00030(,%rsi,1),%eax = 8b 04 35 30 00 e0 fe: no base, disp32 */
	c.gpr[RSI] = 0;
	assert_int_equal(run(B(0x8b, 0x04, 0x35, 0x30, 0x00, 0xe0, 0xfe), &c, 0xfee00030, &d, &r), MMIO_OK);
	assert_int_equal(r.la, 0xfffffffffee00030ull);   /* disp32 sign-extends in 64-bit mode */
	/* mov (%r13),%eax = 41 8b 45 00 (r13 base needs mod 01 disp8 0) */
	c.gpr[R13] = DEV_GPA;
	assert_int_equal(run(B(0x41, 0x8b, 0x45, 0x00), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.len, 4);
	/* RIP-relative: movl $1,0x1234(%rip) = c7 05 34 12 00 00 01 00 00 00 (len 10) */
	c.rip = DEV_GPA - 0x1234 - 10;
	assert_int_equal(run(B(0xc7, 0x05, 0x34, 0x12, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00), &c, DEV_GPA, &d, &r),
			 MMIO_OK);
	assert_int_equal(r.la, DEV_GPA);
	assert_int_equal(d.reg, 1);
	/* In 32-bit mode the same ModRM is an absolute disp32. */
	struct mmio_cpu c32 = cpu64();
	c32.mode = INSN_MODE_32;
	assert_int_equal(run(B(0x8b, 0x05, 0x30, 0x00, 0xe0, 0xfe), &c32, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.la, DEV_GPA);
	assert_int_equal(c32.gpr[RAX], 1);
	/* 32-bit addressing wraps at 4 GiB: 0x10(%eax) with eax = -0x10 + DEV_GPA */
	c32.gpr[RAX] = 0xffffffff00000000ull | (DEV_GPA - 0x10);
	assert_int_equal(run(B(0x8b, 0x48, 0x10), &c32, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.la, DEV_GPA);
}

static void test_segments(void **state)
{
	(void)state;
	struct mmio_result r;
	struct dev d = { .reg = 7 };
	struct mmio_cpu c = cpu64();
	/* 64-bit: %fs:0x30 via mov %fs:0x30,%eax = 64 8b 04 25 30 00 00 00 */
	c.seg_base[SEG_FS] = 0xfee00000;
	c.seg_base[SEG_DS] = 0x5000;   /* ignored in 64-bit mode */
	assert_int_equal(run(B(0x64, 0x8b, 0x04, 0x25, 0x30, 0, 0, 0), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.la, DEV_GPA);
	assert_int_equal(c.gpr[RAX], 7);
	/* 64-bit: DS override has no base */
	c.gpr[RBX] = DEV_GPA;
	assert_int_equal(run(B(0x3e, 0x8b, 0x03), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.la, DEV_GPA);
	/* 32-bit: ES override adds ES's base; (%ebp) defaults to SS. */
	struct mmio_cpu c32 = cpu64();
	c32.mode = INSN_MODE_32;
	c32.seg_base[SEG_ES] = 0x100000;
	c32.seg_base[SEG_SS] = 0x200000;
	c32.gpr[RBX] = DEV_GPA - 0x100000;
	assert_int_equal(run(B(0x26, 0x8b, 0x03), &c32, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.la, DEV_GPA);
	c32.gpr[RBP] = DEV_GPA - 0x200000;
	/* mov 0x0(%ebp),%eax = 8b 45 00 */
	assert_int_equal(run(B(0x8b, 0x45, 0x00), &c32, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.la, DEV_GPA);
}

static void test_real_mode_16bit_addressing(void **state)
{
	(void)state;
	struct mmio_result r;
	struct dev d = { .reg = 0x1234 };
	struct mmio_cpu c = cpu64();
	c.mode = INSN_MODE_16;
	/* Device at 0xB8030 (a legacy hole), DS = 0xB800 (base 0xB8000). */
	u64 gpa = 0xb8030;
	c.seg_base[SEG_DS] = 0xb8000;
	c.seg_base[SEG_SS] = 0xb0000;
	/* mov (%bx,%si),%ax = 8b 00; bx+si = 0x30, 16-bit operand */
	c.gpr[RBX] = 0xffff0020;       /* only the low 16 bits count... */
	c.gpr[RSI] = 0x0010;
	c.gpr[RAX] = 0xaaaaaaaaaaaaaaaaull;
	assert_int_equal(run(B(0x8b, 0x00), &c, gpa, &d, &r), MMIO_OK);
	assert_int_equal(r.la, gpa);
	assert_int_equal(r.size, 2);
	assert_int_equal(c.gpr[RAX], 0xaaaaaaaaaaaa1234ull);
	/* mov %eax,0x30 = 66 a3 30 00 (moffs16, 32-bit operand) */
	c.gpr[RAX] = 0x11223344;
	assert_int_equal(run(B(0x66, 0xa3, 0x30, 0x00), &c, gpa, &d, &r), MMIO_OK);
	assert_int_equal(r.len, 4);
	assert_int_equal(d.reg, 0x11223344);
	/* mov 0x8030(%bp),%al: 8a 86 30 80; bp defaults to SS; 0x8030+bp wraps at 64 KiB */
	c.gpr[RBP] = 0x8000;           /* 0x8000 + 0x8030 = 0x10030 -> 0x0030 */
	c.seg_base[SEG_SS] = 0xb8000;
	assert_int_equal(run(B(0x8a, 0x86, 0x30, 0x80), &c, gpa, &d, &r), MMIO_OK);
	assert_int_equal(r.la, gpa);
	assert_int_equal(c.gpr[RAX] & 0xff, 0x44);
	/* mov 0x30,%ax via mod 00 rm 110: 8b 06 30 00 */
	assert_int_equal(run(B(0x8b, 0x06, 0x30, 0x00), &c, gpa, &d, &r), MMIO_OK);
	assert_int_equal(r.len, 4);
	/* addr32 in real mode: mov (%ebx),%ax = 67 8b 03 */
	c.gpr[RBX] = 0x30;
	assert_int_equal(run(B(0x67, 0x8b, 0x03), &c, gpa, &d, &r), MMIO_OK);
	assert_int_equal(r.la, gpa);
	/* disp8 -1: mov -1(%di),%al = 8a 45 ff */
	c.gpr[RDI] = 0x31;
	assert_int_equal(run(B(0x8a, 0x45, 0xff), &c, gpa, &d, &r), MMIO_OK);
	assert_int_equal(r.la, gpa);
}

/* ---- movzx/movsx, ALU, test, xchg, bt ------------------------------------ */

static void test_movzx_movsx(void **state)
{
	(void)state;
	struct mmio_result r;
	struct dev d = { .reg = 0x80f0 };
	struct mmio_cpu c = cpu64();
	c.gpr[RBX] = DEV_GPA;
	/* movzbl (%rbx),%eax = 0f b6 03 */
	c.gpr[RAX] = ~0ull;
	assert_int_equal(run(B(0x0f, 0xb6, 0x03), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[RAX], 0xf0);
	assert_int_equal(d.last_size, 1);
	/* movzwl (%rbx),%eax = 0f b7 03 */
	assert_int_equal(run(B(0x0f, 0xb7, 0x03), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[RAX], 0x80f0);
	assert_int_equal(d.last_size, 2);
	/* movsbq (%rbx),%rax = 48 0f be 03 */
	assert_int_equal(run(B(0x48, 0x0f, 0xbe, 0x03), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[RAX], 0xfffffffffffffff0ull);
	/* movswl (%rbx),%eax = 0f bf 03: 32-bit destination zero-extends */
	assert_int_equal(run(B(0x0f, 0xbf, 0x03), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[RAX], 0xffff80f0ull);
	/* movsbw (%rbx),%ax = 66 0f be 03: 16-bit destination keeps the rest */
	c.gpr[RAX] = 0x1234567800000000ull;
	assert_int_equal(run(B(0x66, 0x0f, 0xbe, 0x03), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[RAX], 0x123456780000fff0ull);
}

/* The host's own flags for `op` on 32-bit operands, for cross-checking. */
static u64 host_flags32(int op, u32 a, u32 b, u64 cf_in, u32 *res)
{
	u64 f = cf_in ? 1 : 0;
	u32 x = a;
#define HOST(insn) __asm__ volatile("push %[f]; popfq; " insn " %[b],%[x]; pushfq; pop %[f]" \
					: [x] "+r"(x), [f] "+r"(f) : [b] "r"(b) : "cc")
	switch (op) {
	case 0: HOST("addl"); break;
	case 1: HOST("orl"); break;
	case 2: HOST("adcl"); break;
	case 3: HOST("sbbl"); break;
	case 4: HOST("andl"); break;
	case 5: HOST("subl"); break;
	case 6: HOST("xorl"); break;
	case 7: HOST("cmpl"); break;
	}
#undef HOST
	*res = x;
	return f;
}

static void test_alu_flags_vs_host(void **state)
{
	(void)state;
	static const u32 vals[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0x80000001,
				    0xfffffffe, 0xffffffff, 0x12345678, 0x0f0f0f0f, 0x10 };
	srand(1);
	for (int op = 0; op < 8; op++) {
		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]) + 200; i++) {
			for (int cf = 0; cf < 2; cf++) {
				u32 a = i < sizeof(vals) / sizeof(vals[0]) ? vals[i] : (u32)rand() * 2u + (u32)(rand() & 1);
				u32 bv = vals[(i * 7 + 3) % (sizeof(vals) / sizeof(vals[0]))];
				if (i >= sizeof(vals) / sizeof(vals[0]))
					bv = (u32)rand() ^ ((u32)rand() << 16);
				struct dev d = { .reg = a };
				struct mmio_cpu c = cpu64();
				c.gpr[RBX] = DEV_GPA;
				c.gpr[RCX] = bv;
				c.rflags = 0x2 | (u64)cf;
				struct mmio_result r;
				/* op %ecx,(%rbx): opcode op*8+1, ModRM 0b (reg ecx, rm (rbx)) */
				u8 insn[2] = { (u8)(op * 8 + 1), 0x0b };
				assert_int_equal(mmio_emulate(insn, 2, &c, DEV_GPA, dev_access, &d, &r), MMIO_OK);
				u32 hres;
				u64 hf = host_flags32(op, a, bv, (u64)cf, &hres);
				u64 mask = RFL_ARITH;
				if (op == 1 || op == 4 || op == 6)
					mask &= ~RFL_AF;           /* undefined for logic ops */
				if ((c.rflags & mask) != (hf & mask) || (op != 7 && (u32)d.reg != hres)) {
					print_error("%s %#x,%#x cf %d: hv flags %#llx res %#llx, host %#llx res %#x\n",
						    r.mnemonic, a, bv, cf, (unsigned long long)c.rflags,
						    (unsigned long long)d.reg, (unsigned long long)hf, hres);
					fail();
				}
				if (op == 7)
					assert_int_equal(d.reg, a);   /* cmp does not write */
				assert_int_equal(d.nwrite, op == 7 ? 0 : 1);
			}
		}
	}
}

static void test_alu_forms(void **state)
{
	(void)state;
	struct mmio_result r;
	struct dev d;
	struct mmio_cpu c = cpu64();
	c.gpr[RBX] = DEV_GPA;

	/* orl $0x100,(%rbx) = 81 0b 00 01 00 00 */
	d = (struct dev){ .reg = 0x1 };
	assert_int_equal(run(B(0x81, 0x0b, 0x00, 0x01, 0x00, 0x00), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_string_equal(r.mnemonic, "or");
	assert_int_equal(d.reg, 0x101);
	assert_true(r.read && r.write);
	/* andl $-17,(%rbx) = 83 23 ef (imm8 sign-extended) */
	d = (struct dev){ .reg = 0xffffffff };
	assert_int_equal(run(B(0x83, 0x23, 0xef), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_string_equal(r.mnemonic, "and");
	assert_int_equal(d.reg, 0xffffffef);
	/* andq $-17,(%rbx) = 48 83 23 ef */
	d = (struct dev){ .reg = ~0ull };
	assert_int_equal(run(B(0x48, 0x83, 0x23, 0xef), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(d.reg, 0xffffffffffffffefull);
	/* lock orb $0x80,(%rbx) = f0 80 0b 80 */
	d = (struct dev){ .reg = 0x01 };
	assert_int_equal(run(B(0xf0, 0x80, 0x0b, 0x80), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(d.reg, 0x81);
	assert_true(c.rflags & RFL_SF);
	/* cmpl $5,(%rbx) = 83 3b 05 -> ZF, no write */
	d = (struct dev){ .reg = 5 };
	assert_int_equal(run(B(0x83, 0x3b, 0x05), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_true(c.rflags & RFL_ZF);
	assert_int_equal(d.nwrite, 0);
	assert_false(r.write);
	/* lock cmp is #UD: refused */
	assert_int_equal(run(B(0xf0, 0x83, 0x3b, 0x05), &c, DEV_GPA, &d, &r), MMIO_NOT_EMULATED);
	/* lock mov is #UD: refused */
	assert_int_equal(run(B(0xf0, 0x89, 0x03), &c, DEV_GPA, &d, &r), MMIO_NOT_EMULATED);
	/* add (%rbx),%ecx = 03 0b: register destination, zero-extended */
	d = (struct dev){ .reg = 1 };
	c.gpr[RCX] = 0xffffffff00000002ull;
	assert_int_equal(run(B(0x03, 0x0b), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[RCX], 3);
	assert_int_equal(d.nwrite, 0);
	/* sub (%rbx),%cl = 2a 0b */
	c.gpr[RCX] = 0x1200;
	assert_int_equal(run(B(0x2a, 0x0b), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[RCX], 0x12ff);
	assert_true(c.rflags & RFL_CF);
	/* xorw %dx,(%rbx) = 66 31 13 */
	d = (struct dev){ .reg = 0xffff0f0f };
	c.gpr[RDX] = 0xffff;
	assert_int_equal(run(B(0x66, 0x31, 0x13), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(d.reg, 0xfffff0f0);
	assert_int_equal(d.last_size, 2);
}

static void test_test_xchg_bt(void **state)
{
	(void)state;
	struct mmio_result r;
	struct dev d;
	struct mmio_cpu c = cpu64();
	c.gpr[RBX] = DEV_GPA;

	/* testl $0x1000,(%rbx) = f7 03 00 10 00 00 */
	d = (struct dev){ .reg = 0x0fff };
	c.rflags = 0x2 | RFL_CF | RFL_OF;
	assert_int_equal(run(B(0xf7, 0x03, 0x00, 0x10, 0x00, 0x00), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.rflags & (RFL_ZF | RFL_CF | RFL_OF), RFL_ZF);
	assert_int_equal(d.nwrite, 0);
	/* testb $1,(%rbx) = f6 03 01 */
	d.reg = 1;
	assert_int_equal(run(B(0xf6, 0x03, 0x01), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_false(c.rflags & RFL_ZF);
	/* test %eax,(%rbx) = 85 03 */
	c.gpr[RAX] = 2;
	assert_int_equal(run(B(0x85, 0x03), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_true(c.rflags & RFL_ZF);
	/* F7 /2 (not) is refused, as is F7 /1 (an alias not every vendor documents) */
	assert_int_equal(run(B(0xf7, 0x13), &c, DEV_GPA, &d, &r), MMIO_NOT_EMULATED);
	assert_int_equal(run(B(0xf7, 0x0b, 0, 0, 0, 0), &c, DEV_GPA, &d, &r), MMIO_NOT_EMULATED);

	/* xchg %eax,(%rbx) = 87 03 */
	d = (struct dev){ .reg = 0x55 };
	c.gpr[RAX] = 0xffffffff000000aaull;
	assert_int_equal(run(B(0x87, 0x03), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(c.gpr[RAX], 0x55);
	assert_int_equal(d.reg, 0xaa);
	assert_int_equal(d.nread, 1);
	assert_int_equal(d.nwrite, 1);

	/* btl $3,(%rbx) = 0f ba 23 03 */
	d = (struct dev){ .reg = 0x8 };
	c.rflags = 0x2;
	assert_int_equal(run(B(0x0f, 0xba, 0x23, 0x03), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_string_equal(r.mnemonic, "bt");
	assert_true(c.rflags & RFL_CF);
	assert_int_equal(d.nwrite, 0);
	/* btsl $35,(%rbx) -> bit 3 (immediate taken modulo 32) = 0f ba 2b 23 */
	d = (struct dev){ .reg = 0 };
	assert_int_equal(run(B(0x0f, 0xba, 0x2b, 0x23), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(d.reg, 0x8);
	assert_false(c.rflags & RFL_CF);
	/* lock btr %ecx,(%rbx) = f0 0f b3 0b, ecx = 3 */
	c.gpr[RCX] = 3;
	assert_int_equal(run(B(0xf0, 0x0f, 0xb3, 0x0b), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(d.reg, 0);
	assert_true(c.rflags & RFL_CF);
	/* btc %ecx,(%rbx) with ecx = 35: the operand is 4 bytes further on */
	c.gpr[RCX] = 35;
	c.gpr[RBX] = DEV_GPA - 4;
	d = (struct dev){ .reg = 0 };
	assert_int_equal(run(B(0x0f, 0xbb, 0x0b), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.la, DEV_GPA);
	assert_int_equal(d.reg, 0x8);
	/* ... and with ecx = -29 the operand is 4 bytes before (bit 3) */
	c.gpr[RCX] = (u32)-29;
	c.gpr[RBX] = DEV_GPA + 4;
	assert_int_equal(run(B(0x0f, 0xa3, 0x0b), &c, DEV_GPA, &d, &r), MMIO_OK);
	assert_int_equal(r.la, DEV_GPA);
	assert_true(c.rflags & RFL_CF);
	/* lock bt is #UD: refused */
	assert_int_equal(run(B(0xf0, 0x0f, 0xa3, 0x0b), &c, DEV_GPA, &d, &r), MMIO_NOT_EMULATED);
}

/*
 * What a compiler emits for volatile device accesses: GCC 12 (-O2 and -Os,
 * x86-64) on readb/w/l/q- and writeb/w/l/q-style accessors, an xAPIC EOI
 * write and a sign-extending read. Bytes copied from `objdump -d` of
 *   uint8_t rb(volatile uint8_t *p) { return *p; }   ... and friends.
 * Each: the access size and direction, and the register result.
 */
static void test_compiler_volatile_accesses(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		u8 b[10];
		size_t n;
		unsigned size;
		bool write;
		u64 rax_after;     /* for reads: RAX afterwards (RAX starts all ones) */
		u64 dev_after;     /* for writes: the register afterwards (starts 0) */
	} cases[] = {
		{ "movzbl (%rdi),%eax", { 0x0f, 0xb6, 0x07 }, 3, 1, false, 0x88, 0 },
		{ "movzwl (%rdi),%eax", { 0x0f, 0xb7, 0x07 }, 3, 2, false, 0x7788, 0 },
		{ "mov (%rdi),%eax", { 0x8b, 0x07 }, 2, 4, false, 0x55667788, 0 },
		{ "mov (%rdi),%rax", { 0x48, 0x8b, 0x07 }, 3, 8, false, 0x1122334455667788ull, 0 },
		{ "mov (%rdi),%al (-Os)", { 0x8a, 0x07 }, 2, 1, false, 0xffffffffffffff88ull, 0 },
		{ "mov (%rdi),%ax (-Os)", { 0x66, 0x8b, 0x07 }, 3, 2, false, 0xffffffffffff7788ull, 0 },
		{ "movswl (%rdi),%eax", { 0x0f, 0xbf, 0x07 }, 3, 2, false, 0x7788, 0 },
		{ "mov %sil,(%rdi)", { 0x40, 0x88, 0x37 }, 3, 1, true, 0, 0xf6 },
		{ "mov %si,(%rdi)", { 0x66, 0x89, 0x37 }, 3, 2, true, 0, 0xe5f6 },
		{ "mov %esi,(%rdi)", { 0x89, 0x37 }, 2, 4, true, 0, 0xc3d4e5f6 },
		{ "mov %rsi,(%rdi)", { 0x48, 0x89, 0x37 }, 3, 8, true, 0, 0xa1b2c3d4e5f6ull },
		{ "movb $0x5a,(%rdi)", { 0xc6, 0x07, 0x5a }, 3, 1, true, 0, 0x5a },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dev d = { .reg = cases[i].write ? 0 : 0x1122334455667788ull };
		struct mmio_cpu c = cpu64();
		struct mmio_result r;
		c.gpr[RDI] = DEV_GPA;
		c.gpr[RSI] = 0xa1b2c3d4e5f6ull;
		c.gpr[RAX] = ~0ull;
		int rc = mmio_emulate(cases[i].b, cases[i].n, &c, DEV_GPA, dev_access, &d, &r);
		if (rc != MMIO_OK || r.len != cases[i].n || d.last_size != cases[i].size ||
		    r.write != cases[i].write || (cases[i].write ? d.reg != cases[i].dev_after
							    : c.gpr[RAX] != cases[i].rax_after)) {
			print_error("%s: rc %d len %u size %u write %d rax %#llx dev %#llx (%s)\n", cases[i].what, rc,
				    r.len, d.last_size, r.write, (unsigned long long)c.gpr[RAX],
				    (unsigned long long)d.reg, r.why);
			fail();
		}
	}
	/* xAPIC EOI: movl $0x0,0xb0(%rdi) (-O2) and mov %eax,0xb0(%rdi) (-Os). */
	struct dev d = { .reg = ~0ull };
	struct mmio_cpu c = cpu64();
	struct mmio_result r;
	c.gpr[RDI] = 0xfee00000;
	c.gpr[RAX] = 0;
	assert_int_equal(mmio_emulate((const u8[]){ 0xc7, 0x87, 0xb0, 0, 0, 0, 0, 0, 0, 0 }, 10, &c, 0xfee000b0,
				      dev_access, &d, &r), MMIO_OK);
	assert_int_equal(r.len, 10);
	assert_int_equal(d.reg, 0xffffffff00000000ull);
	d.reg = ~0ull;
	assert_int_equal(mmio_emulate((const u8[]){ 0x89, 0x87, 0xb0, 0, 0, 0 }, 6, &c, 0xfee000b0, dev_access, &d, &r),
			 MMIO_OK);
	assert_int_equal(r.len, 6);
	assert_int_equal(d.reg, 0xffffffff00000000ull);
}

/* ---- refusals ------------------------------------------------------------ */

static void test_refusals_leave_state(void **state)
{
	(void)state;
	struct mmio_result r;
	struct dev d = { .reg = 9 };
	struct mmio_cpu c = cpu64(), before;
	c.gpr[RBX] = DEV_GPA;
	before = c;
	static const struct { const u8 b[8]; size_t n; const char *why; } cases[] = {
		{ { 0xa5 }, 1, "string instruction" },              /* movsl */
		{ { 0xf3, 0xab }, 2, "string instruction" },        /* rep stosl */
		{ { 0x0f, 0x10, 0x03 }, 3, "two-byte opcode" },     /* movups (%rbx),%xmm0 */
		{ { 0x89, 0xc3 }, 2, "register operand" },          /* mov %eax,%ebx */
		{ { 0xff, 0x03 }, 2, "opcode" },                    /* incl (%rbx) */
		{ { 0xf3, 0x0f, 0xb8, 0x03 }, 4, "rep" },           /* popcnt (%rbx),%eax */
		{ { 0x8b }, 1, "truncated" },
		{ { 0x8b, 0x84, 0x24, 0x00 }, 4, "truncated" },
		{ { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66 }, 8, "truncated" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = mmio_emulate(cases[i].b, cases[i].n, &c, DEV_GPA, dev_access, &d, &r);
		assert_int_equal(rc, MMIO_NOT_EMULATED);
		if (!strstr(r.why, cases[i].why) || !strstr(r.why, "not emulated")) {
			print_error("case %zu: why = \"%s\"\n", i, r.why);
			fail();
		}
		assert_memory_equal(&c, &before, sizeof(c));
	}
	assert_int_equal(d.nread + d.nwrite, 0);
	/* 15 prefixes and no opcode: too long. */
	u8 many[16];
	memset(many, 0x66, sizeof(many));
	assert_int_equal(mmio_emulate(many, sizeof(many), &c, DEV_GPA, dev_access, &d, &r), MMIO_NOT_EMULATED);
	assert_non_null(strstr(r.why, "longer than 15"));
	/* The why names the bytes. */
	assert_int_equal(mmio_emulate((const u8[]){ 0xff, 0x03 }, 2, &c, DEV_GPA, dev_access, &d, &r),
			 MMIO_NOT_EMULATED);
	assert_string_equal(r.why, "not emulated: opcode (ff 03)");
	/* An access that crosses the page is refused; so is a refused device access. */
	c.gpr[RBX] = 0xfee00ffe;
	assert_int_equal(mmio_emulate((const u8[]){ 0x8b, 0x03 }, 2, &c, 0xfee00ffe, dev_access, &d, &r),
			 MMIO_NOT_EMULATED);
	assert_non_null(strstr(r.why, "crosses a page"));
	c.gpr[RBX] = DEV_GPA;
	d.refuse = true;
	before = c;
	assert_int_equal(mmio_emulate((const u8[]){ 0x8b, 0x03 }, 2, &c, DEV_GPA, dev_access, &d, &r),
			 MMIO_ACCESS_FAILED);
	assert_memory_equal(&c, &before, sizeof(c));
	assert_non_null(strstr(r.why, "refused by the device"));
}

/* ---- fuzz ---------------------------------------------------------------- */

/*
 * Random bytes, in every mode, at every length (the MMIO emulator and the
 * INS/OUTS prefix decoder): never crashes, never reads
 * past `avail` (each input is its own allocation of exactly `avail` bytes,
 * and this test is built with AddressSanitizer, which stops on any read
 * beyond it), and a success always has 1 <= len <= avail.
 */
static bool fuzz_access(void *ctx, u64 gpa, unsigned size, bool is_write, u64 *val)
{
	(void)gpa;
	(void)is_write;
	unsigned *n = ctx;
	(*n)++;
	assert_true(size == 1 || size == 2 || size == 4 || size == 8);
	*val = 0x0123456789abcdefull;
	return true;
}

static void test_fuzz(void **state)
{
	(void)state;
	static const enum insn_mode modes[3] = { INSN_MODE_16, INSN_MODE_32, INSN_MODE_64 };
	static const u8 interesting[] = { 0x66, 0x67, 0xf0, 0x2e, 0x64, 0x48, 0x41, 0x0f, 0x88, 0x89, 0x8a,
					  0x8b, 0xc7, 0x81, 0x83, 0xa1, 0xa3, 0xba, 0xb6, 0x04, 0x05, 0x44, 0x84 };
	unsigned ok = 0, accesses = 0;
	srand(12345);
	for (int iter = 0; iter < 300000; iter++) {
		size_t avail = (size_t)(rand() % 17);
		u8 *buf = malloc(avail ? avail : 1);
		assert_non_null(buf);
		for (size_t i = 0; i < avail; i++)
			buf[i] = (rand() & 1) ? interesting[rand() % sizeof(interesting)] : (u8)rand();
		struct mmio_cpu c = cpu64();
		c.mode = modes[iter % 3];
		for (int i = 0; i < 16; i++)
			c.gpr[i] = (u64)rand() << 32 | (u64)rand();
		struct mmio_result r;
		u64 gpa = 0xfee00000 | ((u64)rand() & 0xfff);
		struct strio_insn si;
		int slen = insn_string_io(buf, avail, c.mode, &si);
		if (slen > 0)
			assert_true((size_t)slen <= avail && si.len == (unsigned)slen &&
				    (si.opsize == 1 || si.opsize == 2 || si.opsize == 4));
		else
			assert_true(slen == INSN_ERR_MISMATCH || slen == INSN_ERR_TRUNCATED ||
				    slen == INSN_ERR_TOO_LONG);
		int rc = mmio_emulate(buf, avail, &c, gpa, fuzz_access, &accesses, &r);
		if (rc == MMIO_OK) {
			ok++;
			assert_true(r.len >= 1 && r.len <= avail && r.len <= INSN_MAX_LEN);
			assert_true(r.read || r.write);
		} else {
			assert_int_equal(rc, MMIO_NOT_EMULATED);
			assert_non_null(strstr(r.why, "not emulated: "));
		}
		free(buf);
	}
	/* With random gprs the page-offset check rejects most; the moffs and
	 * disp32 forms with matching offsets make some succeed. */
	print_message("  fuzz: 300000 inputs, %u emulated, %u device accesses\n", ok, accesses);

	/* Same, with the address check satisfied: every register points at gpa. */
	ok = 0;
	for (int iter = 0; iter < 200000; iter++) {
		size_t avail = 1 + (size_t)(rand() % 15);
		u8 *buf = malloc(avail);
		assert_non_null(buf);
		for (size_t i = 0; i < avail; i++)
			buf[i] = (rand() % 3) ? interesting[rand() % sizeof(interesting)] : (u8)rand();
		struct mmio_cpu c = cpu64();
		c.mode = modes[iter % 3];
		for (int i = 0; i < 16; i++)
			c.gpr[i] = 0;
		struct mmio_result r;
		int rc = mmio_emulate(buf, avail, &c, 0, fuzz_access, &accesses, &r);
		if (rc == MMIO_OK) {
			ok++;
			assert_true(r.len >= 1 && r.len <= avail);
		}
		free(buf);
	}
	print_message("  fuzz: 200000 inputs with zeroed registers, %u emulated\n", ok);
	assert_true(ok > 0);
}

/* ---- INS/OUTS prefixes -------------------------------------------------- */

static void test_string_io_decode(void **state)
{
	(void)state;
	struct strio_insn s;
	/* rep outsb = f3 6e */
	assert_int_equal(insn_string_io((const u8[]){ 0xf3, 0x6e }, 2, INSN_MODE_64, &s), 2);
	assert_true(s.rep && !s.in);
	assert_int_equal(s.opsize, 1);
	assert_int_equal(s.asize, 8);
	assert_int_equal(s.seg, -1);
	/* insw in 32-bit mode = 66 6d; insl in 16-bit mode = 66 6d */
	assert_int_equal(insn_string_io((const u8[]){ 0x66, 0x6d }, 2, INSN_MODE_32, &s), 2);
	assert_true(s.in && !s.rep);
	assert_int_equal(s.opsize, 2);
	assert_int_equal(s.asize, 4);
	assert_int_equal(insn_string_io((const u8[]){ 0x66, 0x6d }, 2, INSN_MODE_16, &s), 2);
	assert_int_equal(s.opsize, 4);
	assert_int_equal(s.asize, 2);
	/* fs rep outsl with addr32 in 64-bit mode and a REX.W (ignored) = 64 67 f3 48 6f */
	assert_int_equal(insn_string_io((const u8[]){ 0x64, 0x67, 0xf3, 0x48, 0x6f }, 5, INSN_MODE_64, &s), 5);
	assert_int_equal(s.seg, SEG_FS);
	assert_int_equal(s.asize, 4);
	assert_int_equal(s.opsize, 4);
	/* addr32 in real mode */
	assert_int_equal(insn_string_io((const u8[]){ 0x67, 0x6c }, 2, INSN_MODE_16, &s), 2);
	assert_int_equal(s.asize, 4);
	/* not a string I/O instruction, truncated, too long */
	assert_int_equal(insn_string_io((const u8[]){ 0xee }, 1, INSN_MODE_64, &s), INSN_ERR_MISMATCH);
	assert_int_equal(insn_string_io((const u8[]){ 0xf3 }, 1, INSN_MODE_64, &s), INSN_ERR_TRUNCATED);
	u8 many[16];
	memset(many, 0xf3, sizeof(many));
	assert_int_equal(insn_string_io(many, sizeof(many), INSN_MODE_64, &s), INSN_ERR_TOO_LONG);
	/* In 32-bit mode 0x48 is DEC, not a prefix. */
	assert_int_equal(insn_string_io((const u8[]){ 0x48, 0x6e }, 2, INSN_MODE_32, &s), INSN_ERR_MISMATCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mov_store_load_sizes),
		cmocka_unit_test(test_mov_high_byte_and_rex_byte_regs),
		cmocka_unit_test(test_mov_immediates),
		cmocka_unit_test(test_moffs),
		cmocka_unit_test(test_sib_disp_riprel),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_real_mode_16bit_addressing),
		cmocka_unit_test(test_movzx_movsx),
		cmocka_unit_test(test_alu_flags_vs_host),
		cmocka_unit_test(test_alu_forms),
		cmocka_unit_test(test_test_xchg_bt),
		cmocka_unit_test(test_compiler_volatile_accesses),
		cmocka_unit_test(test_refusals_leave_state),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_string_io_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
