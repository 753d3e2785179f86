/*
 * guest/linux/hello.c - the smallest workload: prove user space runs
 * (a static binary loads, writes to the console, and exits 0).
 */
#include <stdio.h>
#include <sys/utsname.h>

int main(void)
{
	struct utsname u;
	if (uname(&u) != 0) {
		perror("hello: uname");
		return 1;
	}
	printf("hello: user space runs on %s %s (%s)\n", u.sysname, u.release, u.machine);
	return 0;
}
