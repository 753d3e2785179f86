/*
 * guest/linux/common.h - helpers shared by the Linux guest workloads
 * (static programs inside the initramfs; they run in a Linux guest of hv).
 */
#ifndef GUEST_LINUX_COMMON_H
#define GUEST_LINUX_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

/* A message count: decimal, 1..10^9; -1 when it is not one. */
static inline long parse_count(const char *s)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || n < 1 || n > 1000000000L)
		return -1;
	return n;
}

/* Read or write exactly one byte, retrying on EINTR. 0 on success. */
static inline int read_byte(int fd, char *c)
{
	for (;;) {
		ssize_t r = read(fd, c, 1);
		if (r == 1)
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

static inline int write_byte(int fd, char c)
{
	for (;;) {
		ssize_t r = write(fd, &c, 1);
		if (r == 1)
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

/*
 * Ask the kernel to isolate this task's indirect branch predictions
 * (Documentation/userspace-api/spec_ctrl.rst): with spectre_v2_user=prctl
 * Linux then issues IBPB when it switches to or from this task's mm.
 * Prints the state read back. Returns 0, or -1 (with a message) when the
 * kernel refuses: EPERM when it has no user-space IBPB/STIBP control at all
 * (spectre_v2_user=off, or a CPU without IBPB and STIBP in CPUID, which is
 * every QEMU TCG model); with spectre_v2_user=on the call succeeds but
 * changes nothing (the barrier is always on).
 */
static inline int speculation_opt_in(const char *who)
{
	if (prctl(PR_SET_SPECULATION_CTRL, PR_SPEC_INDIRECT_BRANCH, PR_SPEC_DISABLE, 0, 0) != 0) {
		int e = errno;
		int state = prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_INDIRECT_BRANCH, 0, 0, 0);
		fprintf(stderr, "%s: prctl(PR_SET_SPECULATION_CTRL, INDIRECT_BRANCH, DISABLE) failed: errno %d; state 0x%x\n",
			who, e, state);
		return -1;
	}
	int state = prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_INDIRECT_BRANCH, 0, 0, 0);
	printf("%s: prctl opt-in done, indirect-branch state 0x%x\n", who, state);
	return 0;
}

#endif
