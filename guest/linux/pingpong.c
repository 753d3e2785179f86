/*
 * guest/linux/pingpong.c - two processes exchange one byte over a pair of
 * pipes N times. Each message wakes the other process, so the guest kernel
 * switches between two address spaces (two mms) about twice per message:
 * that is where Linux's switch_mm() issues IBPB when the tasks asked for it
 * (spectre_v2_user=on, or =prctl with PR_SET_SPECULATION_CTRL).
 *
 * Usage: pingpong [N]  (default 1000). With "-p" first, the parent opts in
 * to indirect-branch isolation with prctl before forking (the prctl
 * workload; the child inherits the setting). Prints one result line:
 *   pingpong: mode=processes [prctl=opted-in|prctl=refused] messages=N ok
 * and exits 0, or prints what failed and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

int main(int argc, char **argv)
{
	int arg = 1, opt_in = 0;
	if (arg < argc && strcmp(argv[arg], "-p") == 0) {
		opt_in = 1;
		arg++;
	}
	long n = arg < argc ? parse_count(argv[arg]) : 1000;
	if (n < 0) {
		fprintf(stderr, "pingpong: bad message count '%s'\n", argv[arg]);
		return 1;
	}
	/* A refusal is reported, not fatal: the pingpong still runs, and the
	 * result line says the opt-in did not happen. */
	const char *prctl_state = "";
	if (opt_in)
		prctl_state = speculation_opt_in("pingpong") == 0 ? " prctl=opted-in" : " prctl=refused";

	int to_child[2], to_parent[2];
	if (pipe(to_child) || pipe(to_parent)) {
		perror("pingpong: pipe");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("pingpong: fork");
		return 1;
	}
	if (pid == 0) {
		/* Child: echo every byte back, n times. */
		close(to_child[1]);
		close(to_parent[0]);
		for (long i = 0; i < n; i++) {
			char c;
			if (read_byte(to_child[0], &c) || write_byte(to_parent[1], c))
				_exit(1);
		}
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	for (long i = 0; i < n; i++) {
		char c = (char)i, back;
		if (write_byte(to_child[1], c) || read_byte(to_parent[0], &back)) {
			fprintf(stderr, "pingpong: pipe failed after %ld messages\n", i);
			return 1;
		}
		if (back != c) {
			fprintf(stderr, "pingpong: message %ld came back as %d\n", i, back);
			return 1;
		}
	}
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "pingpong: child failed (status 0x%x)\n", status);
		return 1;
	}
	printf("pingpong: mode=processes%s messages=%ld ok\n", prctl_state, n);
	return 0;
}
