/* pidfd checks clone3 (with CLONE_PIDFD, its argument checks, and threads made by glibc
 * with it) and pidfds: pidfd_open, polling for the exit, pidfd_send_signal, pidfd_getfd
 * and waitid(P_PIDFD). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct clone_args_ {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
		cgroup;
};

static long clone3_(struct clone_args_ *a, size_t size) { return syscall(SYS_clone3, a, size); }

static int readable(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void *thread_fn(void *arg) { return (char *)arg + 1; }

int main(void)
{
	/* clone3 as fork, with a pidfd. */
	int pidfd = -1;
	struct clone_args_ a = {0};
	a.flags = CLONE_PIDFD;
	a.pidfd = (uintptr_t)&pidfd;
	a.exit_signal = SIGCHLD;
	fflush(stdout);
	/* The child waits for the parent's word (the pipe's end), not for a time a loaded
	   machine may let pass before the parent looks. */
	int go[2];
	if (pipe(go))
		return 1;
	long pid = clone3_(&a, sizeof a);
	if (pid == 0) {
		char w;
		close(go[1]);
		while (read(go[0], &w, 1) < 0 && errno == EINTR)
			;
		_exit(3);
	}
	close(go[0]);
	expect("clone3 made a child", pid > 0);
	expect("clone3 gave a pidfd", pidfd >= 0);
	expect("pidfd is not readable while the child runs", !readable(pidfd, 0));
	close(go[1]);
	expect("pidfd becomes readable when the child exits", readable(pidfd, 5000));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	expect("waitid(P_PIDFD)", waitid(P_PIDFD, pidfd, &si, WEXITED) == 0);
	expect("waitid reports the exit", si.si_pid == pid && si.si_code == CLD_EXITED && si.si_status == 3);
	expect_err("pidfd_send_signal to a reaped child", syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0), ESRCH);
	char c;
	expect_err("read of a pidfd", read(pidfd, &c, 1), EINVAL);
	close(pidfd);

	/* clone3's checks. */
	memset(&a, 0, sizeof a);
	a.exit_signal = SIGCHLD;
	expect_err("clone3 short struct", clone3_(&a, 32), EINVAL);
	expect_err("clone3 struct beyond a page", clone3_(&a, 8192), E2BIG);
	char big[128] = {0};
	memcpy(big, &a, sizeof a);
	big[100] = 1;
	expect_err("clone3 non-zero tail", clone3_((struct clone_args_ *)big, sizeof big), E2BIG);
	a.flags = SIGCHLD;
	a.exit_signal = 0;
	expect_err("clone3 signal in flags", clone3_(&a, sizeof a), EINVAL);
	a.flags = 0;
	a.exit_signal = 0x100;
	expect_err("clone3 bad exit signal", clone3_(&a, sizeof a), EINVAL);
	a.exit_signal = SIGCHLD;
	a.stack = 0x1000;
	expect_err("clone3 stack without size", clone3_(&a, sizeof a), EINVAL);
	a.stack = 0;
	a.flags = CLONE_THREAD;
	expect_err("clone3 thread without sighand", clone3_(&a, sizeof a), EINVAL);
	a.flags = CLONE_SIGHAND;
	a.exit_signal = 0;
	expect_err("clone3 sighand without vm", clone3_(&a, sizeof a), EINVAL);
	expect_err("clone3 bad pointer", clone3_((struct clone_args_ *)8, sizeof a), EFAULT);

	/* Threads (glibc makes them with clone3 when it can). */
	pthread_t th[4];
	int ok = 1;
	static char buf[4];
	for (int i = 0; i < 4; i++)
		ok &= pthread_create(&th[i], NULL, thread_fn, buf + i - 1 + 1) == 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		ok &= r == buf + i + 1;
	}
	expect("threads", ok);

	/* pidfd_open, pidfd_send_signal, pidfd_getfd. */
	int p[2];
	pipe(p);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 42);
		write(p[1], "r", 1);
		pause();
		_exit(0);
	}
	close(p[1]);
	read(p[0], &c, 1);
	int fd = syscall(SYS_pidfd_open, pid, 0);
	expect("pidfd_open of a child", fd >= 0);
	expect("pidfd is close-on-exec", fcntl(fd, F_GETFD) == FD_CLOEXEC);
	int nb = syscall(SYS_pidfd_open, pid, O_NONBLOCK);
	expect("PIDFD_NONBLOCK", (fcntl(nb, F_GETFL) & O_NONBLOCK) != 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
	close(nb);
	int got = syscall(SYS_pidfd_getfd, fd, 42, 0);
	expect("pidfd_getfd", got >= 0 && write(got, "x", 1) == 1);
	close(got);
	expect_err("pidfd_getfd flags", syscall(SYS_pidfd_getfd, fd, 42, 1), EINVAL);
	expect_err("pidfd_getfd closed fd", syscall(SYS_pidfd_getfd, fd, 43, 0), EBADF);
	expect_err("pidfd_getfd not a pidfd", syscall(SYS_pidfd_getfd, p[0], 42, 0), EBADF);
	expect_err("pidfd_send_signal flags", syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 8), EINVAL);
	expect_err("pidfd_send_signal two scopes", syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 3), EINVAL);
	expect_err("pidfd_send_signal not a pidfd", syscall(SYS_pidfd_send_signal, p[0], SIGTERM, NULL, 0), EBADF);
	expect("pidfd_send_signal", syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0) == 0);
	expect("readable after the kill", readable(fd, 5000));
	int st;
	expect("killed by SIGTERM", waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	close(fd);
	close(p[0]);
	expect_err("pidfd_open bad flags", syscall(SYS_pidfd_open, getpid(), 1), EINVAL);
	expect_err("pidfd_open pid 0", syscall(SYS_pidfd_open, 0, 0), EINVAL);
	expect_err("pidfd_open reaped", syscall(SYS_pidfd_open, pid, 0), ESRCH);
	fd = syscall(SYS_pidfd_open, getpid(), 0);
	expect("pidfd_open of itself, not readable", fd >= 0 && !readable(fd, 0));
	expect_err("waitid(P_PIDFD) of itself", waitid(P_PIDFD, fd, &si, WEXITED), ECHILD);
	close(fd);

	/* CLONE_PARENT: the child's child is a sibling, which this process waits for. */
	pid_t top = getpid();
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fflush(stdout);
		long g = syscall(SYS_clone, CLONE_PARENT, 0, 0, 0, 0);
		if (g == 0)
			_exit(getppid() == top ? 5 : 6); /* getppid names this process */
		_exit(g > 0 ? 4 : 1);
	}
	pid_t first = wait(&st);
	int st2;
	pid_t second = wait(&st2);
	expect("CLONE_PARENT: both children are ours", first > 0 && second > 0 && first != second);
	expect("and both exit codes come here", WIFEXITED(st) && WIFEXITED(st2) &&
						     WEXITSTATUS(st) + WEXITSTATUS(st2) == 9);
	expect_err("no more children", wait(&st), ECHILD);

	/* A descriptor of /proc/PID serves pidfd_send_signal (and only it) as a pidfd. */
	char dir[32];
	snprintf(dir, sizeof dir, "/proc/%d", (int)getpid());
	int pd = open(dir, O_RDONLY | O_DIRECTORY);
	sigset_t usr;
	sigemptyset(&usr);
	sigaddset(&usr, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr, NULL);
	expect("pidfd_send_signal through /proc/PID",
	       syscall(SYS_pidfd_send_signal, pd, SIGUSR1, NULL, 0) == 0 && sigwaitinfo(&usr, NULL) == SIGUSR1);
	expect_err("pidfd_getfd through /proc/PID", syscall(SYS_pidfd_getfd, pd, 0, 0), EBADF);
	close(pd);
	return failures;
}
