/* recvmmsg: a blocking recvmmsg waits for each datagram until vlen came, as Linux's
 * do_recvmmsg() does; MSG_WAITFORONE waits for the first only; a timeout is looked at
 * after each datagram (and the time left written back); a signal after some datagrams
 * ends the call with their count, before any with EINTR. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define VLEN 4

static int sv[2];
static struct mmsghdr msgs[VLEN];
static char bufs[VLEN][32];
static struct iovec iov[VLEN];

static void reset(void)
{
	memset(msgs, 0, sizeof msgs);
	memset(bufs, 0, sizeof bufs);
	for (int i = 0; i < VLEN; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof bufs[i];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
}

struct plan {
	int count;
	int gap_ms;
};

/* sender writes count datagrams to sv[1], gap_ms apart, the first after gap_ms. */
static void *sender(void *arg)
{
	struct plan *p = arg;
	for (int i = 0; i < p->count; i++) {
		usleep(p->gap_ms * 1000);
		char m[16];
		int n = snprintf(m, sizeof m, "dgram %d", i);
		send(sv[1], m, n, 0);
	}
	return NULL;
}

static pthread_t start(struct plan *p)
{
	pthread_t th;
	pthread_create(&th, NULL, sender, p);
	return th;
}

static void on_alarm(int sig) { (void)sig; }

static void show(int n)
{
	for (int i = 0; i < n; i++)
		printf("  [%d] %u \"%s\"\n", i, msgs[i].msg_len, bufs[i]);
}

int main(void)
{
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		return 1;

	/* Plain blocking: all four, though they come 30 ms apart. */
	reset();
	struct plan p = {VLEN, 30};
	pthread_t th = start(&p);
	int n = recvmmsg(sv[0], msgs, VLEN, 0, NULL);
	pthread_join(th, NULL);
	printf("blocking recvmmsg waited for all: %d\n", n);
	show(n);

	/* MSG_WAITFORONE: the first, and what is queued then. */
	reset();
	p = (struct plan){2, 200};
	th = start(&p);
	n = recvmmsg(sv[0], msgs, VLEN, MSG_WAITFORONE, NULL);
	printf("MSG_WAITFORONE returned after the first: %d\n", n);
	show(n);
	pthread_join(th, NULL);
	n = recvmmsg(sv[0], msgs, VLEN, MSG_DONTWAIT, NULL);
	printf("the second was left queued: %d\n", n);

	/* Two queued, a third later: MSG_WAITFORONE takes the two. */
	reset();
	send(sv[1], "a", 1, 0);
	send(sv[1], "bb", 2, 0);
	n = recvmmsg(sv[0], msgs, VLEN, MSG_WAITFORONE, NULL);
	printf("MSG_WAITFORONE with two queued: %d\n", n);
	show(n);

	/* A timeout of 250 ms, datagrams 150 ms apart: it is looked at after each one, so
	 * the call returns after the one that comes past it (the second), not at 250 ms. */
	reset();
	p = (struct plan){3, 150};
	th = start(&p);
	struct timespec to = {0, 250000000};
	n = recvmmsg(sv[0], msgs, VLEN, 0, &to);
	pthread_join(th, NULL);
	printf("with a 250 ms timeout, 150 ms apart: %d\n", n);
	printf("the time left written back is zero: %d\n", to.tv_sec == 0 && to.tv_nsec == 0);
	n = recvmmsg(sv[0], msgs, VLEN, MSG_DONTWAIT, NULL);
	printf("the third stays queued: %d\n", n);

	/* A long timeout: all four, and time left written back. */
	reset();
	p = (struct plan){VLEN, 10};
	th = start(&p);
	to = (struct timespec){5, 0};
	n = recvmmsg(sv[0], msgs, VLEN, 0, &to);
	pthread_join(th, NULL);
	printf("with a 5 s timeout: %d, time left below 5 s and above 4 s: %d\n", n,
	       to.tv_sec == 4 && to.tv_nsec > 0);

	/* A signal with a handler after one datagram: the call returns 1. */
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	reset();
	send(sv[1], "only", 4, 0);
	struct itimerval it = {{0, 0}, {0, 80000}};
	setitimer(ITIMER_REAL, &it, NULL);
	n = recvmmsg(sv[0], msgs, VLEN, 0, NULL);
	printf("a signal after one datagram: %d\n", n);
	show(n);

	/* Linux keeps the interrupted receive's error on the socket for its next call (a
	 * quirk of do_recvmmsg), which vemu does not: go on with a new pair. */
	close(sv[0]);
	close(sv[1]);
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);

	/* Before any: EINTR (no SA_RESTART). */
	reset();
	setitimer(ITIMER_REAL, &it, NULL);
	expect_err("a signal before any", recvmmsg(sv[0], msgs, VLEN, 0, NULL), EINTR);

	/* Nonblocking: what is queued, then EAGAIN when nothing is. */
	send(sv[1], "x", 1, 0);
	reset();
	printf("MSG_DONTWAIT with one queued: %d\n", recvmmsg(sv[0], msgs, VLEN, MSG_DONTWAIT, NULL));
	expect_err("MSG_DONTWAIT with none", recvmmsg(sv[0], msgs, VLEN, MSG_DONTWAIT, NULL), EAGAIN);
	to = (struct timespec){0, 1000000000};
	expect_err("a bad timeout", recvmmsg(sv[0], msgs, VLEN, 0, &to), EINVAL);
	printf("vlen 0: %d\n", recvmmsg(sv[0], msgs, 0, 0, NULL));
	return failures;
}
