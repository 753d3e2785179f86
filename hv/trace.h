/*
 * hv/trace.h - an event trace of scheduling and barriers (config trace = on),
 * recorded per pCPU into preallocated buffers (nothing is printed while
 * guests run) and printed as parseable `trace` lines at the end of the run.
 * docs/output.md documents the lines; tests/oracle reads them.
 */
#ifndef HV_TRACE_H
#define HV_TRACE_H

#include "core.h"

enum trace_ev { TR_ENTRY, TR_IBPB, TR_YIELD, TR_HALT, TR_STOP, TR_VMEND, TR_PREEMPT, TR_MIGRATE };

struct trace_rec {
	u64 seq;
	u32 vcpu;            /* gid, or vm id for TR_VMEND */
	u8 ev, pcpu, barrier, reason;
	u64 val;             /* PRED_CMD value, result, target pCPU */
};

extern bool trace_on;
void trace_init(void);
void trace_add(struct pcpu *p, enum trace_ev ev, u32 vcpu, u64 val, u8 barrier, u8 reason);
void trace_print(void);

#endif
