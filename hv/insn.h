/*
 * hv/insn.h - length decoding of the instructions that cause intercepts.
 *
 * SVM without NRIPS (QEMU TCG) does not tell hv where the intercepted
 * instruction ends, so hv reads the bytes at the guest's RIP and decodes them.
 * Pure logic: built into hv and into the host unit tests.
 */
#ifndef HV_INSN_H
#define HV_INSN_H

#include "lib.h"

/* The instructions whose intercepts need a length. */
enum insn_kind {
	INSN_CPUID,   /* 0F A2 */
	INSN_RDMSR,   /* 0F 32 */
	INSN_WRMSR,   /* 0F 30 */
	INSN_HLT,     /* F4 */
	INSN_VMMCALL, /* 0F 01 D9 */
	INSN_VMCALL,  /* 0F 01 C1 */
	INSN_INVD,    /* 0F 08 */
	INSN_WBINVD,  /* 0F 09 */
	INSN_XSETBV,  /* 0F 01 D1 */
	INSN_RDPMC,   /* 0F 33 */
	INSN_RDTSC,   /* 0F 31 */
	INSN_RDTSCP,  /* 0F 01 F9 */
	INSN_PAUSE,   /* F3 90 */
	INSN_IN_OUT,  /* E4 E5 E6 E7 EC ED EE EF, 6C 6D 6E 6F (string) */
};

/* Code size the guest is executing in (CS.L / CS.D, or real mode). */
enum insn_mode { INSN_MODE_16 = 16, INSN_MODE_32 = 32, INSN_MODE_64 = 64 };

/*
 * Decode the instruction in bytes[0..avail) and check that it is `kind`.
 * Legacy prefixes (66 67 F0 F2 F3 2E 36 3E 26 64 65) may precede it in any
 * number and order; in 64-bit mode REX (40-4F) may follow them, directly
 * before the opcode. An instruction longer than 15 bytes is invalid.
 * Returns the length in bytes (1..15), or:
 *   INSN_ERR_MISMATCH  the bytes are a different instruction than `kind`
 *   INSN_ERR_TOO_LONG  more than 15 bytes
 *   INSN_ERR_TRUNCATED avail ran out before the instruction was complete
 */
#define INSN_ERR_MISMATCH (-1)
#define INSN_ERR_TOO_LONG (-2)
#define INSN_ERR_TRUNCATED (-3)
#define INSN_MAX_LEN 15
int insn_length(const u8 *bytes, size_t avail, enum insn_mode mode, enum insn_kind kind);

/*
 * Decode an instruction that writes a control register (the SVM CR0-write
 * intercept fires for all three kinds), with any legacy prefixes and, in
 * 64-bit mode, REX:
 *  - MOV to CRn (0F 22 /r, register form only; REX.R extends the CR
 *    number, REX.B the register): *op = CRW_MOV, *cr, *gpr (0 = rAX,
 *    1 = rCX, 2 = rDX, 3 = rBX, 4 = rSP, 5 = rBP, 6 = rSI, 7 = rDI, 8-15 =
 *    r8-r15);
 *  - CLTS (0F 06): *op = CRW_CLTS, *cr = 0;
 *  - LMSW r16 (0F 01 /6, register form): *op = CRW_LMSW, *cr = 0, *gpr.
 * Returns the length, or an INSN_ERR_* value; LMSW with a memory operand
 * gives INSN_ERR_MEMORY with *op = CRW_LMSW (hv decodes no memory operands).
 */
#define INSN_ERR_MEMORY (-4)
enum cr_write_op { CRW_MOV, CRW_CLTS, CRW_LMSW };
int insn_cr_write(const u8 *bytes, size_t avail, enum insn_mode mode, enum cr_write_op *op, unsigned *cr,
		  unsigned *gpr);

#endif
