/* cpulimit checks RLIMIT_CPU: SIGXCPU at the soft limit, which then goes one second up
 * (getrlimit shows it), and SIGKILL at the hard limit, before SIGXCPU when both are
 * reached. A fork child's CPU time counts from zero. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static volatile unsigned long sink;
static int report = -1;

/* burn spins until a signal ends the process. */
static void burn(void)
{
	for (;;)
		sink = sink * 6364136223846793005UL + 1442695040888963407UL;
}

/* on_xcpu writes the soft limit as it is in the handler, one byte. */
static void on_xcpu(int sig)
{
	(void)sig;
	struct rlimit r;
	getrlimit(RLIMIT_CPU, &r);
	char b = (char)r.rlim_cur;
	write(report, &b, 1);
}

/* run forks a child that sets RLIMIT_CPU to soft and hard (after fork, so its own CPU
 * time counts from zero), catches SIGXCPU when asked, and burns CPU. It returns how
 * the child ended; the soft limits its handler saw are read into seen. */
static int run(rlim_t soft, rlim_t hard, int catch, char *seen, int size)
{
	int p[2];
	if (pipe(p))
		return -1;
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		report = p[1];
		struct rlimit core = {0, 0}, cpu = {soft, hard};
		setrlimit(RLIMIT_CORE, &core);
		if (catch)
			signal(SIGXCPU, on_xcpu);
		if (setrlimit(RLIMIT_CPU, &cpu))
			_exit(99);
		burn();
	}
	close(p[1]);
	int n = 0, r;
	while (n < size && (r = read(p[0], seen + n, size - n)) > 0)
		n += r;
	close(p[0]);
	int st;
	if (waitpid(c, &st, 0) != c)
		return -1;
	seen[n] = 0;
	return st;
}

int main(void)
{
	char seen[16];
	int st = run(1, 2, 1, seen, sizeof seen - 1);
	expect("soft 1, hard 2, caught: one SIGXCPU, after which the soft limit is 2, then SIGKILL",
	       WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && seen[0] == 2 && !seen[1]);

	st = run(1, 1, 1, seen, sizeof seen - 1);
	expect("soft 1, hard 1: SIGKILL without SIGXCPU",
	       WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && !seen[0]);
	return failures;
}
