/* hv/x86/apic.h - local APIC (xAPIC or x2APIC mode), its timer, the clocks, the legacy PIC. */
#ifndef HV_X86_APIC_H
#define HV_X86_APIC_H

#include "../lib.h"
#include "../config.h"

void apic_init_cpu(void);          /* enable the LAPIC, mask the 8259 PIC */
/* TSC and LAPIC timer rates: from CPUID 0x15 or measured (ACPI PM timer, HPET,
 * PIT); prints the source and `kv timer.*` lines. rsdp: the ACPI RSDP or 0. */
void apic_calibrate(enum clock_source want, u64 rsdp);
void apic_report_mode(void);        /* log line + `kv host.apic=` */
bool apic_x2apic_mode(void);
/* Interrupt VEC_TIMER once, after this many TSC ticks (never before); the
 * same in timer ticks, and the conversion for callers that keep it. */
void apic_timer_oneshot_tsc(u64 tsc);
void apic_timer_oneshot_ticks(u32 ticks);
u32 apic_timer_ticks(u64 tsc);
/* (apic_init_cpu sets the IDT's handler of VEC_TIMER and VEC_WAKE: an
 * EOI, nothing recorded; whether hv's timer is due is read from the TSC,
 * p->timer_at.) */
u32 apic_id(void);
void apic_send_init(u32 apic);
void apic_send_sipi(u32 apic, u8 page);
void apic_send_ipi(u32 apic, u8 vector);
extern u64 tsc_per_ms, tsc_per_10us;

#endif
