/*
 * hv/mmio.c - decode and emulate the instruction whose memory operand hit a
 * device page (see mmio.h for the contract).
 *
 * The instruction is decoded completely before anything happens:
 *
 *   [legacy prefixes]* [REX (64-bit only)] opcode [0F opcode] ModRM [SIB]
 *   [displacement] [immediate]                  (SDM Vol. 2A ch. 2.1-2.2)
 *
 * then its operand address is computed and checked against the faulting
 * address, then the device is accessed (a read, a write, or a read then a
 * write for the read-modify-write forms), and only then are the destination
 * register and RFLAGS committed to *cpu. Every path that does not know
 * exactly what the CPU would do fills res->why and leaves *cpu alone.
 *
 * LOCK on the read-modify-write forms (and XCHG's implicit lock) is honoured
 * only in the sense that the read and the write are made back to back: the
 * caller serialises device accesses (a device register is not RAM another
 * CPU reads with plain loads).
 */
#include "mmio.h"

#define REX_W 0x8
#define REX_R 0x4
#define REX_X 0x2
#define REX_B 0x1

/* What the instruction does with its memory operand. */
enum op {
	OP_STORE,     /* mem = reg            88 89, A2 A3 */
	OP_STORE_IMM, /* mem = imm            C6 C7 */
	OP_LOAD,      /* reg = mem            8A 8B, A0 A1 */
	OP_MOVZX,     /* reg = zx(mem)        0F B6 B7 */
	OP_MOVSX,     /* reg = sx(mem)        0F BE BF */
	OP_ALU_MEM,   /* mem = mem op src     00-39 even forms, 80 81 83 (CMP: flags only) */
	OP_ALU_REG,   /* reg = reg op mem     02-3B odd forms (CMP: flags only) */
	OP_TEST,      /* flags of mem & src   84 85 F6 F7 */
	OP_XCHG,      /* swap reg and mem     86 87 */
	OP_BT,        /* bit test (and set/reset/complement) 0F A3 AB B3 BB, 0F BA */
};

/* ALU operations in their /digit order (SDM Vol. 2A Table A-6, group 1). */
enum alu { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };
static const char *const alu_names[8] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };
/* BT family in their 0F BA /digit order (4-7). */
static const char *const bt_names[4] = { "bt", "bts", "btr", "btc" };

struct dec {
	const u8 *b;
	size_t avail, pos;
	enum insn_mode mode;
	u8 rex;
	bool opsz, adsz, lock, rep;
	int seg;                 /* override, or -1 */
	u8 op;                   /* opcode byte (after 0F if twobyte) */
	bool twobyte;
	u8 modrm;
	unsigned reg;            /* ModRM.reg with REX.R */
	unsigned osize, asize;   /* bytes */
	int def_seg;
	u64 ea;                  /* effective address (before the RIP-relative fixup) */
	bool riprel;
	bool moffs;
};

static int fetch(struct dec *d, u8 *out)
{
	if (d->pos >= INSN_MAX_LEN)
		return INSN_ERR_TOO_LONG;
	if (d->pos >= d->avail)
		return INSN_ERR_TRUNCATED;
	*out = d->b[d->pos++];
	return 0;
}

/* Little-endian immediate/displacement of n bytes, sign-extended if n < 8. */
static int fetch_le(struct dec *d, unsigned n, bool sign, u64 *out)
{
	u64 v = 0;
	for (unsigned i = 0; i < n; i++) {
		u8 b;
		int err = fetch(d, &b);
		if (err)
			return err;
		v |= (u64)b << (8 * i);
	}
	if (sign && n < 8 && (v & BIT(8 * n - 1)))
		v |= ~0ull << (8 * n);
	*out = v;
	return 0;
}

static u64 size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : BIT(8 * size) - 1;
}

static u64 sign_extend(u64 v, unsigned size)
{
	if (size < 8 && (v & BIT(8 * size - 1)))
		v |= ~0ull << (8 * size);
	return v;
}

/*
 * General register n of `size` bytes. With size 1 and no REX prefix,
 * registers 4-7 are AH CH DH BH (SDM Vol. 2A 2.1.5 Table 2-2 note, 3.7.2.1).
 */
static u64 reg_read(const struct mmio_cpu *c, unsigned n, unsigned size, u8 rex)
{
	if (size == 1 && !rex && n >= 4 && n < 8)
		return (c->gpr[n - 4] >> 8) & 0xff;
	return c->gpr[n] & size_mask(size);
}

/*
 * Write general register n: 8- and 16-bit writes keep the other bits, a
 * 32-bit write zero-extends to 64 (SDM Vol. 1 3.4.1.1).
 */
static void reg_write(u64 *gpr, unsigned n, unsigned size, u8 rex, u64 val)
{
	if (size == 1 && !rex && n >= 4 && n < 8)
		gpr[n - 4] = (gpr[n - 4] & ~0xff00ull) | ((val & 0xff) << 8);
	else if (size == 4)
		gpr[n] = val & 0xffffffffull;
	else if (size == 8)
		gpr[n] = val;
	else
		gpr[n] = (gpr[n] & ~size_mask(size)) | (val & size_mask(size));
}

static bool parity_even(u8 v)
{
	v ^= v >> 4;
	v ^= v >> 2;
	v ^= v >> 1;
	return !(v & 1);
}

/* SF ZF PF of a result (SDM Vol. 1 3.4.3.1). */
static u64 szp(u64 r, unsigned size)
{
	u64 f = 0;
	r &= size_mask(size);
	if (r & BIT(8 * size - 1))
		f |= RFL_SF;
	if (!r)
		f |= RFL_ZF;
	if (parity_even((u8)r))
		f |= RFL_PF;
	return f;
}

/*
 * a op b at `size`, with the flags it sets (SDM Vol. 2 ADD ADC SUB SBB CMP:
 * OF SF ZF AF CF PF; AND OR XOR: OF = CF = 0, SF ZF PF by the result, AF
 * undefined: hv leaves it clear). *flags gets the new RFLAGS.
 */
static u64 alu(enum alu op, u64 a, u64 b, unsigned size, u64 *flags)
{
	u64 m = size_mask(size), sign = BIT(8 * size - 1), r, f = 0;
	u64 cin = (*flags & RFL_CF) ? 1 : 0;
	a &= m;
	b &= m;
	switch (op) {
	case ALU_ADD:
	case ALU_ADC:
		if (op == ALU_ADD)
			cin = 0;
		r = (a + b + cin) & m;
		if (r < a || (cin && r == a))
			f |= RFL_CF;
		if ((a ^ r) & (b ^ r) & sign)
			f |= RFL_OF;
		f |= (a ^ b ^ r) & RFL_AF;
		break;
	case ALU_SUB:
	case ALU_SBB:
	case ALU_CMP:
		if (op != ALU_SBB)
			cin = 0;
		r = (a - b - cin) & m;
		if (a < b || (cin && a == b))
			f |= RFL_CF;
		if ((a ^ b) & (a ^ r) & sign)
			f |= RFL_OF;
		f |= (a ^ b ^ r) & RFL_AF;
		break;
	case ALU_AND:
		r = a & b;
		break;
	case ALU_OR:
		r = a | b;
		break;
	case ALU_XOR:
	default:
		r = a ^ b;
		break;
	}
	*flags = (*flags & ~RFL_ARITH) | f | szp(r, size);
	return r;
}

static const u8 *hexbytes_end(const struct dec *d)
{
	size_t n = d->pos + 4;           /* what was read, and a little context */
	if (n > d->avail)
		n = d->avail;
	if (n > INSN_MAX_LEN)
		n = INSN_MAX_LEN;
	return d->b + n;
}

/* res->why = "not emulated: <what> (<bytes>)". Returns MMIO_NOT_EMULATED. */
static int refuse(const struct dec *d, struct mmio_result *res, const char *what)
{
	size_t off = (size_t)ksnprintf(res->why, sizeof(res->why), "not emulated: %s (", what);
	for (const u8 *p = d->b; d->b && p < hexbytes_end(d) && off < sizeof(res->why); p++)
		off += (size_t)ksnprintf(res->why + off, sizeof(res->why) - off, p == d->b ? "%02x" : " %02x",
					 *p);
	if (off < sizeof(res->why))
		ksnprintf(res->why + off, sizeof(res->why) - off, ")");
	return MMIO_NOT_EMULATED;
}

static int refuse_err(const struct dec *d, struct mmio_result *res, int err)
{
	return refuse(d, res, err == INSN_ERR_TOO_LONG ? "longer than 15 bytes" : "instruction bytes truncated");
}

/*
 * ModRM memory operand (SDM Vol. 2A 2.1.5 Tables 2-1 to 2-3, 2.2.1.6 for
 * RIP-relative). Fills d->ea, d->def_seg, d->riprel.
 */
static int decode_modrm_mem(struct dec *d, const struct mmio_cpu *c)
{
	unsigned mod = d->modrm >> 6, rm = d->modrm & 7;
	u64 disp = 0;
	int err;

	d->def_seg = SEG_DS;
	if (d->asize == 2) {
		/* 16-bit addressing: Table 2-1. */
		static const signed char base[8] = { 3, 3, 5, 5, -1, -1, 5, 3 };   /* BX BX BP BP - - BP BX */
		static const signed char index[8] = { 6, 7, 6, 7, 6, 7, -1, -1 };  /* SI DI SI DI SI DI - - */
		u64 ea = 0;
		if (mod == 0 && rm == 6) {
			if ((err = fetch_le(d, 2, false, &disp)))
				return err;
			d->ea = disp;
			return 0;
		}
		if (mod == 1 && (err = fetch_le(d, 1, true, &disp)))
			return err;
		if (mod == 2 && (err = fetch_le(d, 2, false, &disp)))
			return err;
		if (base[rm] >= 0)
			ea += c->gpr[base[rm]];
		if (index[rm] >= 0)
			ea += c->gpr[index[rm]];
		if (base[rm] == 5)
			d->def_seg = SEG_SS;      /* BP-based forms default to SS */
		d->ea = (ea + disp) & 0xffff;
		return 0;
	}

	/* 32/64-bit addressing: Tables 2-2, 2-3. */
	u64 ea = 0;
	if (rm == 4) {
		u8 sib;
		if ((err = fetch(d, &sib)))
			return err;
		unsigned scale = sib >> 6;
		unsigned idx = ((sib >> 3) & 7) | ((d->rex & REX_X) ? 8 : 0);
		unsigned b = (sib & 7) | ((d->rex & REX_B) ? 8 : 0);
		if (idx != 4)                 /* index 100b without REX.X: none */
			ea += c->gpr[idx] << scale;
		if ((sib & 7) == 5 && mod == 0) {
			if ((err = fetch_le(d, 4, true, &disp)))
				return err;
		} else {
			ea += c->gpr[b];
			if (b == 4 || b == 5)
				d->def_seg = SEG_SS;  /* rSP/rBP base (64-bit mode ignores SS anyway) */
		}
	} else if (mod == 0 && rm == 5) {
		if ((err = fetch_le(d, 4, true, &disp)))
			return err;
		if (d->mode == INSN_MODE_64)
			d->riprel = true;         /* disp32 from the next instruction's RIP */
	} else {
		unsigned b = rm | ((d->rex & REX_B) ? 8 : 0);
		ea += c->gpr[b];
		if (b == 5)
			d->def_seg = SEG_SS;
	}
	if (mod == 1 && (err = fetch_le(d, 1, true, &disp)))
		return err;
	if (mod == 2 && (err = fetch_le(d, 4, true, &disp)))
		return err;
	d->ea = (ea + disp) & size_mask(d->asize);
	return 0;
}

int mmio_emulate(const u8 *bytes, size_t avail, struct mmio_cpu *cpu, u64 gpa, mmio_access_fn access,
		 void *ctx, struct mmio_result *res)
{
	struct dec d = { .b = bytes, .avail = bytes ? avail : 0, .mode = cpu->mode, .seg = -1 };
	enum op op;
	enum alu aop = ALU_ADD;
	unsigned bt = 0;             /* BT family: 0 bt, 1 bts, 2 btr, 3 btc */
	bool imm_src = false;        /* the source is an immediate (else register d.reg) */
	unsigned imm_size = 0;       /* bytes of immediate to fetch */
	unsigned size;               /* memory operand size */
	u64 imm = 0;
	u8 b;
	int err;

	*res = (struct mmio_result){ 0 };

	/* Prefixes (SDM Vol. 2A 2.1.1); in 64-bit mode a REX counts only
	 * directly before the opcode (2.2.1). */
	for (;;) {
		if ((err = fetch(&d, &b)))
			return refuse_err(&d, res, err);
		switch (b) {
		case 0x66: d.opsz = true; d.rex = 0; continue;
		case 0x67: d.adsz = true; d.rex = 0; continue;
		case 0xF0: d.lock = true; d.rex = 0; continue;
		case 0xF2:
		case 0xF3: d.rep = true; d.rex = 0; continue;
		case 0x26: d.seg = SEG_ES; d.rex = 0; continue;
		case 0x2E: d.seg = SEG_CS; d.rex = 0; continue;
		case 0x36: d.seg = SEG_SS; d.rex = 0; continue;
		case 0x3E: d.seg = SEG_DS; d.rex = 0; continue;
		case 0x64: d.seg = SEG_FS; d.rex = 0; continue;
		case 0x65: d.seg = SEG_GS; d.rex = 0; continue;
		default: break;
		}
		if (d.mode == INSN_MODE_64 && (b & 0xF0) == 0x40) {
			d.rex = b;
			continue;
		}
		break;
	}
	d.op = b;

	/* Operand and address size (SDM Vol. 1 3.6, Table 3-4; Vol. 2A 2.2.1.2). */
	if (d.mode == INSN_MODE_64) {
		d.osize = (d.rex & REX_W) ? 8 : d.opsz ? 2 : 4;
		d.asize = d.adsz ? 4 : 8;
	} else if (d.mode == INSN_MODE_32) {
		d.osize = d.opsz ? 2 : 4;
		d.asize = d.adsz ? 2 : 4;
	} else {
		d.osize = d.opsz ? 4 : 2;
		d.asize = d.adsz ? 4 : 2;
	}

	if (d.op == 0x0F) {
		d.twobyte = true;
		if ((err = fetch(&d, &b)))
			return refuse_err(&d, res, err);
		d.op = b;
	}

	/* With F2/F3 the emulated opcodes are other instructions (mandatory
	 * prefixes: F3 0F B8 POPCNT, ...) or string ones: not guessed. */
	if (d.rep)
		return refuse(&d, res, !d.twobyte && d.op >= 0xA4 && d.op <= 0xAF ? "string instruction"
									 : "rep/repne prefix");

	/* What the opcode is. */
	if (!d.twobyte) {
		switch (d.op) {
		case 0x88: case 0x89:
			op = OP_STORE;
			res->mnemonic = "mov";
			break;
		case 0x8A: case 0x8B:
			op = OP_LOAD;
			res->mnemonic = "mov";
			break;
		case 0xC6: case 0xC7:
			op = OP_STORE_IMM;
			res->mnemonic = "mov";
			imm_src = true;
			break;
		case 0xA0: case 0xA1:
			op = OP_LOAD;
			d.moffs = true;
			res->mnemonic = "mov";
			break;
		case 0xA2: case 0xA3:
			op = OP_STORE;
			d.moffs = true;
			res->mnemonic = "mov";
			break;
		case 0x80: case 0x81: case 0x83:
			op = OP_ALU_MEM;
			imm_src = true;
			break;
		case 0x84: case 0x85:
			op = OP_TEST;
			res->mnemonic = "test";
			break;
		case 0xF6: case 0xF7:
			op = OP_TEST;
			imm_src = true;
			res->mnemonic = "test";
			break;
		case 0x86: case 0x87:
			op = OP_XCHG;
			res->mnemonic = "xchg";
			break;
		default:
			if (d.op < 0x40 && (d.op & 7) < 4) {
				/* 00-3B: ALU r/m,r (bit 1 clear) or r,r/m (bit 1 set). */
				aop = (enum alu)(d.op >> 3);
				op = (d.op & 2) ? OP_ALU_REG : OP_ALU_MEM;
				res->mnemonic = alu_names[aop];
				break;
			}
			return refuse(&d, res, d.op >= 0xA4 && d.op <= 0xAF ? "string instruction" : "opcode");
		}
	} else {
		switch (d.op) {
		case 0xB6: case 0xB7:
			op = OP_MOVZX;
			res->mnemonic = "movzx";
			break;
		case 0xBE: case 0xBF:
			op = OP_MOVSX;
			res->mnemonic = "movsx";
			break;
		case 0xA3: case 0xAB: case 0xB3: case 0xBB:
			op = OP_BT;
			bt = d.op == 0xA3 ? 0 : d.op == 0xAB ? 1 : d.op == 0xB3 ? 2 : 3;
			res->mnemonic = bt_names[bt];
			break;
		case 0xBA:
			op = OP_BT;
			imm_src = true;
			break;
		default:
			return refuse(&d, res, "two-byte opcode");
		}
	}

	/* Operand size of the memory operand. */
	bool byte_form = !d.twobyte && !(d.op & 1) && d.op != 0x83;
	/* 80 C6 F6 86 84 88 8A A0 A2 and ALU xx even forms are byte ops; 83 is osize. */
	if (d.twobyte) {
		if (op == OP_MOVZX || op == OP_MOVSX)
			size = (d.op & 1) ? 2 : 1;
		else
			size = d.osize;
	} else {
		size = byte_form ? 1 : d.osize;
	}

	/* ModRM and memory operand, or moffs. */
	if (d.moffs) {
		if ((err = fetch_le(&d, d.asize, false, &d.ea)))
			return refuse_err(&d, res, err);
		d.def_seg = SEG_DS;
		d.reg = 0;                    /* AL / AX / EAX / RAX */
	} else {
		if ((err = fetch(&d, &d.modrm)))
			return refuse_err(&d, res, err);
		if ((d.modrm >> 6) == 3)
			return refuse(&d, res, "register operand, no memory access");
		d.reg = ((d.modrm >> 3) & 7) | ((d.rex & REX_R) ? 8 : 0);
		unsigned digit = (d.modrm >> 3) & 7;
		if (op == OP_STORE_IMM && digit != 0)
			return refuse(&d, res, "group 11 /digit other than mov");
		/* F6/F7 /0 is TEST; /1 is an alias only AMD documents: not guessed. */
		if (op == OP_TEST && imm_src && digit != 0)
			return refuse(&d, res, "group 3 op other than test");
		if (d.op == 0xBA && d.twobyte) {
			if (digit < 4)
				return refuse(&d, res, "group 8 /digit below 4");
			bt = digit - 4;
			res->mnemonic = bt_names[bt];
		}
		if (op == OP_ALU_MEM && imm_src) {
			aop = (enum alu)digit;
			res->mnemonic = alu_names[aop];
		}
		if ((err = decode_modrm_mem(&d, cpu)))
			return refuse_err(&d, res, err);
	}

	/* Immediate. */
	if (imm_src) {
		if (d.op == 0x83 || d.op == 0xBA)
			imm_size = 1;
		else if (byte_form)
			imm_size = 1;
		else
			imm_size = d.osize == 2 ? 2 : 4;   /* iz: imm32 sign-extended for 64-bit ops */
		if ((err = fetch_le(&d, imm_size, true, &imm)))
			return refuse_err(&d, res, err);
	}
	res->len = (unsigned)d.pos;
	res->size = size;

	/* LOCK: only on the read-modify-write forms with a memory destination
	 * (SDM Vol. 2A LOCK); anything else is #UD and could not have exited. */
	if (d.lock && !(op == OP_XCHG || (op == OP_ALU_MEM && aop != ALU_CMP) || (op == OP_BT && bt != 0)))
		return refuse(&d, res, "lock prefix on an instruction that does not take it");

	/* Linear address (SDM Vol. 3A 3.4: in 64-bit mode only FS/GS have bases). */
	u64 ea = d.ea;
	if (d.riprel)
		ea = (cpu->rip + d.pos + ea) & size_mask(d.asize);
	if (op == OP_BT && !imm_src) {
		/* A register bit offset is signed and may leave the operand:
		 * EA + operand-size * (offset DIV bits) (SDM Vol. 2A BT). */
		s64 off = (s64)sign_extend(reg_read(cpu, d.reg, size, d.rex), size);
		s64 units = off >= 0 ? off / (s64)(8 * size) : -((-off + (s64)(8 * size) - 1) / (s64)(8 * size));
		ea = (ea + (u64)(units * (s64)size)) & size_mask(d.asize);
	}
	unsigned seg = d.seg >= 0 ? (unsigned)d.seg : (unsigned)d.def_seg;
	u64 la;
	if (d.mode == INSN_MODE_64)
		la = (seg == SEG_FS || seg == SEG_GS) ? cpu->seg_base[seg] + ea : ea;
	else
		la = (cpu->seg_base[seg] + ea) & 0xffffffffull;
	res->la = la;
	if ((la & 0xfff) != (gpa & 0xfff)) {
		char what[64];
		ksnprintf(what, sizeof(what), "%s operand at 0x%llx, not the faulting address", res->mnemonic,
			  (unsigned long long)la);
		return refuse(&d, res, what);
	}
	if ((gpa & 0xfff) + size > 4096)
		return refuse(&d, res, "access crosses a page");

	/* The access(es), then the commit. */
	u64 gpr[16];
	memcpy(gpr, cpu->gpr, sizeof(gpr));
	u64 flags = cpu->rflags;
	u64 src = imm_src ? imm : reg_read(cpu, d.reg, size, d.rex);
	u64 mem = 0;
	bool ok = true;

	switch (op) {
	case OP_STORE:
	case OP_STORE_IMM:
		mem = src & size_mask(size);
		res->write = true;
		ok = access(ctx, gpa, size, true, &mem);
		break;
	case OP_LOAD:
		res->read = true;
		if ((ok = access(ctx, gpa, size, false, &mem)))
			reg_write(gpr, d.reg, size, d.rex, mem);
		break;
	case OP_MOVZX:
	case OP_MOVSX:
		res->read = true;
		if ((ok = access(ctx, gpa, size, false, &mem))) {
			mem &= size_mask(size);
			reg_write(gpr, d.reg, d.osize, d.rex, op == OP_MOVSX ? sign_extend(mem, size) : mem);
		}
		break;
	case OP_ALU_MEM:
	case OP_ALU_REG:
	case OP_TEST: {
		res->read = true;
		if (!(ok = access(ctx, gpa, size, false, &mem)))
			break;
		if (op == OP_TEST) {
			alu(ALU_AND, mem, src, size, &flags);
		} else if (op == OP_ALU_MEM) {
			u64 r = alu(aop, mem, src, size, &flags);
			if (aop != ALU_CMP) {
				res->write = true;
				ok = access(ctx, gpa, size, true, &r);
			}
		} else {
			u64 r = alu(aop, reg_read(cpu, d.reg, size, d.rex), mem, size, &flags);
			if (aop != ALU_CMP)
				reg_write(gpr, d.reg, size, d.rex, r);
		}
		break;
	}
	case OP_XCHG: {
		res->read = res->write = true;
		if (!(ok = access(ctx, gpa, size, false, &mem)))
			break;
		u64 w = src & size_mask(size);
		if ((ok = access(ctx, gpa, size, true, &w)))
			reg_write(gpr, d.reg, size, d.rex, mem);
		break;
	}
	case OP_BT: {
		res->read = true;
		if (!(ok = access(ctx, gpa, size, false, &mem)))
			break;
		unsigned bit = (unsigned)(src & (8 * size - 1));   /* an immediate is taken modulo too */
		bool was = (mem >> bit) & 1;
		/* CF = the bit; OF SF AF PF undefined (hv leaves them), ZF unchanged. */
		flags = (flags & ~RFL_CF) | (was ? RFL_CF : 0);
		if (bt) {
			u64 w = bt == 1 ? mem | BIT(bit) : bt == 2 ? mem & ~BIT(bit) : mem ^ BIT(bit);
			res->write = true;
			ok = access(ctx, gpa, size, true, &w);
		}
		break;
	}
	}
	if (!ok) {
		ksnprintf(res->why, sizeof(res->why), "%s %s of %u bytes at guest-physical 0x%llx refused by the device",
			  res->mnemonic, res->write && !res->read ? "write" : "access", size, (unsigned long long)gpa);
		return MMIO_ACCESS_FAILED;
	}
	memcpy(cpu->gpr, gpr, sizeof(gpr));
	cpu->rflags = flags;
	return MMIO_OK;
}

int insn_string_io(const u8 *bytes, size_t avail, enum insn_mode mode, struct strio_insn *out)
{
	struct dec d = { .b = bytes, .avail = bytes ? avail : 0, .mode = mode };
	bool opsz = false, adsz = false;
	int seg = -1, err;
	u8 b;

	*out = (struct strio_insn){ .seg = -1 };
	for (;;) {
		if ((err = fetch(&d, &b)))
			return err;
		switch (b) {
		case 0x66: opsz = true; continue;
		case 0x67: adsz = true; continue;
		case 0xF2:
		case 0xF3: out->rep = true; continue;
		case 0xF0: continue;   /* LOCK: #UD before any exit; counted only */
		case 0x26: seg = SEG_ES; continue;
		case 0x2E: seg = SEG_CS; continue;
		case 0x36: seg = SEG_SS; continue;
		case 0x3E: seg = SEG_DS; continue;
		case 0x64: seg = SEG_FS; continue;
		case 0x65: seg = SEG_GS; continue;
		default: break;
		}
		if (mode == INSN_MODE_64 && (b & 0xF0) == 0x40)
			continue;      /* REX: no effect on INS/OUTS (REX.W does not make them 64-bit) */
		break;
	}
	if (b < 0x6C || b > 0x6F)
		return INSN_ERR_MISMATCH;
	out->len = (unsigned)d.pos;
	out->in = b <= 0x6D;
	if (mode == INSN_MODE_64)
		out->asize = adsz ? 4 : 8;
	else if (mode == INSN_MODE_32)
		out->asize = adsz ? 2 : 4;
	else
		out->asize = adsz ? 4 : 2;
	out->opsize = !(b & 1) ? 1 : (mode == INSN_MODE_16) != opsz ? 2 : 4;
	out->seg = seg;
	return (int)d.pos;
}
