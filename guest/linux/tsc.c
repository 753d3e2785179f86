/*
 * guest/linux/tsc.c - print the time stamp counter, for make bench.
 *
 * /init runs it first, so the line marks the moment Linux started /init.
 * hv does not offset the guest's TSC, and under QEMU with
 * -icount shift=S the TSC advances 2^S per instruction from power-on, so
 * tests/bench.py turns the value into "instructions from power-on to /init".
 * Prints:  hv-linux: tsc=N
 */
#include <stdio.h>

int main(void)
{
	unsigned lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	printf("hv-linux: tsc=%llu\n", ((unsigned long long)hi << 32) | lo);
	return 0;
}
