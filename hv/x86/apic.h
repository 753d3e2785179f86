/* hv/x86/apic.h - local APIC (xAPIC mode) timer and the legacy PIC. */
#ifndef HV_X86_APIC_H
#define HV_X86_APIC_H

#include "../lib.h"

void apic_init_cpu(void);          /* enable the LAPIC, mask the 8259 PIC */
void apic_calibrate(void);         /* measure LAPIC timer and TSC rates with the PIT */
void apic_timer_oneshot(u64 us);   /* interrupt VEC_TIMER after us microseconds */
void apic_timer_stop(void);
void apic_timer_interrupt(void);
void apic_eoi(void);   /* from the IDT: record the tick, EOI */
bool apic_timer_take(void);        /* did the timer fire since the last call? */
u32 apic_id(void);
void apic_send_init(u32 apic);
void apic_send_sipi(u32 apic, u8 page);
void apic_send_ipi(u32 apic, u8 vector);
extern u64 tsc_per_ms;

#endif
