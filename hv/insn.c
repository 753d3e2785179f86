/*
 * hv/insn.c - length decoding of the instructions that cause intercepts.
 *
 * Only the handful of instructions listed in enum insn_kind are recognised.
 * The decoder walks the bytes one at a time, never reading past `avail` nor
 * past the architectural limit of 15 bytes, and checks every byte that
 * identifies the instruction against the claimed kind:
 *
 *   [legacy prefixes]* [REX (64-bit only)] opcode [opcode bytes] [imm8]
 *
 * Errors are reported in the order the bytes are consumed: a byte that is
 * needed at position 15 or later gives INSN_ERR_TOO_LONG (even if the caller
 * supplied more bytes), one at or past `avail` gives INSN_ERR_TRUNCATED, and
 * a byte that does not belong to `kind` gives INSN_ERR_MISMATCH. So a wrong
 * opcode is a mismatch even when the rest of the instruction is missing.
 *
 * Prefix handling (Intel SDM Vol. 2 ch. 2.1/2.2, AMD APM Vol. 3 ch. 1.2):
 *  - Legacy prefixes 66 67 F0 F2 F3 2E 36 3E 26 64 65 are accepted in any
 *    order and number; they only add to the length. The decoder does not
 *    judge their legality (e.g. LOCK on these instructions raises #UD in
 *    hardware, so the intercept could not have happened; it is still counted
 *    here as a prefix, as the caller only needs the length).
 *  - In 64-bit mode 40-4F is a REX prefix. Only a REX directly before the
 *    opcode takes effect; a REX followed by another prefix is ignored by the
 *    CPU, but its byte still counts toward the length.
 *  - In 16- and 32-bit mode 40-4F are the one-byte INC/DEC opcodes, so they
 *    are a mismatch for every kind.
 *  - PAUSE is F3 90: 90 is NOP unless a REP prefix is present. The F3 may
 *    sit anywhere in the prefix sequence, but the last F2/F3 must be F3
 *    (F2 90 is a plain NOP). In 64-bit mode REX.B turns 90 into
 *    XCHG r8, rAX, so a REX with B set in front of 90 is a mismatch.
 */
#include "insn.h"

#define REX_B 0x01

static bool is_legacy_prefix(u8 b)
{
	switch (b) {
	case 0x66: /* operand size */
	case 0x67: /* address size */
	case 0xF0: /* LOCK */
	case 0xF2: /* REPNE */
	case 0xF3: /* REP / REPE */
	case 0x2E: /* CS */
	case 0x36: /* SS */
	case 0x3E: /* DS */
	case 0x26: /* ES */
	case 0x64: /* FS */
	case 0x65: /* GS */
		return true;
	default:
		return false;
	}
}

static bool is_rex(u8 b)
{
	return (b & 0xF0) == 0x40;
}

/*
 * Fetch the byte at *pos for the instruction. Returns 0 and stores it in *out,
 * or the error code if the byte would be the 16th or lies beyond `avail`.
 */
static int fetch(const u8 *bytes, size_t avail, size_t pos, u8 *out)
{
	if (pos >= INSN_MAX_LEN)
		return INSN_ERR_TOO_LONG;
	if (pos >= avail)
		return INSN_ERR_TRUNCATED;
	*out = bytes[pos];
	return 0;
}

/* The byte that must follow 0F for a two-byte-opcode kind, or 0 if none. */
static u8 twobyte_opcode(enum insn_kind kind)
{
	switch (kind) {
	case INSN_CPUID:
		return 0xA2;
	case INSN_RDMSR:
		return 0x32;
	case INSN_WRMSR:
		return 0x30;
	case INSN_INVD:
		return 0x08;
	case INSN_WBINVD:
		return 0x09;
	case INSN_RDPMC:
		return 0x33;
	case INSN_RDTSC:
		return 0x31;
	case INSN_VMMCALL:
	case INSN_VMCALL:
	case INSN_XSETBV:
	case INSN_RDTSCP:
		return 0x01; /* group 7, followed by a fixed ModRM byte */
	default:
		return 0;
	}
}

/* The ModRM byte of a 0F 01 xx kind, or 0 if the kind is not one. */
static u8 group7_modrm(enum insn_kind kind)
{
	switch (kind) {
	case INSN_VMMCALL:
		return 0xD9;
	case INSN_VMCALL:
		return 0xC1;
	case INSN_XSETBV:
		return 0xD1;
	case INSN_RDTSCP:
		return 0xF9;
	default:
		return 0;
	}
}

int insn_length(const u8 *bytes, size_t avail, enum insn_mode mode, enum insn_kind kind)
{
	bool long_mode = mode == INSN_MODE_64;
	size_t pos = 0;
	u8 rex = 0;        /* REX in effect (directly before the opcode), or 0 */
	u8 last_rep = 0;   /* last F2/F3 prefix seen, or 0 */
	u8 b;
	int err;

	if (!bytes)
		avail = 0;

	/* Fast path: the usual unprefixed encodings. */
	if (avail >= 2 && bytes[0] == 0x0F) {
		u8 op = twobyte_opcode(kind);
		if (op && op != 0x01 && bytes[1] == op)
			return 2;
		if (op == 0x01 && avail >= 3 && bytes[1] == 0x01 && bytes[2] == group7_modrm(kind))
			return 3;
	} else if (avail >= 1 && kind == INSN_HLT && bytes[0] == 0xF4) {
		return 1;
	}

	/* Prefixes. Stops with b = the opcode byte at bytes[pos]. */
	for (;;) {
		err = fetch(bytes, avail, pos, &b);
		if (err)
			return err;
		if (is_legacy_prefix(b)) {
			if (b == 0xF2 || b == 0xF3)
				last_rep = b;
			rex = 0; /* a REX followed by a legacy prefix is ignored */
			pos++;
			continue;
		}
		if (long_mode && is_rex(b)) {
			rex = b;
			pos++;
			continue;
		}
		break;
	}

	/* One-byte opcodes. */
	switch (kind) {
	case INSN_HLT:
		return b == 0xF4 ? (int)pos + 1 : INSN_ERR_MISMATCH;

	case INSN_PAUSE:
		if (b != 0x90 || last_rep != 0xF3 || (rex & REX_B))
			return INSN_ERR_MISMATCH;
		return (int)pos + 1;

	case INSN_IN_OUT:
		switch (b) {
		case 0xE4: /* IN AL, imm8 */
		case 0xE5: /* IN eAX, imm8 */
		case 0xE6: /* OUT imm8, AL */
		case 0xE7: /* OUT imm8, eAX */
			err = fetch(bytes, avail, pos + 1, &b);
			if (err)
				return err;
			return (int)pos + 2;
		case 0xEC: /* IN AL, DX */
		case 0xED: /* IN eAX, DX */
		case 0xEE: /* OUT DX, AL */
		case 0xEF: /* OUT DX, eAX */
		case 0x6C: /* INSB */
		case 0x6D: /* INSW/INSD */
		case 0x6E: /* OUTSB */
		case 0x6F: /* OUTSW/OUTSD */
			return (int)pos + 1;
		default:
			return INSN_ERR_MISMATCH;
		}

	default:
		break;
	}

	/* Two- and three-byte opcodes: 0F xx [ModRM]. */
	u8 op2 = twobyte_opcode(kind);
	if (!op2 || b != 0x0F)
		return INSN_ERR_MISMATCH;
	pos++;
	err = fetch(bytes, avail, pos, &b);
	if (err)
		return err;
	if (b != op2)
		return INSN_ERR_MISMATCH;
	pos++;
	if (op2 != 0x01)
		return (int)pos;

	err = fetch(bytes, avail, pos, &b);
	if (err)
		return err;
	if (b != group7_modrm(kind))
		return INSN_ERR_MISMATCH;
	return (int)pos + 1;
}

int insn_cr_write(const u8 *bytes, size_t avail, enum insn_mode mode, enum cr_write_op *op, unsigned *cr,
		  unsigned *gpr)
{
	size_t pos = 0;
	u8 rex = 0, b, modrm;
	int err;

	if (!bytes)
		avail = 0;
	for (;;) {
		if ((err = fetch(bytes, avail, pos, &b)))
			return err;
		if (is_legacy_prefix(b)) {
			rex = 0;
			pos++;
		} else if (mode == INSN_MODE_64 && is_rex(b)) {
			rex = b;
			pos++;
		} else {
			break;
		}
	}
	if (b != 0x0F)
		return INSN_ERR_MISMATCH;
	if ((err = fetch(bytes, avail, pos + 1, &b)))
		return err;
	if (b == 0x06) {                      /* CLTS */
		*op = CRW_CLTS;
		*cr = 0;
		return (int)pos + 2;
	}
	if (b != 0x22 && b != 0x01)
		return INSN_ERR_MISMATCH;
	if ((err = fetch(bytes, avail, pos + 2, &modrm)))
		return err;
	if (b == 0x01) {                      /* group 7: LMSW is /6 */
		if (((modrm >> 3) & 7) != 6)
			return INSN_ERR_MISMATCH;
		*op = CRW_LMSW;
		*cr = 0;
		if ((modrm >> 6) != 3)
			return INSN_ERR_MEMORY;   /* LMSW m16: operand not decoded */
		*gpr = (modrm & 7) | ((rex & 0x1) ? 8 : 0);
		return (int)pos + 3;
	}
	if ((modrm >> 6) != 3)
		return INSN_ERR_MISMATCH;     /* MOV CR always takes a register */
	*op = CRW_MOV;
	*cr = ((modrm >> 3) & 7) | ((rex & 0x4) ? 8 : 0);
	*gpr = (modrm & 7) | ((rex & 0x1) ? 8 : 0);
	return (int)pos + 3;
}
