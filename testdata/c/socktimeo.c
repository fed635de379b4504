/* socktimeo: SO_RCVTIMEO and SO_SNDTIMEO bound how long socket calls wait, as on Linux:
 * read, recv, recvfrom, recvmsg and accept give EAGAIN once the receive timeout passes,
 * a write into a full socket EAGAIN once the send timeout passes, data that comes in time
 * is received, and a signal ends such a wait with EINTR even under SA_RESTART. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void timeo(int fd, int opt, long usec)
{
	struct timeval tv = {usec / 1000000, usec % 1000000};
	if (setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv) < 0)
		perror("setsockopt");
}

/* waited checks that a call took at least 60 ms and well under its caller's bound. */
static int waited(double t0) { double d = now() - t0; return d >= 0.06 && d < 5; }

static int late_fd, late_us;

static void *late_writer(void *arg)
{
	(void)arg;
	usleep(late_us);
	write(late_fd, "late", 4);
	return NULL;
}

static void on_alarm(int sig) { (void)sig; }

int main(void)
{
	int sv[2];
	char buf[64];
	double t0;
	long r;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	struct timeval got;
	socklen_t gl = sizeof got;
	timeo(sv[0], SO_RCVTIMEO, 80000);
	getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &got, &gl);
	expect("SO_RCVTIMEO reads back", got.tv_sec == 0 && got.tv_usec == 80000);

	t0 = now();
	r = read(sv[0], buf, sizeof buf);
	expect_err("read past the timeout", r, EAGAIN);
	expect("read waited the timeout", waited(t0));

	t0 = now();
	r = recv(sv[0], buf, sizeof buf, 0);
	expect_err("recv past the timeout", r, EAGAIN);
	expect("recv waited the timeout", waited(t0));

	t0 = now();
	r = recv(sv[0], buf, sizeof buf, MSG_WAITALL);
	expect_err("recv MSG_WAITALL past the timeout", r, EAGAIN);
	expect("recv MSG_WAITALL waited the timeout", waited(t0));

	struct iovec iov = {buf, sizeof buf};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	t0 = now();
	r = recvmsg(sv[0], &mh, 0);
	expect_err("recvmsg past the timeout", r, EAGAIN);
	expect("recvmsg waited the timeout", waited(t0));

	/* Data that comes before the timeout is read. */
	timeo(sv[0], SO_RCVTIMEO, 2000000);
	pthread_t th;
	late_fd = sv[1];
	late_us = 30000;
	pthread_create(&th, NULL, late_writer, NULL);
	r = read(sv[0], buf, sizeof buf);
	expect("data within the timeout is read", r == 4 && memcmp(buf, "late", 4) == 0);
	pthread_join(th, NULL);

	/* A signal ends a wait with a timeout with EINTR, even under SA_RESTART. */
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {.it_value = {0, 50000}};
	setitimer(ITIMER_REAL, &it, NULL);
	t0 = now();
	r = read(sv[0], buf, sizeof buf);
	expect_err("a signal ends the timed read", r, EINTR);
	expect("before the timeout", now() - t0 < 1.5);

	/* Without a timeout the same read restarts: the peer writes after the signal. */
	timeo(sv[0], SO_RCVTIMEO, 0);
	late_us = 150000;
	pthread_create(&th, NULL, late_writer, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	r = read(sv[0], buf, sizeof buf);
	expect("an untimed read restarts after the signal", r == 4);
	pthread_join(th, NULL);

	/* A full socket: a write waits the send timeout, then EAGAIN. */
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	static char big[65536];
	while (write(sv[1], big, sizeof big) > 0 || errno == EINTR)
		;
	fcntl(sv[1], F_SETFL, 0);
	timeo(sv[1], SO_SNDTIMEO, 80000);
	t0 = now();
	r = write(sv[1], big, 1);
	expect_err("write to a full socket past the timeout", r, EAGAIN);
	expect("write waited the timeout", waited(t0));
	t0 = now();
	r = send(sv[1], big, 1, 0);
	expect_err("send to a full socket past the timeout", r, EAGAIN);
	expect("send waited the timeout", waited(t0));
	close(sv[0]);
	close(sv[1]);

	/* accept and a datagram socket's recvfrom. */
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(l, (struct sockaddr *)&a, sizeof a);
	listen(l, 4);
	timeo(l, SO_RCVTIMEO, 80000);
	t0 = now();
	r = accept(l, NULL, NULL);
	expect_err("accept past the timeout", r, EAGAIN);
	expect("accept waited the timeout", waited(t0));
	close(l);

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	bind(u, (struct sockaddr *)&a, sizeof a);
	timeo(u, SO_RCVTIMEO, 80000);
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	t0 = now();
	r = recvfrom(u, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
	expect_err("recvfrom past the timeout", r, EAGAIN);
	expect("recvfrom waited the timeout", waited(t0));
	close(u);
	return failures != 0;
}
