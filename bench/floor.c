/* SPDX-License-Identifier: MIT */
/*
 * floor.c - the cost floor of a breakpoint-based tracer on this machine.
 *
 *   floor [N]     (default 20000)
 *
 * Forks a child that runs PTRACE_TRACEME, stops itself, then executes N
 * int3 instructions. The parent waits for each SIGTRAP stop and resumes the
 * child with PTRACE_CONT and no signal. Prints "floor_us X": microseconds
 * per stop/continue round trip, the least any breakpoint hit can cost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
	if (n <= 0) {
		fprintf(stderr, "usage: floor [N]\n");
		return 2;
	}

	pid_t pid = fork();
	if (pid < 0) {
		perror("floor: fork");
		return 1;
	}
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
			_exit(100);
		raise(SIGSTOP);
		for (long i = 0; i < n; i++)
			__asm__ volatile("int3");
		_exit(0);
	}

	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) {
		fprintf(stderr, "floor: child did not stop (ptrace not permitted?)\n");
		return 1;
	}
	ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)PTRACE_O_EXITKILL);
	long traps = 0;
	double t0 = now_us();
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	for (;;) {
		if (waitpid(pid, &st, 0) < 0) {
			if (errno == EINTR)
				continue;
			perror("floor: waitpid");
			return 1;
		}
		if (!WIFSTOPPED(st))
			break;
		if (WSTOPSIG(st) == SIGTRAP)
			traps++;
		ptrace(PTRACE_CONT, pid, NULL, NULL);
	}
	double t1 = now_us();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || traps != n) {
		fprintf(stderr, "floor: child ended badly (status %#x, %ld of %ld traps)\n",
			st, traps, n);
		return 1;
	}
	printf("floor_us %.3f\n", (t1 - t0) / (double)traps);
	return 0;
}
