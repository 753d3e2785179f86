/*
 * hv/end_report.h - the end-of-run report (end_report.c), as the run loop
 * and hv_main use it. The lines themselves: report.c (pure) and docs/output.md.
 */
#ifndef HV_END_REPORT_H
#define HV_END_REPORT_H

#include "lib.h"

/* Set by hv_main: hv's image checksum at the start (hv_image_checksum(),
 * bootinfo.h), and the hv memory all vCPUs cost. */
extern u64 image_checksum_start, vcpu_bytes_total;
/* Set by hv_main: the TSC when the core started (under QEMU -icount,
 * 2^shift x the instructions since power-on: firmware and hv's loader);
 * kv hv.tsc.start, which make bench reads. */
extern u64 hv_start_tsc;

/* Print the report (report.c's lines) of the run so far. */
void report_print(void);
/* Every VM ended as expected and hv's image is intact (after report_print). */
bool report_all_ok(void);

#endif
