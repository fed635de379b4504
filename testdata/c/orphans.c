/* orphans checks what happens to a child whose parent dies: it is reparented to the
 * nearest subreaper (PR_SET_CHILD_SUBREAPER), which getppid then names and which waits
 * for it, and it receives the signal it asked for with PR_SET_PDEATHSIG. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t got;

static void on_sig(int sig) { got = sig; }

int main(void)
{
	int v = -1;
	expect("PR_SET_CHILD_SUBREAPER", prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
	prctl(PR_GET_CHILD_SUBREAPER, &v);
	printf("PR_GET_CHILD_SUBREAPER: %d\n", v);
	prctl(PR_GET_PDEATHSIG, &v);
	printf("PR_GET_PDEATHSIG at start: %d\n", v);
	expect_err("PR_SET_PDEATHSIG with a bad signal", prctl(PR_SET_PDEATHSIG, 65), EINVAL);
	printf("PR_GET_DUMPABLE: %d\n", prctl(PR_GET_DUMPABLE));
	expect_err("PR_SET_DUMPABLE 2", prctl(PR_SET_DUMPABLE, 2), EINVAL);
	prctl(PR_SET_DUMPABLE, 0);
	printf("PR_GET_DUMPABLE after setting 0: %d\n", prctl(PR_GET_DUMPABLE));
	prctl(PR_SET_DUMPABLE, 1);

	int ready[2], report[2];
	pipe(ready);
	pipe(report);
	pid_t me = getpid();
	fflush(stdout);
	pid_t mid = fork();
	if (mid == 0) {
		pid_t self = getpid();
		pid_t c = fork();
		if (c == 0) {
			/* SIGUSR1 stays blocked but in sigsuspend: one that came between a
			 * look at got and a pause would leave the pause waiting for ever. */
			sigset_t usr1, wait_mask;
			sigemptyset(&usr1);
			sigaddset(&usr1, SIGUSR1);
			sigprocmask(SIG_BLOCK, &usr1, &wait_mask);
			sigdelset(&wait_mask, SIGUSR1);
			signal(SIGUSR1, on_sig);
			prctl(PR_SET_PDEATHSIG, SIGUSR1);
			int s = 0;
			prctl(PR_GET_PDEATHSIG, &s);
			int ok = getppid() == self;
			write(ready[1], "x", 1);
			while (!got)
				sigsuspend(&wait_mask);
			char line[128];
			int n = snprintf(line, sizeof line, "%d %d %d %d\n", ok, s, (int)got, getppid() == me);
			write(report[1], line, n);
			_exit(5);
		}
		char x;
		read(ready[0], &x, 1);
		_exit(0); /* the child is orphaned */
	}
	int st;
	waitpid(mid, &st, 0);
	char line[128] = "";
	ssize_t n = read(report[0], line, sizeof line - 1);
	if (n > 0)
		line[n] = 0;
	int ok = 0, s = 0, sig = 0, sub = 0;
	sscanf(line, "%d %d %d %d", &ok, &s, &sig, &sub);
	expect("the child's parent was the middle process", ok);
	printf("its PR_GET_PDEATHSIG: %d\n", s);
	printf("the signal it got when that parent died: %d\n", sig);
	expect("getppid then named the subreaper", sub);
	pid_t w = wait(&st);
	expect("the subreaper waits for it", w > 0 && w != mid);
	printf("its exit status: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	/* A forked child does not inherit the parent-death signal. */
	prctl(PR_SET_PDEATHSIG, SIGUSR2);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		int s = -1;
		prctl(PR_GET_PDEATHSIG, &s);
		_exit(s);
	}
	waitpid(c, &st, 0);
	printf("a fork child's PR_GET_PDEATHSIG: %d\n", WEXITSTATUS(st));
	return failures;
}
