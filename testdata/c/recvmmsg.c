/* recvmmsg: a blocking recvmmsg waits for each datagram until vlen came, as Linux's
 * do_recvmmsg() does; MSG_WAITFORONE waits for the first only; a timeout is looked at
 * after each datagram (and the time left written back); a signal after some datagrams
 * ends the call with their count, before any with EINTR.
 *
 * Whatever must come after the call returns is sent once the receiver says it returned
 * (or after seconds, so that a call that wrongly waits for it still ends and is seen to
 * have waited), and what must come past a timeout is sent a timeout after the receiver
 * was seen in the call: the answers do not depend on how fast a busy machine runs the
 * threads. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
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
	int held;    /* datagrams from this one on wait for returned(), up to 3 s */
	int late_ms; /* if set, the first is queued already and the second is sent late_ms
		      * after the receiver took it */
};

/* back is written by the receiver once its call returned. */
static int back[2];

static void returned(void) { write(back[1], "r", 1); }

static void send_one(int i)
{
	char m[16];
	int n = snprintf(m, sizeof m, "dgram %d", i);
	send(sv[1], m, n, 0);
}

/* sender writes count datagrams to sv[1], gap_ms apart, the first after gap_ms, as p
 * says. */
static void *sender(void *arg)
{
	struct plan *p = arg;
	for (int i = p->late_ms ? 1 : 0; i < p->count; i++) {
		if (p->held && i == p->held) {
			struct pollfd pf = {.fd = back[0], .events = POLLIN};
			poll(&pf, 1, 3000);
		}
		if (p->late_ms && i == 1) {
			/* Once the first is no longer queued, the receiver is in its call, which
			 * started before: late_ms from now is past its timeout. */
			int queued = 1;
			while (ioctl(sv[0], FIONREAD, &queued) == 0 && queued > 0)
				usleep(1000);
			usleep(p->late_ms * 1000);
			send_one(i);
			continue;
		}
		usleep(p->gap_ms * 1000);
		send_one(i);
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

/* mono is CLOCK_MONOTONIC in seconds. */
static double mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* drain empties back, for the next plan. */
static void drain(void)
{
	char b[8];
	while (read(back[0], b, sizeof b) > 0) {
	}
}

int main(void)
{
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) || pipe(back))
		return 1;
	fcntl(back[0], F_SETFL, O_NONBLOCK);

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
	p = (struct plan){.count = 2, .gap_ms = 30, .held = 1};
	th = start(&p);
	n = recvmmsg(sv[0], msgs, VLEN, MSG_WAITFORONE, NULL);
	returned();
	printf("MSG_WAITFORONE returned after the first: %d\n", n);
	show(n);
	pthread_join(th, NULL);
	drain();
	n = recvmmsg(sv[0], msgs, VLEN, MSG_DONTWAIT, NULL);
	printf("the second was left queued: %d\n", n);

	/* Two queued, a third later: MSG_WAITFORONE takes the two. */
	reset();
	send(sv[1], "a", 1, 0);
	send(sv[1], "bb", 2, 0);
	n = recvmmsg(sv[0], msgs, VLEN, MSG_WAITFORONE, NULL);
	printf("MSG_WAITFORONE with two queued: %d\n", n);
	show(n);

	/* A timeout of 250 ms, the first datagram queued, the second 400 ms after the call
	 * took the first: the timeout is looked at after each one, so the call returns after
	 * the one that comes past it (the second), not at 250 ms, and not waiting for the
	 * third. */
	reset();
	send_one(0);
	p = (struct plan){.count = 3, .late_ms = 400, .held = 2};
	th = start(&p);
	struct timespec to = {0, 250000000};
	n = recvmmsg(sv[0], msgs, VLEN, 0, &to);
	returned();
	pthread_join(th, NULL);
	drain();
	printf("with a 250 ms timeout, the second past it: %d\n", n);
	printf("the time left written back is zero: %d\n", to.tv_sec == 0 && to.tv_nsec == 0);
	n = recvmmsg(sv[0], msgs, VLEN, MSG_DONTWAIT, NULL);
	printf("the third stays queued: %d\n", n);

	/* A long timeout: all four, and time left written back: less than 5 s by no more
	 * than the call took. */
	reset();
	p = (struct plan){VLEN, 10};
	th = start(&p);
	to = (struct timespec){5, 0};
	double t0 = mono();
	n = recvmmsg(sv[0], msgs, VLEN, 0, &to);
	double took = mono() - t0, left = to.tv_sec + to.tv_nsec / 1e9;
	pthread_join(th, NULL);
	printf("with a 5 s timeout: %d, time left below 5 s by at most the call's time: %d\n", n,
	       left < 5 && left > 0 && left >= 5 - took - 1e-6);

	/* A signal with a handler after one datagram: the call returns 1. The timer
	 * repeats: a signal that came before the call began would leave it waiting. */
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	reset();
	send(sv[1], "only", 4, 0);
	struct itimerval it = {{0, 80000}, {0, 80000}}, off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, NULL);
	n = recvmmsg(sv[0], msgs, VLEN, 0, NULL);
	setitimer(ITIMER_REAL, &off, NULL);
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
	long r = recvmmsg(sv[0], msgs, VLEN, 0, NULL);
	setitimer(ITIMER_REAL, &off, NULL);
	expect_err("a signal before any", r, EINTR);

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
