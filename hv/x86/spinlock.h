/*
 * hv/x86/spinlock.h - a test-and-test-and-set spinlock. hv runs with
 * interrupts off except around VMRUN/VM entry and in the idle hlt, and never
 * holds a lock there, so no lock is ever taken from an interrupt handler.
 * docs/locking.md lists which lock protects what.
 */
#ifndef HV_X86_SPINLOCK_H
#define HV_X86_SPINLOCK_H

#include "../lib.h"

struct spinlock {
	volatile u32 held;
};

static inline void spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->held, 1, __ATOMIC_ACQUIRE))
		while (l->held)
			__asm__ volatile("pause");
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->held, 0, __ATOMIC_RELEASE);
}

#endif
