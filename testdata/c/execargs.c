/* execargs runs itself again with arguments at and past Linux's limits: one string may
 * hold MAX_ARG_STRLEN (32 pages) with its NUL, all of them a quarter of the stack rlimit.
 * What does not fit is E2BIG from execve, and the program goes on. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* run execs this program as "child" with n more arguments, each len bytes long, in a
 * child process, and returns its exit status, or -errno when execve failed. */
static int run(int n, size_t len)
{
	char *arg = malloc(len + 1);
	memset(arg, 'a', len);
	arg[len] = 0;
	char **av = calloc(n + 3, sizeof *av);
	av[0] = "execargs";
	av[1] = "child";
	for (int i = 0; i < n; i++)
		av[i + 2] = arg;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execv("/proc/self/exe", av);
		_exit(200 + errno % 50);
	}
	int st;
	waitpid(pid, &st, 0);
	free(arg);
	free(av);
	if (WIFEXITED(st) && WEXITSTATUS(st) >= 200)
		return -(WEXITSTATUS(st) - 200);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "child")) {
		printf("child: %d arguments\n", argc);
		return 0;
	}
	long page = sysconf(_SC_PAGESIZE);
	expect("one argument of 32 pages less its NUL", run(1, 32 * page - 1) == 0);
	expect("one argument of 32 pages: E2BIG", run(1, 32 * page) == -E2BIG);
	expect("one argument of 128 KiB and more: E2BIG", run(1, 200 * 1024) == -E2BIG);
	expect("100,000 one-letter arguments", run(100000, 1) == 0);
	/* Under a 1 MiB stack rlimit the room is 256 KiB: 100,000 pointers do not fit. */
	struct rlimit rl;
	getrlimit(RLIMIT_STACK, &rl);
	rl.rlim_cur = 1 << 20;
	setrlimit(RLIMIT_STACK, &rl);
	expect("the same under a 1 MiB stack rlimit: E2BIG", run(100000, 1) == -E2BIG);
	expect("20,000 of them fit", run(20000, 1) == 0);
	return failures != 0;
}
