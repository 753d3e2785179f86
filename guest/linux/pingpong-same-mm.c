/*
 * guest/linux/pingpong-same-mm.c - like pingpong, but between two threads
 * of one process: both share one mm, so Linux's switch_mm() sees no change
 * of address space and issues no IBPB between them, whatever the
 * spectre_v2_user setting.
 *
 * Usage: pingpong-same-mm [N]  (default 1000). Prints
 *   pingpong: mode=threads messages=N ok
 * and exits 0, or prints what failed and exits 1.
 */
#include <pthread.h>
#include <stdio.h>

#include "common.h"

static int to_thread[2], to_main[2];
static long count;

static void *echo(void *arg)
{
	(void)arg;
	for (long i = 0; i < count; i++) {
		char c;
		if (read_byte(to_thread[0], &c) || write_byte(to_main[1], c))
			return (void *)1;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	count = argc > 1 ? parse_count(argv[1]) : 1000;
	if (count < 0) {
		fprintf(stderr, "pingpong-same-mm: bad message count '%s'\n", argv[1]);
		return 1;
	}
	if (pipe(to_thread) || pipe(to_main)) {
		perror("pingpong-same-mm: pipe");
		return 1;
	}
	pthread_t t;
	if (pthread_create(&t, NULL, echo, NULL) != 0) {
		fprintf(stderr, "pingpong-same-mm: pthread_create failed\n");
		return 1;
	}
	for (long i = 0; i < count; i++) {
		char c = (char)i, back;
		if (write_byte(to_thread[1], c) || read_byte(to_main[0], &back) || back != c) {
			fprintf(stderr, "pingpong-same-mm: message %ld failed\n", i);
			return 1;
		}
	}
	void *ret;
	if (pthread_join(t, &ret) != 0 || ret != NULL) {
		fprintf(stderr, "pingpong-same-mm: echo thread failed\n");
		return 1;
	}
	printf("pingpong: mode=threads messages=%ld ok\n", count);
	return 0;
}
