/* schedpids: the sched_* queries about the parent, a process outside the program (the
 * shell or test harness that started it), and the pids and sizes they refuse. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	pid_t pp = getppid();
	int pol = syscall(SYS_sched_getscheduler, pp); /* musl's wrappers say ENOSYS */
	printf("parent's policy: %d\n", pol);
	expect("sched_getscheduler(parent) answers", pol >= 0);
	struct sched_param sp = {-1};
	expect("sched_getparam(parent) answers", syscall(SYS_sched_getparam, pp, &sp) == 0 && sp.sched_priority >= 0);
	cpu_set_t set;
	CPU_ZERO(&set);
	expect("sched_getaffinity(parent) names a CPU",
	       sched_getaffinity(pp, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0);

	expect_err("sched_getscheduler(-1)", syscall(SYS_sched_getscheduler, -1), EINVAL);
	expect_err("sched_getparam(-1)", syscall(SYS_sched_getparam, -1, &sp), EINVAL);
	expect_err("sched_getaffinity(-1)", syscall(SYS_sched_getaffinity, -1, sizeof set, &set), ESRCH);
	expect_err("sched_getaffinity(-1), bad size", syscall(SYS_sched_getaffinity, -1, 3, &set), EINVAL);
	expect_err("sched_getaffinity(0), size 0", syscall(SYS_sched_getaffinity, 0, 0, &set), EINVAL);
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	expect_err("sched_setaffinity(-1)", syscall(SYS_sched_setaffinity, -1, sizeof set, &set), ESRCH);
	/* A pid beyond pid_max names nothing. */
	expect_err("sched_getscheduler(no such pid)", syscall(SYS_sched_getscheduler, 0x7ffffff0), ESRCH);
	expect_err("sched_getaffinity(no such pid)", sched_getaffinity(0x7ffffff0, sizeof set, &set), ESRCH);
	return failures != 0;
}
