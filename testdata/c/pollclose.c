/* pollclose checks what poll and select answer for a descriptor that another thread
 * closes while they wait, a duplicate keeping the file open: Linux looks each
 * descriptor up again at every pass of the wait, so the next wake-up (an event on the
 * file, a signal, the timeout) finds it closed: POLLNVAL for poll, and for select the
 * descriptor counts in each set it was asked about. A descriptor that names another
 * file by then answers for that file. The closing thread waits a little first, for the
 * wait to begin. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "check.h"

enum { CLOSE_ONLY, CLOSE_WRITE, REPLACE, CLOSE_SIGNAL };

static int p[2], q[2], how;
static pthread_t waiter;

static void on_usr1(int sig) { (void)sig; }

static void *closer(void *arg)
{
	(void)arg;
	usleep(50000);
	if (how == REPLACE)
		dup2(q[0], p[0]);
	else
		close(p[0]);
	usleep(20000);
	if (how == CLOSE_WRITE)
		write(p[1], "x", 1); /* through the file the duplicate keeps open */
	if (how == REPLACE)
		write(q[1], "y", 1);
	if (how == CLOSE_SIGNAL)
		pthread_kill(waiter, SIGUSR1);
	return NULL;
}

static const char *names[] = {"close, then the timeout", "close, then data", "dup2 of another pipe",
			      "close, then a signal"};

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1; /* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	waiter = pthread_self();
	for (how = CLOSE_ONLY; how <= CLOSE_SIGNAL; how++) {
		pipe(p);
		pipe(q);
		int keep = dup(p[0]);
		pthread_t th;
		pthread_create(&th, NULL, closer, NULL);
		struct pollfd f = {.fd = p[0], .events = POLLIN};
		int r = poll(&f, 1, how == CLOSE_SIGNAL ? 5000 : 1000);
		printf("poll, %s: %d, revents %#x\n", names[how], r, f.revents);
		pthread_join(th, NULL);
		r = poll(&f, 1, 0);
		printf("  and again: %d, revents %#x\n", r, f.revents);
		close(keep);
		close(p[0]);
		close(p[1]);
		close(q[0]);
		close(q[1]);
	}
	/* select, with the descriptor in each of the three sets in turn, woken by the
	 * timeout, by data on the file, and by another pipe that becomes readable. */
	for (int set = 0; set < 6; set++) {
		how = set < 3 ? CLOSE_WRITE : REPLACE;
		pipe(p);
		pipe(q);
		int keep = dup(p[0]);
		int other = q[0];
		pthread_t th;
		pthread_create(&th, NULL, closer, NULL);
		fd_set s[3];
		for (int i = 0; i < 3; i++)
			FD_ZERO(&s[i]);
		FD_SET(p[0], &s[set % 3]);
		FD_SET(other, &s[0]);
		struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
		int r = select(p[0] > other ? p[0] + 1 : other + 1, &s[0], &s[1], &s[2], &tv);
		printf("select, %s, in set %d: %d; read %d write %d except %d\n", names[how], set % 3, r, FD_ISSET(p[0], &s[0]),
		       FD_ISSET(p[0], &s[1]), FD_ISSET(p[0], &s[2]));
		pthread_join(th, NULL);
		if (how == REPLACE)
			close(p[0]);
		close(keep);
		close(p[1]);
		close(q[0]);
		close(q[1]);
	}
	/* Before the wait, a closed descriptor is POLLNVAL at once, and select's EBADF. */
	pipe(p);
	close(p[0]);
	struct pollfd f = {.fd = p[0], .events = POLLIN};
	int r = poll(&f, 1, 1000);
	printf("poll of a closed descriptor: %d, revents %#x\n", r, f.revents);
	fd_set s;
	FD_ZERO(&s);
	FD_SET(p[0], &s);
	expect_err("select of a closed descriptor", select(p[0] + 1, &s, NULL, NULL, NULL), EBADF);
	close(p[1]);
	return failures;
}
