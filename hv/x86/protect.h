/*
 * hv/x86/protect.h - hv's protection of its own memory and stacks: W^X page
 * rights (hv/mm.c), CR0.WP and EFER.NXE on every pCPU, the stack protector's
 * guard, and the boot-time self-checks that prove them (docs/security.md,
 * "hv's own memory"; the kv lines in docs/output.md).
 */
#ifndef HV_X86_PROTECT_H
#define HV_X86_PROTECT_H

#include "../lib.h"
#include "trap.h"

/* hv/mm.c */
bool mm_nx_supported(void);
void mm_seal(void);
bool mm_rights(u64 va, bool *writable, bool *executable);
u64 mm_count_wx(void);

/* Seed __stack_chk_guard. The first thing the loaders do (efi_main,
 * mb2_main): only functions without a canary may be active across it. */
void stack_guard_init(void) __attribute__((no_stack_protector));
/* CR0.WP (and EFER.NXE where the CPU has NX) on this pCPU; records it. */
void protect_cpu_init(unsigned cpu);
/* After mm_seal(), on the boot CPU: walk the tables, try the faults, test
 * the canary; print the facts. Returns false if any check failed. */
bool protect_selftest(u64 image_start, u64 image_end, unsigned npcpus);
/* trap.c: a #PF the self-test provoked on purpose? Then resume past it. */
bool protect_fault_fixup(struct trap_frame *f);

#endif
