/* procmm checks sched_rr_get_interval, process_madvise and process_mrelease: their
 * answers for this process and a child, and the errors Linux gives. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#ifndef SYS_process_mrelease
#define SYS_process_mrelease 448
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#define MADV_PAGEOUT 21
#endif

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct timespec ts = {9, 9};
	expect("sched_rr_get_interval: 0 for SCHED_OTHER",
	       syscall(SYS_sched_rr_get_interval, 0, &ts) == 0 && ts.tv_sec == 0 && ts.tv_nsec == 0);
	struct sched_param sp = {0};
	sched_setscheduler(0, SCHED_BATCH, &sp);
	ts.tv_sec = 9;
	expect("and SCHED_BATCH", syscall(SYS_sched_rr_get_interval, 0, &ts) == 0 && ts.tv_sec == 0 && ts.tv_nsec == 0);
	sched_setscheduler(0, SCHED_OTHER, &sp);
	expect_err("pid -1", syscall(SYS_sched_rr_get_interval, -1, &ts), EINVAL);
	expect_err("no such pid", syscall(SYS_sched_rr_get_interval, 999999, &ts), ESRCH);
	expect_err("a bad pointer", syscall(SYS_sched_rr_get_interval, 0, (void *)8), EFAULT);

	int pfd = syscall(SYS_pidfd_open, getpid(), 0);
	char *m = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m[0] = 'x';
	struct iovec iov = {m, 8192};
	expect("process_madvise MADV_COLD", syscall(SYS_process_madvise, pfd, &iov, 1, MADV_COLD, 0) == 8192);
	expect("MADV_WILLNEED", syscall(SYS_process_madvise, pfd, &iov, 1, MADV_WILLNEED, 0) == 8192);
	expect("MADV_PAGEOUT", syscall(SYS_process_madvise, pfd, &iov, 1, MADV_PAGEOUT, 0) == 8192);
	expect("MADV_DONTNEED of our own", syscall(SYS_process_madvise, pfd, &iov, 1, MADV_DONTNEED, 0) == 8192 &&
						   m[0] == 0);
	expect("no ranges", syscall(SYS_process_madvise, pfd, &iov, 0, MADV_COLD, 0) == 0);
	expect_err("flags", syscall(SYS_process_madvise, pfd, &iov, 1, MADV_COLD, 1), EINVAL);
	expect_err("not a pidfd", syscall(SYS_process_madvise, 0, &iov, 1, MADV_COLD, 0), EBADF);
	expect_err("not open", syscall(SYS_process_madvise, 99, &iov, 1, MADV_COLD, 0), EBADF);
	expect_err("1025 ranges", syscall(SYS_process_madvise, pfd, &iov, 1025, MADV_COLD, 0), EINVAL);
	expect_err("a bad iovec array", syscall(SYS_process_madvise, pfd, (void *)8, 1, MADV_COLD, 0), EFAULT);
	struct iovec un = {(void *)0x10000, 4096}, mis = {m + 1, 4096};
	expect_err("an unmapped range", syscall(SYS_process_madvise, pfd, &un, 1, MADV_COLD, 0), ENOMEM);
	expect_err("a misaligned range", syscall(SYS_process_madvise, pfd, &mis, 1, MADV_COLD, 0), EINVAL);
	expect("MADV_NORMAL of our own", syscall(SYS_process_madvise, pfd, &iov, 1, MADV_NORMAL, 0) == 8192);
	expect_err("process_mrelease of ourselves", syscall(SYS_process_mrelease, pfd, 0), EINVAL);
	expect_err("process_mrelease, flags", syscall(SYS_process_mrelease, pfd, 1), EINVAL);
	expect_err("process_mrelease, not a pidfd", syscall(SYS_process_mrelease, 0, 0), EBADF);

	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		pause();
		_exit(0);
	}
	int cfd = syscall(SYS_pidfd_open, c, 0);
	ts.tv_sec = 9;
	expect("sched_rr_get_interval of a child", syscall(SYS_sched_rr_get_interval, c, &ts) == 0 && ts.tv_sec == 0);
	expect("process_madvise of a child", syscall(SYS_process_madvise, cfd, &iov, 1, MADV_COLD, 0) == 8192);
	expect_err("MADV_NORMAL of a child", syscall(SYS_process_madvise, cfd, &iov, 1, MADV_NORMAL, 0), EINVAL);
	expect_err("MADV_DONTNEED of a child", syscall(SYS_process_madvise, cfd, &iov, 1, MADV_DONTNEED, 0), EINVAL);
	expect_err("process_mrelease of a live child", syscall(SYS_process_mrelease, cfd, 0), EINVAL);
	kill(c, SIGKILL);
	siginfo_t si;
	waitid(P_PID, c, &si, WEXITED | WNOWAIT);
	expect_err("process_mrelease of a zombie", syscall(SYS_process_mrelease, cfd, 0), ESRCH);
	waitpid(c, NULL, 0);
	expect_err("process_mrelease of a reaped child", syscall(SYS_process_mrelease, cfd, 0), ESRCH);
	return failures != 0;
}
