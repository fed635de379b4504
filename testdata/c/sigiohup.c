/* sigiohup checks the si_code and si_band of the signal F_SETSIG chose for a socket
 * with O_ASYNC: data from the peer is POLL_IN, the peer shutting down its writing half
 * POLL_IN too, and the peer's end closed (both ways shut) POLL_HUP with POLLHUP and
 * POLLERR in si_band, as Linux's unix_release_sock() sends it; it was POLL_IN. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sigcount.h"

static volatile sig_atomic_t code;
static volatile long band;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	got++;
	code = si->si_code;
	band = si->si_band;
}

/* pair makes a socket pair whose first end signals this process. */
static void pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		_exit(2);
	fcntl(sv[0], F_SETOWN, getpid());
	fcntl(sv[0], F_SETSIG, SIGRTMIN + 3);
	fcntl(sv[0], F_SETFL, O_ASYNC | O_NONBLOCK);
}

int main(void)
{
	struct sigaction sa = {.sa_sigaction = on_sig, .sa_flags = SA_SIGINFO | SA_RESTART};
	sigaction(SIGRTMIN + 3, &sa, NULL);
	int sv[2], go[2];
	char b[8];
	pair(sv);
	if (pipe(go))
		return 2;
	pid_t c = fork();
	if (c == 0) {
		close(sv[0]);
		write(sv[1], "ab", 2);
		read(go[0], b, 1);
		_exit(0); /* closes sv[1] */
	}
	close(sv[1]);
	expect("data: one signal", wait_for(1) == 1);
	expect("data: POLL_IN", code == POLL_IN);
	expect("data: band POLLIN|POLLRDNORM", band == (POLLIN | POLLRDNORM));
	read(sv[0], b, sizeof b);
	write(go[1], "x", 1);
	waitpid(c, NULL, 0);
	expect("the peer's close: one more", wait_for(2) == 2);
	expect("the peer's close: POLL_HUP", code == POLL_HUP);
	expect("the peer's close: band POLLHUP|POLLERR", band == (POLLHUP | POLLERR));
	close(sv[0]);

	got = 0;
	pair(sv);
	shutdown(sv[1], SHUT_WR);
	expect("the peer's half close: one signal", wait_for(1) == 1);
	expect("the peer's half close: POLL_IN", code == POLL_IN);
	return failures != 0;
}
