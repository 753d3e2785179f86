/*
 * hv/mmio.h - decoding and emulating the instruction that touched a device
 * page (a nested page fault on a guest-physical address that belongs to a
 * device, not to RAM).
 *
 * Pure logic: the caller fetches the instruction bytes through the guest's
 * paging, fills a struct mmio_cpu from the vCPU, and gives an access callback
 * that reaches the device. mmio_emulate() decodes, performs the device
 * access(es) through the callback, and on success updates the registers and
 * RFLAGS in *cpu and says how long the instruction was. It never guesses:
 * anything it does not emulate exactly gives a reason and changes nothing.
 * Built into hv and into the host unit tests (tests/unit/test_mmio.c).
 */
#ifndef HV_MMIO_H
#define HV_MMIO_H

#include "insn.h"

/* Segment registers numbered as in MOV Sreg (SDM Vol. 2B, MOV), the VT-x
 * instruction-information field (Vol. 3C 28.2.5) and the SVM IOIO SEG field. */
enum mmio_seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_COUNT };

/* The guest CPU state an instruction may read or write. */
struct mmio_cpu {
	u64 gpr[16];            /* ModRM numbering: rAX rCX rDX rBX rSP rBP rSI rDI r8-r15 */
	u64 rip;                /* of the instruction */
	u64 rflags;
	u64 seg_base[SEG_COUNT];
	enum insn_mode mode;    /* code size: CS.L/CS.D, or 16 in real mode */
};

/*
 * One device access: `size` is 1, 2, 4 or 8 bytes at guest-physical `gpa`.
 * A read stores the value (zero-extended) in *val; a write takes *val.
 * Returns false if the access cannot be done (the caller's device said no):
 * mmio_emulate() then fails with MMIO_ACCESS_FAILED.
 */
typedef bool (*mmio_access_fn)(void *ctx, u64 gpa, unsigned size, bool is_write, u64 *val);

struct mmio_result {
	unsigned len;           /* instruction length, for RIP += len (also on failure, if known) */
	u64 la;                 /* linear address of the memory operand */
	unsigned size;          /* operand size in bytes */
	bool read, write;       /* which accesses the instruction made */
	const char *mnemonic;   /* "mov", "movzx", "and", ... */
	char why[112];          /* on failure: "not emulated: ..." */
};

#define MMIO_OK 0
#define MMIO_NOT_EMULATED (-1)    /* unknown/unsupported instruction or bad bytes: see why */
#define MMIO_ACCESS_FAILED (-2)   /* the access callback refused; nothing committed */

/*
 * Decode bytes[0..avail) as executed by *cpu in cpu->mode, whose memory
 * operand faulted at guest-physical `gpa`, and emulate it through `access`.
 * Supported (SDM Vol. 2): MOV 88 89 8A 8B C6/0 C7/0 A0-A3; MOVZX 0F B6/B7,
 * MOVSX 0F BE/BF; ADD OR ADC SBB AND SUB XOR CMP in their r/m,r r,r/m and
 * 80/81/83 immediate forms; TEST 84 85 F6/0 F7/0; XCHG 86 87; BT BTS BTR
 * BTC 0F A3/AB/B3/BB and 0F BA /4-7. Any ModRM/SIB/displacement form,
 * RIP-relative, 16-bit addressing, 66/67 and segment prefixes, REX, LOCK
 * where the architecture allows it. The operand's linear address must lie
 * at the same page offset as `gpa` (a cross-check that the bytes are the
 * faulting instruction) and the access must not cross a page.
 * Returns MMIO_OK, MMIO_NOT_EMULATED or MMIO_ACCESS_FAILED; *cpu is changed
 * only on MMIO_OK. Never reads bytes[avail] or beyond, nor more than 15.
 */
int mmio_emulate(const u8 *bytes, size_t avail, struct mmio_cpu *cpu, u64 gpa, mmio_access_fn access,
		 void *ctx, struct mmio_result *res);

/*
 * INS/OUTS (6C-6F) as the exit path needs them: the hardware says port,
 * size, direction and REP; the address size and the segment (DS or an
 * override, for OUTS) come from the prefixes (SDM Vol. 2B INS, OUTS).
 */
struct strio_insn {
	unsigned len;        /* bytes */
	unsigned asize;      /* address size in bytes: 2, 4 or 8 */
	unsigned opsize;     /* element size in bytes: 1, 2 or 4 */
	bool in;             /* INS (else OUTS) */
	bool rep;            /* an F2 or F3 prefix */
	int seg;             /* segment override prefix, or -1 */
};
/* Decode; returns the length or an INSN_ERR_* value (MISMATCH: not 6C-6F). */
int insn_string_io(const u8 *bytes, size_t avail, enum insn_mode mode, struct strio_insn *out);

/* RFLAGS bits the ALU forms write (SDM Vol. 1 3.4.3). */
#define RFL_CF BIT(0)
#define RFL_PF BIT(2)
#define RFL_AF BIT(4)
#define RFL_ZF BIT(6)
#define RFL_SF BIT(7)
#define RFL_DF BIT(10)
#define RFL_OF BIT(11)
#define RFL_ARITH (RFL_CF | RFL_PF | RFL_AF | RFL_ZF | RFL_SF | RFL_OF)

#endif
