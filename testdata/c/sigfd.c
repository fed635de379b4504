/* sigfd takes signals through signalfd: blocked signals read as records, readiness
 * under poll and epoll, a blocking read woken by a child's signal, a new mask, errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);

	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	expect("signalfd", fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC);
	struct signalfd_siginfo si[4];
	errno = 0;
	expect("nothing pending: EAGAIN", read(fd, si, sizeof si) < 0 && errno == EAGAIN);
	struct pollfd pfd = {fd, POLLIN, 0};
	expect("poll: not readable", poll(&pfd, 1, 0) == 0);

	kill(getpid(), SIGUSR1);
	union sigval v = {.sival_int = 77};
	sigqueue(getpid(), SIGUSR2, v);
	expect("poll: readable", poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN));
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 9}, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	expect("epoll: readable", epoll_wait(ep, &out, 1, 0) == 1 && out.data.u32 == 9);
	errno = 0;
	expect("a buffer smaller than a record: EINVAL", read(fd, si, 100) < 0 && errno == EINVAL);
	ssize_t n = read(fd, si, sizeof si);
	expect("both read at once", n == 2 * (ssize_t)sizeof si[0]);
	expect("  SIGUSR1 from kill, SI_USER, our pid", si[0].ssi_signo == SIGUSR1 && si[0].ssi_code == SI_USER &&
							 si[0].ssi_pid == (unsigned)getpid());
	expect("  SIGUSR2 from sigqueue with its value", si[1].ssi_signo == SIGUSR2 && si[1].ssi_code == SI_QUEUE &&
							     si[1].ssi_int == 77);
	expect("poll: empty again", poll(&pfd, 1, 0) == 0);

	/* A new mask: SIGUSR2 only. */
	sigset_t only2;
	sigemptyset(&only2);
	sigaddset(&only2, SIGUSR2);
	expect("signalfd with a new mask", signalfd(fd, &only2, 0) == fd);
	kill(getpid(), SIGUSR1);
	errno = 0;
	expect("SIGUSR1 no longer read", read(fd, si, sizeof si) < 0 && errno == EAGAIN);
	sigset_t pend;
	sigpending(&pend);
	expect("  it stays pending", sigismember(&pend, SIGUSR1));
	int sig;
	sigwait(&set, &sig);
	close(fd);

	/* A blocking read, woken by a child's signal. */
	int bfd = signalfd(-1, &set, 0);
	pid_t c = fork();
	if (c == 0) {
		usleep(50000);
		kill(getppid(), SIGUSR2);
		_exit(0);
	}
	n = read(bfd, si, sizeof si);
	expect("a blocking read waits for the child's SIGUSR2", n == sizeof si[0] && si[0].ssi_signo == SIGUSR2 &&
									 si[0].ssi_pid == (unsigned)c);
	waitpid(c, NULL, 0);
	close(bfd);

	errno = 0;
	expect("a bad mask size: EINVAL", syscall(SYS_signalfd4, -1, &set, 4, 0) < 0 && errno == EINVAL);
	int nfd = open("/dev/null", O_RDONLY);
	errno = 0;
	expect("not a signalfd: EINVAL", signalfd(nfd, &set, 0) < 0 && errno == EINVAL);
	close(nfd);
	return failures != 0;
}
