/*
 * hv/dev/cmos.h - the CMOS RAM and MC146818 real-time clock at ports
 * 0x70/0x71 (hv/dev/cmos.c).
 *
 * Time comes in as a parameter: `now` is seconds since 1970-01-01 00:00 UTC
 * as hv reckons it; the clock a guest sets is kept as an offset from it.
 */
#ifndef HV_DEV_CMOS_H
#define HV_DEV_CMOS_H

#include "../lib.h"

#define CMOS_PORT_INDEX 0x70
#define CMOS_PORT_DATA 0x71

struct cmos {
	u8 index;
	bool nmi_masked;  /* bit 7 of the last index write */
	u8 ram[128];      /* time registers hold the frozen time while SET=1 */
	s64 offset;       /* guest clock minus `now`, in seconds */
};

/* Memory below and above 4 GiB in bytes, for the memory size registers. */
void cmos_init(struct cmos *c, u64 mem_below_4g, u64 mem_above_4g);
/* `port` is 0x70 or 0x71. */
u8 cmos_read(struct cmos *c, u16 port, u64 now);
void cmos_write(struct cmos *c, u16 port, u8 val, u64 now);
bool cmos_nmi_masked(const struct cmos *c);

/* Calendar helpers (proleptic Gregorian, UTC), exposed for the tests. */
struct cmos_date { int year, month, day, hour, min, sec, wday; };
void cmos_date_from_epoch(s64 secs, struct cmos_date *d);
s64 cmos_epoch_from_date(const struct cmos_date *d);

#endif
