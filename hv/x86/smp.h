/* hv/x86/smp.h - finding and starting the other physical CPUs. */
#ifndef HV_X86_SMP_H
#define HV_X86_SMP_H

#include "../lib.h"

/* APIC ids of the enabled processors in the ACPI MADT (local APIC and local
 * x2APIC entries), boot CPU first. */
unsigned acpi_madt_cpus(u64 rsdp, u32 *apic_ids, unsigned max);

/*
 * Start the processor with this APIC id by INIT-SIPI-SIPI through the
 * trampoline page at tramp_pa (below 1 MiB, 8 pages). It enters
 * entry(cpu) on its own stack, with hv's page tables. Returns true once the
 * AP has reported in (ap_started), false after a timeout.
 */
bool smp_start_ap(u64 tramp_pa, u32 apic_id, unsigned cpu, u64 stack_top,
		  void (*entry)(unsigned cpu));
void smp_ap_started(unsigned cpu);

#endif
