/* sigiospace checks when a socket with O_ASYNC signals room to write (POLL_OUT): only
 * after a send found it full, as Linux's SOCKWQ_ASYNC_NOSPACE decides, not each time the
 * peer reads (nginx's master took a SIGIO whenever a worker read its channel). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t got, last_code;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	got++;
	last_code = si->si_code;
}

/* settle waits up to 2 s for a signal when want is set, else 50 ms. */
static void settle(int want)
{
	struct timespec ms = {0, 1000000};
	for (int i = 0; i < (want ? 2000 : 50) && !(want && got); i++)
		nanosleep(&ms, NULL);
}

int main(void)
{
	struct sigaction sa = {.sa_sigaction = on_sig, .sa_flags = SA_SIGINFO | SA_RESTART};
	sigaction(SIGRTMIN + 2, &sa, NULL);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 2;
	fcntl(sv[0], F_SETOWN, getpid());
	fcntl(sv[0], F_SETSIG, SIGRTMIN + 2);
	fcntl(sv[0], F_SETFL, O_ASYNC | O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	char b[4096] = {0};

	expect("a write of its own", write(sv[0], "x", 1) == 1);
	settle(0);
	expect("sends nothing", got == 0);
	expect("the peer reads it", read(sv[1], b, 1) == 1);
	settle(0);
	expect("room again, never lacked: nothing", got == 0);

	int n = 0;
	while (write(sv[0], b, sizeof b) > 0)
		n++;
	expect("writes until full", n > 0);
	settle(0);
	expect("full: nothing yet", got == 0);
	while (read(sv[1], b, sizeof b) > 0)
		;
	settle(1);
	expect("drained after a full send: POLL_OUT", got == 1 && last_code == POLL_OUT);

	got = 0;
	write(sv[0], "y", 1);
	read(sv[1], b, 1);
	settle(0);
	expect("then a read without a full send again: nothing", got == 0);
	return failures != 0;
}
