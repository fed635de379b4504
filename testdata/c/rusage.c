/* rusage has a child burn CPU time and checks that wait4, waitid, getrusage(RUSAGE_CHILDREN)
 * and times() report it to the parent, and that the parent's own figures are its own. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
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
	return failures;
}
