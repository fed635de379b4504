/* sigio checks signal-driven I/O: F_SETOWN, F_GETOWN, F_SETOWN_EX, F_GETOWN_EX,
 * F_SETSIG and F_GETSIG, and O_ASYNC sending SIGIO, or the chosen signal with si_code,
 * si_band and si_fd, when a pipe or socket becomes readable, or a full pipe writable,
 * whoever wrote; none once O_ASYNC is off. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sigcount.h"

static volatile int last_sig, last_code, last_fd;
static volatile long last_band;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got++;
	last_sig = sig;
	last_code = si->si_code;
	last_fd = si->si_fd;
	last_band = si->si_band;
}

static void expect_ok(const char *what, long r)
{
	printf("%s: %s\n", what, r < 0 ? errname(errno) : "success");
	if (r < 0)
		failures++;
}

int main(void)
{
	struct sigaction sa = {.sa_sigaction = on_sig, .sa_flags = SA_SIGINFO | SA_RESTART};
	sigaction(SIGIO, &sa, NULL);
	sigaction(SIGRTMIN + 1, &sa, NULL);
	int p[2];
	if (pipe(p))
		return 2;
	char buf[70000];
	memset(buf, 'x', sizeof buf);

	expect("F_GETOWN starts at 0", fcntl(p[0], F_GETOWN) == 0);
	expect_err("F_SETOWN of no process", fcntl(p[0], F_SETOWN, 999999), ESRCH);
	expect_ok("F_SETOWN of itself", fcntl(p[0], F_SETOWN, getpid()));
	expect("F_GETOWN gives it", fcntl(p[0], F_GETOWN) == getpid());
	expect_ok("F_SETOWN of its group", fcntl(p[0], F_SETOWN, -getpgrp()));
	expect("F_GETOWN gives the group negated", fcntl(p[0], F_GETOWN) == -getpgrp());
	struct f_owner_ex ex = {F_OWNER_TID, (pid_t)syscall(SYS_gettid)}, back;
	expect_ok("F_SETOWN_EX of a thread", fcntl(p[0], F_SETOWN_EX, &ex));
	expect("F_GETOWN_EX gives it", fcntl(p[0], F_GETOWN_EX, &back) == 0 && back.type == F_OWNER_TID && back.pid == ex.pid);
	ex.type = 7;
	expect_err("F_SETOWN_EX of a bad kind", fcntl(p[0], F_SETOWN_EX, &ex), EINVAL);
	expect_err("F_SETSIG 65", fcntl(p[0], F_SETSIG, 65), EINVAL);
	expect("F_GETSIG starts at 0", fcntl(p[0], F_GETSIG) == 0);

	/* SIGIO with no siginfo of its own. */
	fcntl(p[0], F_SETOWN, getpid());
	expect_ok("O_ASYNC", fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_ASYNC));
	expect("F_GETFL shows O_ASYNC", (fcntl(p[0], F_GETFL) & O_ASYNC) != 0);
	expect("no signal for what was there before", wait_for(1) == 0);
	write(p[1], "a", 1);
	expect("a write sends SIGIO", wait_for(1) == 1 && last_sig == SIGIO);
	expect("with si_code SI_KERNEL", last_code == SI_KERNEL);
	read(p[0], buf, sizeof buf);

	/* F_SETSIG's signal, queued, with si_fd and si_band. */
	got = 0;
	expect_ok("F_SETSIG SIGRTMIN+1", fcntl(p[0], F_SETSIG, SIGRTMIN + 1));
	expect("F_GETSIG gives it", fcntl(p[0], F_GETSIG) == SIGRTMIN + 1);
	for (int i = 1; i <= 3; i++) {
		write(p[1], "b", 1);
		wait_for(i);
	}
	printf("three writes, signals: %d\n", got);
	printf("sig RT+%d code %d fd-is-read-end %d band %#lx\n", last_sig - SIGRTMIN, last_code, last_fd == p[0], last_band);
	read(p[0], buf, sizeof buf);

	/* Another process writes. */
	got = 0;
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		write(p[1], "c", 1);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	expect("a child's write signals the owner", wait_for(1) == 1 && last_code == POLL_IN);
	read(p[0], buf, sizeof buf);

	/* Off again. */
	got = 0;
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) & ~O_ASYNC);
	expect("F_GETFL without O_ASYNC", (fcntl(p[0], F_GETFL) & O_ASYNC) == 0);
	write(p[1], "d", 1);
	expect("no signal once O_ASYNC is off", wait_for(1) == 0);
	read(p[0], buf, sizeof buf);

	/* The writer of a full pipe hears that it has room again. */
	got = 0;
	fcntl(p[1], F_SETFL, O_NONBLOCK | O_ASYNC);
	fcntl(p[1], F_SETOWN, getpid());
	fcntl(p[1], F_SETSIG, SIGRTMIN + 1);
	while (write(p[1], buf, sizeof buf) > 0)
		;
	expect("a full pipe is no event", wait_for(1) == 0);
	read(p[0], buf, 4096);
	expect("a read from a full pipe signals the writer", wait_for(1) >= 1 && last_code == POLL_OUT);
	printf("its band %#lx, fd-is-write-end %d\n", last_band, last_fd == p[1]);
	close(p[0]);
	close(p[1]);

	/* A socket pair. */
	int s[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		return 2;
	got = 0;
	fcntl(s[0], F_SETOWN, getpid());
	fcntl(s[0], F_SETSIG, SIGRTMIN + 1);
	fcntl(s[0], F_SETFL, O_ASYNC);
	send(s[1], "e", 1, 0);
	wait_for(1);
	expect("a socket's data signals", got >= 1 && last_code == POLL_IN && last_fd == s[0]);
	return failures;
}
