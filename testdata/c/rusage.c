/* rusage has a child burn CPU time and checks that wait4, waitid, getrusage(RUSAGE_CHILDREN)
 * and times() report it to the parent, and that the parent's own figures are its own; and
 * that a wait reporting a live child's stop (job control or ptrace) or continuation gives
 * the child's usage so far (strace -c reads a tracee's system time from it). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static volatile unsigned long sink;

static void burn(void)
{
	unsigned long x = 1;
	for (long i = 0; i < 150000000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
}

static double secs(struct timeval tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

int main(void)
{
	struct rusage self0;
	getrusage(RUSAGE_SELF, &self0);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		burn();
		_exit(0);
	}
	struct rusage ru;
	int st;
	expect("wait4 reaps the child", wait4(c, &st, 0, &ru) == c);
	double u = secs(ru.ru_utime);
	expect("wait4's rusage holds the child's CPU time", u >= 0.05 && u < 60);
	struct rusage ch;
	getrusage(RUSAGE_CHILDREN, &ch);
	expect("getrusage(RUSAGE_CHILDREN) counts it", secs(ch.ru_utime) >= u * 0.99 && secs(ch.ru_utime) <= u * 1.01 + 0.01);
	struct rusage self;
	getrusage(RUSAGE_SELF, &self);
	expect("the parent's own CPU time is not the child's", secs(self.ru_utime) + secs(self.ru_stime) < u / 2);
	struct tms tm;
	times(&tm);
	long tck = sysconf(_SC_CLK_TCK);
	expect("times() counts the child in tms_cutime", tm.tms_cutime >= (long)(u * tck) - 2 && tm.tms_cutime <= (long)(u * tck) + 2);

	/* waitid with the fifth argument Linux has: the rusage of the reaped child. */
	fflush(stdout);
	c = fork();
	if (c == 0) {
		burn();
		_exit(3);
	}
	siginfo_t si;
	struct rusage wru = {0};
	expect("waitid reaps the second child", syscall(SYS_waitid, P_PID, c, &si, WEXITED, &wru) == 0);
	expect("waitid's rusage holds its CPU time", secs(wru.ru_utime) >= 0.05);
	getrusage(RUSAGE_CHILDREN, &ch);
	expect("RUSAGE_CHILDREN now counts both", secs(ch.ru_utime) >= u + secs(wru.ru_utime) - 0.01);
	expect_err("getrusage with a bad who", getrusage(7, &ch), EINVAL);

	/* Live children: the usage at a stop, and at the continuation. */
	for (int traced = 0; traced < 2; traced++) {
		fflush(stdout);
		c = fork();
		if (c == 0) {
			if (traced)
				ptrace(PTRACE_TRACEME, 0, 0, 0);
			burn();
			raise(SIGSTOP);
			for (;;)
				pause();
		}
		struct rusage sru = {0};
		expect(traced ? "wait4 reports the tracee's signal stop" : "wait4 reports the child's stop",
		       wait4(c, &st, WUNTRACED, &sru) == c && WIFSTOPPED(st));
		expect(traced ? "its rusage holds the tracee's CPU time so far"
			      : "its rusage holds the stopped child's CPU time so far",
		       secs(sru.ru_utime) + secs(sru.ru_stime) >= 0.05);
		if (!traced) {
			kill(c, SIGCONT);
			struct rusage cru = {0};
			expect("wait4 reports the continuation", wait4(c, &st, WCONTINUED, &cru) == c && WIFCONTINUED(st));
			expect("its rusage holds the child's CPU time so far",
			       secs(cru.ru_utime) + secs(cru.ru_stime) >= secs(sru.ru_utime) + secs(sru.ru_stime));
		}
		kill(c, SIGKILL);
		waitpid(c, &st, 0);
	}
	return failures;
}
