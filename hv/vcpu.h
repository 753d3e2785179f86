/*
 * hv/vcpu.h - what hv does on each VM exit (vcpu.c), for every vendor.
 */
#ifndef HV_VCPU_H
#define HV_VCPU_H

#include "core.h"

/* Handle exit e of v (running on p); the answer tells the run loop what next. */
enum exit_action vcpu_handle_exit(struct vcpu *v, struct pcpu *p, struct vm_exit *e);

/* A guest's IA32_SPEC_CTRL write (spec_plan, spec.h): false = #GP. Stores it in v. */
bool spec_guest_write_spec_ctrl(struct vcpu *v, u64 val);

#endif
